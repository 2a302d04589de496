/* test_relay.c: the byte relay (src/lib/host/relay.c) over real pipes and
 * socketpairs: half-close, exact delivery under backpressure, fan-out, a
 * vanished reader, and no busy loop on a hung-up peer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "host/relay.h"

/* A relay_run on its own thread, so that the test can drive both ends. */
struct runner {
	pthread_t th;
	struct relay *r;
	enum relay_why why;
	int who;
	double cpu;              /* seconds of CPU the thread used */
};

static double
thread_cpu(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void *
runner_main(void *arg)
{
	struct runner *rn = arg;
	double t0 = thread_cpu();

	rn->why = relay_run(rn->r, &rn->who);
	rn->cpu = thread_cpu() - t0;
	return NULL;
}

static void
runner_start(struct runner *rn, struct relay *r)
{
	memset(rn, 0, sizeof(*rn));
	rn->r = r;
	assert_int_equal(pthread_create(&rn->th, NULL, runner_main, rn), 0);
}

static void
runner_join(struct runner *rn)
{
	assert_int_equal(pthread_join(rn->th, NULL), 0);
}

static void
msleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		assert_true(w > 0);
		c += w;
		n -= (size_t)w;
	}
}

/* Reads until EOF; returns the count. */
static size_t
read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while ((n = read(fd, buf + got, cap - got)) > 0)
		got += (size_t)n;
	assert_true(n == 0);
	return got;
}

/* stdin/stdout pipes and a console socket; user EOF is passed on to the
 * console as a half-close, and the console's EOF ends the run after its
 * last bytes are delivered. */
static void
test_half_close(void **state)
{
	int in[2], out[2], sp[2], user, con, who;
	struct relay *r;
	char buf[64];
	const struct relay_stats *st;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	write_all(in[1], "from user", 9);
	close(in[1]);
	/* The console answers only once it saw our end of file. */
	if (fork() == 0) {
		size_t n = read_all(sp[1], buf, sizeof(buf));

		write_all(sp[1], "echo:", 5);
		write_all(sp[1], buf, n);
		_exit(0);
	}
	close(sp[1]);
	r = relay_new();
	assert_non_null(r);
	user = relay_add(r, "user", in[0], out[1], RELAY_F_END_ON_GONE);
	con = relay_add(r, "console", sp[0], sp[0], RELAY_F_END_ON_EOF);
	assert_int_not_equal(user, -1);
	assert_int_not_equal(con, -1);
	assert_int_equal(relay_link(r, user, con, 0), 0);
	assert_int_equal(relay_link(r, con, user, 0), 0);
	assert_int_equal(relay_run(r, &who), RELAY_EP_EOF);
	assert_int_equal(who, con);
	close(out[1]);
	assert_int_equal(read_all(out[0], buf, sizeof(buf)), 14);
	assert_memory_equal(buf, "echo:from user", 14);
	st = relay_stats(r, user);
	assert_int_equal(st->rd, RELAY_EOF);
	assert_int_equal(st->bytes_in, 9);
	assert_int_equal(st->bytes_out, 14);
	st = relay_stats(r, con);
	assert_int_equal(st->wr, RELAY_SHUT);
	assert_int_equal(st->rd, RELAY_EOF);
	assert_int_equal(st->bytes_out, 9);
	assert_int_equal(st->bytes_in, 14);
	relay_free(r);
	close(in[0]);
	close(out[0]);
	close(sp[0]);
	assert_true(wait(NULL) > 0);
}

/* Several MiB of patterned bytes through a 4 KiB link to a reader that
 * takes small bites: everything arrives once, in order. */
