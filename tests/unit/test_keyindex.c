/* test_keyindex.c: the compact key index (keyindex.c) and the manager's
 * use of it for backend file (manager.c): lookups, rebuild when the
 * inventory changes, fallback without a writable cache, and corrupt or
 * tampered index files that must be refused whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/config.h"
#include "manager/keyindex.h"
#include "core/log.h"
#include "manager/manager.h"
#include "keys_fixture.h"

static char dir[64], idx[128];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/sercon-kidx-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(idx, sizeof(idx), "%s/test.idx", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* An ed25519 public key blob whose 32 key bytes derive from n. */
static void
synth_blob(unsigned n, char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char bin[51] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd',
	    '2', '5', '5', '1', '9', 0, 0, 0, 32 };
	size_t i, o = 0;

	for (i = 0; i < 32; i++)
		bin[19 + i] = (unsigned char)((n >> (8 * (i % 4))) + i * 7);
	for (i = 0; i < sizeof(bin); i += 3) {
		uint32_t w = (uint32_t)bin[i] << 16 | (uint32_t)bin[i + 1] << 8 |
		    bin[i + 2];

		out[o++] = b64[w >> 18];
		out[o++] = b64[(w >> 12) & 63];
		out[o++] = b64[(w >> 6) & 63];
		out[o++] = b64[w & 63];
	}
	out[o] = '\0';
}

struct fixture {
	struct mgr_key_list keys;
	struct mgr_console_list cons;
	struct kidx_grant grants[8];
	size_t ngrants;
};

static void
fixture_make(struct fixture *f, unsigned nkeys)
{
	char blob[80], id[32], err[200];
	unsigned i;

	memset(f, 0, sizeof(*f));
	assert_int_equal(mgr_key_list_add(&f->keys, "alice", "Alice A.",
	    "ssh-ed25519", ED_BLOB, err, sizeof(err)), 0);
	assert_int_equal(mgr_key_list_add(&f->keys, "bob", "Bob",
	    "ssh-ed25519", ED2_BLOB, err, sizeof(err)), 0);
	for (i = 0; i < nkeys; i++) {
		synth_blob(i, blob);
		snprintf(id, sizeof(id), "user%u", i);
		assert_int_equal(mgr_key_list_add(&f->keys, id, id,
		    "ssh-ed25519", blob, err, sizeof(err)), 0);
	}
	assert_int_equal(mgr_console_list_add(&f->cons, "v2", "web2", "hv1",
	    "v2.sock", err, sizeof(err)), 0);
	assert_int_equal(mgr_console_list_add(&f->cons, "v1", "web1", "hv1",
	    "v1.sock", err, sizeof(err)), 0);
	assert_int_equal(mgr_console_list_add(&f->cons, "vp", "pub", "hv2",
	    "vp.sock", err, sizeof(err)), 0);
	f->grants[0] = (struct kidx_grant){ "alice", 0 };
	f->grants[1] = (struct kidx_grant){ "alice", 1 };
	f->grants[2] = (struct kidx_grant){ "bob", 1 };
	f->grants[3] = (struct kidx_grant){ "*", 2 };
	f->grants[4] = (struct kidx_grant){ "alice", 2 };   /* twice */
	f->ngrants = 5;
}

static void
fixture_free(struct fixture *f)
{
	mgr_key_list_free(&f->keys);
	mgr_console_list_free(&f->cons);
}

static void
write_index(struct fixture *f, unsigned nkeys)
{
	struct kidx_source src = { 42, 1, 2, 3, 4, 5, 6 };
	char err[200];

	fixture_make(f, nkeys);
	assert_int_equal(kidx_write(idx, &src, &f->keys, &f->cons, f->grants,
	    f->ngrants, err, sizeof(err)), 0);
}

