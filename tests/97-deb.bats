#!/usr/bin/env bats
# The Debian package (debian/, `make deb`), on this machine: built in a
# copy of the tree, lintian clean, installed with apt-get, every file where
# it belongs and none elsewhere, the acmepipe user and /var/lib/acmepipe,
# the units installed but not enabled; tests/demo against /usr/bin alone,
# then nginx serving its store through the installed snippets; apt-get
# remove keeps the state, purge removes it. The tests build on each other,
# in order.
#
# It installs a package and makes a system user: it runs as root with
# dpkg-buildpackage, dh, lintian and apt-get, and is skipped otherwise,
# except under CI (CI=true), where that fails instead. It refuses a machine
# where acmepipe (package, user or /var/lib/acmepipe) is already there,
# since it purges it at the end; teardown_file purges what it installed,
# whatever failed.

load helpers/common

STATE=/var/lib/acmepipe
NAMES=(blog.example.com shop.example.com www.example.org)

setup_file() {
	local why='' t missing=()
	if ((EUID != 0)); then
		why="needs root: installs a package"
	else
		for t in dpkg-buildpackage dh lintian apt-get; do
			command -v "$t" >/dev/null || missing+=("$t")
		done
		if ((${#missing[@]})); then
			why="not installed: ${missing[*]} (sh .ci/deps)"
		elif dpkg-query -W acmepipe >/dev/null 2>&1 || getent passwd acmepipe >/dev/null ||
			[[ -e $STATE ]]; then
			why="acmepipe is on this machine already (package, user or $STATE), and this test purges it: apt-get purge acmepipe first"
		fi
	fi
	if [[ -n $why ]]; then
		echo "$why" >"$TEST_TMP/unfit"
	fi
}

setup() {
	[[ -f $TEST_TMP/unfit ]] || return 0
	if [[ ${CI:-} == true ]]; then
		fail "CI must run this test: $(<"$TEST_TMP/unfit")"
	fi
	skip "$(<"$TEST_TMP/unfit")"
}

teardown_file() {
	harness_stop
	if [[ -f $TEST_TMP/installed ]] && dpkg-query -W acmepipe >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q acmepipe >/dev/null 2>&1 ||
			dpkg --purge acmepipe >/dev/null 2>&1
	fi
}

# The package's files, as they should be: commands, pages, units and the
# Lua module from the tree (what make install installs), the rest from
# debian/. One path a line, sorted.
expected_files() {
	local f n
	for f in "$REPO_ROOT"/cmd/*.c; do
		n=${f##*/}
		echo "/usr/bin/${n%.c}"
	done
	for f in "$REPO_ROOT"/scripts/*; do
		case $f in *.md | *.conf | *.service | *.timer | *.cron) continue ;; esac
		[[ -f $f && -x $f ]] && echo "/usr/bin/${f##*/}"
	done
	for f in "$REPO_ROOT"/man/*.[1-9]; do
		echo "/usr/share/man/man${f##*.}/${f##*/}.gz"
	done
	for f in "$REPO_ROOT"/scripts/*.service "$REPO_ROOT"/scripts/*.timer; do
		echo "/lib/systemd/system/${f##*/}"
	done
	for f in "$REPO_ROOT"/scripts/lua/acmepipe/*.lua; do
		echo "/usr/share/acmepipe/lua/acmepipe/${f##*/}"
	done
	printf '%s\n' /etc/nginx/snippets/acmepipe.conf /etc/nginx/snippets/acmepipe-map.conf \
		/usr/share/lintian/overrides/acmepipe
	for f in README.Debian.gz README.md.gz SECURITY.md.gz changelog.Debian.gz copyright \
		examples/acmepipe.cron examples/nginx-acmepipe.conf examples/nginx-acmepipe-lua.conf; do
		echo "/usr/share/doc/acmepipe/$f"
	done
}

# deb_query FIELD: dpkg's FIELD of acmepipe (Status-Abbrev, Conffiles).
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
deb_query() { dpkg-query -W -f '${'"$1"'}' acmepipe; }

# installed_files: what dpkg says the package holds, directories left out.
installed_files() {
	local p
	while IFS= read -r p; do
		[[ -f $p ]] && echo "$p"
	done < <(dpkg -L acmepipe)
}

