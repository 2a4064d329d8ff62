# acmepipe — GNU make + pkg-config.
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
# nginx's Lua module finds acmepipe.serve here (scripts/nginx-acmepipe-lua.conf).
LUADIR   ?= $(PREFIX)/share/acmepipe/lua
# systemd reads units from /usr/local/lib/systemd/system too; the Debian
# package sets /lib/systemd/system (debian/rules).
UNITDIR  ?= $(PREFIX)/lib/systemd/system
DESTDIR  ?=
PKGS      = libssl libcrypto libcurl jansson libidn2 libpsl libpq ldns
CC       ?= cc
CFLAGS   ?= -O2 -g
WFLAGS    = -std=c11 -pthread -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE \
            -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
            -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED
# SANITIZE=1 builds with AddressSanitizer + UndefinedBehaviorSanitizer.
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
ALL_CFLAGS  = $(WFLAGS) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -Icommon

CMDS     = $(patsubst cmd/%.c,%,$(wildcard cmd/*.c))
BINS     = $(addprefix bin/,$(CMDS))
LIBSRC   = $(wildcard common/*.c)
LIBOBJ   = $(patsubst common/%.c,build/common/%.o,$(LIBSRC))
UNITSRC  = $(wildcard tests/unit/*.c)
UNITBINS = $(patsubst tests/unit/%.c,build/unit/%,$(UNITSRC))
SCRIPTS  = $(filter-out %.md %.conf %.service %.timer %.cron %.yml scripts/lua,$(wildcard scripts/*))
LUA      = $(wildcard scripts/lua/acmepipe/*.lua)
MANPAGES = $(wildcard man/*.[1-9])
UNITS    = $(wildcard scripts/*.service scripts/*.timer)

all: $(BINS) $(UNITBINS) build/conf-table

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

build/unit/%: tests/unit/%.c tests/unit/*.h build/libacmepipe.a common/*.h build/flags
	@mkdir -p build/unit
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libacmepipe.a $(PKG_LIBS)

# The option/variable table (common/conf_table.h), one tab-separated row
# a line, for tests/26-conf.bats.
build/conf-table: tests/conf-table.c build/libacmepipe.a common/*.h build/flags
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< build/libacmepipe.a

conf-table: build/conf-table
	@build/conf-table

check: all
	tests/run

# The 1,000-name tests: renewal (tests/55-scale.bats), a fleet of 3 workers
# and 3 front ends on one database (tests/57-fleet.bats), 3 workers while
# PostgreSQL restarts (tests/46-pg.bats); `make check` runs their smaller
# variants only.
check-scale: all
	ACMEPIPE_SCALE=1 tests/run tests/46-pg.bats tests/55-scale.bats tests/57-fleet.bats

# The README's main command: issue certificates from a local Pebble and
# see nginx serve them (tests/demo; the store goes to demo/).
demo: all
	tests/demo

check-asan:
	$(MAKE) clean
	$(MAKE) SANITIZE=1 all
	ASAN_OPTIONS=detect_leaks=1 tests/run

lint:
	cppcheck --quiet --error-exitcode=1 --std=c11 --suppress=missingIncludeSystem \
		--include=/usr/include/jansson.h -Icommon common cmd
	shellcheck -s sh $(SCRIPTS)
	mandoc -Tlint -Wwarning $(MANPAGES)

# The units name the commands by their path: /usr/local/bin becomes BINDIR.
install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(BINS) $(SCRIPTS) $(DESTDIR)$(BINDIR)
	for m in $(MANPAGES); do s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -d $(DESTDIR)$(LUADIR)/acmepipe
	install -m 0644 $(LUA) $(DESTDIR)$(LUADIR)/acmepipe
	install -d $(DESTDIR)$(UNITDIR)
	for u in $(UNITS); do t=$(DESTDIR)$(UNITDIR)/$${u##*/}; \
		sed 's,/usr/local/bin/,$(BINDIR)/,g' $$u >$$t && chmod 0644 $$t || exit 1; done

uninstall:
	for b in $(CMDS) $(notdir $(SCRIPTS)); do rm -f $(DESTDIR)$(BINDIR)/$$b; done
	for m in $(notdir $(MANPAGES)); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$m; done
	for l in $(notdir $(LUA)); do rm -f $(DESTDIR)$(LUADIR)/acmepipe/$$l; done
	for u in $(notdir $(UNITS)); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done

clean:
	rm -rf bin build

# Fuzzing with clang's libFuzzer (tests/fuzz/, tests/90-fuzz.bats).
# `make fuzz` builds build/fuzz/fuzz_*, each linked with common/*.c
# compiled again with the same sanitizer flags into build/fuzz/common/.
# `make fuzz-run FUZZ_SECONDS=N` runs each target for N seconds on a
# temporary copy of its seed corpus (the tree is left alone) and fails on
# the first crash, leak, timeout or broken assertion; the input that did
# it is kept in $(FUZZ_ARTIFACTS). FUZZ_SECONDS=0 only replays the seeds;
# FUZZ_TARGETS selects targets. Debian 12 needs clang and
# libclang-rt-14-dev (the libFuzzer runtime).
FUZZ_CC        ?= clang
FUZZ_SECONDS   ?= 10
FUZZ_TARGETS   ?= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_ARTIFACTS ?= build/fuzz/artifacts
FUZZ_FLAGS      = -g -O1 -fno-omit-frame-pointer \
                  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS     = $(WFLAGS) $(FUZZ_FLAGS) $(PKG_CFLAGS) -Icommon
FUZZ_LIBOBJ     = $(patsubst common/%.c,build/fuzz/common/%.o,$(LIBSRC))
FUZZ_BINS       = $(addprefix build/fuzz/,$(FUZZ_TARGETS))
FUZZ_TIME       = $(if $(filter 0,$(FUZZ_SECONDS)),-runs=0,-max_total_time=$(FUZZ_SECONDS))
# -max_len: a few documents, one name, one response, one short chain.
FUZZ_MAXLEN_fuzz_state    = 4096
FUZZ_MAXLEN_fuzz_ident    = 512
FUZZ_MAXLEN_fuzz_response = 4096
FUZZ_MAXLEN_fuzz_cert     = 8192

build/fuzz/flags: FORCE
	@mkdir -p build/fuzz
	@echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' | cmp -s - $@ || echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' > $@

$(FUZZ_LIBOBJ): build/fuzz/common/%.o: common/%.c common/*.h build/fuzz/flags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BINS): build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBOBJ) common/*.h build/fuzz/flags
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIBOBJ) $(PKG_LIBS)

fuzz: $(FUZZ_BINS)

fuzz-run: $(addprefix fuzz-run-,$(FUZZ_TARGETS))

fuzz-run-%: build/fuzz/%
	@mkdir -p $(FUZZ_ARTIFACTS)
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	cp tests/fuzz/corpus/$*/* "$$d"/ && \
	echo "fuzz: $* for $(FUZZ_SECONDS)s" && \
	$< $(FUZZ_TIME) -max_len=$(or $(FUZZ_MAXLEN_$*),4096) -timeout=10 \
	    -rss_limit_mb=2048 -close_fd_mask=3 \
	    -artifact_prefix=$(FUZZ_ARTIFACTS)/$*- "$$d"

.PHONY: fuzz fuzz-run

.PHONY: all conf-table check check-scale check-asan demo lint install uninstall clean FORCE
.SECONDARY:

# Benchmark against Debian's ACME clients (bench/README.md); writes
# bench/RESULTS.md. Needs the packages bench/issue.sh names.
bench: all
	bench/issue.sh

.PHONY: bench

# The Debian package (debian/, debian/README.Debian): dpkg-buildpackage
# runs in a copy of this tree, DEBDIR/src, so dh's clean and build leave
# this tree's bin/ and build/ alone; the .deb (with its .buildinfo and
# .changes) lands in DEBDIR, and the copy is removed once it built.
# Needs debhelper and dpkg-dev (.ci/deps).
DEBDIR ?= build/deb

deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
		{ echo "deb: needs dpkg-buildpackage and dh: apt-get install dpkg-dev debhelper" >&2; exit 2; }
	d=$(abspath $(DEBDIR)) && rm -rf "$$d/src" "$$d"/acmepipe*_*.* && mkdir -p "$$d/src" && \
	tar -cf - --exclude=./.git --exclude=./bin --exclude=./build --exclude=./demo \
		--exclude=./tests/tmp --exclude="./$(DEBDIR)" . | tar -xf - -C "$$d/src" && \
	cd "$$d/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b && \
	rm -rf "$$d/src" && ls "$$d"/acmepipe_*.deb

.PHONY: deb
