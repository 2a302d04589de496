# mk/vm.mk: demo, VM tests, benchmarks: the tiny VM image scripts, the
# one-command demo (tools/quickstart, listed in Makefile.am), the real-VM and
# network-namespace integration tests, and the `make bench` driver.
EXTRA_DIST += \
	tests/vm/build-image tests/vm/run-vm \
	tests/integration/test_vm.py tests/integration/test_netns.py \
	tests/integration/vm_util.py \
	tools/bench/run tools/bench/vm.py tools/bench/session.py \
	tools/bench/migration.py \
	docs/demo.md docs/bench.md

# Builds with -O2 in its own directory and prefix, runs every part's
# benchmark, prints a table and writes bench-results/<timestamp>.json.
.PHONY: bench
bench:
	$(top_srcdir)/tools/bench/run
