# mod_afiliate — build, run and test.
#
#   make            build the module (apxs) and build/afiliatectl
#   make run        install deps, build, seed var/afiliate.db, serve 127.0.0.1:$(PORT)
#                   (RENAPO=double: identity from the RENAPO test double, docs/renapo.md)
#   make test       install deps, build, run every test layer, print "N passed, N failed, N skipped"
#   make test-browser  the real-browser layer alone (Debian chromium + playwright-core, axe-core)
#   make test-clone    `make run` from a fresh clone in a mode-0700 folder (as under /root)
#   make bench      benchmarks (not tests)
#   make deb        the Debian package build/libapache2-mod-afiliate_VERSION_ARCH.deb (lintian-checked)
#   make bench-peer the HTTP benchmark beside the PHP peer (not in this repository; PEER_PHP_DIR)
#   make fuzz       libFuzzer + ASan/UBSan on the parsers (clang)
#   make test-asan  module and afiliatectl with ASan+UBSan (build/asan/), the integration
#                   suite on SQLite under event and prefork, failing on any sanitizer report
#   make test-crash the module with test-only crash points (build/crash/): a child killed
#                   by abort() at each commit point, then the student retries
#
# Pure units are mod_afiliate/afl_*.c (no httpd header); httpd glue is
# mod_afiliate/mod_afiliate*.c; the CLI is mod_afiliate/afiliatectl*.c.

PORT      ?= 8080
MPM       ?= event
APXS      ?= apxs
CC        ?= gcc
PYTHON    ?= /usr/bin/python3
BUILD     := build
SRCDIR    := mod_afiliate

