/* record.c: asciicast v2 recordings (record.h). A header line, then one
 * JSON array per event: [seconds, "o"|"i"|"m", "text"]. Console output is
 * not always UTF-8: valid sequences are kept, a sequence cut between two
 * reads is held for the next, a stray byte is written as the character of
 * its Latin-1 value, so a recording always parses. */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "host/record.h"

struct rec {
	const struct sercon_config *cfg;
	char console[256];
	int fd;
	char name[300];               /* of the current file, in record_dir */
	int seq;                      /* of the next file: never reused, so
	                                 that names sort as files were made */
	size_t bytes;                 /* in the current file */
	struct timespec t0;
	uint8_t pend_o[4], pend_i[4];
	size_t npend_o, npend_i;
	char *line;                   /* one event, escaped */
	size_t linecap;
};

/* Length of the UTF-8 sequence starting with b, 0 if b cannot start one. */
static size_t
utf8_len(uint8_t b)
{
	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	return 0;
}

static bool
utf8_valid(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return false;
	if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) ||
	    (s[0] == 0xed && s[1] >= 0xa0)))
		return false;           /* overlong, surrogate */
	if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] >= 0x90)))
		return false;
	return true;
}

static size_t
put_escaped_byte(uint8_t b, char *out)
{
	static const char hex[] = "0123456789abcdef";

	switch (b) {
	case '"':
		memcpy(out, "\\\"", 2);
		return 2;
	case '\\':
		memcpy(out, "\\\\", 2);
		return 2;
	case '\n':
		memcpy(out, "\\n", 2);
		return 2;
	case '\r':
		memcpy(out, "\\r", 2);
		return 2;
	default:
		break;
	}
	if (b < 0x20 || b == 0x7f) {
		memcpy(out, "\\u00", 4);
		out[4] = hex[b >> 4];
		out[5] = hex[b & 15];
		return 6;
	}
	if (b < 0x80) {
		*out = (char)b;
		return 1;
	}
	/* A stray byte: the Latin-1 character of its value. */
	out[0] = (char)(0xc0 | (b >> 6));
	out[1] = (char)(0x80 | (b & 0x3f));
	return 2;
}

/* The sequence cut at the end of the previous call, completed from s.
 * Returns how many bytes of s it took. */
static size_t
finish_pending(const uint8_t *s, size_t n, uint8_t *pend, size_t *npend,
    char *out, size_t *o)
{
	uint8_t head[8];
	size_t k = *npend, want = utf8_len(pend[0]), take, i;

	take = want - k < n ? want - k : n;
	memcpy(head, pend, k);
	memcpy(head + k, s, take);
	for (i = k; i < k + take; i++)
		if ((head[i] & 0xc0) != 0x80)
			break;
	if (i == k + take && k + take < want) {
		/* Still cut: keep waiting. */
		memcpy(pend, head, k + take);
		*npend = k + take;
		return take;
	}
	*npend = 0;
	if (i == k + take && utf8_valid(head, want)) {
		memcpy(out + *o, head, want);
		*o += want;
		return take;
	}
	/* Broken: the held bytes are strays; s is read afresh. */
	for (i = 0; i < k; i++)
		*o += put_escaped_byte(head[i], out + *o);
	return 0;
}

size_t
rec_json_escape(const uint8_t *s, size_t n, uint8_t *pend, size_t *npend,
    char *out)
{
	size_t o = 0, i = 0;

	if (*npend > 0 && n > 0)
		i = finish_pending(s, n, pend, npend, out, &o);
	while (i < n) {
		size_t want = utf8_len(s[i]), j;

		if (want <= 1) {
			o += put_escaped_byte(s[i], out + o);
			i++;
			continue;
		}
		if (n - i < want) {
			for (j = i + 1; j < n; j++)
				if ((s[j] & 0xc0) != 0x80)
					break;
			if (j == n) {
				memcpy(pend, s + i, n - i);
				*npend = n - i;
				return o;
			}
		} else if (utf8_valid(s + i, want)) {
			memcpy(out + o, s + i, want);
			o += want;
			i += want;
			continue;
		}
		o += put_escaped_byte(s[i], out + o);
		i++;
	}
	return o;
}

/* CONSOLE-YYYYmmddTHHMMSSZ-NNN.cast: names sort in the order the files
 * were made, also within one second. */
static void
rec_name(const struct rec *r, char *buf, size_t len, int seq)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
	snprintf(buf, len, "%s/%s-%s-%03d.cast", r->cfg->record_dir,
	    r->console, stamp, seq);
}

static int
rec_write(struct rec *r, const char *p, size_t n)
{
	if (file_write_all(r->fd, p, n) != 0)
		return -1;
	r->bytes += n;
	return 0;
}

struct old_file {
	char name[300];
	off_t size;
};

static int
old_cmp(const void *a, const void *b)
{
	return strcmp(((const struct old_file *)a)->name,
	    ((const struct old_file *)b)->name);
}

