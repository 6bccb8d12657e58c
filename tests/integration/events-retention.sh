#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Retention of the events stream (DESIGN.md: Retention of events), with
# events_maxlen 20 and events_hard_maxlen 60, against a real stack and
# payhook-fetcher --once: with no consumer group the stream is trimmed as
# before (MAXLEN ~); a group that stops reading keeps its entries past
# events_maxlen up to the hard bound, then the oldest are trimmed anyway,
# counted (events:trimmed_unread, payhook_events_trimmed_unread_total) and
# warned about; entries a group holds pending are kept; a group that reads and
# acknowledges everything lets the stream shrink to events_maxlen. /metrics
# and payhookctl events groups show each group's lag and pending.
. "$(dirname "$0")/lib.sh"
. "$PH_TOP/tests/standin/lib.sh"

standin_up || { tap_ok 1 "stand-in up"; tap_done; exit 1; }
fetch_conf "events_maxlen = 20" "events_hard_maxlen = 60"
ph_stack_up || { tap_ok 1 "stack up"; tap_done; exit 1; }
EV=payhook:events
CTL=("$PH_BUILD/tools/payhookctl" -c "$CONF")
# Small stream nodes, so that MAXLEN ~ 20 can trim at all (whole nodes only).
rcli config set stream-node-max-entries 10 >/dev/null

# changes FROM TO: one notification per new entity e{FROM}..e{TO}, then a
# fetcher run: one event each.
changes() {
	local i
	for ((i = $1; i <= $2; i++)); do
		oi_notify "n$i" payment_order "e$i" >/dev/null
	done
	fetch_once
}
# The store script keeps the groups' trim bound for a second: wait until it
# is gone, so the next store reads the groups as they are now.
bound_expired() { rcli_is 0 exists payhook:events_trim; }
# group_field GROUP FIELD: a field of XINFO GROUPS.
group_field() {
	rcli xinfo groups "$EV" | awk -v g="$1" -v f="$2" '
		NR % 2 == 1 { k = $0; next } k == "name" { n = $0 } k == f && n == g { print }'
}
metrics() { curl -s "$BASE/metrics"; }
# ids [START]: the ids of the stream from START (default: all), oldest first.
ids() { rcli xrange "$EV" "${1:--}" + | grep -E '^[0-9]+-[0-9]+$'; }

# --- No consumer group: MAXLEN ~ events_maxlen, as before.
changes 1 50
len=$(rcli xlen "$EV")
tap_ok "$([ "$len" -ge 20 ] && [ "$len" -lt 30 ]; echo $?)" "no group: trimmed to about events_maxlen ($len of 50)"
is "$(rcli get payhook:events_trim)" none "no group: the trim bound says so"
is "$(ph_stat events:trimmed_unread)" 0 "no group: nothing counted as trimmed unread"

# --- A group that stops reading: kept past events_maxlen, up to the hard bound.
before=$(ids | tail -n 1)
rcli xgroup create "$EV" stalled '$' >/dev/null
PH_WAIT=5 ph_wait_for bound_expired
changes 51 90
rcli xreadgroup group stalled c1 count 5 streams "$EV" '>' >/dev/null
is "$(rcli xlen "$EV")" 40 "a stalled group keeps every entry it has not read (40 > events_maxlen)"
is "$(ids | head -n 1)" "$(ids "($before" | head -n 1)" "the oldest kept is the first it has not read"
kept=$(ids)
is "$(group_field stalled lag) $(group_field stalled pending)" "35 5" "XINFO GROUPS: lag 35, pending 5"
m=$(metrics)
like "$m" $'\npayhook_events_group_lag\\{group="stalled"\\} 35\n' "/metrics: payhook_events_group_lag of the group"
like "$m" $'\npayhook_events_group_pending\\{group="stalled"\\} 5\n' "/metrics: payhook_events_group_pending of the group"
like "$m" $'\npayhook_events_trimmed_unread_total 0\n' "/metrics: nothing trimmed unread yet"

changes 91 120
is "$(rcli xlen "$EV")" 60 "past events_hard_maxlen the oldest go anyway (60 left of 70)"
is "$(ids | head -n 1)" "$(echo "$kept" | sed -n 11p)" "the 10 oldest unread entries were trimmed"
is "$(ph_stat events:trimmed_unread)" 10 "counted in events:trimmed_unread"
like "$(metrics)" $'\npayhook_events_trimmed_unread_total 10\n' "/metrics: payhook_events_trimmed_unread_total 10"
like "$(cat "$T/fetcher-once.log")" 'events_trimmed_unread.*events_hard_maxlen=60' "the fetcher logs a warning"

"${CTL[@]}" events groups >"$T/groups.out" 2>"$T/groups.err"
is "$?" 0 "payhookctl events groups exits 0"
like "$(cat "$T/groups.out")" '^group +consumers +pending +lag +idle' "payhookctl events groups: a header"
like "$(grep '^stalled ' "$T/groups.out")" '^stalled +1 +5 +[0-9]+ +[0-9.]+s +[0-9]+-[0-9]+$' "payhookctl events groups: consumers, pending, lag, idle, last id"
"${CTL[@]}" --json events groups >"$T/groups.json"
is "$(python3 -c 'import json,sys; g=json.load(sys.stdin)[0]; print(g["group"], g["consumers"], g["pending"], type(g["lag"]).__name__, type(g["idle_ms"]).__name__)' <"$T/groups.json")" \
	"stalled 1 5 int int" "payhookctl --json events groups"

# --- Entries a group holds pending are kept; once it acknowledges them and
# reads on, the stream shrinks to events_maxlen.
rcli xgroup destroy "$EV" stalled >/dev/null
rcli xgroup create "$EV" reader '$' >/dev/null
PH_WAIT=5 ph_wait_for bound_expired
changes 121 130
rcli xreadgroup group reader c1 count 100 streams "$EV" '>' >"$T/read.out"
is "$(group_field reader pending) $(group_field reader lag)" "10 0" "the reader holds 10 pending"
PH_WAIT=5 ph_wait_for bound_expired
changes 131 150
is "$(rcli xlen "$EV")" 30 "its 10 pending entries and the 20 it has not read are kept"
is "$(ids | head -n 1)" "$(rcli xpending "$EV" reader | sed -n 2p)" "the oldest kept is its oldest pending"
rcli xreadgroup group reader c1 count 100 streams "$EV" '>' >/dev/null
ids | xargs redis-cli -p "$REDIS_PORT" xack "$EV" reader >/dev/null
is "$(group_field reader pending) $(group_field reader lag)" "0 0" "the reader read and acknowledged everything"
PH_WAIT=5 ph_wait_for bound_expired
changes 151 155
is "$(rcli xlen "$EV")" 20 "a group that read everything lets the stream shrink to events_maxlen"
is "$(group_field reader lag)" 5 "its lag is the 5 new entries"
like "$(metrics)" $'\npayhook_events_group_lag\\{group="reader"\\} 5\n' "/metrics: lag of the reader"
is "$(ph_stat events:trimmed_unread)" 10 "nothing more counted as trimmed unread"

# --- No group again: back to MAXLEN ~.
rcli xgroup destroy "$EV" reader >/dev/null
PH_WAIT=5 ph_wait_for bound_expired
changes 156 160
is "$(rcli get payhook:events_trim)" none "the last group gone: the bound says none"
like "$(metrics)" $'# TYPE payhook_events_group_lag gauge\n# HELP payhook_events_group_pending' "/metrics: no group, no series"

tap_done
