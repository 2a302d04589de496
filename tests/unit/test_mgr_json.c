/* test_mgr_json.c: README.API v1 answers of key_list / console_list helpers
 * and of the oVirt engine mapped to validated lists (src/lib/manager/mgr_json.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>
#include <jansson.h>

#include "core/log.h"
#include "manager/mgr_json.h"

#define K1 "AAAAC3NzaC1lZDI1NTE5AAAAIGa0S9Qt/wBz00x7Pq" \
	"xzK+2Y1dYhzDiNzKEh0lGEP916"
#define K2 "AAAAC3NzaC1lZDI1NTE5AAAAIGKnr1zECXaRNUSYSw" \
	"dvchWXwRVhKnwl+f7K+qdJf9Oc"

static int
keys(const char *json, struct mgr_key_list *l)
{
	char err[256];

	memset(l, 0, sizeof(*l));
	return mgr_json_keys(json, strlen(json), l, err, sizeof(err));
}

static int
consoles(const char *json, enum mgr_json_source src,
    struct mgr_console_list *l, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	return mgr_json_consoles(json, strlen(json), src, l, err, errlen);
}

static void
test_keys_helper_shape(void **state)
{
	struct mgr_key_list l;

	assert_int_equal(keys("{\"content\":\"key_list\",\"version\":1,"
	    "\"keys\":[{\"entityid\":\"u-1\",\"entity\":\"alice\","
	    "\"key\":\"ssh-ed25519 " K1 " alice@laptop\"},"
	    "{\"entityid\":\"u-2\",\"entity\":\"bob\","
	    "\"key\":\"ssh-ed25519 " K2 "\"}]}", &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].entity_id, "u-1");
	assert_string_equal(l.v[0].entity, "alice");
	assert_string_equal(l.v[0].type, "ssh-ed25519");
	assert_string_equal(l.v[0].blob, K1);
	assert_string_equal(l.v[1].entity, "bob");
	mgr_key_list_free(&l);
}

static void
test_keys_engine_shape(void **state)
{
	struct mgr_key_list l;

	/* the engine: version "1", one user with two entries, and a key text
	 * holding several lines (blank lines and CRLF tolerated) */
	assert_int_equal(keys("{\"version\":\"1\",\"content\":\"key_list\","
	    "\"keys\":[{\"entityid\":\"u-1\",\"entity\":\"alice@internal\","
	    "\"key\":\"ssh-ed25519 " K1 " one\"},"
	    "{\"entityid\":\"u-1\",\"entity\":\"alice@internal\","
	    "\"key\":\"\\r\\nssh-ed25519 " K2 " two\\r\\n\\n  \\n"
	    "ssh-ed25519 " K1 "\"}]}", &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[1].blob, K2);
	assert_string_equal(l.v[2].blob, K1);
	assert_string_equal(l.v[2].entity_id, "u-1");
	mgr_key_list_free(&l);
}

static void
test_keys_bad_entries_skipped(void **state)
{
	struct mgr_key_list l;

	assert_int_equal(keys("{\"content\":\"key_list\",\"version\":1,"
	    "\"keys\":[42, {\"entity\":\"x\",\"key\":\"ssh-ed25519 " K1 "\"},"
	    "{\"entityid\":\"evil\\nid\",\"entity\":\"e\","
	    "\"key\":\"ssh-ed25519 " K1 "\"},"
	    "{\"entityid\":\"u-3\",\"entity\":\"c\",\"key\":\"ssh-ed25519 "
	    "AAAAnotakey\"},"
	    "{\"entityid\":\"u-4\",\"entity\":\"d\",\"key\":\"ssh-rsa " K1
	    "\"},"
	    "{\"entityid\":\"u-5\",\"entity\":\"e\",\"key\":"
	    "\"command=\\\"/bin/sh\\\" ssh-ed25519 " K1 "\"},"
	    "{\"entityid\":\"u-6\",\"key\":\"ssh-ed25519 " K2 "\"}]}", &l), 0);
	/* only the last survives; a missing entity name falls back to the id */
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].entity_id, "u-6");
	assert_string_equal(l.v[0].entity, "u-6");
	mgr_key_list_free(&l);
}

