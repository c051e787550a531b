# Coffre build. `make` builds build/coffre; `make test` installs what is
# missing, builds the normal and the ASan+UBSan variants, runs the unit tests
# under both and the integration tests against the sanitizer build.
# `make run` starts a development server on ./var.

.DEFAULT_GOAL := all
.SECONDARY:
SHELL := /bin/bash

CC ?= cc
PKGS := openssl libevent_openssl libevent_pthreads libevent sqlite3 jansson libcurl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
TEST_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -std=c11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-missing-field-initializers
BASE_CFLAGS = $(WARN) -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -MMD -MP
REL_CFLAGS = $(BASE_CFLAGS) -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_CFLAGS = $(BASE_CFLAGS) -O1 -g $(ASAN_FLAGS)
REL_LDFLAGS := -pie -Wl,-z,relro,-z,now
ASAN_LDFLAGS := $(ASAN_FLAGS)

MAIN_SRC := src/cli/main.c
SRCS := $(filter-out $(MAIN_SRC),$(sort $(wildcard src/*/*.c)))
UNIT_SRCS := $(sort $(wildcard tests/unit/*_test.c))
# Shared test fixtures, linked into every unit test binary.
TEST_SUPPORT_SRCS := $(sort $(wildcard tests/unit/support/*.c))
UNIT_NAMES := $(notdir $(UNIT_SRCS:.c=))
BENCH_SRCS := $(sort $(wildcard bench/*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(notdir $(FUZZ_SRCS:.c=))
FUZZ_REPLAY := $(FUZZ_NAMES:%=build/asan/fuzz-replay/%)

# Generated sources: documents embedded in the binary.
GEN_SRCS := build/gen/rest_openapi_doc.c
REL_OBJS := $(SRCS:%.c=build/obj/%.o) $(GEN_SRCS:%.c=build/obj/%.o)
ASAN_OBJS := $(SRCS:%.c=build/asan/obj/%.o) $(GEN_SRCS:%.c=build/asan/obj/%.o)

build/gen/rest_openapi_doc.c: docs/openapi.json scripts/embed.py
	@mkdir -p $(dir $@)
	/usr/bin/python3 scripts/embed.py $< $@ rest_openapi_doc

REL_TESTS := $(UNIT_NAMES:%=build/tests/%)
ASAN_TESTS := $(UNIT_NAMES:%=build/asan/tests/%)

.PHONY: all deps asan tests test unit unit-rel unit-asan integration run bench bench-scale clean fuzz fuzz-deps fuzz-replay

all: build/coffre

deps:
	@bash scripts/deps.sh

Q := $(if $(V),,@)

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(REL_CFLAGS) -c $< -o $@

build/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC asan $<")
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

build/libcoffre.a: $(REL_OBJS)
	@rm -f $@
	ar rcs $@ $^

build/asan/libcoffre.a: $(ASAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

build/coffre: build/obj/$(MAIN_SRC:.c=.o) build/libcoffre.a
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/asan/coffre: build/asan/obj/$(MAIN_SRC:.c=.o) build/asan/libcoffre.a
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/tests/%: build/obj/tests/unit/%.o $(TEST_SUPPORT_SRCS:%.c=build/obj/%.o) build/libcoffre.a
	@mkdir -p $(dir $@)
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(PKG_LIBS)

build/asan/tests/%: build/asan/obj/tests/unit/%.o $(TEST_SUPPORT_SRCS:%.c=build/asan/obj/%.o) build/asan/libcoffre.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(PKG_LIBS)

BENCH_BINS := $(notdir $(BENCH_SRCS:.c=))
BENCH_BINS := $(BENCH_BINS:%=build/bench/%)

build/bench/%: build/obj/bench/%.o build/libcoffre.a
	@mkdir -p $(dir $@)
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Fuzz targets, replayed without libFuzzer (gcc, ASan+UBSan) over the
# committed regression inputs and seed corpora: tests/fuzz/corpus/<target>/.
build/asan/fuzz-replay/%: build/asan/obj/tests/fuzz/%.o build/asan/obj/tests/fuzz/replay_main.o build/asan/libcoffre.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(PKG_LIBS)

fuzz-replay: $(FUZZ_REPLAY)
	@set -e; for t in $(FUZZ_NAMES); do echo "== fuzz replay $$t"; \
	  build/asan/fuzz-replay/$$t tests/fuzz/corpus/$$t; done

# libFuzzer with clang: `make fuzz FUZZ_SECONDS=1800` runs every target
# that long, one after the other (FUZZ_TARGETS="fuzz_http" for some), seeded
# by tests/fuzz/seeds.py (the KMIP test vectors in ../shared, the REST bodies
# of docs/openapi.json and the integration tests, with dictionaries), and
# prints the executions and coverage of each (tests/fuzz/run.sh). Crashes
# land in build/fuzz/crashes-<target>/; copy them into
# tests/fuzz/corpus/<target>/ once fixed.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_CC := clang
fuzz-deps:
	@bash scripts/deps.sh clang

build/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(SRCS) $(GEN_SRCS) | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -Isrc -Itests/fuzz $(PKG_CFLAGS) \
	  -o $@ $< $(SRCS) $(GEN_SRCS) $(PKG_LIBS)

fuzz: deps $(FUZZ_TARGETS:%=build/fuzz/%)
	@mkdir -p build/fuzz/seeds
	/usr/bin/python3 tests/fuzz/seeds.py $(CURDIR)/../shared build/fuzz/seeds
	bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

asan: build/asan/coffre
tests: $(REL_TESTS) $(ASAN_TESTS)

export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

unit-rel: $(REL_TESTS)
	@set -e; for t in $(REL_TESTS); do echo "== $$t"; CF_SHARED=$(CURDIR)/../shared $$t; done

unit-asan: $(ASAN_TESTS)
	@set -e; for t in $(ASAN_TESTS); do echo "== $$t (asan)"; CF_SHARED=$(CURDIR)/../shared $$t; done

unit: unit-rel unit-asan

# Integration tests (and the OASIS conformance cases) drive the sanitizer build of the real server with real
# clients (PyKMIP through Debian's /usr/bin/python3, curl).
integration: build/coffre build/asan/coffre
	COFFRE_BIN=$(CURDIR)/build/asan/coffre CF_SHARED=$(CURDIR)/../shared \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider -W ignore::DeprecationWarning tests/integration tests/conformance

test: deps
	$(MAKE) all asan tests $(FUZZ_REPLAY)
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) integration

run: deps
	$(MAKE) all
	./build/coffre server --data ./var --kmip-listen 127.0.0.1:5696 --https-listen 127.0.0.1:8443

# Throughput and latency against the live server, PyKMIP's server, a no-op
# TLS server (the machine's limit) and nginx (REST); the audit's cost.
# `make bench-scale`: Get, Locate and REST listing at 10^3, 10^5 and 10^6
# keys, RSS and start-up time (minutes). Never part of `make test`.
bench: deps
	bash bench/deps.sh
	$(MAKE) all $(BENCH_BINS)
	bash bench/run.sh

bench-scale: deps
	bash bench/deps.sh
	$(MAKE) all $(BENCH_BINS)
	bash bench/scale.sh

clean:
	rm -rf build

-include $(REL_OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(wildcard build/obj/bench/*.d) $(wildcard build/obj/tests/unit/*.d) $(wildcard build/asan/obj/tests/unit/*.d) $(wildcard build/asan/obj/tests/fuzz/*.d) $(wildcard build/obj/tests/unit/support/*.d) $(wildcard build/asan/obj/tests/unit/support/*.d)
