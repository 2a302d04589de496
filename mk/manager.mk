# mk/manager.mk: src/lib/manager, the questions sercon asks its manager
# (which keys, which consoles) and every backend behind them: the inventory
# file, a command, the oVirt engine (tickets over HTTPS), the console cache
# and the key index. Uses core only. From the bottom up:
#   records                    the records and their lists
#   keyindex mgr_json cachedir backoff http ticket
#   be_file (inventory) be_command be_engine (backend.h) cache rindex
#   remote_direct | remote_exec     the remote step (remote.h)
#   file_policy remote_policy       when the index answers (policy.h)
#   manager                    the dispatcher
# The archive holds remote_direct.c (the backends called in-process). The
# programs that sshd runs at every login link remote_exec.c as an object
# instead (mk/proxy.mk): its definitions come first, so the linker never
# pulls remote_direct.o, nor libcurl or libcrypto, into them.
noinst_LIBRARIES += src/lib/manager/libsercon_manager.a
src_lib_manager_libsercon_manager_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) \
	$(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
src_lib_manager_libsercon_manager_a_SOURCES = \
	src/lib/manager/records.c src/lib/manager/records.h \
	src/lib/manager/keyindex.c src/lib/manager/keyindex.h \
	src/lib/manager/mgr_json.c src/lib/manager/mgr_json.h \
	src/lib/manager/cachedir.c src/lib/manager/cachedir.h \
	src/lib/manager/backoff.c src/lib/manager/backoff.h \
	src/lib/manager/http.c src/lib/manager/http.h \
	src/lib/manager/ticket.c src/lib/manager/ticket.h \
	src/lib/manager/be_file.c src/lib/manager/inventory.h \
	src/lib/manager/backend.h \
	src/lib/manager/be_command.c src/lib/manager/be_engine.c \
	src/lib/manager/cache.c src/lib/manager/cache.h \
	src/lib/manager/rindex.c src/lib/manager/rindex.h \
	src/lib/manager/remote.h src/lib/manager/remote_direct.c \
	src/lib/manager/policy.h src/lib/manager/file_policy.c \
	src/lib/manager/remote_policy.c \
	src/lib/manager/manager.c src/lib/manager/manager.h

if HAVE_CMOCKA
manager_unit_tests = tests/unit/test_inventory tests/unit/test_keyindex \
	tests/unit/test_ticket tests/unit/test_mgr_json \
	tests/unit/test_cache tests/unit/test_be_command tests/unit/test_http \
	tests/unit/test_manager
check_PROGRAMS += $(manager_unit_tests)
TESTS += $(manager_unit_tests)
tests_unit_test_inventory_SOURCES = tests/unit/test_inventory.c tests/unit/keys_fixture.h
tests_unit_test_inventory_CFLAGS = $(unit_cflags)
tests_unit_test_inventory_LDADD = $(unit_ldadd)
tests_unit_test_keyindex_SOURCES = tests/unit/test_keyindex.c tests/unit/keys_fixture.h
tests_unit_test_keyindex_CFLAGS = $(unit_cflags)
tests_unit_test_keyindex_LDADD = $(unit_ldadd)
tests_unit_test_ticket_CFLAGS = $(unit_cflags) $(CRYPTO_CFLAGS)
tests_unit_test_ticket_LDADD = $(unit_ldadd)
tests_unit_test_mgr_json_CFLAGS = $(unit_cflags)
tests_unit_test_mgr_json_LDADD = $(unit_ldadd)
tests_unit_test_cache_CFLAGS = $(unit_cflags)
tests_unit_test_cache_LDADD = $(unit_ldadd)
# close() wrapped: the test makes it fail once and counts the closes
tests_unit_test_cache_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=close
tests_unit_test_manager_SOURCES = tests/unit/test_manager.c tests/unit/keys_fixture.h
tests_unit_test_manager_CFLAGS = $(unit_cflags)
tests_unit_test_manager_LDADD = $(unit_ldadd)
tests_unit_test_be_command_CFLAGS = $(unit_cflags)
tests_unit_test_be_command_LDADD = $(unit_ldadd)
tests_unit_test_http_CFLAGS = $(unit_cflags) $(CURL_CFLAGS)
tests_unit_test_http_LDADD = $(unit_ldadd)
endif

# The test engine, the integration tests and the benchmark of this part.
EXTRA_DIST += tests/engine/sercon_test_engine.py \
	tests/integration/remote_util.py tests/integration/test_engine.py \
	tests/integration/test_command.py tools/bench/remote.py