static void
test_keys_bad_documents(void **state)
{
	const char *bad[] = {
		"",
		"garbage",
		"[]",
		"{\"content\":\"key_list\",\"version\":1,\"keys\":[",
		"{\"content\":\"console_list\",\"version\":1,\"keys\":[]}",
		"{\"content\":\"key_list\",\"version\":2,\"keys\":[]}",
		"{\"content\":\"key_list\",\"version\":\"2\",\"keys\":[]}",
		"{\"content\":\"key_list\",\"keys\":[]}",
		"{\"content\":\"key_list\",\"version\":1}",
		"{\"content\":\"key_list\",\"version\":1,\"keys\":{}}",
		"{\"content\":\"key_list\",\"version\":1,\"keys\":[],"
		    "\"keys\":[]}",
	};
	struct mgr_key_list l;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(keys(bad[i], &l), -1);
		assert_int_equal(l.n, 0);
	}
	assert_int_equal(keys("{\"content\":\"key_list\",\"version\":1,"
	    "\"keys\":[]}", &l), 0);
	assert_int_equal(l.n, 0);
}

static void
test_consoles_engine(void **state)
{
	struct mgr_console_list l;
	char err[256];

	assert_int_equal(consoles("{\"version\":\"1\",\"content\":"
	    "\"console_list\",\"consoles\":["
	    "{\"vmid\":\"6f1c-b\",\"vmname\":\"web2\",\"host\":"
	    "\"hv1.example.com\",\"console\":\"default\"},"
	    "{\"vmid\":\"6f1c-a\",\"vmname\":\"db\",\"host\":\"10.0.0.7\","
	    "\"console\":\"default\"}]}", MGR_JSON_ENGINE, &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	/* sorted by name; the socket is named after the VM id */
	assert_string_equal(l.v[0].vm_name, "db");
	assert_string_equal(l.v[0].vm_id, "6f1c-a");
	assert_string_equal(l.v[0].host, "10.0.0.7");
	assert_string_equal(l.v[0].console, "6f1c-a.sock");
	assert_string_equal(l.v[1].vm_name, "web2");
	assert_string_equal(l.v[1].console, "6f1c-b.sock");
	mgr_console_list_free(&l);
}

static void
test_consoles_helper(void **state)
{
	struct mgr_console_list l;
	char err[256];

	/* ovirt-vmconsole-list.py prints vmname and vm, console <vmid>.sock */
	assert_int_equal(consoles("{\"content\":\"console_list\",\"version\":1,"
	    "\"consoles\":[{\"vmid\":\"v1\",\"vmname\":\"web1\",\"vm\":\"web1\","
	    "\"host\":\"hv1\",\"console\":\"v1.sock\"},"
	    "{\"vmid\":\"v2\",\"vm\":\"plain\",\"host\":\"hv2\","
	    "\"console\":\"ttyS0\"}]}", MGR_JSON_COMMAND, &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].vm_name, "plain");
	assert_string_equal(l.v[0].console, "ttyS0");
	assert_string_equal(l.v[1].vm_name, "web1");
	assert_string_equal(l.v[1].console, "v1.sock");
	mgr_console_list_free(&l);
}

static void
test_consoles_bad_entries_skipped(void **state)
{
	struct mgr_console_list l;
	char err[256];

	assert_int_equal(consoles("{\"content\":\"console_list\",\"version\":1,"
	    "\"consoles\":[\"x\","
	    "{\"vmid\":\"v1\",\"vm\":\"a\",\"host\":\"-oProxyCommand=x\","
	    "\"console\":\"c\"},"
	    "{\"vmid\":\"v2\",\"vm\":\"b\",\"host\":\"hv\","
	    "\"console\":\"../../etc/passwd\"},"
	    "{\"vmid\":\"v3\",\"vm\":\"c\",\"host\":\"hv\"},"
	    "{\"vmid\":\"v4\",\"vm\":\"d\\u001b[2J\",\"host\":\"hv\","
	    "\"console\":\"c\"},"
	    "{\"vmid\":5,\"vm\":\"e\",\"host\":\"hv\",\"console\":\"c\"},"
	    "{\"vmid\":\"v6\",\"vm\":\"ok\",\"host\":\"hv\",\"console\":\"c\"}"
	    "]}", MGR_JSON_COMMAND, &l, err, sizeof(err)), 0);
	/* v4's name has control characters: kept, escaped where shown */
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].vm_id, "v4");
	assert_string_equal(l.v[1].vm_id, "v6");
	mgr_console_list_free(&l);

	/* engine: a vmid that cannot make a socket name */
	assert_int_equal(consoles("{\"content\":\"console_list\",\"version\":1,"
	    "\"consoles\":[{\"vmid\":\"../x\",\"vmname\":\"a\",\"host\":\"hv\","
	    "\"console\":\"default\"}]}", MGR_JSON_ENGINE, &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 0);
}

static void
test_consoles_bad_documents(void **state)
{
	struct mgr_console_list l;
	char err[256];

	assert_int_equal(consoles("<html>500</html>", MGR_JSON_ENGINE, &l, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(consoles("{\"content\":\"key_list\",\"version\":1,"
	    "\"consoles\":[]}", MGR_JSON_ENGINE, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "console_list"));
	assert_int_equal(consoles("{\"content\":\"console_list\","
	    "\"version\":true,\"consoles\":[]}", MGR_JSON_ENGINE, &l, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "version"));
}

/* One bad entry of each kind the strict parser refuses, between good
 * ones: each is skipped alone, every good key is kept (the whole list
 * used to be rejected, locking everyone out). */
static void
test_keys_one_bad_entry_each(void **state)
{
	static const char *bad[] = {
		/* \u0000 inside a string */
		"{\"entityid\":\"u-x\\u0000\",\"key\":\"ssh-ed25519 " K2 "\"}",
		/* a field given twice */
		"{\"entityid\":\"u-x\",\"entityid\":\"u-1\",\"key\":"
		    "\"ssh-ed25519 " K2 "\"}",
		/* a lone surrogate */
		"{\"entityid\":\"u-\\ud800\",\"key\":\"ssh-ed25519 " K2 "\"}",
		/* invalid UTF-8 */
		"{\"entityid\":\"u-\xff\xfe\",\"key\":\"ssh-ed25519 " K2 "\"}",
		/* a number that overflows */
		"{\"entityid\":\"u-x\",\"n\":123456789012345678901234567890,"
		    "\"key\":\"ssh-ed25519 " K2 "\"}",
		/* not even a value */
		"nonsense",
	};
	struct mgr_key_list l;
	char doc[2048];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc), "{\"content\":\"key_list\","
		    "\"version\":1,\"keys\":[{\"entityid\":\"u-1\",\"key\":"
		    "\"ssh-ed25519 " K1 "\"},%s,{\"entityid\":\"u-2\",\"key\":"
		    "\"ssh-ed25519 " K2 "\"}]}", bad[i]);
		assert_int_equal(keys(doc, &l), 0);
		assert_int_equal(l.n, 2);
		assert_string_equal(l.v[0].entity_id, "u-1");
		assert_string_equal(l.v[1].entity_id, "u-2");
		mgr_key_list_free(&l);
	}
}

