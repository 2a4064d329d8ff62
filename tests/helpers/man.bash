# shellcheck shell=bash
#
# tests/helpers/man.bash: the EXAMPLES of the manual pages, so that tests
# run exactly what the pages tell people to run. Sourced by common.bash.

# man_examples PAGE: the shell examples of a manual page (the "$ " lines of
# its literal displays, with their continuation lines), each one as a
# NUL-terminated record, ready for bash: \e unescaped, and the paths the
# pages use replaced by the test's own when set: /var/lib/acmepipe/store by
# $STORE, /var/lib/acmepipe/keys by $KEYS, /var/www/html by $WEBROOT.
man_examples() {
	local cmd
	while IFS= read -r -d '' cmd; do
		cmd=${cmd//\\e/\\}
		[[ -n ${STORE:-} ]] && cmd=${cmd//\/var\/lib\/acmepipe\/store/$STORE}
		[[ -n ${KEYS:-} ]] && cmd=${cmd//\/var\/lib\/acmepipe\/keys/$KEYS}
		[[ -n ${WEBROOT:-} ]] && cmd=${cmd//\/var\/www\/html/$WEBROOT}
		printf '%s\0' "$cmd"
	done < <(awk '
		/^\.Bd -literal/ { inb = 1; cmd = ""; next }
		/^\.Ed/ { if (cmd != "") printf "%s%c", cmd, 0; inb = 0; cmd = ""; next }
		inb && /^\$ / { if (cmd != "") printf "%s%c", cmd, 0; cmd = substr($0, 3); next }
		inb && cmd != "" { cmd = cmd "\n" $0 }' "$1")
}

# man_synopsis PAGE: the SYNOPSIS as mandoc renders it, blanks squeezed.
man_synopsis() {
	mandoc -Tascii -O width=200 "$1" | sed $'s/.\b//g' |
		awk '/^SYNOPSIS/ { p = 1; next } /^[A-Z]/ { p = 0 } p' | tr -s ' \t\n' ' ' |
		sed 's/^ //; s/ $//'
}