@test "deb: make deb builds acmepipe_VERSION_ARCH.deb in DEBDIR, and leaves the tree alone" {
	local deb=$TEST_TMP/deb version arch before after changed
	version=$(dpkg-parsechangelog -l "$REPO_ROOT/debian/changelog" -S Version)
	arch=$(dpkg --print-architecture)
	before=$(ls -d "$REPO_ROOT"/../acmepipe*_* 2>/dev/null) || true
	touch "$TEST_TMP/before-deb"
	sleep 1 # a coarse file system's mtime is in seconds
	run_split -0 make -s -C "$REPO_ROOT" deb DEBDIR="$deb"
	[ -f "$deb/acmepipe_${version}_$arch.deb" ] || fail "no acmepipe_${version}_$arch.deb in $deb: $(ls "$deb")"
	[ -f "$deb/acmepipe_${version}_$arch.changes" ]
	[ ! -e "$deb/src" ] || fail "make deb left its copy of the tree"
	assert_equal "${lines[-1]}" "$deb/acmepipe_${version}_$arch.deb" "make deb's last line"
	# dh clean and build ran in the copy: nothing here changed (tests/tmp
	# is the running suite's), nothing was put beside the checkout.
	changed=$(find "$REPO_ROOT" \( -path "$REPO_ROOT/.git" -o -path "$REPO_ROOT/tests/tmp" \) -prune \
		-o -newer "$TEST_TMP/before-deb" -print)
	assert_equal "$changed" '' "files make deb changed in the tree"
	after=$(ls -d "$REPO_ROOT"/../acmepipe*_* 2>/dev/null) || true
	assert_equal "$after" "$before" "files beside the checkout"
	# dh_shlibdeps's libraries, and what the scripts and postinst run.
	run_split -0 dpkg-deb -f "$deb/acmepipe_${version}_$arch.deb" Depends
	for d in libc6 libcurl4 libjansson4 libidn2-0 libpsl5 libpq5 libldns3 libssl3 jq adduser; do
		[[ ", $output," == *", $d "* || ", $output," == *", $d,"* ]] || fail "Depends lacks $d: $output"
	done
}

@test "deb: lintian reports no error and no warning that is not overridden" {
	run_split lintian --fail-on error,warning "$TEST_TMP"/deb/acmepipe_*.changes
	if grep -E '^[EW]: ' "$OUTPUT_FILE"; then
		fail "lintian:" "$output"
	fi
	assert_status 0
	# Each override still matches a tag lintian would emit (none stale).
	run_split -0 lintian --show-overrides "$TEST_TMP"/deb/acmepipe_*.changes
	while read -r tag; do
		grep -q "^O: acmepipe: $tag" "$OUTPUT_FILE" || fail "override of $tag matches nothing"
	done < <(grep -v '^#' "$REPO_ROOT/debian/acmepipe.lintian-overrides" | awk 'NF { print $1 }')
}

@test "deb: apt-get install puts every file where it belongs, and nothing elsewhere" {
	touch "$TEST_TMP/installed"
	run_split -0 env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"$TEST_TMP"/deb/acmepipe_*.deb
	run_split -0 deb_query db:Status-Abbrev
	assert_equal "$output" "ii " "dpkg's status of acmepipe"
	assert_equal "$(installed_files | sort)" "$(expected_files | sort)" "the package's files"
	# The commands the README names, from the package.
	for c in acme-order acme-challenge acme-finalize certstore-put certstore cert-expiring \
		acme-issue acme-renew; do
		[ -x "/usr/bin/$c" ] || fail "/usr/bin/$c missing"
	done
	run_split -0 /usr/bin/acme-order -h
	cmp "$REPO_ROOT/scripts/acme-issue" /usr/bin/acme-issue
	cmp "$REPO_ROOT/scripts/lua/acmepipe/serve.lua" /usr/share/acmepipe/lua/acmepipe/serve.lua
	cmp "$REPO_ROOT/scripts/nginx-acmepipe.conf" /usr/share/doc/acmepipe/examples/nginx-acmepipe.conf
	cmp "$REPO_ROOT/scripts/nginx-snippet-acmepipe.conf" /etc/nginx/snippets/acmepipe.conf
	cmp "$REPO_ROOT/scripts/nginx-snippet-acmepipe-map.conf" /etc/nginx/snippets/acmepipe-map.conf
	# The snippets are conffiles: a removal keeps them, an upgrade asks.
	run_split -0 deb_query Conffiles
	assert_contains "$output" "/etc/nginx/snippets/acmepipe.conf "
	assert_contains "$output" "/etc/nginx/snippets/acmepipe-map.conf "
	# README.Debian says what removing and purging do.
	zgrep -q '^Purging (apt-get purge acmepipe) also removes' /usr/share/doc/acmepipe/README.Debian.gz
}