/* Plain entries take a fast path that must read them exactly as jansson
 * would, and hand every other entry to jansson intact. */
static void
test_keys_fast_path_same_as_jansson(void **state)
{
	struct mgr_key_list l;

	assert_int_equal(keys("{\"content\":\"key_list\",\"version\":1,"
	    "\"keys\":["
	    /* plain, blanks between tokens, no entity: the id names it */
	    "{ \"entityid\" : \"u-1\" ,\n\"key\":\"ssh-ed25519 " K1 "\" }, "
	    /* a number: jansson's, and the buffer must be intact for it */
	    "{\"entityid\":\"u-2\",\"n\":1,\"key\":\"ssh-ed25519 " K2 "\"},"
	    /* repeated name: refused (by jansson) */
	    "{\"entityid\":\"u-3\",\"key\":\"ssh-ed25519 " K1 "\","
	    "\"entityid\":\"u-4\"},"
	    /* an escape: jansson decodes it */
	    "{\"entityid\":\"u-\\u0035\",\"entity\":\"a\\\"b\","
	    "\"key\":\"ssh-ed25519 " K1 "\"},"
	    /* more members than the fast path takes */
	    "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\","
	    "\"f\":\"6\",\"g\":\"7\",\"h\":\"8\",\"entityid\":\"u-6\","
	    "\"key\":\"ssh-ed25519 " K2 "\"}"
	    "]}", &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].entity_id, "u-1");
	assert_string_equal(l.v[0].entity, "u-1");
	assert_string_equal(l.v[0].blob, K1);
	assert_string_equal(l.v[1].entity_id, "u-2");
	assert_string_equal(l.v[2].entity_id, "u-5");
	assert_string_equal(l.v[2].entity, "a\"b");
	assert_string_equal(l.v[3].entity_id, "u-6");
	mgr_key_list_free(&l);
}

