#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2086 # the formats are literal; the name lists are split on purpose
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# docs/DESIGN.md stays in step with the code where that is cheap to check:
# every Redis key the code builds, every stats field family, every script,
# every config key, every metric (from the sources and from a running
# /metrics), every HTTP route and answer body the handler has is named in
# it; its links resolve; the man pages and the README point to it; every
# provider of the table is documented; and the file:function references of
# docs/PROVIDERS.md exist. The names come from
# the code, not from a list kept here: a key added without a line in
# DESIGN.md fails this test.
. "$(dirname "$0")/lib.sh"
DESIGN=$PH_TOP/docs/DESIGN.md
PROVIDERS=$PH_TOP/docs/PROVIDERS.md
SRC=("$PH_TOP"/lib/*.c "$PH_TOP"/handler/*.c "$PH_TOP"/fetcher/*.c "$PH_TOP"/deliver/*.c "$PH_TOP"/tools/*.c)

[ -s "$DESIGN" ]
tap_ok $? "docs/DESIGN.md exists"

# missing WHAT FORMAT NAME...: the names whose FORMAT (printf, %s = the name)
# does not occur in DESIGN.md, one line; "" when all do.
missing() {
	local fmt=$1 n m=""
	shift
	for n in "$@"; do
		# shellcheck disable=SC2059
		grep -qF -- "$(printf "$fmt" "$n")" "$DESIGN" || m="$m $n"
	done
	echo "${m# }"
}
# names LIST: one line of a list, sorted and unique.
names() { sort -u | tr '\n' ' ' | sed 's/ $//'; }

# Redis keys: every name of the one key table of lib/redis.c (ph_key_of);
# no other file builds a key (checked below).
keys=$({
	perl -0777 -ne 'while (/\[PH_KEY_[A-Z_]+\]\s*=\s*\{\s*"([a-z_]+)"/g) { print "$1\n" }' "$PH_TOP/lib/redis.c"
} | names)
n=$(wc -w <<<"$keys")
[ "$n" -ge 14 ]
tap_ok $? "Redis key names found in the code ($n: $keys)"
# A row of the keys table starts with the key: | `name` or | `name:...
m=""
for k in $keys; do
	grep -qE "^\| \`${k}[\`:]" "$DESIGN" || m="$m $k"
done
is "${m# }" "" "every Redis key of the code has a row in DESIGN.md's keys table"

# Stats fields: the families the scripts count into and the one table of
# lib/redis.c (ph_stat_field) the programs build theirs with.
fams=$({
	perl -0777 -ne 'while (/HINCRBY'"'"', KEYS\[\d+\], '"'"'([a-z_]+):/g) { print "$1\n" }' "$PH_TOP/lib/scripts.c"
	perl -0777 -ne 'while (/\[PH_STAT_[A-Z_]+\]\s*=\s*"([a-z_]+):"/g) { print "$1\n" }' "$PH_TOP/lib/redis.c"
} | names)
like "$fams" 'fetch.*notifications.*refresh' "stats field families found ($fams)"
is "$(missing '`%s:' $fams)" "" "every stats field family is in DESIGN.md"

# One builder for every key and stats field (issue 17): no key name or stats
# family is spelled as a string outside lib/.
lit=$(for w in $keys $fams; do
	grep -rnE --include='*.c' --include='*.h' "\"$w(:[^ \"]*)?\"" \
		"$PH_TOP/handler" "$PH_TOP/fetcher" "$PH_TOP/deliver" "$PH_TOP/tools" |
		grep -vE 'ctl_warn|printf|json_object_object_add|fetcher_reply_ok|log_(info|warn|error|debug)|->stat = |\{ "[a-z]+", ctl_|snprintf\(job\.event|^[^:]*:[0-9]+: *\*' |
		sed "s#^$PH_TOP/##"
done | sort -u)
is "$lit" "" "no key or stats field literal outside lib/"

# Scripts: every member of enum ph_script.
scripts=$(sed -n 's/^[[:space:]]*\(PH_SCRIPT_[A-Z_]*\)\b.*/\1/p' "$PH_TOP/lib/scripts.h" |
	grep -v -e FIRST_FETCHER | names)
n=$(wc -w <<<"$scripts")
[ "$n" -ge 12 ]
tap_ok $? "scripts found in lib/scripts.h ($n)"
is "$(missing '`%s`' $scripts)" "" "every script of lib/scripts.h has a row in DESIGN.md"
texts=$(sed -n 's/^static const char \(script_[a-z_]*\)\[\] =.*/\1/p' "$PH_TOP/lib/scripts.c" | names)
is "$(missing '`%s`' $texts)" "" "and every script text of lib/scripts.c"

# Config keys: what --check-config prints, sections included.
conf=$("$PH_BUILD/handler/payhook-fcgi" -c /dev/null --check-config 2>&1)
ckeys=$(sed -n 's/^\([a-z_]*\) = .*/\1/p' <<<"$conf" | names)
sections=$(sed -n 's/^\[\([a-z_]*\)\]$/\1/p' <<<"$conf" | names)
n=$(wc -w <<<"$ckeys")
[ "$n" -ge 30 ]
tap_ok $? "config keys from payhook-fcgi --check-config ($n)"
is "$(missing '`%s`' $ckeys)" "" "every config key is in DESIGN.md"
is "$(missing '| %s |' $sections)" "" "every config section has rows in DESIGN.md's config table"

# Metrics, from the sources (templates and histogram suffixes aside) ...
smetrics=$(grep -ohE 'payhook_[a-z_]+' "$PH_TOP/lib/metrics.c" "$PH_TOP/handler/payhook-fcgi.c" |
	grep -v '_$' | sed -E 's/_(bucket|sum|count)$//' | names)
