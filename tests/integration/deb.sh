#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# debian/: dpkg-buildpackage builds payhook_*.deb from the committed tree
# (git archive HEAD: uncommitted changes are not in it), lintian finds no
# error, apt-get installs it on this machine (programs, man pages, the
# conffile, units, examples, the payhook user, the spool directory, a config
# the installed payhook-fcgi and payhook-deliver accept, with no endpoint) and
# apt-get purge removes what it made.
# The machine is left as it was, whatever fails: the package is purged and
# the user and group this test made are deleted on exit.
# Runs once per CI: skipped in the sanitizer pass (PH_CONFIGURE set) and in
# distcheck (a tarball, not a git checkout), and where it cannot install:
# not root, no apt-get, or a payhook package already installed.
. "$(dirname "$0")/lib.sh"

# skip_all REASON: the whole test is skipped.
skip_all() {
	echo "ok 1 # skip $*"
	echo "1..1"
	exit 0
}

[ -z "${PH_CONFIGURE:-}" ] || skip_all "built once, in the plain pass, not again with PH_CONFIGURE=$PH_CONFIGURE"
[ "$(id -u)" -eq 0 ] || skip_all "not root: cannot install the package"
top=$(cd "$PH_TOP" && pwd -P)
[ "$(git -C "$top" rev-parse --show-toplevel 2>/dev/null)" = "$top" ] ||
	skip_all "not a git checkout (distcheck's tarball): nothing committed to package"
command -v apt-get >/dev/null || skip_all "no apt-get"

# One run at a time on this machine: two would install and purge the same package.
exec 9>/run/lock/payhook-deb-test.lock
flock -w 600 9 || skip_all "another deb.sh held the lock for 10 minutes"
dpkg-query -W -f='${Status}' payhook 2>/dev/null | grep -q 'install ok installed' &&
	skip_all "a payhook package is installed here already: not touching it"

for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null
	tap_ok $? "$tool is installed (scripts/deps installs it)" || { tap_done; exit 1; }
done

user_was=$(getent passwd payhook)
group_was=$(getent group payhook)
spool_was=$([ -e /var/spool/payhook ] && echo yes)
APT=(env DEBIAN_FRONTEND=noninteractive apt-get -y -o DPkg::Lock::Timeout=300)

# deb_cleanup: purge the package and delete what this test made, then the
# usual cleanup.
deb_cleanup() {
	if dpkg-query -W -f='${Status}' payhook 2>/dev/null | grep -qv 'not-installed'; then
		"${APT[@]}" purge payhook >>"$T/purge.log" 2>&1 || dpkg --purge payhook >>"$T/purge.log" 2>&1
	fi
	dpkg-statoverride --list /etc/payhook/payhook.conf >/dev/null 2>&1 &&
		dpkg-statoverride --remove /etc/payhook/payhook.conf
	[ -z "$user_was" ] && getent passwd payhook >/dev/null && userdel payhook 2>/dev/null
	[ -z "$group_was" ] && getent group payhook >/dev/null && groupdel payhook
	[ -z "$spool_was" ] && rm -rf /var/spool/payhook
	ph_test_cleanup
}
trap deb_cleanup EXIT

