# Makefile — the README's two commands, `make demo` and `make test`, plus build, install and clean.
# It only strings steps together: packages (scripts/bootstrap), CMake, ctest (scripts/run-tests).
#   make demo                  install packages, build build/ (RelWithDebInfo), run the quickstart
#   make test                  install packages, build build/test with ASan+UBSan, run every test;
#                              also build test_pool alone under ThreadSanitizer (build/tsan) and run it
#   make test CTEST_ARGS='-R abi'   pass arguments to ctest (-L unit, -LE slow, -R name, ...)
#   make install PREFIX=/opt/athanor
# BOOTSTRAP=true skips the package check (for non-Debian systems with the dependencies installed).

BUILD_DIR  ?= build
TEST_DIR   ?= build/test
TSAN_DIR   ?= build/tsan
BUILD_TYPE ?= RelWithDebInfo
SANITIZE   ?= address,undefined
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
BOOTSTRAP  ?= scripts/bootstrap
CMAKE      ?= cmake
CTEST_ARGS ?=

MAKEFLAGS += --no-print-directory

.PHONY: all demo test build test-build test-tsan-build bootstrap install clean

all: build

bootstrap:
	@$(BOOTSTRAP)

build: bootstrap
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)

demo: build
	$(BUILD_DIR)/examples/quickstart

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

install: build
	$(CMAKE) --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD_DIR) $(TEST_DIR) $(TSAN_DIR)