CORE_SRCS := $(sort $(wildcard $(SRCDIR)/afl_*.c))
GLUE_SRCS := $(sort $(wildcard $(SRCDIR)/mod_afiliate*.c))
CTL_SRCS  := $(sort $(wildcard $(SRCDIR)/afiliatectl*.c))
HEADERS   := $(wildcard $(SRCDIR)/*.h)
# The schema migrations, compiled in as C strings (afl_migrate.h).
MIGRATIONS := $(sort $(wildcard sql/sqlite/migrations/*.sql sql/pgsql/migrations/*.sql))
GEN_SRCS  := $(BUILD)/gen/afl_migrations.c
CORE_OBJS := $(patsubst $(SRCDIR)/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS)) $(BUILD)/obj/afl_migrations.o

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY:= $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/replay_%,$(FUZZ_SRCS))
BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

PKGS      := apr-1 apr-util-1 libpcre2-8 gdlib libcurl jansson libqrencode libzip libcrypto sqlite3 libpq
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEP_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhpdf -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)

WARN      := -Wall -Wextra -Wformat -Werror=format-security \
             -Werror=implicit-function-declaration -Wshadow -Wstrict-prototypes
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -fPIC -fstack-protector-strong \
             -D_FORTIFY_SOURCE=2 -D_GNU_SOURCE -I$(SRCDIR) $(DEP_CFLAGS)

MODULE    := $(BUILD)/mod_afiliate.so
CTL       := $(BUILD)/afiliatectl

.PHONY: all deps build-all run run-cluster test test-unit test-fuzz test-integration test-clone \
        test-asan asan-build test-crash crash-build \
        test-browser bench bench-peer \
        bench-curp fuzz check-pure format format-check clean deb

all: deps
	@$(MAKE) --no-print-directory build-all

deps:
	@scripts/deps.sh build

build-all: check-pure $(MODULE) $(CTL)

# The module: apxs compiles pure and glue units into one DSO.
$(MODULE): $(CORE_SRCS) $(GLUE_SRCS) $(GEN_SRCS) $(HEADERS) | $(BUILD)
	$(APXS) -c -o $(SRCDIR)/mod_afiliate.la \
	  $(addprefix -Wc$(comma),$(WARN) -std=gnu11) \
	  $(addprefix -Wc$(comma),$(filter -I%,$(DEP_CFLAGS))) \
	  -Wc,-I$(SRCDIR) $(CORE_SRCS) $(GLUE_SRCS) $(GEN_SRCS) $(filter -l% -L%,$(DEP_LIBS)) >$(BUILD)/apxs.log 2>&1 \
	  || { cat $(BUILD)/apxs.log; exit 1; }
	@! grep -E 'warning:|error:' $(BUILD)/apxs.log || { echo "apxs build has warnings"; exit 1; }
	@! nm -u $(SRCDIR)/.libs/mod_afiliate.so | grep -E ' (afl_|ap_dbd)' \
	  || { echo "mod_afiliate.so has undefined symbols of its own"; exit 1; }
	@! grep -q AfiliateTestCrashAt $(SRCDIR)/.libs/mod_afiliate.so \
	  || { echo "mod_afiliate.so has the test-only crash points"; exit 1; }
	@# A new inode: running httpd children keep the mapped old file (cp in place crashes them).
	cp $(SRCDIR)/.libs/mod_afiliate.so $@.tmp && mv -f $@.tmp $@

comma := ,

$(BUILD)/obj/%.o: $(SRCDIR)/%.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/gen/afl_migrations.c: $(MIGRATIONS) scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	scripts/embed-migrations.sh sql $@

$(BUILD)/obj/afl_migrations.o: $(BUILD)/gen/afl_migrations.c $(HEADERS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Made anew: a source file that was removed must not stay a member.
$(BUILD)/libafl_core.a: $(CORE_OBJS)
	rm -f $@ && ar rcs $@ $^

$(CTL): $(CTL_SRCS) $(BUILD)/libafl_core.a
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) $(CTL_SRCS) $(BUILD)/libafl_core.a $(DEP_LIBS) -o $@

$(BUILD):
	@mkdir -p $(BUILD)

# Pure units must not see httpd: no httpd header, no ap_* call.
check-pure:
	@bad=$$(grep -nE '#include[[:space:]]*[<"](httpd|http_[a-z_]+|ap_[a-z_]+|mod_[a-z_]+)\.h|\bap_[a-z_]+[[:space:]]*\(' \
	   $(CORE_SRCS) $(wildcard $(SRCDIR)/afl_*.h) 2>/dev/null); \
	 if [ -n "$$bad" ]; then echo "pure units use httpd:"; echo "$$bad"; exit 1; fi

# ---------------------------------------------------------------- tests
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libafl_core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-shadow $< $(BUILD)/libafl_core.a $(DEP_LIBS) $(CHECK_LIBS) -o $@

# Fuzz targets replayed over their committed corpus with the ordinary compiler.
$(BUILD)/fuzz/replay_%: tests/fuzz/%.c tests/fuzz/standalone.c $(BUILD)/libafl_core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< tests/fuzz/standalone.c $(BUILD)/libafl_core.a $(DEP_LIBS) -o $@

$(BUILD)/bench/%: tests/bench/%.c $(BUILD)/libafl_core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(BUILD)/libafl_core.a $(DEP_LIBS) -o $@

# The browser layer's npm packages (playwright-core, axe-core), exactly as
# locked; npm ci runs again whenever the lock file changes.
BROWSER_DIR := tests/browser
NPM_STAMP   := $(BROWSER_DIR)/node_modules/.package-lock.json
$(NPM_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build-all $(UNIT_BINS) $(FUZZ_REPLAY) $(NPM_STAMP) deb-file
	@$(PYTHON) tests/run_all.py

test-browser:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build-all $(NPM_STAMP)
	@$(PYTHON) tests/run_all.py --only browser

test-unit test-fuzz test-integration test-clone:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build-all $(UNIT_BINS) $(FUZZ_REPLAY)
	@$(PYTHON) tests/run_all.py --only $(patsubst test-%,%,$@)

# The module and afiliatectl with AddressSanitizer and UBSan, in build/asan/ (gcc; the
# objects are its own, apxs's are left alone). libasan is preloaded into every apache2
# the integration tests start (httpd is not instrumented); tests/asan_run.py runs the
# suite on SQLite under event and prefork and fails on any sanitizer report.
ASAN_DIR    := $(BUILD)/asan
ASAN_FLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_CFLAGS  = -std=gnu11 $(ASAN_FLAGS) $(WARN) -Werror -fPIC -D_GNU_SOURCE -DLINUX -D_REENTRANT \
               -I$(SRCDIR) -I$(shell $(APXS) -q INCLUDEDIR 2>/dev/null) $(DEP_CFLAGS)
ASAN_CORE   := $(patsubst $(SRCDIR)/%.c,$(ASAN_DIR)/obj/%.o,$(CORE_SRCS)) $(ASAN_DIR)/obj/afl_migrations.o
ASAN_GLUE   := $(patsubst $(SRCDIR)/%.c,$(ASAN_DIR)/obj/%.o,$(GLUE_SRCS))
ASAN_CTLO   := $(patsubst $(SRCDIR)/%.c,$(ASAN_DIR)/obj/%.o,$(CTL_SRCS))

$(ASAN_DIR)/obj/%.o: $(SRCDIR)/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(ASAN_DIR)/obj/afl_migrations.o: $(BUILD)/gen/afl_migrations.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(ASAN_DIR)/mod_afiliate.so: $(ASAN_CORE) $(ASAN_GLUE)
	$(CC) -shared $(ASAN_FLAGS) $^ $(DEP_LIBS) -o $@

$(ASAN_DIR)/afiliatectl: $(ASAN_CTLO) $(ASAN_CORE)
	$(CC) $(ASAN_FLAGS) $^ $(DEP_LIBS) -o $@

asan-build: $(ASAN_DIR)/mod_afiliate.so $(ASAN_DIR)/afiliatectl

test-asan:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build-all asan-build
	@$(PYTHON) tests/asan_run.py

# The module with the test-only crash points (-DAFL_TEST_CRASH_POINTS, the directive
# AfiliateTestCrashAt) in build/crash/, objects of its own; never installed or packaged.
# tests/integration/test_crash.py aborts a child at each point and checks what the
# student's retry leaves (afiliatectl is the ordinary build).
CRASH_DIR    := $(BUILD)/crash
CRASH_CFLAGS  = -std=gnu11 -O2 -g $(WARN) -Werror -fPIC -D_GNU_SOURCE -DLINUX -D_REENTRANT \
                -DAFL_TEST_CRASH_POINTS -I$(SRCDIR) -I$(shell $(APXS) -q INCLUDEDIR 2>/dev/null) \
                $(DEP_CFLAGS)
CRASH_OBJS   := $(patsubst $(SRCDIR)/%.c,$(CRASH_DIR)/obj/%.o,$(CORE_SRCS) $(GLUE_SRCS)) \
                $(CRASH_DIR)/obj/afl_migrations.o

$(CRASH_DIR)/obj/%.o: $(SRCDIR)/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CRASH_CFLAGS) -c $< -o $@

$(CRASH_DIR)/obj/afl_migrations.o: $(BUILD)/gen/afl_migrations.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CRASH_CFLAGS) -c $< -o $@

$(CRASH_DIR)/mod_afiliate.so: $(CRASH_OBJS)
	$(CC) -shared $^ $(DEP_LIBS) -o $@.tmp && mv -f $@.tmp $@

crash-build: $(CRASH_DIR)/mod_afiliate.so

test-crash:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build-all crash-build
	@AFILIATE_MODULE=$(abspath $(CRASH_DIR)/mod_afiliate.so) AFILIATE_CRASH_POINTS=1 \
	  $(PYTHON) -m pytest -p no:cacheprovider -q tests/integration/test_crash.py

# libFuzzer for real: clang, ASan + UBSan. FUZZ_TIME seconds per target.
FUZZ_TIME ?= 60
fuzz:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory $(BUILD)/libafl_core.a
	@mkdir -p $(BUILD)/libfuzzer
	@for src in $(FUZZ_SRCS); do \
	  name=$$(basename $$src .c); corpus=tests/fuzz/corpus/$${name#fuzz_}; \
	  clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -D_GNU_SOURCE -I$(SRCDIR) $(DEP_CFLAGS) $$src $(CORE_SRCS) $(GEN_SRCS) $(DEP_LIBS) \
	    -o $(BUILD)/libfuzzer/$$name || exit 1; \
	  mkdir -p $(BUILD)/libfuzzer/$$name.corpus; \
	  $(BUILD)/libfuzzer/$$name -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    $(BUILD)/libfuzzer/$$name.corpus $$corpus || exit 1; \
	done

# ---------------------------------------------------------------- bench
bench-curp:
	@scripts/deps.sh build
	@$(MAKE) --no-print-directory $(BUILD)/bench/bench_curp
	@$(BUILD)/bench/bench_curp

# Every *_bench.py: the HTTP GETs, mail, the write benchmarks replayed by wrk on
# SQLite (post_bench) and on PostgreSQL through the cluster (cluster_bench),
# printed side by side at the end, and the children's memory over 100,000 mixed
# requests (mem_bench). Each run is bounded in time (docs/performance.md).
bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build-all $(BENCH_BINS)
	@rm -f $(BUILD)/bench/writes-*.json
	@for b in $(BENCH_BINS); do $$b || exit 1; done
	@for b in tests/bench/*_bench.py; do $(PYTHON) $$b || exit 1; done
	@$(PYTHON) tests/bench/writes_summary.py

# The PHP peer (mod_php + PDO SQLite + FPDF/TCPDF) lives beside the checkout,
# read-only; the same wrk load on both, ratios against the goals (~7 min).
PEER_PHP_DIR ?= $(abspath ../shared/peer-php)
bench-peer:
	@test -x "$(PEER_PHP_DIR)/bench.sh" || { echo "bench-peer: the PHP peer is missing:" \
	  "no $(PEER_PHP_DIR)/bench.sh (expected in ../shared/peer-php; set PEER_PHP_DIR)" >&2; exit 1; }
	@scripts/deps.sh peer
	@$(MAKE) --no-print-directory build-all
	@PEER_PHP_DIR="$(PEER_PHP_DIR)" $(PYTHON) tests/bench/bench_peer.py

# ---------------------------------------------------------------- run
run: deps
	@$(MAKE) --no-print-directory build-all
	@PORT=$(PORT) MPM=$(MPM) SMTP_URL="$(SMTP_URL)" RENAPO="$(RENAPO)" exec scripts/run.sh

# PostgreSQL, two Apache nodes and an Apache balancer on 127.0.0.1:$(PORT).
run-cluster: deps
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build-all
	@exec $(PYTHON) scripts/cluster.py --port $(PORT)

# ---------------------------------------------------------------- package
# libapache2-mod-afiliate (debian/): built by dpkg-buildpackage from a copy of the
# tree under build/deb/, version from debian/changelog, then lintian. Rebuilt only
# when something it ships changed.
DEB_VERSION = $(shell dpkg-parsechangelog -S Version 2>/dev/null)
DEB_ARCH    = $(shell dpkg --print-architecture)
DEB         = $(BUILD)/libapache2-mod-afiliate_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_INPUTS  = Makefile scripts/deb.sh README.md $(CORE_SRCS) $(GLUE_SRCS) $(CTL_SRCS) $(HEADERS) \
              $(shell find debian conf htdocs sql/sqlite sql/pgsql docs -type f 2>/dev/null)

deb:
	@scripts/deps.sh deb
	@$(MAKE) --no-print-directory deb-file

.PHONY: deb-file
deb-file: $(DEB)

$(DEB): $(DEB_INPUTS) | $(BUILD)
	@scripts/deb.sh $@

# ---------------------------------------------------------------- style
FORMAT_SRCS = $(wildcard $(SRCDIR)/*.[ch] tests/unit/*.c tests/fuzz/*.c tests/bench/*.c)
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD) $(SRCDIR)/.libs $(SRCDIR)/*.lo $(SRCDIR)/*.slo $(SRCDIR)/*.la $(SRCDIR)/*.o \
	  tests/gen
	@# Servers' runtime data (var/, test servers) lives in scripts/runtime.py's folder and
	@# survives `make clean`, like var/ always has.
