#!/usr/bin/env bats
# The option -> ACMEPIPE_* table, common/conf_table.h, as build/conf-table
# prints it (variable, long option, letter, default, meaning): every
# ACMEPIPE_ variable that a script sets, a man page names or the C code
# reads is a row; scripts/acme-issue and scripts/acme-renew map each
# option to its row's variable; every ENVIRONMENT section says the row's
# option and its command takes it. Needs no CA or server.

load helpers/common

setup_file() {
	[[ -x $REPO_ROOT/build/conf-table ]] ||
		fail "build/conf-table is not built: make build/conf-table"
	"$REPO_ROOT/build/conf-table" >"$TEST_TMP/table"
}

setup() {
	TABLE=$TEST_TMP/table
	cd "$REPO_ROOT" || return 1
}

# row_letter VAR / row_long VAR: the row's option, empty when none.
row_letter() { awk -F'\t' -v v="$1" '$1 == v { print $3 }' "$TABLE"; }
row_long() { awk -F'\t' -v v="$1" '$1 == v { print $2 }' "$TABLE"; }

# unknown_vars FILE...: each ACMEPIPE_ variable FILE names that is no row.
unknown_vars() {
	local v
	grep -ho 'ACMEPIPE_[A-Z0-9_]*[A-Z0-9]' "$@" | sort -u | while read -r v; do
		cut -f1 "$TABLE" | grep -qxF "$v" || echo "$v"
	done
}

# script_map FILE: "LETTER VARIABLE" for each option arm of FILE's case
# statements (`x) ...` or `-x) ...`, one line) that exports a variable.
script_map() {
	local l rest v
	sed -n 's/^[[:space:]]*-\{0,1\}\([A-Za-z]\)) \(.*\);;$/\1 \2/p' "$1" |
		while read -r l rest; do
			grep -o 'export ACMEPIPE_[A-Z0-9_]*' <<<"$rest" |
				while read -r _ v; do echo "$l $v"; done
		done
}