static void
test_lookup(void **state)
{
	struct fixture f;
	struct kidx *k;
	struct mgr_key_list out;
	struct mgr_console_list cl;
	char err[200], blob[80];

	write_index(&f, 1000);
	assert_int_equal(kidx_open(idx, &k, err, sizeof(err)), KIDX_OK);
	assert_int_equal(kidx_source(k)->tag, 42);
	assert_int_equal(kidx_source(k)->ctime_ns, 5);
	assert_int_equal(kidx_nkeys(k), 1002);

	memset(&out, 0, sizeof(out));
	assert_int_equal(kidx_find_keys(k, "ssh-ed25519", ED_BLOB, &out, err,
	    sizeof(err)), KIDX_OK);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0].entity_id, "alice");
	assert_string_equal(out.v[0].entity, "Alice A.");
	mgr_key_list_free(&out);

	synth_blob(777, blob);
	assert_int_equal(kidx_find_keys(k, "ssh-ed25519", blob, &out, err,
	    sizeof(err)), KIDX_OK);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0].entity_id, "user777");
	mgr_key_list_free(&out);

	/* the type must match too; an unknown key finds nothing */
	assert_int_equal(kidx_find_keys(k, "ssh-rsa", ED_BLOB, &out, err,
	    sizeof(err)), KIDX_OK);
	assert_int_equal(out.n, 0);
	synth_blob(5000, blob);
	assert_int_equal(kidx_find_keys(k, "ssh-ed25519", blob, &out, err,
	    sizeof(err)), KIDX_OK);
	assert_int_equal(out.n, 0);

	assert_int_equal(kidx_find_keys(k, NULL, NULL, &out, err,
	    sizeof(err)), KIDX_OK);
	assert_int_equal(out.n, 1002);
	mgr_key_list_free(&out);

	memset(&cl, 0, sizeof(cl));
	assert_int_equal(kidx_find_consoles(k, "alice", &cl, err,
	    sizeof(err)), KIDX_OK);
	assert_int_equal(cl.n, 3);
	assert_string_equal(cl.v[0].vm_name, "pub");
	assert_string_equal(cl.v[1].vm_name, "web1");
	assert_string_equal(cl.v[2].vm_name, "web2");
	mgr_console_list_free(&cl);
	assert_int_equal(kidx_find_consoles(k, "bob", &cl, err,
	    sizeof(err)), KIDX_OK);
	assert_int_equal(cl.n, 2);
	mgr_console_list_free(&cl);
	assert_int_equal(kidx_find_consoles(k, "nobody", &cl, err,
	    sizeof(err)), KIDX_OK);
	assert_int_equal(cl.n, 1);
	assert_string_equal(cl.v[0].vm_id, "vp");
	mgr_console_list_free(&cl);
	kidx_close(k);
	fixture_free(&f);
}

