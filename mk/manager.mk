# mk/manager.mk: src/lib/manager, the questions sercon asks its manager
# (which keys, which consoles) and every backend behind them: the inventory
# file, a command, the oVirt engine (tickets over HTTPS), the console cache
# and the key index. Uses core only.
noinst_LIBRARIES += src/lib/manager/libsercon_manager.a
src_lib_manager_libsercon_manager_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) \
	$(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
src_lib_manager_libsercon_manager_a_SOURCES = \
	src/lib/manager/manager.c src/lib/manager/manager.h \
	src/lib/manager/backend.h \
	src/lib/manager/be_file.c src/lib/manager/inventory.h \
	src/lib/manager/be_command.c src/lib/manager/be_engine.c \
	src/lib/manager/cache.c src/lib/manager/cache.h \
	src/lib/manager/keyindex.c src/lib/manager/keyindex.h \
	src/lib/manager/ticket.c src/lib/manager/ticket.h \
	src/lib/manager/http.c src/lib/manager/http.h \
	src/lib/manager/mgr_json.c src/lib/manager/mgr_json.h

if HAVE_CMOCKA
manager_unit_tests = tests/unit/test_inventory tests/unit/test_keyindex \
	tests/unit/test_ticket tests/unit/test_mgr_json \
	tests/unit/test_cache tests/unit/test_be_command tests/unit/test_http
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
tests_unit_test_be_command_CFLAGS = $(unit_cflags)
tests_unit_test_be_command_LDADD = $(unit_ldadd)
tests_unit_test_http_CFLAGS = $(unit_cflags) $(CURL_CFLAGS)
tests_unit_test_http_LDADD = $(unit_ldadd)
endif

# The test engine, the integration tests and the benchmark of this part.
EXTRA_DIST += tests/engine/sercon_test_engine.py \
	tests/integration/remote_util.py tests/integration/test_engine.py \
	tests/integration/test_command.py tools/bench/remote.py
