# Plain GNU make (git and redis model). Output goes to $(O), default build/.
#   make            build/runner
#   make test       every test; ends with "N passed, N failed"
#   make check      tests under ASan+UBSan, scheduler tests under TSan
#   make demo       set up and run plans/demo.yaml on the local backend
#   make bench      tests/bench/, against standard tools in the same run
#   make man        regenerate doc/runner.1 from the commands' --help
#   make install PREFIX=/usr/local

O ?= build
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
RUNNER_VERSION := 0.1.0

PKGS := yaml-0.1 libcurl libcjson sqlite3 libarchive libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wwrite-strings -Wformat=2 \
	-Wpointer-arith -Wno-format-nonliteral -fno-common
CFLAGS_ALL = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
	-DRUNNER_VERSION='"$(RUNNER_VERSION)"' $(OPT) $(WARN) \
	-iquote runner -iquote $(O)/gen $(PKG_CFLAGS) -pthread -MMD -MP $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -pthread -lm $(LDLIBS)

ifdef SANITIZE
CFLAGS_ALL += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC := $(filter-out runner/main.c,$(wildcard runner/*.c))
LIB_OBJ := $(patsubst runner/%.c,$(O)/obj/%.o,$(LIB_SRC)) \
	$(O)/obj/migrations-gen.o $(O)/obj/prices-gen.o
UNIT_SRC := $(wildcard tests/unit/u-*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
HELPER_SRC := $(wildcard tests/helper/*.c)
HELPER_BIN := $(patsubst tests/helper/%.c,$(O)/tests/%,$(HELPER_SRC))
MIGRATIONS := $(sort $(wildcard migrations/*.sql))

.PHONY: all build test check check-asan check-tsan demo bench install \
	deps clean style man print-cflags

all: $(O)/runner

build: all

$(O)/runner: $(O)/obj/main.o $(O)/librunner.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(O)/librunner.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/obj/%.o: runner/%.c | $(O)/gen/migrations-gen.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# Regenerated every time (it is cheap) and replaced only when it changed,
# so that adding, editing or deleting a migration always reaches the binary.
$(O)/gen/migrations-gen.c: FORCE
	@mkdir -p $(dir $@)
	@sh tools/embed-migrations.sh $(MIGRATIONS) > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; \
		echo "embedded $(words $(MIGRATIONS)) migration files"; fi

.PHONY: FORCE
FORCE:

$(O)/obj/migrations-gen.o: $(O)/gen/migrations-gen.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# The price table (runner/prices.h), embedded the same way.
$(O)/gen/prices-gen.c: FORCE
	@mkdir -p $(dir $@)
	@sh tools/embed-file.sh runner_prices_json prices/models.json > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; \
		echo "embedded prices/models.json"; fi

$(O)/obj/prices-gen.o: $(O)/gen/prices-gen.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(O)/tests/%: tests/unit/%.c $(O)/librunner.a tests/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -iquote tests/unit $(LDFLAGS) -o $@ $< \
		$(O)/librunner.a $(LDLIBS_ALL)

$(O)/tests/%: tests/helper/%.c $(O)/librunner.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $< $(O)/librunner.a \
		$(LDLIBS_ALL)

deps:
	sh tools/deps.sh

test: deps-quiet $(O)/runner $(UNIT_BIN) $(HELPER_BIN)
	sh tests/run-tests.sh $(O)

# Installs only what is missing; silent when everything is there.
.PHONY: deps-quiet
deps-quiet:
	@sh tools/deps.sh --quiet

check: check-asan check-tsan

check-asan:
	$(MAKE) O=build-asan SANITIZE=address,undefined OPT='-O1 -g' test

# The scheduler under ThreadSanitizer: the pool's and proc's unit tests,
# and the end-to-end scheduler tests driving a TSan build of the runner.
TSAN_UNITS := u-pool u-proc u-caps
TSAN_TESTS := $(TSAN_UNITS) t2000-exec t2100-sched
check-tsan: deps-quiet
	$(MAKE) O=build-tsan SANITIZE=thread OPT='-O1 -g' build-tsan/runner \
		$(addprefix build-tsan/tests/,$(TSAN_UNITS))
	TSAN_OPTIONS=halt_on_error=1 sh tests/run-tests.sh build-tsan \
		--only "$(TSAN_TESTS)"

demo: deps-quiet $(O)/runner
	sh tools/demo.sh $(O)/runner

bench: deps-quiet
	$(MAKE) O=build-bench OPT='-O2' build-bench/runner \
		build-bench/tests/test-tool
	sh tests/bench/run.sh build-bench/runner

# The man page is generated from the options tables (runner CMD --help)
# and committed, so a clean clone installs it without running anything;
# tests/t/t0300-cli-help.sh fails when it is stale.
man: $(O)/runner
	sh tools/gen-man.sh $(O)/runner doc/runner.1.in > doc/runner.1.tmp
	@if cmp -s doc/runner.1.tmp doc/runner.1; then rm doc/runner.1.tmp; \
	else mv doc/runner.1.tmp doc/runner.1; echo "wrote doc/runner.1"; fi

install: $(O)/runner
	install -D -m 0755 $(O)/runner $(DESTDIR)$(PREFIX)/bin/runner
	install -D -m 0644 doc/runner.1 \
		$(DESTDIR)$(PREFIX)/share/man/man1/runner.1

# The committed style was made with clang-format 14 (Debian 12's); other
# versions format some constructs differently.
CLANG_FORMAT ?= clang-format-14
style:
	$(CLANG_FORMAT) --dry-run --Werror runner/*.c runner/*.h

# The flags a file of runner/ compiles with (t0200 compiles each header
# on its own with them).
print-cflags:
	@echo $(filter-out -MMD -MP,$(CFLAGS_ALL))

clean:
	rm -rf build build-asan build-tsan build-bench

-include $(wildcard $(O)/obj/*.d $(O)/tests/*.d)
