#!/usr/bin/env bats
# The manual: every command has a page, every page is lint-clean, every
# SYNOPSIS is what --help prints, and every EXAMPLES pipeline runs.

load helpers/common

setup_file() {
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store KEYS=$TEST_TMP/keys
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key
	# The pre-flight examples: challtestsrv answers DNS, and the
	# customer's name is a CNAME to the platform's edge name.
	export ACMEPIPE_RESOLVER=127.0.0.1:$CHALLTESTSRV_DNS_PORT
	challtest_set_cname shop.example.com edge.example.net
	# acme-challenge --self-check fetches where Pebble does.
	export ACMEPIPE_SELF_CHECK_PORT=$HTTP01_PORT
	# A dns-01 hook for the examples that use ./dns-hook: challtestsrv
	# publishes the TXT record.
	cat >"$TEST_TMP/dns-hook" <<-HOOK
		#!/bin/sh
		[ "\$2" = dns-01 ] || exit 1
		case \$1 in
		begin) curl -sf -d "{\"host\":\"_acme-challenge.\$3.\",\"value\":\"\$5\"}" $CHALLTESTSRV_MGMT/set-txt ;;
		*) curl -sf -d "{\"host\":\"_acme-challenge.\$3.\"}" $CHALLTESTSRV_MGMT/clear-txt ;;
		esac
	HOOK
	chmod +x "$TEST_TMP/dns-hook"
}

# run_examples PAGE: runs each example of PAGE in one bash, in a scratch
# directory holding ./dns-hook; fails on the first that fails.
run_examples() {
	local dir=$BATS_TEST_TMPDIR/ex n=0 ex
	mkdir -p "$dir"
	cp "$TEST_TMP/dns-hook" "$dir/"
	{
		echo 'set -e -o pipefail'
		while IFS= read -r -d '' ex; do
			n=$((n + 1))
			printf 'echo "## example %d" >&2\n%s\n' "$n" "$ex"
		done < <(man_examples "$1")
	} >"$dir/examples.sh"
	[ "$n" -gt 0 ] || fail "$1 has no examples"
	(cd "$dir" && bash examples.sh)
}

@test "man: every command and script has a page" {
	for src in "$REPO_ROOT"/cmd/*.c "$REPO_ROOT"/scripts/*; do
		case $src in *.md | *.conf | *.service | *.timer | *.cron) continue ;; esac
		[[ -f $src && -x $src ]] || [[ $src == *.c ]] || continue # not scripts/lua/
		name=$(basename "$src" .c)
		ls "$REPO_ROOT"/man/"$name".[1-9] >/dev/null 2>&1 || fail "no man page for $name"
	done
	[ -f "$REPO_ROOT/man/acmepipe-state.5" ]
	[ -f "$REPO_ROOT/man/acmepipe.7" ]
}

@test "man: every page is mandoc -Tlint clean" {
	run_split -0 mandoc -Tlint -Wwarning "$REPO_ROOT"/man/*
	assert_output ''
}

@test "man: SYNOPSIS is what --help prints" {
	for src in "$REPO_ROOT"/cmd/*.c "$REPO_ROOT"/scripts/acme-*; do
		name=$(basename "$src" .c)
		help=$("$name" -h | tr -s ' \t\n' ' ' | sed 's/^usage: //; s/ $//')
		assert_equal "$(man_synopsis "$REPO_ROOT/man/$name.1")" "$help" "$name SYNOPSIS"
	done
}

@test "man: the examples of acme-order(1) run" {
	run_split -0 run_examples "$REPO_ROOT/man/acme-order.1"
	assert_contains "$output" "pending"
}

@test "man: the examples of acme-account(1) run" {
	# The account the examples act on; they never register one.
	echo '{"identifiers":["account-man.example.com"]}' | acme-order -a >/dev/null
	run_split -0 run_examples "$REPO_ROOT/man/acme-account.1"
	assert_equal "${lines[0]}" valid "show"
	assert_equal "${lines[1]}" '["mailto:ops@example.com"]' "contact"
	assert_equal "${lines[2]}" "$(jq -r ".[\"$ACMEPIPE_DIRECTORY\"]" "$ACMEPIPE_ACCOUNT_KEY.account")" "rollover"
}

@test "man: the examples of acme-revoke(1) run" {
	local ex=$BATS_TEST_TMPDIR/ex
	# The store the examples name, relative to where they run.
	mkdir -p "$ex"
	for n in example.com www.example.com; do
		acme-issue -a -w "$WEBROOT" -s "$ex/store" "$n" >/dev/null
	done
	run_split -0 run_examples "$REPO_ROOT/man/acme-revoke.1"
	assert_output cessationOfOperation
	run_split -1 certstore -s "$ex/store" list example.com
	run_split -1 certstore -s "$ex/store" list www.example.com
}

@test "man: the examples of acme-challenge(1) run" {
	run_split -0 run_examples "$REPO_ROOT/man/acme-challenge.1"
	assert_contains "$output" "ready"
}

@test "man: the examples of acme-finalize(1) run" {
	run_split -0 run_examples "$REPO_ROOT/man/acme-finalize.1"
	assert_contains "$output" "BEGIN CERTIFICATE"
}

@test "man: the example of acme-issue(1) runs" {
	run_split -0 run_examples "$REPO_ROOT/man/acme-issue.1"
	assert_output $'example.com\nwww.example.com'
}

@test "man: the examples of acmepipe(7) and acmepipe-state(5) run" {
	run_split -0 run_examples "$REPO_ROOT/man/acmepipe.7"
	dir=$BATS_TEST_TMPDIR/ex
	[ -s "$dir/results.jsonl" ]
	[ -f "$STORE/certs/example.com.pem" ]
	# The state page's examples read the results the overview left.
	cp "$REPO_ROOT/man/acmepipe-state.5" "$dir/state.5"
	run_split -0 bash -c "cd '$dir' && $(man_examples "$REPO_ROOT/man/acmepipe-state.5" | tr '\0' '\n')"
}