/* What the envelope itself gets wrong rejects the whole answer: a
 * repeated member, broken brackets, data after it, an early end. */
static void
test_keys_broken_envelope(void **state)
{
	static const char *docs[] = {
		"{\"content\":\"key_list\",\"version\":1,\"keys\":[],"
		    "\"keys\":[]}",
		"{\"content\":\"key_list\",\"content\":\"key_list\","
		    "\"version\":1,\"keys\":[]}",
		"{\"content\":\"key_list\",\"version\":1,\"keys\":[{]}",
		"{\"content\":\"key_list\",\"version\":1,\"keys\":[]}x",
		"{\"content\":\"key_list\",\"version\":1,\"keys\":[{}",
		"{\"content\":\"key_list\",\"version\":1,\"keys\":[{},]}",
		"{\"content\":\"key_list\",\"version\":1,\"keys\":{}}",
		"",
	};
	struct mgr_key_list l;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		memset(&l, 0, sizeof(l));
		assert_int_equal(mgr_json_keys(docs[i], strlen(docs[i]), &l,
		    err, sizeof(err)), -1);
		assert_int_equal(l.n, 0);
	}
}

/* Fed in pieces of any size (as the engine's reply arrives), the answer
 * reads the same; the envelope may come after the keys. */
static void
test_keys_streamed_in_pieces(void **state)
{
	const char *doc = " {\"keys\" : [ {\"entityid\":\"u-1\",\"entity\":"
	    "\"a \\\"b\\\" \\\\ c\",\"key\":\"ssh-ed25519 " K1 " x\"} , "
	    "{\"entityid\":\"u-2\",\"key\":\"ssh-ed25519 " K2 "\","
	    "\"extra\":[1,{\"a\":\"]}\"}]} ], \"version\" : \"1\", "
	    "\"content\":\"key_list\", \"other\": [[{}]] } \n";
	size_t piece, i, len = strlen(doc);

	for (piece = 1; piece <= len; piece = piece * 2 + 1) {
		struct mgr_key_list l = { NULL, 0, 0 };
		struct mgr_key_sink sink = mgr_key_list_sink(&l);
		struct mgr_json_stream *s = mgr_json_keys_begin(&sink);
		char err[256];

		for (i = 0; i < len; i += piece)
			assert_int_equal(mgr_json_feed(s, doc + i,
			    len - i < piece ? len - i : piece, err,
			    sizeof(err)), 0);
		assert_int_equal(mgr_json_keys_end(s, err, sizeof(err)), 0);
		assert_int_equal(l.n, 2);
		assert_string_equal(l.v[0].entity, "a \"b\" \\ c");
		assert_string_equal(l.v[1].blob, K2);
		mgr_key_list_free(&l);
	}
}

/* An entry over MGR_JSON_ENTRY_MAX is skipped without being held. */
static void
test_keys_huge_entry_skipped(void **state)
{
	struct mgr_key_list l;
	size_t n = MGR_JSON_ENTRY_MAX + 100, off;
	char *doc = malloc(n + 512);

	assert_non_null(doc);
	off = (size_t)sprintf(doc, "{\"content\":\"key_list\",\"version\":1,"
	    "\"keys\":[{\"entityid\":\"u-1\",\"pad\":\"");
	memset(doc + off, 'x', n);
	off += n;
	off += (size_t)sprintf(doc + off, "\",\"key\":\"ssh-ed25519 " K1 "\"},"
	    "{\"entityid\":\"u-2\",\"key\":\"ssh-ed25519 " K2 "\"}]}");
	assert_int_equal(keys(doc, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].entity_id, "u-2");
	mgr_key_list_free(&l);
	free(doc);
}