# Build from a copy of HEAD; the .deb files land beside the copy, in $T.
mkdir "$T/src"
git -C "$top" archive HEAD | tar -x -C "$T/src"
tap_ok $? "git archive HEAD copied into the test's directory"
(cd "$T/src" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
tap_ok $? "dpkg-buildpackage -us -uc -b succeeds" || tail -n 30 "$T/build.log" | sed 's/^/#   /'
deb=$(ls "$T"/payhook_*.deb 2>/dev/null)
like "$deb" "^$T/payhook_[0-9][^/]*_[a-z0-9]+\.deb$" "it builds one payhook_*.deb"
ls "$T"/payhook-dbgsym_*.deb >/dev/null 2>&1
tap_ok $? "and payhook-dbgsym_*.deb (the programs' debug symbols)"
grep -qE '^[0-9]+ passed, [0-9]+ failed' "$T/build.log"
tap_ok $((!$?)) "the build does not run the test suite (dh_auto_test is empty)"

lintian "$T"/payhook_*.changes >"$T/lintian.log" 2>&1
sed 's/^/# lintian: /' "$T/lintian.log" | grep -v 'running with root privileges'
is "$(grep -c '^E: ' "$T/lintian.log")" 0 "lintian reports no error"
is "$(grep -i copyright "$T/lintian.log" | tr '\n' ' ')" "" "lintian has nothing to say about the copyright file"

[ -n "$deb" ] || { tap_done; exit 1; }
"${APT[@]}" install --no-install-recommends "$deb" >"$T/install.log" 2>&1
tap_ok $? "apt-get install ./payhook_*.deb succeeds" || tail -n 30 "$T/install.log" | sed 's/^/#   /'
is "$(dpkg-query -W -f='${Status}' payhook 2>&1)" "install ok installed" "dpkg has payhook installed"

for p in payhook-fcgi payhook-fetcher payhook-deliver payhookctl; do
	like "$("/usr/bin/$p" --version 2>&1)" "^$p [0-9]" "/usr/bin/$p is installed and runs"
done
for m in man8/payhook-fcgi.8 man8/payhook-fetcher.8 man8/payhook-deliver.8 man8/payhookctl.8 \
    man5/payhook.conf.5; do
	cmp -s <(zcat "/usr/share/man/$m.gz") "$PH_TOP/man/${m#*/}"
	tap_ok $? "/usr/share/man/$m.gz is man/${m#*/}"
done

conf=/etc/payhook/payhook.conf
like "$(dpkg-query -W -f='${Conffiles}' payhook)" " $conf [0-9a-f]{32}" "$conf is a conffile"
cmp -s "$conf" "$PH_TOP/payhook.conf.sample"
tap_ok $? "$conf is payhook.conf.sample"
is "$(stat -c '%U:%G %a' "$conf")" "root:payhook 640" "$conf is root:payhook 0640 (it may hold secrets)"
like "$(runuser -u payhook -- /usr/bin/payhook-fcgi -c "$conf" --check-config 2>&1)" 'config ok$' \
	"payhook-fcgi --check-config, as the payhook user, accepts the installed config"
dout=$(runuser -u payhook -- /usr/bin/payhook-deliver -c "$conf" --check-config 2>&1)
like "$dout" 'config ok$' "payhook-deliver --check-config, as the payhook user, accepts it too"
is "$(grep -c '^\[endpoint ' <<<"$dout")" 0 "the installed config has no endpoint (nothing is delivered until one is set)"
runuser -u nobody -- cat "$conf" >/dev/null 2>&1
tap_ok $((!$?)) "a user outside group payhook cannot read it"

like "$(getent passwd payhook)" '^payhook:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' \
	"the payhook system user exists, no home, no shell"
[ "$(id -u payhook)" -lt 1000 ]
tap_ok $? "its uid is a system one ($(id -u payhook))"
if getent passwd www-data >/dev/null; then
	like "$(id -nG www-data)" '(^| )payhook( |$)' "www-data is in group payhook (the handler's socket)"
fi
is "$(stat -c '%U:%G %a' /var/spool/payhook 2>&1)" "payhook:payhook 750" "/var/spool/payhook is payhook:payhook 0750"

u=/lib/systemd/system
for f in $u/payhook-fcgi.service $u/payhook-fetcher@.service $u/payhook-deliver@.service \
    /usr/lib/sysusers.d/payhook.conf \
    /usr/lib/tmpfiles.d/payhook.conf; do
	[ -f "$f" ]
	tap_ok $? "$f installed"
done
like "$(grep '^ExecStart=' $u/payhook-fcgi.service)" '^ExecStart=/usr/bin/payhook-fcgi -c /etc/payhook/payhook.conf ' \
	"payhook-fcgi.service runs /usr/bin/payhook-fcgi with $conf"
[ -L /etc/systemd/system/multi-user.target.wants/payhook-fcgi.service ]
tap_ok $? "payhook-fcgi.service is enabled"
is "$(find /etc/systemd/system -name 'payhook-fetcher@*' -o -name 'payhook-deliver@*' | tr '\n' ' ')" "" \
	"no payhook-fetcher@ or payhook-deliver@ instance is enabled (the admin names them)"

cmp -s /usr/share/doc/payhook/copyright "$PH_TOP/debian/copyright"
tap_ok $? "/usr/share/doc/payhook/copyright is debian/copyright (BSD-2-Clause)"
ex=/usr/share/doc/payhook/examples
cmp -s "$ex/nginx/payhook.conf" "$PH_TOP/nginx/payhook.conf"
tap_ok $? "$ex/nginx/payhook.conf is nginx/payhook.conf"
for f in apache/payhook-proxy-fcgi.conf apache/payhook-fcgid.conf payhook.conf.sample \
	prometheus/payhook-rules.yml grafana/payhook.json consumers/python/payhook_consumer.py \
	consumers/php/payhook_consumer.php; do
	[ -f "$ex/$f" ]
	tap_ok $? "$ex/$f installed"
done
like "$(grep FcgidWrapper "$ex/apache/payhook-fcgid.conf")" '"/usr/bin/payhook-fcgi -c /etc/payhook/payhook.conf ' \
	"the Apache example names the installed program and config"

# What the running package would leave: a spooled notification, a changed config.
echo spooled >/var/spool/payhook/test-segment
echo '# changed by the admin' >>"$conf"
"${APT[@]}" purge payhook >"$T/purge.log" 2>&1
tap_ok $? "apt-get purge payhook succeeds" || tail -n 30 "$T/purge.log" | sed 's/^/#   /'
dpkg-query -W -f='${Status}' payhook 2>/dev/null | grep -q 'installed'
tap_ok $((!$?)) "dpkg no longer has payhook"
left=$(ls -d /usr/bin/payhook-fcgi /usr/bin/payhook-fetcher /usr/bin/payhook-deliver /usr/bin/payhookctl \
	/etc/payhook /var/spool/payhook $u/payhook-fcgi.service $u/payhook-fetcher@.service \
	$u/payhook-deliver@.service /usr/share/man/man8/payhook-deliver.8.gz /usr/lib/sysusers.d/payhook.conf \
	/usr/lib/tmpfiles.d/payhook.conf /usr/share/doc/payhook /usr/share/man/man5/payhook.conf.5.gz \
	/etc/systemd/system/multi-user.target.wants/payhook-fcgi.service 2>/dev/null)
is "$left" "" "purge leaves none of its files, the changed config, the spool or the enable link"
dpkg-statoverride --list /etc/payhook/payhook.conf >/dev/null
tap_ok $((!$?)) "purge drops the config's statoverride"
getent passwd payhook >/dev/null
tap_ok $? "the payhook user stays (Debian practice; this test deletes it)"

tap_done