# script_problems FILE: one line for each option FILE maps to another
# variable than the table's, or that the table has and FILE accepts but
# does not map (LETTERS: the option letters FILE accepts).
script_problems() {
	local file=$1 letters=$2 l v want i
	script_map "$file" | while read -r l v; do
		want=$(row_letter "$v")
		[[ $want == "$l" ]] ||
			echo "$file: -$l sets $v, which the table gives -${want:-(none)}"
	done
	for ((i = 0; i < ${#letters}; i++)); do
		l=${letters:i:1}
		v=$(awk -F'\t' -v l="$l" '$3 == l { print $1 }' "$TABLE")
		[[ -z $v ]] && continue
		script_map "$file" | grep -qxF "$l $v" ||
			echo "$file: -$l does not set $v"
	done
	true
}

# issue_letters [FILE]: acme-issue's option letters (getopts), and with
# -a those that take a value.
issue_letters() {
	local spec
	spec=$(sed -n 's/.*getopts :\([A-Za-z:]*\) opt.*/\1/p' scripts/acme-issue)
	if [[ ${1-} == -a ]]; then
		grep -o '[A-Za-z]:' <<<"$spec" | tr -d ':\n'
	else
		tr -d ':' <<<"$spec"
	fi
}

# renew_letters: the letters of acme-renew's `-[...]` arm that takes a value.
renew_letters() {
	sed -n 's/^[[:space:]]*-\[\([A-Za-z]*\)\])$/\1/p' scripts/acme-renew
}

# man_env PAGE: "VARIABLE LETTER" for each variable an ENVIRONMENT item of
# PAGE names; LETTER is the option its text gives ("as" or "Like" then
# .Fl X) when the item is about that one variable, else "-".
man_env() {
	awk '
	function flush(i) {
		for (i = 1; i <= n; i++)
			print vars[i], (n == 1 && letter != "" ? letter : "-")
		n = 0
		letter = ""
	}
	function collect(t, w, k, i) {
		k = split(t, w, /[ \t,\\]+/)
		for (i = 1; i <= k; i++)
			if (w[i] ~ /^ACMEPIPE_[A-Z0-9_]*[A-Z0-9]$/)
				vars[++n] = w[i]
	}
	/^\.Sh / { flush(); env = $2 == "ENVIRONMENT"; prev = ""; next }
	!env { next }
	more { text = text " " $0; if ($0 !~ /\\$/) { more = 0; collect(text) }
	    prev = $0; next }
	/^\.It / { flush(); text = $0; if ($0 ~ /\\$/) more = 1; else collect(text)
	    prev = $0; next }
	/^\.El/ { flush() }
	/^\.Fl [A-Za-z]( |$)/ && prev ~ /(^| )(as|Like)$/ && letter == "" {
	    letter = $2 }
	{ prev = $0 }
	END { flush() }
	' "$1"
}

# man_problems PAGE: one line for each ENVIRONMENT item of PAGE that gives
# another option than the table's, and each option of a documented
# variable that PAGE's option list does not give with the table's long
# name (".It Fl x ... , Fl Fl long" or "Fl \-long").
man_problems() {
	local page=$1 v l want long
	man_env "$page" | sort -u | while read -r v l; do
		want=$(row_letter "$v")
		long=$(row_long "$v")
		if [[ $l != - && $l != "$want" ]]; then
			echo "$page: $v documented as -$l, the table says -${want:-(none)}"
		fi
		[[ -n $want && $page == *.1 ]] || continue
		case $page in */acme-issue.1 | */acme-renew.1) continue ;; esac
		# "Fl Fl long" or "Fl \-long", then the argument or nothing.
		grep -qE "^\.It Fl $want( Ar [^,]*)? , Fl (Fl |\\\\-)$long( |\$)" "$page" ||
			echo "$page: $v: no option -$want, --$long in the list"
	done
	true
}

# undocumented: each row with an option that no ENVIRONMENT section names.
undocumented() {
	local v
	for p in man/*; do man_env "$p"; done | cut -d' ' -f1 | sort -u \
		>"$BATS_TEST_TMPDIR/documented"
	awk -F'\t' '$2 != "" { print $1 }' "$TABLE" | while read -r v; do
		grep -qxF "$v" "$BATS_TEST_TMPDIR/documented" || echo "$v"
	done
}

# c_literals: the C files other than the table that spell a variable's
# name as a string.
c_literals() {
	grep -l '"ACMEPIPE_[A-Z0-9_]*"' cmd/*.c common/*.c common/*.h |
		grep -vxE "$1" || true
}

@test "conf: the table's rows are well formed, each variable and option once" {
	local rows
	rows=$(wc -l <"$TABLE")
	[[ $rows -gt 10 ]] || fail "only $rows rows"
	run_split -0 awk -F'\t' '
	NF != 5 { print NR ": " NF " fields"; next }
	$1 !~ /^ACMEPIPE_[A-Z0-9_]*[A-Z0-9]$/ { print NR ": variable " $1 }
	($2 == "") != ($3 == "") { print $1 ": long and short option go together" }
	$2 != "" && $2 !~ /^[a-z][a-z0-9-]*$/ { print $1 ": long option " $2 }
	$3 != "" && $3 !~ /^[A-Za-z]$/ { print $1 ": short option " $3 }
	$5 == "" { print $1 ": no meaning" }
	seen[$1]++ { print $1 ": twice" }
	$2 != "" && long[$2]++ { print $1 ": --" $2 " of another row too" }
	$3 != "" && short[$3]++ { print $1 ": -" $3 " of another row too" }
	' "$TABLE"
	assert_output ''
}

@test "conf: every ACMEPIPE_ variable a script names is in the table" {
	run_split -0 unknown_vars scripts/*
	assert_output ''
}

@test "conf: acme-issue maps each option to the table's variable" {
	[[ -n $(script_map scripts/acme-issue) ]] || fail "no option arms read"
	run_split -0 script_problems scripts/acme-issue "$(issue_letters)"
	assert_output ''
}

@test "conf: acme-renew maps each option to the table's variable, as acme-issue" {
	[[ -n $(script_map scripts/acme-renew) ]] || fail "no option arms read"
	run_split -0 script_problems scripts/acme-renew "$(renew_letters)"
	assert_output ''
	# It passes on each acme-issue option that takes a value.
	assert_equal "$(renew_letters | fold -w1 | sort | tr -d '\n')" \
		"$(issue_letters -a | fold -w1 | sort | tr -d '\n')" \
		"acme-renew's value options"
}

@test "conf: the check catches an unknown variable and a wrong option" {
	local bad=$BATS_TEST_TMPDIR/acme-issue
	sed 's/^\tm) export ACMEPIPE_MODE="$OPTARG" ;;$/&\n\tq) export ACMEPIPE_NO_SUCH="$OPTARG" ;;\n\tx) export ACMEPIPE_STORE="$OPTARG" ;;/' \
		scripts/acme-issue >"$bad"
	grep -q NO_SUCH "$bad" || fail "the fixture did not take"
	run_split -0 unknown_vars "$bad"
	assert_output ACMEPIPE_NO_SUCH
	run_split -0 script_problems "$bad" "$(issue_letters)"
	assert_contains "$output" "-q sets ACMEPIPE_NO_SUCH, which the table gives -(none)"
	assert_contains "$output" "-x sets ACMEPIPE_STORE, which the table gives -s"
	# An option the table has that the script takes but does not map.
	sed '/^\tK) export ACMEPIPE_KEY_TYPE/d' scripts/acme-issue >"$bad"
	run_split -0 script_problems "$bad" "$(issue_letters)"
	assert_output "$bad: -K does not set ACMEPIPE_KEY_TYPE"
}

@test "conf: every ACMEPIPE_ variable a man page names is in the table" {
	run_split -0 unknown_vars man/*
	assert_output ''
}

@test "conf: each ENVIRONMENT section gives the table's options" {
	local page n=0
	for page in man/*; do
		n=$((n + $(man_env "$page" | wc -l)))
	done
	[[ $n -gt 30 ]] || fail "only $n variables read from the ENVIRONMENT sections"
	for page in man/*; do
		run_split -0 man_problems "$page"
		assert_output ''
	done
}

@test "conf: the man page check catches a wrong and a missing option" {
	local page=$BATS_TEST_TMPDIR/x.1
	cat >"$page" <<-'PAGE'
		.Sh OPTIONS
		.Bl -tag -width Ds
		.It Fl s Ar dir , Fl \-store Ns = Ns Ar dir
		.El
		.Sh ENVIRONMENT
		.Bl -tag -width Ds
		.It Ev ACMEPIPE_STORE
		Like
		.Fl S .
		.It Ev ACMEPIPE_MODE , \
		Ev ACMEPIPE_GROUP
		Of the files.
		.El
	PAGE
	run_split -0 man_env "$page"
	assert_output "$(printf '%s\n' 'ACMEPIPE_STORE S' 'ACMEPIPE_MODE -' 'ACMEPIPE_GROUP -')"
	run_split -0 man_problems "$page"
	assert_output "$(printf '%s\n' \
		"$page: ACMEPIPE_GROUP: no option -g, --group in the list" \
		"$page: ACMEPIPE_MODE: no option -m, --mode in the list" \
		"$page: ACMEPIPE_STORE documented as -S, the table says -s")"
}

@test "conf: every row with an option is documented in an ENVIRONMENT section" {
	run_split -0 undocumented
	assert_output ''
}

@test "conf: each command takes the long option of the variables its page documents" {
	local page cmd v l long
	for page in man/*.1; do
		cmd=$(basename "$page" .1)
		[[ -x bin/$cmd ]] || continue
		while read -r v l; do
			long=$(row_long "$v")
			[[ -n $long ]] || continue
			# The option (with a value, or a flag and an operand), then
			# --help: 0 and usage on stdout when the option is known.
			run_split "bin/$cmd" "--$long" value --help
			[[ $status -eq 0 ]] ||
				fail "$cmd --$long (for $v): status $status: $stderr"
		done < <(man_env "$page" | sort -u)
	done
}

@test "conf: the C code names no variable outside the table, nor spells one" {
	run_split -0 unknown_vars cmd/*.c common/*.c common/*.h
	assert_output ''
	# Names as strings only in the table (CONF_ENV() elsewhere).
	run_split -0 c_literals 'common/conf_table.h'
	assert_output ''
}