static void
test_consoles_one_bad_entry(void **state)
{
	struct mgr_console_list l;
	char err[256];

	assert_int_equal(consoles("{\"content\":\"console_list\",\"version\":1,"
	    "\"consoles\":[{\"vmid\":\"v1\",\"vm\":\"a\",\"vm\":\"b\","
	    "\"host\":\"hv\",\"console\":\"c\"},"
	    "{\"vmid\":\"v2\",\"vm\":\"b\\u0000\",\"host\":\"hv\","
	    "\"console\":\"c\"},"
	    "{\"vmid\":\"v3\",\"vm\":\"ok\",\"host\":\"hv\",\"console\":\"c\"}"
	    "]}", MGR_JSON_COMMAND, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].vm_id, "v3");
	mgr_console_list_free(&l);
}

/* A manager answering thousands of bad entries logs 5 of them and one
 * summary line, not thousands. */
static void
test_skips_do_not_flood_the_log(void **state)
{
	struct sockaddr_un sa;
	struct mgr_key_list l;
	char path[64], buf[2048];
	json_t *root, *arr;
	char *text;
	int fd, i, lines = 0, summary = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/tmp/test_mgr_json.%d.sock",
	    (int)getpid());
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	log_init("test_mgr_json");
	log_set_socket(path);

	root = json_pack("{s:s,s:i,s:[]}", "content", "key_list", "version", 1,
	    "keys");
	arr = json_object_get(root, "keys");
	for (i = 0; i < 500; i++)
		json_array_append_new(arr, json_pack("{s:s,s:s}", "entityid",
		    "u", "key", "ssh-ed25519 bad"));
	json_array_append_new(arr, json_pack("{s:s,s:s}", "entityid", "ok",
	    "key", "ssh-ed25519 " K1));
	text = json_dumps(root, 0);
	assert_int_equal(keys(text, &l), 0);
	assert_int_equal(l.n, 1);
	mgr_key_list_free(&l);
	free(text);
	json_decref(root);

	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		lines++;
		if (strstr(buf, "495 more entries skipped") != NULL)
			summary++;
	}
	log_set_socket("/dev/log");
	close(fd);
	unlink(path);
	assert_int_equal(lines, 6);
	assert_int_equal(summary, 1);
}

static void
test_engine_request(void **state)
{
	json_t *o;
	char *s;

	s = mgr_json_engine_request(NULL);
	assert_non_null(s);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "command")),
	    "public_keys");
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
	assert_null(json_object_get(o, "user_id"));
	json_decref(o);
	free(s);

	s = mgr_json_engine_request("6c0d\"x");
	assert_non_null(s);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "command")),
	    "available_consoles");
	assert_string_equal(json_string_value(json_object_get(o, "user_id")),
	    "6c0d\"x");
	json_decref(o);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_helper_shape),
		cmocka_unit_test(test_keys_engine_shape),
		cmocka_unit_test(test_keys_bad_entries_skipped),
		cmocka_unit_test(test_keys_bad_documents),
		cmocka_unit_test(test_consoles_engine),
		cmocka_unit_test(test_consoles_helper),
		cmocka_unit_test(test_consoles_bad_entries_skipped),
		cmocka_unit_test(test_consoles_bad_documents),
		cmocka_unit_test(test_keys_one_bad_entry_each),
		cmocka_unit_test(test_keys_fast_path_same_as_jansson),
		cmocka_unit_test(test_keys_broken_envelope),
		cmocka_unit_test(test_keys_streamed_in_pieces),
		cmocka_unit_test(test_keys_huge_entry_skipped),
		cmocka_unit_test(test_consoles_one_bad_entry),
		cmocka_unit_test(test_skips_do_not_flood_the_log),
		cmocka_unit_test(test_engine_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
