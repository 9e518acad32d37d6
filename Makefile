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
CFLAGS += -std=gnu11 -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	  -Wwrite-strings -Wno-missing-field-initializers -MMD -MP -Iinclude \
	  -DSVCNAT_VERSION='"$(VERSION)"'
CFLAGS += $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
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

$(BUILD)/test/conn-client: test/tools/conn-client.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

deps:
	@./test/install-deps

TEST_TOOLS = $(BUILD)/test/echo-server $(BUILD)/test/conn-client

check: deps all $(UNIT_BINS) $(TEST_TOOLS)
	$(Q)BUILD=$(BUILD) ./test/run-tests

demo: deps all
	$(Q)BUILD=$(BUILD) ./test/demo

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BUILD)/svcnat $(DESTDIR)$(SBINDIR)/svcnat
	install -m 0644 man/svcnat.8 $(DESTDIR)$(MANDIR)/man8/svcnat.8
	install -m 0644 man/svcnat.yaml.5 $(DESTDIR)$(MANDIR)/man5/svcnat.yaml.5

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/svcnat $(DESTDIR)$(MANDIR)/man8/svcnat.8 \
	      $(DESTDIR)$(MANDIR)/man5/svcnat.yaml.5

clean:
	rm -rf build build-sanitize

.PHONY: all check demo deps install uninstall clean
-include $(wildcard $(BUILD)/*.d $(BUILD)/test/*.d)
