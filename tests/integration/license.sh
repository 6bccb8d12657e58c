#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# The license is stated the way REUSE and Debian check it: `reuse lint`
# (Debian 12's reuse 1.1.2, which reads .reuse/dep5, not REUSE.toml) finds a
# copyright and license for every file, LICENSES/BSD-2-Clause.txt is LICENSE,
# and debian/copyright gives every path (Files: *) BSD-2-Clause with
# LICENSE's text. Skipped outside a git checkout (distcheck's tarball): there
# reuse cannot read .gitignore through git and lints what autotools put in
# the tarball (configure, aclocal.m4, build-aux/), which are not ours.
. "$(dirname "$0")/lib.sh"

top=$(cd "$PH_TOP" && pwd -P)
if [ "$(git -C "$top" rev-parse --show-toplevel 2>/dev/null)" != "$top" ]; then
	echo "ok 1 # skip not a git checkout (distcheck's tarball)"
	echo "1..1"
	exit 0
fi

if ! command -v reuse >/dev/null; then
	tap_ok 1 "reuse is installed (scripts/deps installs it)"
	tap_done
	exit 1
fi

(cd "$top" && reuse lint) >"$T/lint.txt" 2>&1
rc=$?
tap_ok $rc "reuse lint: every file has a copyright and a license ($(sed -n 's/^\* Files with license information: //p' "$T/lint.txt") files)"
# What it found missing, and its summary.
[ $rc -eq 0 ] || sed -n '/^# /,$p' "$T/lint.txt" | grep -v '^$' | sed 's/^/#   /'
is "$(sed -n 's/^\* Used licenses: //p' "$T/lint.txt")" "BSD-2-Clause" "BSD-2-Clause is the one license used"

cmp -s "$top/LICENSE" "$top/LICENSES/BSD-2-Clause.txt"
tap_ok $? "LICENSES/BSD-2-Clause.txt (for reuse) is LICENSE"
like "$(head -n 1 "$top/LICENSE")" '^Copyright \(c\) [0-9]{4}(-[0-9]{4})? The payhook authors$' \
	"LICENSE names the payhook authors"

# debian/copyright: one Files paragraph, for every path; the license text of
# its License paragraph, unfolded, is LICENSE without the copyright line.
dc=$top/debian/copyright
is "$(grep '^Files:' "$dc" | tr '\n' ' ')" "Files: * " "debian/copyright has one Files paragraph, for every path"
# lintian wants a year in the notice (copyright-without-copyright-notice).
like "$(grep -E '^(Copyright|License):' "$dc" | tr '\n' ' ')" \
	'^Copyright: [0-9]{4}(-[0-9]{4})? The payhook authors License: BSD-2-Clause License: BSD-2-Clause $' \
	"it gives it the payhook authors' copyright (with a year) and BSD-2-Clause, and has the license's text"
awk '/^License: BSD-2-Clause$/ && seen++ { p = 1; next } p && !/^ / { exit }
	p { sub(/^ /, ""); if ($0 == ".") $0 = ""; print }' "$dc" >"$T/dc.txt"
diff "$T/dc.txt" <(tail -n +3 "$top/LICENSE") >"$T/dc.diff"
rc=$?
tap_ok $rc "debian/copyright's BSD-2-Clause text is LICENSE's"
[ $rc -eq 0 ] || sed 's/^/#   /' "$T/dc.diff"

tap_done
