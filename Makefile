# acmepipe — GNU make + pkg-config.
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DESTDIR  ?=
PKGS      = libcrypto libcurl jansson libidn2 libpsl
CC       ?= cc
CFLAGS   ?= -O2 -g
WFLAGS    = -std=c11 -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE \
            -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
            -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED
# SANITIZE=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer.
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
ALL_CFLAGS  = $(WFLAGS) $(CFLAGS) $(PKG_CFLAGS) -Icommon

CMDS     = $(patsubst cmd/%.c,%,$(wildcard cmd/*.c))
BINS     = $(addprefix bin/,$(CMDS))
LIBSRC   = $(wildcard common/*.c)
LIBOBJ   = $(patsubst common/%.c,build/common/%.o,$(LIBSRC))
UNITSRC  = $(wildcard tests/unit/*.c)
UNITBINS = $(patsubst tests/unit/%.c,build/unit/%,$(UNITSRC))
SCRIPTS  = $(filter-out %.md %.conf %.service %.timer %.cron,$(wildcard scripts/*))
MANPAGES = $(wildcard man/*.[1-9])

all: $(BINS) $(UNITBINS)

# Rebuild everything when the compiler or flags change.
build/flags: FORCE
	@mkdir -p build
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $@

build/common/%.o: common/%.c common/*.h build/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/libacmepipe.a: $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $^

bin/%: cmd/%.c build/libacmepipe.a common/*.h build/flags
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libacmepipe.a $(PKG_LIBS)

build/unit/%: tests/unit/%.c build/libacmepipe.a common/*.h build/flags
	@mkdir -p build/unit
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libacmepipe.a $(PKG_LIBS)

check: all
	tests/run

check-asan:
	$(MAKE) clean
	$(MAKE) SANITIZE=1 all
	ASAN_OPTIONS=detect_leaks=1 tests/run

lint:
	cppcheck --quiet --error-exitcode=1 --std=c11 --suppress=missingIncludeSystem -Icommon common cmd
	shellcheck -s sh $(SCRIPTS)
	mandoc -Tlint -Wwarning $(MANPAGES)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(BINS) $(SCRIPTS) $(DESTDIR)$(BINDIR)
	for m in $(MANPAGES); do s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

uninstall:
	for b in $(CMDS) $(notdir $(SCRIPTS)); do rm -f $(DESTDIR)$(BINDIR)/$$b; done
	for m in $(notdir $(MANPAGES)); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$m; done

clean:
	rm -rf bin build

.PHONY: all check check-asan lint install uninstall clean FORCE
.SECONDARY:
