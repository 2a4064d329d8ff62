#!/usr/bin/env bats
# make install and uninstall honour PREFIX and DESTDIR (the Debian package:
# tests/97-deb.bats).

load helpers/common

@test "install: binaries, scripts, pages and units under DESTDIR/PREFIX; uninstall removes them" {
	d=$BATS_TEST_TMPDIR/dest
	run_split -0 make -s -C "$REPO_ROOT" install DESTDIR="$d" PREFIX=/opt/ap
	for c in "$REPO_ROOT"/cmd/*.c; do
		[ -x "$d/opt/ap/bin/$(basename "$c" .c)" ] || fail "$(basename "$c" .c) not installed"
	done
	[ -x "$d/opt/ap/bin/acme-issue" ] && [ -x "$d/opt/ap/bin/acme-renew" ]
	[ -f "$d/opt/ap/share/man/man1/acme-order.1" ]
	[ -f "$d/opt/ap/share/man/man5/acmepipe-state.5" ]
	[ -f "$d/opt/ap/share/man/man7/acmepipe.7" ]
	# Where scripts/nginx-acmepipe-lua.conf's lua_package_path points,
	# under PREFIX.
	cmp "$REPO_ROOT/scripts/lua/acmepipe/serve.lua" "$d/opt/ap/share/acmepipe/lua/acmepipe/serve.lua"
	grep -q 'lua_package_path "/usr/share/acmepipe/lua/?.lua;;";' "$REPO_ROOT/scripts/nginx-acmepipe-lua.conf"
	# The systemd units, under PREFIX/lib/systemd/system, name the
	# commands under PREFIX/bin.
	u=$d/opt/ap/lib/systemd/system
	[ -f "$u/acme-renew.timer" ]
	grep -q "^ExecStart=.*'exec /opt/ap/bin/acme-renew " "$u/acme-renew.service"
	grep -q '^ExecStart=/opt/ap/bin/certstore mirror ' "$u/acmepipe-mirror.service"
	if grep -rn /usr/local "$u"; then fail "a unit names /usr/local"; fi
	# The installed script finds the installed commands beside it.
	run_split -1 env PATH=/usr/bin:/bin "$d/opt/ap/bin/acme-issue" -d https://127.0.0.1:1/dir \
		-k "$BATS_TEST_TMPDIR/k" -s "$BATS_TEST_TMPDIR/s" -w "$BATS_TEST_TMPDIR" x.example.com
	assert_json "$output" '.error.step == "acme-order"'
	run_split -0 make -s -C "$REPO_ROOT" uninstall DESTDIR="$d" PREFIX=/opt/ap
	[ -z "$(find "$d" -type f)" ] || fail "left: $(find "$d" -type f)"
}
