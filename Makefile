# SPDX-License-Identifier: GPL-2.0-or-later
# svcnat: compiles Kubernetes Services to an nftables DNAT ruleset.

VERSION = 0.1.0
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=
PKG_CONFIG ?= pkg-config
CC ?= cc

BUILD ?= build
PKGS = libnftnl libmnl yaml-0.1 jansson
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -pthread -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	  -Wwrite-strings -Wno-missing-field-initializers -MMD -MP -Iinclude \
	  -DSVCNAT_VERSION='"$(VERSION)"'
override CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -pthread

ifeq ($(SANITIZE),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=address,undefined
BUILD = build-sanitize
endif

ifeq ($(V),1)
Q =
else
Q = @
endif

SRCS = $(wildcard src/*.c)
# The front end (main.c, cmd_*.c) prints; everything else is the library the tests link.
CLI_SRCS = src/main.c $(wildcard src/cmd_*.c)
CLI_OBJS = $(patsubst src/%.c,$(BUILD)/%.o,$(CLI_SRCS))
LIB_OBJS = $(patsubst src/%.c,$(BUILD)/%.o,$(filter-out $(CLI_SRCS),$(SRCS)))
UNIT_SRCS = $(wildcard test/unit/*.c)
UNIT_BINS = $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRCS))
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

all: $(BUILD)/svcnat

$(BUILD)/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/svcnat: $(CLI_OBJS) $(LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test/%: test/unit/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -Itest/unit $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(BUILD)/test/echo-server: test/tools/echo-server.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BUILD)/test/rs-equiv: test/tools/rs-equiv.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test/conn-client: test/tools/conn-client.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

deps:
	@./test/install-deps

TEST_TOOLS = $(BUILD)/test/echo-server $(BUILD)/test/conn-client $(BUILD)/test/rs-equiv

check: deps all $(UNIT_BINS) $(TEST_TOOLS)
	$(Q)BUILD=$(BUILD) ./test/run-tests

# The whole suite built with ASan and UBSan (into build-sanitize).
check-sanitize:
	$(Q)$(MAKE) --no-print-directory check SANITIZE=1

# The unit tests under valgrind memcheck: no errors, no definite leaks.
check-valgrind: deps $(UNIT_BINS)
	$(Q)BUILD=$(BUILD) VALGRIND=1 ./test/run-tests test_

demo: deps all $(TEST_TOOLS)
	$(Q)BUILD=$(BUILD) ./test/demo

UNITS = svcnat.service svcnat.path svcnat-reconcile.timer svcnat-healthcheck.service

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/svcnat/manifests $(DESTDIR)$(SYSCONFDIR)/cron.d
	install -m 0755 $(BUILD)/svcnat $(DESTDIR)$(SBINDIR)/svcnat
	install -m 0644 man/svcnat.8 $(DESTDIR)$(MANDIR)/man8/svcnat.8
	install -m 0644 man/svcnat.yaml.5 $(DESTDIR)$(MANDIR)/man5/svcnat.yaml.5
	for u in $(UNITS); do \
		sed 's|@SBINDIR@|$(SBINDIR)|g' contrib/systemd/$$u > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done
	sed 's|svcnat -q|$(SBINDIR)/svcnat -q|' contrib/cron/svcnat > $(DESTDIR)$(SYSCONFDIR)/cron.d/svcnat.example
	@# The configuration is the administrator's: never overwrite it.
	test -e $(DESTDIR)$(SYSCONFDIR)/svcnat/svcnat.yaml || \
		install -m 0644 contrib/svcnat.yaml $(DESTDIR)$(SYSCONFDIR)/svcnat/svcnat.yaml

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/svcnat $(DESTDIR)$(MANDIR)/man8/svcnat.8 \
	      $(DESTDIR)$(MANDIR)/man5/svcnat.yaml.5 $(DESTDIR)$(SYSCONFDIR)/cron.d/svcnat.example
	for u in $(UNITS); do rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; done
	@# The configuration goes only if it is still the example, untouched.
	if cmp -s contrib/svcnat.yaml $(DESTDIR)$(SYSCONFDIR)/svcnat/svcnat.yaml; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/svcnat/svcnat.yaml; fi
	-rmdir $(DESTDIR)$(SYSCONFDIR)/svcnat/manifests $(DESTDIR)$(SYSCONFDIR)/svcnat 2>/dev/null

clean:
	rm -rf build build-sanitize

.PHONY: all check check-sanitize check-valgrind demo deps install uninstall clean
-include $(wildcard $(BUILD)/*.d $(BUILD)/test/*.d)

# ---- Fuzzing (libFuzzer): make fuzz [FUZZ_TIME=60], make fuzz-smoke ---------------
# Harnesses are test/fuzz/fuzz_NAME.c.  With clang they are libFuzzer binaries in
# $(FUZZ_BUILD) (ASan + UBSan), run for FUZZ_TIME seconds each on the seed corpus
# test/fuzz/corpus/NAME (new inputs go to $(FUZZ_BUILD)/corpus/NAME, crashes to
# $(FUZZ_BUILD)/artifacts/NAME/).  With $(CC) and test/fuzz/driver.c they are plain
# programs, $(BUILD)/test/fuzz_NAME FILE..., that test/fuzz-regressions.sh runs under
# "make check" on test/fuzz/regressions/NAME and the corpus.
FUZZ_CC ?= clang
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 60
FUZZ_SMOKE_TIME ?= 10
FUZZ_MAX_LEN ?= 262144
FUZZ_TIMEOUT ?= 30
FUZZ_RSS_MB ?= 4096
FUZZ_TARGETS = yaml json pipeline config state
FUZZ_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIB_OBJS = $(patsubst src/%.c,$(FUZZ_BUILD)/obj/%.o,$(filter-out src/main.c,$(SRCS)))
FUZZ_BINS = $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_DRIVERS = $(patsubst %,$(BUILD)/test/fuzz_%,$(FUZZ_TARGETS))

$(FUZZ_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(FUZZ_CC) $(CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SANITIZE) -c -o $@ $<

# Linked through an archive, so that a harness pulls in only the modules it uses.
$(FUZZ_BUILD)/libsvcnat.a: $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)

$(FUZZ_BUILD)/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/contract.c test/fuzz/contract.h $(FUZZ_BUILD)/libsvcnat.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(CFLAGS) -fsanitize=fuzzer $(FUZZ_SANITIZE) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

$(BUILD)/test/libsvcnat-fuzz.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)

$(BUILD)/test/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/contract.c test/fuzz/contract.h test/fuzz/driver.c $(BUILD)/test/libsvcnat-fuzz.a
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# Runs every fuzzer for $(1) seconds; lists the crashes and fails if there were any.
define fuzz_run
	@mkdir -p $(FUZZ_BUILD)/logs; failed=; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
		echo "  FUZZ    $$t: $(1) s, log $(FUZZ_BUILD)/logs/fuzz_$$t.log"; \
		$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(1) -max_len=$(FUZZ_MAX_LEN) \
			-timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=$(FUZZ_RSS_MB) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ -dict=test/fuzz/svcnat.dict \
			$(FUZZ_BUILD)/corpus/$$t test/fuzz/corpus/$$t >$(FUZZ_BUILD)/logs/fuzz_$$t.log 2>&1 || \
			{ failed="$$failed $$t"; grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*Assertion|fuzz harness:)' \
				$(FUZZ_BUILD)/logs/fuzz_$$t.log | head -5; }; \
		grep -E '^stat::number_of_executed_units' $(FUZZ_BUILD)/logs/fuzz_$$t.log | sed 's/^/          /'; \
	done; \
	if [ -n "$$failed" ]; then \
		echo "fuzz: failed:$$failed; inputs in $(FUZZ_BUILD)/artifacts/ (copy them to" \
		     "test/fuzz/regressions/NAME/ as regression cases)"; exit 1; \
	fi
endef

fuzz: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_TIME))

fuzz-smoke: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SMOKE_TIME))

fuzz-drivers: $(FUZZ_DRIVERS)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

# test/fuzz-regressions.sh needs the drivers; clean removes the fuzz build too.
check: $(FUZZ_DRIVERS)
clean: fuzz-clean

.PHONY: fuzz fuzz-smoke fuzz-drivers fuzz-clean
.PRECIOUS: $(FUZZ_BUILD)/obj/%.o
-include $(wildcard $(FUZZ_BUILD)/obj/*.d $(FUZZ_BUILD)/*.d)

# ---- Benchmarks: make bench, make bench-smoke (bench/run; not part of make check) ---------
# bench: svcnat apply side by side with nft -f of its own script, a kube-proxy-nftables-style
# ruleset and kube-proxy-iptables-style iptables-restore, N = 1,000 and 10,000 services
# (BENCH_LARGE=1 adds 30,000; BENCH_SKIP_SLOW=1 skips the loads that take minutes), in
# throw-away network namespaces; the report goes to bench/RESULTS.md. bench-smoke: N = 200,
# two runs each, for CI; its report goes to $(BUILD)/bench/RESULTS-smoke.md. Both need root
# and network namespaces; without them they say SKIPPED and succeed (bench/run exits 77).
bench: all $(TEST_TOOLS)
	$(Q)BUILD=$(BUILD) ./bench/run; rc=$$?; [ $$rc -ne 77 ] || echo "bench: SKIPPED"; \
		[ $$rc -eq 0 ] || [ $$rc -eq 77 ]

bench-smoke: all $(TEST_TOOLS)
	$(Q)BUILD=$(BUILD) ./bench/run --smoke; rc=$$?; [ $$rc -ne 77 ] || echo "bench-smoke: SKIPPED"; \
		[ $$rc -eq 0 ] || [ $$rc -eq 77 ]

.PHONY: bench bench-smoke

# ---- Soak: make soak (not part of make check) ----------------------------------------------
# test/integration/65-soak.sh with SOAK_RUNS=1000 consecutive applies of a mutating workload
# while clients connect to services that never change (make soak SOAK_RUNS=N for another
# count). Needs root, python3 and GNU time; valgrind for the descriptor check.
soak: all $(TEST_TOOLS)
	$(Q)SOAK_RUNS=$(or $(SOAK_RUNS),1000) TEST_TIMEOUT=$(or $(TEST_TIMEOUT),7200) VERBOSE=1 \
		BUILD=$(BUILD) ./test/run-tests 65-soak

.PHONY: soak
