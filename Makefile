# Makefile — the README's two commands, `make demo` and `make test`, plus build, install and clean.
# It only strings steps together: packages (scripts/bootstrap), CMake, ctest (scripts/run-tests).
#   make demo                  install packages, build build/ (RelWithDebInfo), run the quickstarts
#                              (examples/quickstart.c, quickstart.lua on Lua 5.4 and LuaJIT) and the
#                              ORM tutorial (examples/orm_tutorial.c)
#   make test                  install packages, build build/test with ASan+UBSan, run every test;
#                              also build test_pool alone under ThreadSanitizer (build/tsan) and run it
#   make test CTEST_ARGS='-R abi'   pass arguments to ctest (-L unit, -LE slow, -R name, ...)
#   make coverage              build build/coverage (gcc --coverage, no sanitizers), run the tests
#                              (servers too) and print line/branch coverage per layer with gcovr
#   make bench                 build build/bench (RelWithDebInfo, no sanitizers), start the test
#                              servers and run every benchmark workload; prints one table and writes
#                              bench/results/ (make bench QUICK=1: a smoke run with small N)
#   make install PREFIX=/opt/athanor
# BOOTSTRAP=true skips the package check (for non-Debian systems with the dependencies installed).

BUILD_DIR  ?= build
TEST_DIR   ?= build/test
TSAN_DIR   ?= build/tsan
COVERAGE_DIR ?= build/coverage
BENCH_DIR  ?= build/bench
BUILD_TYPE ?= RelWithDebInfo
SANITIZE   ?= address,undefined
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
BOOTSTRAP  ?= scripts/bootstrap
CMAKE      ?= cmake
CTEST_ARGS ?=

MAKEFLAGS += --no-print-directory

.PHONY: all demo test build test-build test-tsan-build coverage bench bootstrap install clean

all: build

bootstrap:
	@$(BOOTSTRAP)

build: bootstrap
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

LUA_DEMO_PATH = LUA_PATH='bindings/lua/?.lua;;'
demo: build
	$(BUILD_DIR)/examples/quickstart
	$(LUA_DEMO_PATH) LUA_CPATH='$(BUILD_DIR)/bindings/lua/5.4/?.so;;' lua5.4 examples/quickstart.lua
	$(LUA_DEMO_PATH) LUA_CPATH='$(BUILD_DIR)/bindings/lua/luajit/?.so;;' luajit examples/quickstart.lua
	$(BUILD_DIR)/examples/orm_tutorial
	$(LUA_DEMO_PATH) LUA_CPATH='$(BUILD_DIR)/bindings/lua/5.4/?.so;;' lua5.4 examples/orm_tutorial.lua
	$(LUA_DEMO_PATH) LUA_CPATH='$(BUILD_DIR)/bindings/lua/luajit/?.so;;' luajit examples/orm_tutorial.lua

test-build: bootstrap
	$(CMAKE) -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DATHANOR_SANITIZE=$(SANITIZE)
	$(CMAKE) --build $(TEST_DIR) -j$(JOBS)

# ThreadSanitizer cannot be combined with ASan: a second, small build of just the threaded pool test.
test-tsan-build: bootstrap
	$(CMAKE) -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DATHANOR_SANITIZE=thread \
		-DATHANOR_BUILD_EXAMPLES=OFF >/dev/null
	$(CMAKE) --build $(TSAN_DIR) -j$(JOBS) --target test_pool

test: test-build test-tsan-build
	ATHANOR_TSAN_DIR=$(TSAN_DIR) scripts/run-tests $(TEST_DIR) $(CTEST_ARGS)

# Coverage is not part of make test, so gcovr is not in scripts/bootstrap: installed here when missing.
# The servers live under the coverage tree (not build/test's); fuzzing is skipped; the figures
# are branch coverage of each layer's sources, exercised by every test but the slow ones.
# The layers: capi/, orm/ and every engine/ directory, each dialect on its own (new directories join by themselves).
COVERAGE_LAYERS = capi orm $(patsubst %/,%,$(filter-out engine/dialects/,$(sort $(wildcard engine/*/))) $(sort $(wildcard engine/dialects/*/)))
coverage: bootstrap
	@command -v gcovr >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q --no-install-recommends gcovr </dev/null; } || \
		{ echo "make coverage needs gcovr: apt-get install gcovr" >&2; exit 1; }
	$(CMAKE) -S . -B $(COVERAGE_DIR) -DCMAKE_BUILD_TYPE=Debug -DATHANOR_COVERAGE=ON -DATHANOR_SANITIZE= >/dev/null
	$(CMAKE) --build $(COVERAGE_DIR) -j$(JOBS)
	find $(COVERAGE_DIR) -name '*.gcda' -delete
	ATHANOR_TEST_SERVERS_DIR=$(COVERAGE_DIR)/servers ATHANOR_FUZZ_SECONDS=0 scripts/run-tests $(COVERAGE_DIR) -LE slow
	@echo "coverage (gcovr; lines and branches of the sources under each directory):"
	@# A real file for -o: gcovr 5.2 unlinks the output path after probing it, /dev/null included.
	@mkdir -p $(COVERAGE_DIR)/report
	@for layer in $(COVERAGE_LAYERS) total; do \
		if [ $$layer = total ]; then f="--filter capi/ --filter orm/ --filter engine/"; l="total (capi/ + orm/ + engine/)"; \
		else f="--filter $$layer/"; l="$$layer/"; fi; \
		out=$(COVERAGE_DIR)/report/$$(echo $$layer | tr / _).txt; \
		gcovr -r . --object-directory $(COVERAGE_DIR) $$f --print-summary -o $$out | \
		awk -v l="$$l" '/^lines:/ {ln = $$2 " " $$3 " " $$4 " " $$5 " " $$6} \
			/^branches:/ {printf "  %-28s branches %-26s lines %s\n", l, $$2 " " $$3 " " $$4 " " $$5 " " $$6, ln}'; \
	done
	@mkdir -p $(COVERAGE_DIR)/html
	@gcovr -r . --object-directory $(COVERAGE_DIR) --filter 'capi/' --filter 'orm/' --filter 'engine/' --html-details \
		-o $(COVERAGE_DIR)/html/index.html && echo "per-file reports: $(COVERAGE_DIR)/report/, $(COVERAGE_DIR)/html/index.html"

# Benchmarks are not part of make test; their extra packages (SQLAlchemy's drivers for the servers,
# gnuplot for the chart) are installed here when missing, not by scripts/bootstrap. bench/run starts
# and stops the servers (under $(BENCH_DIR)/servers) itself. At most -j2: the machine is shared.
BENCH_DEBS = python3-sqlalchemy python3-psycopg2 python3-pymysql gnuplot-nox lua-cjson lua-system
bench: bootstrap
	@missing=$$(for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		{ [ "$$(id -u)" = 0 ] && apt-get install -y -q --no-install-recommends $$missing </dev/null; } || \
		{ echo "make bench needs: apt-get install $$missing" >&2; exit 1; }; \
	fi
	$(CMAKE) -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATHANOR_SANITIZE= \
		-DATHANOR_BUILD_TESTS=OFF -DATHANOR_BUILD_EXAMPLES=OFF -DATHANOR_BUILD_BENCH=ON >/dev/null
	$(CMAKE) --build $(BENCH_DIR) -j2
	bench/run --build $(BENCH_DIR) $(if $(QUICK),--quick)

install: build
	$(CMAKE) --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD_DIR) $(TEST_DIR) $(TSAN_DIR) $(COVERAGE_DIR) $(BENCH_DIR)
