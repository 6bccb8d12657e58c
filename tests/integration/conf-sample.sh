#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook.conf.sample lists exactly the keys payhook-fcgi --check-config
# prints, each with its default, and loads; payhook.conf(5) documents each.
# Its [endpoint example] is commented out (no endpoint by default); with one
# "# " dropped it loads too, lists every endpoint key with its default, and
# payhook.conf(5)'s [endpoint NAME] documents each.
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

# [endpoint example]: commented out, so the sample delivers nowhere.
is "$(echo "$out" | grep -c '^\[endpoint ')" 0 "the sample has no active endpoint"
grep -q '^# \[endpoint example\]$' "$SAMPLE"
tap_ok $? "the sample has a commented [endpoint example]"
# Active: the section's lines with one "# " dropped, a secret from the environment.
{
	cat "$SAMPLE"
	sed -n '/^# \[endpoint example\]$/,$ s/^# \{0,1\}//p' "$SAMPLE"
} >"$T/endpoint.conf"
secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
eout=$(PAYHOOK_ENDPOINT_EXAMPLE_SECRET=$secret "$FCGI" -c "$T/endpoint.conf" --check-config 2>&1)
like "$eout" 'config ok$' "the sample with [endpoint example] uncommented (and a secret) loads"
# "key = value" lines of [endpoint example] (comments skipped, blanks trimmed).
ekeys() {
	awk '/^[ \t]*[#;]/ || /^[ \t]*$/ { next } /^\[/ { s = $0; next } !/=/ { next }
	     s == "[endpoint example]" { k = $0; sub(/[ \t]*=.*/, "", k); v = $0; sub(/^[^=]*=[ \t]*/, "", v)
	                                 sub(/[ \t]*$/, "", v); print k " = " v }'
}
printed=$(echo "$eout" | ekeys | sort)
listed=$(ekeys <"$T/endpoint.conf" | sort)
[ "$(echo "$printed" | wc -l)" -ge 8 ]
tap_ok $? "--check-config prints the endpoint's keys ($(echo "$printed" | wc -l))"
is "$(diff <(echo "$printed" | sed 's/ = .*//') <(echo "$listed" | sed 's/ = .*//') | sed -n 's/^[<>]/&/p' |
	tr '\n' ' ')" "" "the example lists exactly the endpoint keys (< missing, > extra)"
# Every value but the two to set (url, secret) is the default.
is "$(diff <(echo "$printed" | grep -Ev '^(url|secret) = ') <(echo "$listed" | grep -Ev '^(url|secret) = ') |
	tr '\n' ' ')" "" "every value in the example but url and secret is the default"
is "$(echo "$printed" | grep '^secret = ')" "secret = (set)" "the endpoint's secret is printed only as (set)"
like "$(echo "$printed" | grep '^url = ')" '^url = https://' "the example's url is https"
for k in $(echo "$printed" | sed 's/ = .*//'); do
	awk -v k="$k" '$0 == ".Ss [endpoint NAME]" { in_s = 1; next } /^\.Ss / { in_s = 0 }
		in_s && ($0 ~ "^\\.It Cm " k "( |$)") { found = 1 } END { exit !found }' "$MAN"
	tap_ok $? "payhook.conf(5) documents [endpoint NAME] $k"
done
# secret_file, as the comment shows it, reads the secret from a file.
echo "$secret" >"$T/example.secret"
sed -e "s#^\# secret_file = /etc/payhook/example.secret\$#secret_file = $T/example.secret#" \
	-e '/^\[endpoint example\]$/,$ { /^secret =$/d }' "$T/endpoint.conf" >"$T/endpoint-file.conf"
fout=$("$FCGI" -c "$T/endpoint-file.conf" --check-config 2>&1)
like "$fout" 'config ok$' "the example with secret_file, as its comment shows it, loads"
is "$(echo "$fout" | ekeys | grep '^secret = ')" "secret = (set)" "and the secret is read from the file"

tap_done
