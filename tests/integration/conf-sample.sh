#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook.conf.sample lists exactly the keys payhook-fcgi --check-config
# prints, each with its default, and loads; payhook.conf(5) documents each.
. "$(dirname "$0")/lib.sh"
# The environment must not override what the files say.
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(PAYHOOK_[A-Z0-9_]*\)=.*/\1/p')
FCGI=$PH_BUILD/handler/payhook-fcgi
SAMPLE=$PH_TOP/payhook.conf.sample
MAN=$PH_TOP/man/payhook.conf.5

# keys_of: "section key" per line from INI text on stdin (comments skipped).
keys_of() {
	awk '/^[ \t]*[#;]/ || /^[ \t]*$/ { next }
	     /^\[/ { s = $0; gsub(/[][ \t]/, "", s); next }
	     { k = $0; sub(/[ \t]*=.*/, "", k); print s, k }'
}

# The sample names Debian's spool directory; this build's default is
# $(localstatedir)/spool/payhook: compare with that (make install does the same).
spool=$("$FCGI" -c /dev/null --check-config 2>&1 | sed -n 's/^spool_dir = //p')
sed "s#^spool_dir = /var/spool/payhook\$#spool_dir = $spool#" "$PH_TOP/payhook.conf.sample" >"$T/sample.conf"
SAMPLE=$T/sample.conf

out=$("$FCGI" -c "$SAMPLE" --check-config 2>&1)
tap_ok $? "payhook-fcgi --check-config loads the sample"
like "$out" 'config ok$' "the sample is reported ok"
defaults=$("$FCGI" -c /dev/null --check-config 2>&1)
tap_ok $? "--check-config with an empty file"

want=$(echo "$defaults" | grep -v '^config ok$' | keys_of | sort)
got=$(keys_of <"$SAMPLE" | sort)
[ "$(echo "$want" | wc -l)" -ge 30 ]
tap_ok $? "--check-config prints every key ($(echo "$want" | wc -l))"
is "$(diff <(echo "$want") <(echo "$got") | sed -n 's/^[<>]/&/p' | tr '\n' ' ')" "" \
	"the sample lists exactly the keys --check-config prints (< missing, > extra)"
is "$(keys_of <"$SAMPLE" | sort | uniq -d | tr '\n' ' ')" "" "no key twice in the sample"
is "$(diff <(echo "$defaults") <(echo "$out") | tr '\n' ' ')" "" \
	"every value in the sample is the default"

# Each key has a comment: the line above it, or above the keys it is grouped with.
bad=$(awk '/^[ \t]*$/ { c = 0; next } /^[#;]/ { c = 1; next } /^\[/ { c = 0; next }
	{ if (!c) print NR": "$0 }' "$SAMPLE")
is "$bad" "" "every key in the sample is annotated"
# Each *_file comment names a secret (printed as (set)/(not set)).
for k in $(sed -n 's/^# *\([a-z_]*\)_file = .*/\1/p' "$SAMPLE"); do
	like "$(echo "$defaults" | grep "^$k = ")" '\(not set\)$' "${k}_file: $k is a secret"
done

# A value that differs from the default shows through; a bad one is refused.
sed 's/^max_body = 16384$/max_body = 2048/' "$SAMPLE" >"$T/changed.conf"
like "$("$FCGI" -c "$T/changed.conf" --check-config)" $'\nmax_body = 2048\n' "an edited copy loads with its value"
sed 's/^threads = 64$/threads = many/' "$SAMPLE" >"$T/bad.conf"
err=$("$FCGI" -c "$T/bad.conf" --check-config 2>&1)
rc=$?
[ $rc -ne 0 ]
tap_ok $? "a bad value in a copy of the sample is refused"
like "$err" 'threads' "the refusal names the key"

# The man page documents every key (".It Cm key" under its section).
for sk in $(echo "$want" | tr ' ' '/'); do
	s=${sk%/*} k=${sk#*/}
	awk -v s="[$s]" -v k="$k" '$0 == ".Ss " s { in_s = 1; next } /^\.Ss / { in_s = 0 }
		in_s && ($0 ~ "^\\.It Cm " k "( |$)") { found = 1 } END { exit !found }' "$MAN"
	tap_ok $? "payhook.conf(5) documents [$s] $k"
done

tap_done
