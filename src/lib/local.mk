# src/lib: the shared core, one static library every program links.
noinst_LIBRARIES += src/lib/libsercon.a
src_lib_libsercon_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS) \
	$(CRYPTO_CFLAGS) $(INIH_CFLAGS)
src_lib_libsercon_a_SOURCES = \
	src/lib/log.c src/lib/log.h \
	src/lib/config.c src/lib/config.h \
	src/lib/args.c src/lib/args.h \
	src/lib/text.c src/lib/text.h \
	src/lib/child.c src/lib/child.h \
	src/lib/term.c src/lib/term.h \
	src/lib/manager.h src/lib/backend.h

# What a program links to use the library.
SERCON_LIBS = src/lib/libsercon.a $(CURL_LIBS) $(JANSSON_LIBS) \
	$(CRYPTO_LIBS) $(INIH_LIBS)

# Each part of the core adds its sources in its own fragment.
include $(srcdir)/src/lib/host.mk
include $(srcdir)/src/lib/proxy.mk
include $(srcdir)/src/lib/remote.mk
include $(srcdir)/src/lib/setup.mk