/* Removes this console's oldest recordings past record_total. Names sort
 * by time: CONSOLE-YYYYmmddTHHMMSSZ-NNN.cast. */
static void
rec_prune(struct rec *r)
{
	DIR *d = opendir(r->cfg->record_dir);
	struct old_file *files = NULL;
	size_t n = 0, cap = 0, i, plen = strlen(r->console);
	struct dirent *e;
	long long total = 0;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char path[4096];

		if (strncmp(e->d_name, r->console, plen) != 0 ||
		    e->d_name[plen] != '-' || strlen(e->d_name) >= 300 ||
		    strcmp(e->d_name + strlen(e->d_name) - 5, ".cast") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", r->cfg->record_dir,
		    e->d_name);
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			files = xreallocarray(files, cap, sizeof(*files));
		}
		snprintf(files[n].name, sizeof(files[n].name), "%s",
		    e->d_name);
		files[n].size = st.st_size;
		total += st.st_size;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(files, n, sizeof(*files), old_cmp);
	/* Never the one being written (the newest). */
	for (i = 0; i + 1 < n && total > r->cfg->record_total; i++) {
		char path[4096];

		if (!strcmp(files[i].name, r->name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", r->cfg->record_dir,
		    files[i].name);
		if (unlink(path) == 0) {
			total -= files[i].size;
			log_info("recording %s removed (record_total)", path);
		}
	}
	free(files);
}

static int
rec_start_file(struct rec *r)
{
	char path[4096], head[512];
	int tries, n;

	(void)mkdir(r->cfg->record_dir, 0750);
	for (tries = 0; tries < 1000; tries++) {
		rec_name(r, path, sizeof(path), r->seq++ % 1000);
		r->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0640);
		if (r->fd != -1 || errno != EEXIST)
			break;
	}
	if (r->fd == -1) {
		log_error("cannot create a recording of %s in %s: %s",
		    r->console, r->cfg->record_dir, strerror(errno));
		return -1;
	}
	(void)fchmod(r->fd, 0640);
	snprintf(r->name, sizeof(r->name), "%s", strrchr(path, '/') + 1);
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->bytes = 0;
	n = snprintf(head, sizeof(head), "{\"version\": 2, \"width\": 80, "
	    "\"height\": 24, \"timestamp\": %lld, \"title\": \"%s\", "
	    "\"env\": {\"TERM\": \"vt100\"}}\n", (long long)time(NULL),
	    r->console);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    rec_write(r, head, (size_t)n) != 0) {
		close(r->fd);
		r->fd = -1;
		return -1;
	}
	log_info("recording %s to %s", r->console, path);
	rec_prune(r);
	return 0;
}

struct rec *
rec_open(const struct sercon_config *cfg, const char *console)
{
	struct rec *r = xcalloc(1, sizeof(*r));

	r->cfg = cfg;
	snprintf(r->console, sizeof(r->console), "%s", console);
	r->fd = -1;
	if (rec_start_file(r) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

void
rec_close(struct rec *r)
{
	if (r == NULL)
		return;
	if (r->fd != -1)
		close(r->fd);
	free(r->line);
	free(r);
}

static void
rec_event(struct rec *r, char kind, const uint8_t *p, size_t n,
    uint8_t *pend, size_t *npend)
{
	struct timespec now;
	size_t need = 6 * (n + 3) + 64, o;
	double t;
	int h;

	if (r == NULL || r->fd == -1)
		return;
	if (need > r->linecap) {
		r->line = xreallocarray(r->line, need, 1);
		r->linecap = need;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	t = (double)(now.tv_sec - r->t0.tv_sec) +
	    (double)(now.tv_nsec - r->t0.tv_nsec) / 1e9;
	h = snprintf(r->line, r->linecap, "[%.6f, \"%c\", \"", t, kind);
	o = (size_t)h;
	o += rec_json_escape(p, n, pend, npend, r->line + o);
	memcpy(r->line + o, "\"]\n", 3);
	o += 3;
	if (rec_write(r, r->line, o) != 0) {
		log_error("recording of %s: %s; stopped", r->console,
		    strerror(errno));
		close(r->fd);
		r->fd = -1;
		return;
	}
	if (r->bytes > (size_t)r->cfg->record_max) {
		close(r->fd);
		r->fd = -1;
		r->npend_o = r->npend_i = 0;
		(void)rec_start_file(r);
	}
}

void
rec_output(struct rec *r, const uint8_t *p, size_t n)
{
	if (r != NULL)
		rec_event(r, 'o', p, n, r->pend_o, &r->npend_o);
}

void
rec_input(struct rec *r, const uint8_t *p, size_t n)
{
	if (r != NULL && r->cfg->record_input && n > 0)
		rec_event(r, 'i', p, n, r->pend_i, &r->npend_i);
}

void
rec_marker(struct rec *r, const char *text)
{
	uint8_t pend[4];
	size_t npend = 0;

	if (r != NULL)
		rec_event(r, 'm', (const uint8_t *)text, strlen(text), pend,
		    &npend);
}
