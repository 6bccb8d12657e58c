#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# make install DESTDIR=...: exactly the expected files, in the configured
# directories, the configs and units naming the installed paths, the
# installed programs running; make uninstall removes them all.
. "$(dirname "$0")/lib.sh"
R=$T/root
# A make of its own, not a part of the make that may run this test (make
# check, distcheck): no inherited flags, jobserver or directory messages.
phmake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make "$@"
}
mk() {
	phmake -C "$PH_BUILD" -s "$@" >>"$T/make.log" 2>&1
}
# var NAME: a make variable of the build, as configured.
var() {
	phmake -C "$PH_BUILD" -s --no-print-directory -f Makefile -f - ph-print-var V="$1" <<'MK'
ph-print-var:
	@echo '$($(V))'
MK
}

prefix=$(var prefix)
bindir=$(var bindir)
sysconfdir=$(var sysconfdir)
datadir=$(var datadir)
mandir=$(var mandir)
unitdir=$(var systemdunitdir)
sysusersdir=$(var sysusersdir)
tmpfilesdir=$(var tmpfilesdir)
localstatedir=$(var localstatedir)
programs=$(var bin_PROGRAMS)
[ -n "$prefix" ] && [ -n "$bindir" ] && [ -n "$unitdir" ]
tap_ok $? "configured directories read from the build (prefix $prefix)"

mk install DESTDIR="$R"
tap_ok $? "make install DESTDIR=... succeeds" || { sed 's/^/#   /' "$T/make.log"; }

expected=$(
	for p in $programs; do echo "$bindir/$(basename "$p")"; done
	echo "$mandir/man8/payhook-fcgi.8"
	echo "$mandir/man8/payhook-fetcher.8"
	echo "$mandir/man8/payhook-deliver.8"
	echo "$mandir/man5/payhook.conf.5"
	echo "$mandir/man8/payhookctl.8"
	echo "$sysconfdir/payhook/payhook.conf.sample"
	echo "$datadir/payhook/nginx/payhook.conf"
	echo "$datadir/payhook/apache/payhook-proxy-fcgi.conf"
	echo "$datadir/payhook/apache/payhook-fcgid.conf"
	echo "$unitdir/payhook-fcgi.service"
	echo "$unitdir/payhook-fetcher@.service"
	echo "$unitdir/payhook-deliver@.service"
	echo "$sysusersdir/payhook.conf"
	echo "$tmpfilesdir/payhook.conf"
)
got=$(cd "$R" && find . ! -type d | sed 's#^\.##' | sort)
is "$(diff <(echo "$expected" | sort) <(echo "$got") | grep '^[<>]' | tr '\n' ' ')" "" \
	"exactly the expected files are installed (< missing, > unexpected)"
echo "$programs" | grep -q payhook-fcgi
tap_ok $? "payhook-fcgi is among the installed programs"

for p in $programs; do
	b=$(basename "$p")
	[ -x "$R$bindir/$b" ]
	tap_ok $? "$b is installed executable"
	like "$("$R$bindir/$b" --version 2>&1)" "^$b [0-9]" "installed $b --version runs"
done

is "$(diff <(sed "s#$localstatedir/spool/payhook#/var/spool/payhook#" "$R$sysconfdir/payhook/payhook.conf.sample") \
	"$PH_TOP/payhook.conf.sample" | head -n 3)" "" "the sample config is installed naming \$(localstatedir)/spool/payhook, else as is"
[ -d "$R$localstatedir/spool/payhook" ]
tap_ok $? "the spool directory \$(localstatedir)/spool/payhook is made"
like "$("$R$bindir/payhook-fcgi" -c /dev/null --check-config 2>&1)" "spool_dir = $localstatedir/spool/payhook" \
	"the installed payhook-fcgi's default spool_dir is that directory"
like "$(grep '^d ' "$R$tmpfilesdir/payhook.conf")" "^d $localstatedir/spool/payhook 0750 payhook payhook" \
	"tmpfiles.d/payhook.conf makes it, owned by payhook"
like "$("$R$bindir/payhook-fcgi" -c "$R$sysconfdir/payhook/payhook.conf.sample" --check-config 2>&1)" \
	'config ok$' "the installed payhook-fcgi loads the installed sample"
like "$("$R$bindir/payhook-fcgi" --help 2>&1)" "default $sysconfdir/payhook/payhook.conf" \
	"the installed payhook-fcgi reads its config from \$(sysconfdir)/payhook"
for m in man8/payhook-fcgi.8 man8/payhook-fetcher.8 man8/payhook-deliver.8 man8/payhookctl.8 \
    man5/payhook.conf.5; do
	cmp -s "$PH_TOP/man/$(basename "$m")" "$R$mandir/$m"
	tap_ok $? "$m installed"
	warn=$(nroff -mdoc -ww -Tutf8 "$R$mandir/$m" 2>&1 >/dev/null)
	is "$warn" "" "$m renders without warnings"
done
is "$(MANPATH="$R$mandir" man -w payhook.conf 2>/dev/null)" "$R$mandir/man5/payhook.conf.5" \
	"man finds payhook.conf(5) in the installed tree"
cmp -s "$PH_TOP/nginx/payhook.conf" "$R$datadir/payhook/nginx/payhook.conf"
tap_ok $? "the nginx config is installed as is"

# The configs and units name the installed programs and config, nothing else.
fcgid=$R$datadir/payhook/apache/payhook-fcgid.conf
like "$(grep FcgidWrapper "$fcgid")" "\"$bindir/payhook-fcgi -c $sysconfdir/payhook/payhook.conf -t 1\" virtual" \
	"payhook-fcgid.conf spawns the installed payhook-fcgi with the installed config"
for u in payhook-fcgi.service payhook-fetcher@.service payhook-deliver@.service; do
	f=$R$unitdir/$u
	is "$(grep '^Exec' "$f" | grep -vc "^Exec[A-Za-z]*=$bindir/payhook-[a-z]* -c $sysconfdir/payhook/payhook.conf ")" 0 \
		"$u runs the installed program with the installed config"
	is "$(diff <(sed -e "s#$bindir/payhook-#/usr/bin/payhook-#g" -e "s#$sysconfdir/payhook/#/etc/payhook/#g" \
		-e "s#$localstatedir/spool/payhook#/var/spool/payhook#g" "$f") \
		"$PH_TOP/systemd/$u" | head -n 3)" "" "$u differs from systemd/$u only in those paths"
done
for f in "$R$datadir"/payhook/*/* "$R$unitdir"/* "$R$sysconfdir"/payhook/* "$R$mandir"/man*/* "$R$tmpfilesdir"/*; do
	[ "$(stat -c %a "$f")" = 644 ] || echo "$f"
done >"$T/modes"
is "$(cat "$T/modes")" "" "data files are installed mode 644"

mk uninstall DESTDIR="$R"
tap_ok $? "make uninstall DESTDIR=... succeeds"
is "$(cd "$R" && find . ! -type d | tr '\n' ' ')" "" "make uninstall leaves no file behind"

tap_done