@test "deb: the acmepipe user, $STATE (acmepipe, 0750), units in /usr/bin's terms and not enabled" {
	local pw uid home shell u
	pw=$(getent passwd acmepipe) || fail "no user acmepipe"
	IFS=: read -r _ _ uid _ _ home shell <<<"$pw"
	((uid < 1000)) || fail "acmepipe is not a system user: $pw"
	assert_equal "$home" "$STATE" "acmepipe's home"
	assert_equal "$shell" /usr/sbin/nologin "acmepipe's shell"
	getent group acmepipe >/dev/null || fail "no group acmepipe"
	assert_equal "$(stat -c '%U %G %a' "$STATE")" "acmepipe acmepipe 750" "$STATE"
	u=/lib/systemd/system
	grep -qx "ExecStart=/bin/sh -c 'exec /usr/bin/acme-renew >$STATE/last-renew.jsonl'" \
		"$u/acme-renew.service" || fail "acme-renew.service: $(grep ExecStart "$u/acme-renew.service")"
	grep -q '^ExecStart=/usr/bin/certstore mirror --follow' "$u/acmepipe-mirror.service"
	grep -qx User=acmepipe "$u/acme-renew.service"
	grep -qx User=acmepipe "$u/acmepipe-mirror.service"
	if grep -n /usr/local "$u/acme-renew.service" "$u/acmepipe-mirror.service"; then
		fail "a unit names /usr/local"
	fi
	# Not enabled: no link to them anywhere under /etc/systemd, which is
	# all that enabling makes (systemctl is-enabled reads those links, and
	# needs no running systemd).
	run_split -0 find /etc/systemd -name 'acme*' -o -lname '*acme*'
	assert_output ''
	if command -v systemctl >/dev/null; then
		for u in acme-renew.timer acmepipe-mirror.service; do
			run_split -1 systemctl is-enabled "$u"
			assert_equal "$output" disabled "systemctl is-enabled $u"
		done
	fi
}

@test "deb: README.Debian's steps: acme-issue as acmepipe into $STATE, www-data reads it once in the group" {
	local www=$STATE/www name=readme.example.net ca=$STATE/pebble-ca.pem pem
	pebble_start
	# The webroot acmepipe may write, as README.Debian makes it.
	install -d -o acmepipe -g acmepipe -m 0755 "$www/.well-known/acme-challenge"
	nginx_start "$www" "$STATE/store"
	install -o acmepipe -m 0644 "$ACMEPIPE_CA_BUNDLE" "$ca"
	# README.Debian's command, with Pebble for the CA: only /usr/bin's
	# commands, none of this file's environment.
	cd "$STATE"
	run_split -0 runuser -u acmepipe -- env -i PATH=/usr/bin:/bin acme-issue -a \
		-c mailto:ops@example.net -k "$STATE/account.key" -s "$STATE/store" -w "$www" \
		-d "$ACMEPIPE_DIRECTORY" -C "$ca" "$name"
	assert_json "$output" '.stored'
	pem=$STATE/store/certs/$name.pem
	assert_equal "$(stat -c '%U %G %a' "$pem")" "acmepipe acmepipe 640" "$pem"
	assert_equal "$(stat -c '%U %a' "$STATE/account.key")" "acmepipe 600" "the account key"
	# nginx's workers' user: kept out until it joins the group; never
	# the account key.
	run_split ! runuser -u www-data -- cat "$pem"
	run_split -0 adduser --quiet www-data acmepipe
	run_split -0 runuser -u www-data -- head -n 1 "$pem"
	assert_output "-----BEGIN CERTIFICATE-----"
	run_split ! runuser -u www-data -- cat "$STATE/account.key"
	harness_stop
}