static void
test_missing_and_garbage(void **state)
{
	struct kidx *k;
	char err[200];
	int fd;

	assert_int_equal(kidx_open(idx, &k, err, sizeof(err)), KIDX_MISSING);
	fd = open(idx, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an index at all", 19), 19);
	close(fd);
	assert_int_equal(kidx_open(idx, &k, err, sizeof(err)), KIDX_CORRUPT);
	assert_null(k);
}

/* Flips one byte of the file at off. */
static void
flip(off_t off)
{
	unsigned char c;
	int fd = open(idx, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

/* Offset of the first occurrence of s in the index file. */
static off_t
find_in_file(const char *s)
{
	static unsigned char buf[65536];
	ssize_t n;
	int fd = open(idx, O_RDONLY);
	size_t i, len = strlen(s);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_true(n > 0);
	for (i = 0; i + len <= (size_t)n; i++)
		if (memcmp(buf + i, s, len) == 0)
			return (off_t)i;
	fail_msg("'%s' not in the index", s);
	return -1;
}

static off_t
file_size(void)
{
	struct stat st;

	assert_int_equal(stat(idx, &st), 0);
	return st.st_size;
}

/* The n-th 8-byte field of the index header. */
static off_t
header_field(int n)
{
	uint64_t v;
	int fd = open(idx, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, sizeof(v), (off_t)n * 8), sizeof(v));
	close(fd);
	return (off_t)v;
}

static void
test_corrupt_header(void **state)
{
	struct fixture f;
	struct kidx *k;
	char err[200];

	write_index(&f, 10);
	flip(40);                      /* a field of the header */
	assert_int_equal(kidx_open(idx, &k, err, sizeof(err)), KIDX_CORRUPT);
	fixture_free(&f);

	write_index(&f, 10);
	assert_int_equal(truncate(idx, file_size() - 1), 0);
	assert_int_equal(kidx_open(idx, &k, err, sizeof(err)), KIDX_CORRUPT);
	fixture_free(&f);
}

static void
test_corrupt_records(void **state)
{
	struct fixture f;
	struct kidx *k;
	struct mgr_key_list out;
	struct mgr_console_list cl;
	char err[200];
	off_t size;

	/* the records come right after the header, the entity records
	 * last of them, just before the key table (whose offset is the
	 * header's 12th field): damage in any is found when read */
	write_index(&f, 0);
	size = header_field(11);
	assert_true(size > 0 && size < file_size());
	flip(size - 3);                /* inside the last entity record */
	assert_int_equal(kidx_open(idx, &k, err, sizeof(err)), KIDX_OK);
	memset(&cl, 0, sizeof(cl));
	/* the last record belongs to alice, bob or "*": a lookup that reads
	 * it must fail as a whole */
	{
		const char *who[] = { "alice", "bob" };
		int i, bad = 0;

		for (i = 0; i < 2; i++) {
			memset(&cl, 0, sizeof(cl));
			if (kidx_find_consoles(k, who[i], &cl, err,
			    sizeof(err)) == KIDX_CORRUPT) {
				assert_int_equal(cl.n, 0);
				bad++;
			}
			mgr_console_list_free(&cl);
		}
		assert_true(bad >= 1);
	}
	kidx_close(k);
	fixture_free(&f);

	/* a byte of every key record in turn: the all-keys walk fails */
	write_index(&f, 0);
	assert_int_equal(kidx_open(idx, &k, err, sizeof(err)), KIDX_OK);
	kidx_close(k);
	flip(find_in_file("Alice A."));
	assert_int_equal(kidx_open(idx, &k, err, sizeof(err)), KIDX_OK);
	memset(&out, 0, sizeof(out));
	assert_int_equal(kidx_find_keys(k, NULL, NULL, &out, err,
	    sizeof(err)), KIDX_CORRUPT);
	assert_int_equal(out.n, 0);       /* nothing half-trusted */
	assert_non_null(strstr(err, "corrupt"));
	kidx_close(k);
	fixture_free(&f);
}

/* ---- the manager over backend file --------------------------------- */

static void
write_text(const char *path, const char *text)
{
	char tmp[256];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(tmp, path), 0);
}

static void
cfg_file(struct sercon_config *cfg, const char *cache)
{
	char p[256];

	cfg_defaults(cfg);
	snprintf(p, sizeof(p), "%s/inventory.json", dir);
	free(cfg->inventory);
	cfg->inventory = strdup(p);
	free(cfg->cache_dir);
	cfg->cache_dir = strdup(cache);
	cfg->timeout = 2;
}

static const char inv1[] =
    "{\"users\": [{\"id\": \"alice\", \"keys\": [\"" ED_LINE "\"]}],"
    " \"consoles\": [{\"vm_id\": \"v1\", \"vm_name\": \"web1\", \"host\":"
    " \"hv1\", \"users\": [\"alice\"]}]}";
static const char inv2[] =
    "{\"users\": [{\"id\": \"bob\", \"keys\": [\"" ED_LINE "\"]}],"
    " \"consoles\": [{\"vm_id\": \"v9\", \"vm_name\": \"db\", \"host\":"
    " \"hv1\", \"users\": [\"bob\"]}]}";

static void
test_manager_file(void **state)
{
	struct sercon_config cfg;
	struct mgr_key_list out;
	struct mgr_console_list cl;
	struct stat st1, st2;
	char path[256], err[256];

	snprintf(path, sizeof(path), "%s/inventory.json", dir);
	write_text(path, inv1);
	cfg_file(&cfg, dir);
	assert_int_equal(mgr_find_keys(&cfg, "ssh-ed25519", ED_BLOB, &out, err,
	    sizeof(err)), 0);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0].entity_id, "alice");
	mgr_key_list_free(&out);
	snprintf(path, sizeof(path), "%s/inventory.idx", dir);
	assert_int_equal(stat(path, &st1), 0);

	/* answered from the same index: not rebuilt */
	assert_int_equal(mgr_list_consoles(&cfg, "alice", &cl, err,
	    sizeof(err)), 0);
	assert_int_equal(cl.n, 1);
	mgr_console_list_free(&cl);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);

	/* the inventory changes: the next call sees it */
	snprintf(path, sizeof(path), "%s/inventory.json", dir);
	write_text(path, inv2);
	assert_int_equal(mgr_find_keys(&cfg, "ssh-ed25519", ED_BLOB, &out, err,
	    sizeof(err)), 0);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0].entity_id, "bob");
	mgr_key_list_free(&out);
	assert_int_equal(mgr_list_consoles(&cfg, "alice", &cl, err,
	    sizeof(err)), 0);
	assert_int_equal(cl.n, 0);
	mgr_console_list_free(&cl);

	/* a damaged index is rebuilt, never used */
	snprintf(idx, sizeof(idx), "%s/inventory.idx", dir);
	flip(file_size() - 2);
	assert_int_equal(mgr_list_consoles(&cfg, "bob", &cl, err,
	    sizeof(err)), 0);
	assert_int_equal(cl.n, 1);
	assert_string_equal(cl.v[0].vm_name, "db");
	mgr_console_list_free(&cl);
	snprintf(idx, sizeof(idx), "%s/test.idx", dir);
	cfg_free(&cfg);
}