# ... and from a running /metrics after a notification.
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
post "$BASE/webhooks/oneinfinite" '{"id":"d1","event_type":"PAYMENT_ORDER.CLOSED","entity_id":"po1"}' >/dev/null
curl -s "$BASE/metrics" >"$T/metrics"
rmetrics=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$T/metrics" | names)
n=$(wc -w <<<"$rmetrics")
[ "$n" -ge 15 ]
tap_ok $? "metrics served by /metrics ($n)"
metrics=$(echo $smetrics $rmetrics | tr ' ' '\n' | names)
is "$(missing '`%s' $metrics)" "" "every metric is in DESIGN.md"

# HTTP: every path of handler/route.c, every answer body of the handler.
paths=$(grep -ohE '"/[a-z]+/?"' "$PH_TOP/handler/route.c" | tr -d '"' | names)
like "$paths" '/entities/.*/healthz.*/metrics.*/webhooks/' "routes found in handler/route.c ($paths)"
is "$(missing '%s' $paths)" "" "every route is in DESIGN.md"
bodies=$(grep -ohE '\\"(error|status)\\":\\"[a-z_]+\\"' "$PH_TOP/handler/route.c" "$PH_TOP/handler/payhook-fcgi.c" |
	sed 's/\\//g' | names)
errors=$(grep -ohE 'error = "[a-z_]+"' "$PH_TOP/handler/route.c" | sed 's/error = "\(.*\)"/"error":"\1"/' | names)
n=$(wc -w <<<"$bodies $errors")
[ "$n" -ge 10 ]
tap_ok $? "answer bodies found in the handler ($n)"
is "$(missing '%s' $bodies $errors)" "" "every answer body is in DESIGN.md"
codes=$(sed -n 's/^[[:space:]]*{ \([0-9][0-9][0-9]\), ".*/\1/p' "$PH_TOP/handler/route.c" | names)
is "$(missing '| %s' $codes)" "" "every status of route_answers[] is in DESIGN.md's tables"

# The job and dead-letter formats: every member lib/job.c writes.
members=$(grep -ohE '\\"[a-z_]+\\":' "$PH_TOP/lib/job.c" | sed 's/\\//g' | names)
n=$(wc -w <<<"$members")
[ "$n" -ge 10 ]
tap_ok $? "job and dead-letter members found in lib/job.c ($members)"
is "$(missing '%s' $members)" "" "every member of a job or dead letter is in DESIGN.md's formats"

# The provider table's names.
provs=$(sed -n 's/^[[:space:]]*\.name = "\(.*\)",$/\1/p' "$PH_TOP"/lib/provider-*.c | names)
is "$(missing '`lib/provider-%s.c`' $provs)" "" "every provider's adapter file is in DESIGN.md"
# ... and each is documented where docs/PROVIDERS.md says.
m=""
for pv in $provs; do
	for f in man/payhookctl.8 man/payhook-fcgi.8 man/payhook.conf.5 README.md docs/REFRESH.md; do
		grep -q "$pv" "$PH_TOP/$f" || m="$m $pv:$f"
	done
	grep -q "^\[$pv\]" "$PH_TOP/payhook.conf.sample" || m="$m $pv:payhook.conf.sample"
done
is "${m# }" "" "every provider is in the man pages, README, REFRESH.md and the sample config"

# Links of DESIGN.md and PROVIDERS.md resolve.
m=""
for f in "$DESIGN" "$PROVIDERS"; do
	for l in $(grep -oE '\]\([A-Za-z0-9_./-]+\)' "$f" | sed 's/^](\(.*\))$/\1/'); do
		[ -e "$(dirname "$f")/$l" ] || m="$m $(basename "$f"):$l"
	done
done
is "${m# }" "" "every relative link of DESIGN.md and PROVIDERS.md resolves"

# The code cites sections as "DESIGN.md: Section": each names a heading.
m=""
while read -r sec; do
	grep -qE "^#+ $sec" "$DESIGN" || m="$m [$sec]"
done < <(grep -rhoE 'DESIGN\.md: [A-Z][a-z]+( [a-z]+)*' "$PH_TOP"/lib "$PH_TOP"/handler "$PH_TOP"/fetcher \
	"$PH_TOP"/tools | sed 's/^DESIGN\.md: //' | sort -u)
is "${m# }" "" "every section the code cites as DESIGN.md: X is a heading of DESIGN.md"

# The man pages and the README point to it.
m=""
for f in "$PH_TOP"/man/*.[58] "$PH_TOP/README.md"; do
	grep -q 'docs/DESIGN\.md' "$f" || m="$m $(basename "$f")"
done
is "${m# }" "" "every man page and the README point to docs/DESIGN.md"

# PROVIDERS.md: every `path:identifier` reference names a file that exists
# and an identifier that occurs in it.
refs=$(grep -oE '`[a-z][A-Za-z0-9_./-]*\.(c|h|py|sh|conf|md|5|8):[A-Za-z_][A-Za-z0-9_]*(\[\])?`' "$PROVIDERS" |
	tr -d '`' | sort -u)
n=$(wc -l <<<"$refs")
[ -s "$PROVIDERS" ] && [ "$n" -ge 10 ]
tap_ok $? "docs/PROVIDERS.md has file:function references ($n)"
m=""
for r in $refs; do
	f=${r%%:*} id=${r#*:}
	id=${id%\[\]}
	[ -f "$PH_TOP/$f" ] && grep -qw -- "$id" "$PH_TOP/$f" || m="$m $r"
done
is "${m# }" "" "every file:function of PROVIDERS.md exists"
tap_done