static void
test_exact_under_backpressure(void **state)
{
	const size_t total = 8 * 1024 * 1024 + 123;
	int in[2], sp[2], src, dst;
	struct runner rn;
	struct relay *r;
	unsigned char *got;
	size_t n = 0, i;
	pid_t pid;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	pid = fork();
	if (pid == 0) {
		unsigned char chunk[7919];
		size_t sent = 0, k;

		close(sp[1]);
		while (sent < total) {
			size_t len = total - sent < sizeof(chunk) ?
			    total - sent : sizeof(chunk);

			for (k = 0; k < len; k++)
				chunk[k] = (unsigned char)((sent + k) * 131 %
				    251);
			write_all(in[1], chunk, len);
			sent += len;
		}
		_exit(0);
	}
	close(in[1]);
	r = relay_new();
	src = relay_add(r, "in", in[0], -1, 0);
	dst = relay_add(r, "out", -1, sp[0], 0);
	assert_int_equal(relay_link(r, src, dst, 4096), 0);
	runner_start(&rn, r);
	/* Room for more than was sent: an extra byte would be caught. */
	got = malloc(total + 1000);
	assert_non_null(got);
	for (;;) {
		ssize_t k = read(sp[1], got + n, n % 3 == 0 ? 1000 : 333);

		assert_true(k >= 0);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	runner_join(&rn);
	assert_int_equal(rn.why, RELAY_DONE);
	assert_int_equal(n, total);
	for (i = 0; i < total; i++)
		if (got[i] != (unsigned char)(i * 131 % 251))
			fail_msg("byte %zu differs", i);
	assert_int_equal(relay_stats(r, src)->bytes_in, total);
	assert_int_equal(relay_stats(r, dst)->bytes_out, total);
	free(got);
	relay_free(r);
	close(in[0]);
	close(sp[0]);
	close(sp[1]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* A reader that does not read: the relay holds at most its buffer. */
static void
test_bounded_buffer(void **state)
{
	int in[2], out[2], stop[2], src, dst;
	const size_t cap = 4096;
	struct runner rn;
	struct relay *r;
	char junk[65536];
	const struct relay_stats *si, *so;
	int fl;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(stop), 0);
	fl = fcntl(in[1], F_GETFL);
	assert_int_equal(fcntl(in[1], F_SETFL, fl | O_NONBLOCK), 0);
	memset(junk, 'j', sizeof(junk));
	while (write(in[1], junk, sizeof(junk)) > 0)
		;
	r = relay_new();
	src = relay_add(r, "in", in[0], -1, 0);
	dst = relay_add(r, "out", -1, out[1], 0);
	assert_int_equal(relay_link(r, src, dst, cap), 0);
	relay_set_stop_fd(r, stop[0]);
	runner_start(&rn, r);
	msleep(200);
	write_all(stop[1], "x", 1);
	runner_join(&rn);
	assert_int_equal(rn.why, RELAY_STOPPED);
	si = relay_stats(r, src);
	so = relay_stats(r, dst);
	assert_true(so->bytes_out > 0);
	assert_true(si->bytes_in - so->bytes_out <= cap);
	/* Blocked on a full pipe, the loop sleeps. */
	assert_true(rn.cpu < 0.1);
	relay_free(r);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	close(stop[0]);
	close(stop[1]);
}

/* One source, two destinations: both get every byte. */
static void
test_fan_out(void **state)
{
	int in[2], a[2], b[2], src, da, db, who;
	struct relay *r;
	char buf[64];

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	write_all(in[1], "scrollback", 10);
	close(in[1]);
	r = relay_new();
	src = relay_add(r, "qemu", in[0], -1, 0);
	da = relay_add(r, "writer", -1, a[1], 0);
	db = relay_add(r, "spectator", -1, b[1], 0);
	assert_int_equal(relay_link(r, src, da, 0), 0);
	assert_int_equal(relay_link(r, src, db, 16), 0);
	assert_int_equal(relay_run(r, &who), RELAY_DONE);
	assert_int_equal(who, -1);
	close(a[1]);
	close(b[1]);
	assert_int_equal(read_all(a[0], buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "scrollback", 10);
	assert_int_equal(read_all(b[0], buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "scrollback", 10);
	assert_int_equal(relay_stats(r, db)->wr, RELAY_SHUT);
	relay_free(r);
	close(in[0]);
	close(a[0]);
	close(b[0]);
}

/* The user's stdout reader goes away while idle: END_ON_GONE ends the run
 * at once, without waiting for data to write. */
static void
test_reader_gone(void **state)
{
	int in[2], out[2], sp[2], user, con, who;
	struct relay *r;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	close(out[0]);
	r = relay_new();
	user = relay_add(r, "user", in[0], out[1], RELAY_F_END_ON_GONE);
	con = relay_add(r, "console", sp[0], sp[0], RELAY_F_END_ON_EOF);
	assert_int_equal(relay_link(r, user, con, 0), 0);
	assert_int_equal(relay_link(r, con, user, 0), 0);
	assert_int_equal(relay_run(r, &who), RELAY_EP_GONE);
	assert_int_equal(who, user);
	assert_int_equal(relay_stats(r, user)->wr, RELAY_FAILED);
	assert_int_equal(relay_stats(r, user)->rd, RELAY_OPEN);
	relay_free(r);
	close(in[0]);
	close(in[1]);
	close(out[1]);
	close(sp[0]);
	close(sp[1]);
}

/* The console closes with bytes still unread while the user's side is
 * full: no spinning on POLLHUP, and once the user reads, the last bytes
 * still arrive before the run ends. */
static void
test_hangup_no_spin(void **state)
{
	int in[2], out[2], sp[2], user, con;
	struct runner rn;
	struct relay *r;
	static char big[1 << 20];
	char *got;
	size_t n;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	memset(big, 'q', sizeof(big));
	if (fork() == 0) {
		close(sp[0]);
		write_all(sp[1], big, sizeof(big));
		_exit(0);
	}
	close(sp[1]);
	r = relay_new();
	user = relay_add(r, "user", in[0], out[1], RELAY_F_END_ON_GONE);
	con = relay_add(r, "console", sp[0], sp[0], RELAY_F_END_ON_EOF);
	assert_int_equal(relay_link(r, user, con, 0), 0);
	assert_int_equal(relay_link(r, con, user, 0), 0);
	runner_start(&rn, r);
	msleep(300);
	got = malloc(sizeof(big));
	assert_non_null(got);
	n = 0;
	for (;;) {
		struct pollfd pfd = { out[0], POLLIN, 0 };
		ssize_t k;

		if (n == sizeof(big))
			break;
		assert_true(poll(&pfd, 1, 5000) == 1);
		k = read(out[0], got + n, sizeof(big) - n);
		assert_true(k > 0);
		n += (size_t)k;
	}
	runner_join(&rn);
	assert_int_equal(rn.why, RELAY_EP_EOF);
	assert_int_equal(rn.who, con);
	assert_memory_equal(got, big, sizeof(big));
	assert_true(rn.cpu < 0.15);
	free(got);
	relay_free(r);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	close(sp[0]);
	assert_true(wait(NULL) > 0);
}

static void
test_bad_arguments(void **state)
{
	struct relay *r = relay_new();
	int p[2], a, b;

	assert_non_null(r);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(relay_add(r, "bad", 999, -1, 0), -1);
	a = relay_add(r, "in", p[0], -1, 0);
	b = relay_add(r, "out", -1, p[1], 0);
	assert_int_equal(relay_link(r, a, a, 0), -1);
	assert_int_equal(relay_link(r, b, a, 0), -1);   /* b cannot read */
	assert_int_equal(relay_link(r, a, 7, 0), -1);
	assert_null(relay_stats(r, 5));
	assert_int_equal(relay_link(r, a, b, 0), 0);
	relay_free(r);
	/* relay_free put the blocking mode back. */
	assert_int_equal(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_exact_under_backpressure),
		cmocka_unit_test(test_bounded_buffer),
		cmocka_unit_test(test_fan_out),
		cmocka_unit_test(test_reader_gone),
		cmocka_unit_test(test_hangup_no_spin),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
