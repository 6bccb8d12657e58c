#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# systemd/: the units pass `systemd-analyze verify` (no warning either), keep
# their hardening, use the socket path the web-server configs use, start the
# programs with flags they accept; payhook.sysusers creates the user.
# Skipped where systemd-analyze does not work.
. "$(dirname "$0")/lib.sh"
S=$PH_TOP/systemd
FCGI=$PH_BUILD/handler/payhook-fcgi
FETCHER=$PH_BUILD/fetcher/payhook-fetcher
DELIVER=$PH_BUILD/deliver/payhook-deliver

# skip REASON: a TAP skip line.
skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - # SKIP $*"
}

# units_at DIR: the units, with the programs at their build paths.
units_at() {
	mkdir -p "$1"
	for u in "$S"/*.service; do
		sed -e "s#/usr/bin/payhook-fcgi#$FCGI#g" -e "s#/usr/bin/payhook-fetcher#$FETCHER#g" \
			-e "s#/usr/bin/payhook-deliver#$DELIVER#g" "$u" >"$1/$(basename "$u")"
	done
}

# verify UNIT_PATH: systemd-analyze verify, its output on failure.
verify() {
	local out rc
	out=$(systemd-analyze verify --man=no "$1" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || [ -n "$out" ]; then
		echo "$out" | sed 's/^/#   /'
		return 1
	fi
}

# Static checks: these hold whatever systemd is installed.
for u in payhook-fcgi.service payhook-fetcher@.service payhook-deliver@.service; do
	for opt in User=payhook NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	    PrivateDevices=yes RuntimeDirectory=payhook CapabilityBoundingSet= RestrictAddressFamilies= \
	    SystemCallFilter=@system-service; do
		grep -q "^$opt" "$S/$u"
		tap_ok $? "$u: $opt"
	done
done
sock=$(sed -n 's#^ExecStart=.* -l unix:\([^ ]*\).*#\1#p' "$S/payhook-fcgi.service")
is "$sock" /run/payhook/payhook-fcgi.sock "payhook-fcgi.service listens in its RuntimeDirectory"
grep -q "unix:$sock;" "$PH_TOP/nginx/payhook.conf"
tap_ok $? "nginx/payhook.conf passes to that socket"
grep -q "unix:$sock|fcgi://" "$PH_TOP/apache/payhook-proxy-fcgi.conf"
tap_ok $? "apache/payhook-proxy-fcgi.conf passes to that socket"
like "$(grep '^ExecStart=' "$S/payhook-fetcher@.service")" ' --id %i( |$)' \
	"payhook-fetcher@.service: the instance name is the worker id"
like "$(grep '^ExecStart=' "$S/payhook-deliver@.service")" ' --id %i( |$)' \
	"payhook-deliver@.service: the instance name is the deliverer id"
# SIGTERM lets the POSTs in flight end, each within its endpoint's timeout_ms
# (at most 300000): systemd must wait that long before SIGKILL.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$S/payhook-deliver@.service")
[ -n "$stop" ] && [ "$stop" -gt 300 ]
tap_ok $? "payhook-deliver@.service: TimeoutStopSec ($stop) exceeds the longest timeout_ms"

# The unit's own command lines, run against a test config: accepted flags.
cat >"$T/payhook.conf" <<CONF
[redis]
url = redis://127.0.0.1:1/0
CONF
pre=$(sed -n 's#^ExecStartPre=##p' "$S/payhook-fcgi.service" |
	sed -e "s#/usr/bin/payhook-fcgi#$FCGI#" -e "s#/etc/payhook/payhook.conf#$T/payhook.conf#")
# shellcheck disable=SC2086
out=$($pre 2>&1)
tap_ok $? "payhook-fcgi.service: ExecStartPre ($pre) passes"
like "$out" 'config ok' "ExecStartPre checks the config"
bad=$(sed -n 's#^ExecStartPre=##p' "$S/payhook-fcgi.service" |
	sed -e "s#/usr/bin/payhook-fcgi#$FCGI#" -e "s#/etc/payhook/payhook.conf#$T/nonexistent.conf#")
# shellcheck disable=SC2086
$bad >/dev/null 2>&1
[ $? -ne 0 ]
tap_ok $? "ExecStartPre fails on a missing config, so the unit does not start"

# payhook-deliver@.service checks its config the same way, [endpoint] sections included.
if [ -x "$DELIVER" ]; then
	dpre() {
		sed -n 's#^ExecStartPre=##p' "$S/payhook-deliver@.service" |
			sed -e "s#/usr/bin/payhook-deliver#$DELIVER#" -e "s#/etc/payhook/payhook.conf#$1#"
	}
	cp "$T/payhook.conf" "$T/deliver.conf"
	printf '[endpoint shop]\nurl = https://shop.example/hooks\nsecret = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n' \
		>>"$T/deliver.conf"
	cmd=$(dpre "$T/deliver.conf")
	# shellcheck disable=SC2086
	$cmd >/dev/null 2>&1
	tap_ok $? "payhook-deliver@.service: ExecStartPre ($cmd) passes"
	sed 's#^url = https://shop.example/hooks$#url = http://shop.example/hooks#' "$T/deliver.conf" >"$T/deliver-bad.conf"
	cmd=$(dpre "$T/deliver-bad.conf")
	# shellcheck disable=SC2086
	$cmd >/dev/null 2>&1
	[ $? -ne 0 ]
	tap_ok $? "its ExecStartPre fails on an endpoint with an http url, so the unit does not start"
	# ExecStart's flags are accepted (with --check-config, so it does not start).
	start=$(sed -n 's#^ExecStart=##p' "$S/payhook-deliver@.service" | sed -e "s#/usr/bin/payhook-deliver#$DELIVER#" \
		-e "s#/etc/payhook/payhook.conf#$T/deliver.conf#" -e 's#%i#web1-1#')
	# shellcheck disable=SC2086
	$start --check-config >/dev/null 2>&1
	tap_ok $? "payhook-deliver@.service: ExecStart's flags are accepted ($start)"
else
	skip "payhook-deliver not built: payhook-deliver@.service's command lines not run"
fi

printf '[Service]\nExecStart=/bin/true\n' >"$T/probe.service"
if ! command -v systemd-analyze >/dev/null ||
    ! systemd-analyze verify --man=no "$T/probe.service" >/dev/null 2>&1; then
	skip "systemd-analyze verify does not work here"
	tap_done
	exit
fi

units_at "$T/units"
verify "$T/units/payhook-fcgi.service"
tap_ok $? "systemd-analyze verify payhook-fcgi.service"
if [ -x "$FETCHER" ]; then
	cp "$T/units/payhook-fetcher@.service" "$T/units/payhook-fetcher@web1-1.service"
	verify "$T/units/payhook-fetcher@web1-1.service"
	tap_ok $? "systemd-analyze verify payhook-fetcher@web1-1.service"
else
	skip "payhook-fetcher not built: payhook-fetcher@.service not verified"
fi
if [ -x "$DELIVER" ]; then
	cp "$T/units/payhook-deliver@.service" "$T/units/payhook-deliver@web1-1.service"
	verify "$T/units/payhook-deliver@web1-1.service"
	tap_ok $? "systemd-analyze verify payhook-deliver@web1-1.service"
else
	skip "payhook-deliver not built: payhook-deliver@.service not verified"
fi
# The check can fail: a unit with a typo does not pass.
sed 's/^Restart=on-failure/Restart=on-fialure/' "$T/units/payhook-fcgi.service" >"$T/units/typo.service"
! verify "$T/units/typo.service" >/dev/null
tap_ok $? "systemd-analyze verify catches a typo"

# Hardening, as systemd scores it (0 best .. 10 worst).
for u in payhook-fcgi.service payhook-fetcher@.service payhook-deliver@.service; do
	score=$(systemd-analyze security --offline=yes "$T/units/$u" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -z "$score" ]; then
		skip "systemd-analyze security --offline does not work here"
		continue
	fi
	awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'
	tap_ok $? "$u: exposure $score <= 2.0"
done

if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$T/root/etc"
	echo 'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin' >"$T/root/etc/passwd"
	echo 'www-data:x:33:' >"$T/root/etc/group"
	systemd-sysusers --root="$T/root" "$S/payhook.sysusers" >/dev/null 2>&1
	tap_ok $? "systemd-sysusers applies payhook.sysusers"
	like "$(grep '^payhook:' "$T/root/etc/passwd")" '^payhook:x:[0-9]+:[0-9]+:.*:/usr/sbin/nologin$' \
		"a payhook system user with no login"
	like "$(grep '^payhook:' "$T/root/etc/group")" ':www-data$' "www-data is in group payhook (the socket)"
else
	skip "systemd-sysusers not installed"
fi

tap_done