@test "deb: tests/demo with /usr/bin's commands alone: three names issued into $STATE/store, served" {
	local tree=$TEST_TMP/tree n
	# Only the harness, no command of the checkout to fall back on, and a
	# PATH without the checkout: every acmepipe command is /usr/bin's.
	mkdir -p "$tree/tests"
	cp -R "$REPO_ROOT/tests/demo" "$REPO_ROOT/tests/helpers" "$tree/tests/"
	run_split -0 env PATH=/usr/sbin:/usr/bin:/sbin:/bin TMPDIR="$TEST_TMP" \
		NGINX_SITE=/usr/share/doc/acmepipe/examples/nginx-acmepipe.conf \
		"$tree/tests/demo" -b /usr/bin "$STATE"
	assert_stderr ''
	assert_contains "$output" "/usr/share/doc/acmepipe/examples/nginx-acmepipe.conf:"
	assert_contains "$output" "/usr/bin/acme-issue -a -k $STATE/account.key -w $STATE/www -s $STATE/store NAME"
	assert_contains "$output" "Done: 3 of 3 names issued"
	[ ! -e "$tree/bin" ] && [ ! -e "$tree/scripts" ]
	for n in "${NAMES[@]}"; do
		assert_contains "$output" "subject  CN=$n"
	done
	[ -f "$STATE/account.key" ]
	# The installed commands read the store back.
	for n in "${NAMES[@]}"; do
		run_split -0 /usr/bin/certstore -s "$STATE/store" chain "$n"
		assert_contains "$output" "-----BEGIN CERTIFICATE-----"
	done
	# and README.Debian's name before them.
	run_split -0 /usr/bin/certstore -s "$STATE/store" list
	assert_line_count 4
	run_split -0 /usr/bin/cert-expiring --summary -s "$STATE/store"
	assert_json "$output" '.managed == 4 and .due == 0'
}

@test "deb: nginx with the installed snippets serves $STATE/store and the challenges" {
	local site=$TEST_TMP/snippets.conf www=$TEST_TMP/www n
	# The snippets as they are, where Debian's nginx.conf would include
	# them: the map in http {}, the other in a server {}.
	{
		cat /etc/nginx/snippets/acmepipe-map.conf
		printf 'server {\n\tlisten 80;\n\tlisten 443 ssl;\n\tserver_name _;\n'
		cat /etc/nginx/snippets/acmepipe.conf
		printf '}\n'
	} >"$site"
	mkdir -p "$www/.well-known/acme-challenge"
	echo token-body >"$www/.well-known/acme-challenge/tok"
	NGINX_SITE=$site nginx_start "$www" "$STATE/store"
	for n in "${NAMES[@]}"; do
		assert_equal "$(served_serial "$n" | tr 'A-F' 'a-f')" \
			"$(jq -r .serial "$STATE/store/meta/$n.json")" "serial served for $n"
	done
	run_split -0 curl -fsS "http://127.0.0.1:$HTTP01_PORT/.well-known/acme-challenge/tok"
	assert_output token-body
	nginx_stop
}

@test "deb: apt-get remove takes the commands and keeps $STATE, its certificates and keys, and the user" {
	local n
	cp "$STATE/account.key" "$TEST_TMP/account.key"
	cp "$STATE/store/certs/blog.example.com.pem" "$TEST_TMP/blog.pem"
	run_split -0 env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q acmepipe
	run_split -0 deb_query db:Status-Abbrev
	assert_equal "$output" "rc " "dpkg's status of acmepipe"
	while IFS= read -r n; do
		case $n in /etc/*) continue ;; esac
		[ ! -e "$n" ] || fail "left after remove: $n"
	done < <(expected_files)
	[ -f /etc/nginx/snippets/acmepipe.conf ] || fail "remove took a conffile"
	cmp "$TEST_TMP/account.key" "$STATE/account.key"
	cmp "$TEST_TMP/blog.pem" "$STATE/store/certs/blog.example.com.pem"
	for n in "${NAMES[@]}"; do
		[ -s "$STATE/store/certs/$n.pem" ] && [ -s "$STATE/store/meta/$n.json" ] ||
			fail "$n gone with remove"
	done
	assert_equal "$(stat -c '%U %G %a' "$STATE")" "acmepipe acmepipe 750" "$STATE"
	getent passwd acmepipe >/dev/null || fail "remove took the user"
}

@test "deb: apt-get purge removes $STATE, the user, the group and the snippets, as README.Debian says" {
	run_split -0 env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q acmepipe
	# The maintainer scripts' own words stay out of apt's output.
	if grep -E '^(deluser|delgroup|rm):' "$STDERR_FILE"; then
		fail "purge: $(<"$STDERR_FILE")"
	fi
	run_split -1 deb_query db:Status-Abbrev
	[ ! -e "$STATE" ] || fail "$STATE is still there: $(ls -A "$STATE")"
	run_split -2 getent passwd acmepipe
	run_split -2 getent group acmepipe
	[ ! -e /etc/nginx/snippets/acmepipe.conf ] && [ ! -e /etc/nginx/snippets/acmepipe-map.conf ]
	rm -f "$TEST_TMP/installed"
}
