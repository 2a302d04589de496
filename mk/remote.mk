# mk/remote.mk: manager backends engine and command, console cache.
src_lib_libsercon_a_SOURCES += \
	src/lib/be_command.c src/lib/be_engine.c src/lib/cache.c \
	src/lib/ticket.c src/lib/ticket.h \
	src/lib/http.c src/lib/http.h \
	src/lib/mgr_json.c src/lib/mgr_json.h

if HAVE_CMOCKA
remote_unit_tests = tests/unit/test_ticket tests/unit/test_mgr_json \
	tests/unit/test_cache tests/unit/test_be_command tests/unit/test_http
check_PROGRAMS += $(remote_unit_tests)
TESTS += $(remote_unit_tests)
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