/* While another process holds the rebuild lock past the timeout, the
 * inventory is read directly: the change shows at once, and the index of
 * the older inventory never answers (a key removed from the file must not
 * log in). */
static void
test_manager_lock_busy(void **state)
{
	struct sercon_config cfg;
	struct mgr_key_list out;
	char path[256], err[256];
	int fd;

	snprintf(path, sizeof(path), "%s/inventory.json", dir);
	write_text(path, inv1);
	cfg_file(&cfg, dir);
	cfg.timeout = 1;
	assert_int_equal(mgr_find_keys(&cfg, NULL, NULL, &out, err,
	    sizeof(err)), 0);
	mgr_key_list_free(&out);
	write_text(path, inv2);
	snprintf(path, sizeof(path), "%s/inventory.lock", dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(mgr_find_keys(&cfg, "ssh-ed25519", ED_BLOB, &out, err,
	    sizeof(err)), 0);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0].entity_id, "bob");       /* current */
	mgr_key_list_free(&out);
	close(fd);
	assert_int_equal(mgr_find_keys(&cfg, "ssh-ed25519", ED_BLOB, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out.v[0].entity_id, "bob");
	mgr_key_list_free(&out);
	cfg_free(&cfg);
}

static void
test_manager_unwritable_cache(void **state)
{
	struct sercon_config cfg;
	struct mgr_key_list out;
	struct mgr_console_list cl;
	char path[256], err[256];

	snprintf(path, sizeof(path), "%s/inventory.json", dir);
	write_text(path, inv1);
	cfg_file(&cfg, "/nonexistent/cache");
	assert_int_equal(mgr_find_keys(&cfg, NULL, NULL, &out, err,
	    sizeof(err)), 0);
	assert_int_equal(out.n, 1);
	mgr_key_list_free(&out);
	assert_int_equal(mgr_list_consoles(&cfg, "alice", &cl, err,
	    sizeof(err)), 0);
	assert_int_equal(cl.n, 1);
	mgr_console_list_free(&cl);
	cfg_free(&cfg);
}

static void
test_manager_missing_inventory(void **state)
{
	struct sercon_config cfg;
	struct mgr_key_list out;
	char err[256];

	cfg_file(&cfg, dir);
	assert_int_equal(mgr_find_keys(&cfg, NULL, NULL, &out, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "inventory.json"));
	cfg_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_garbage,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_records, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_manager_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_manager_lock_busy, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_manager_unwritable_cache,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_manager_missing_inventory,
		    setup, teardown),
	};

	log_init("test_keyindex");
	log_set_socket("/nonexistent/log.sock");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
