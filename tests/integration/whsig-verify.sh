#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Our Standard Webhooks signatures (lib/whsig.c) checked by code that is not
# ours: the official standardwebhooks package from npm (tests/standin/whsig,
# at the versions of its package-lock.json) verifies, with Webhook.verify,
# what tests/unit/whsig-sign signs for random secrets (one or two, padded or
# not), ids, timestamps and bodies, and refuses them tampered. Then the
# other way: the package signs the same inputs, byte for byte as we do, and
# lib/whsig.c verifies what it signed. PH_WHSIG_SEED=N repeats a run's
# inputs (up to the clock). Needs node and npm, and the npm registry once
# (npm ci into the build directory): without them the test fails.
. "$(dirname "$0")/lib.sh"
SIGN=$PH_BUILD/tests/unit/whsig-sign
NPM_DIR=$PH_BUILD/tests/standin/whsig
COUNT=${PH_WHSIG_COUNT:-300}
seed=${PH_WHSIG_SEED:-$(((RANDOM << 15) | RANDOM))}
echo "# seed $seed (PH_WHSIG_SEED=$seed repeats these inputs)"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	tap_ok 1 "node and npm are installed (scripts/deps installs nodejs and npm)"
	tap_done
	exit 1
fi
echo "# node $(node --version), npm $(npm --version)"

# standardwebhooks at the locked version, installed once per build directory.
mkdir -p "$NPM_DIR"
cp "$PH_TOP/tests/standin/whsig/verify.js" "$NPM_DIR/"
if ! [ -f "$NPM_DIR/node_modules/standardwebhooks/package.json" ] ||
    ! cmp -s "$PH_TOP/tests/standin/whsig/package-lock.json" "$NPM_DIR/package-lock.json"; then
	cp "$PH_TOP/tests/standin/whsig/package.json" "$PH_TOP/tests/standin/whsig/package-lock.json" \
		"$NPM_DIR/"
	(cd "$NPM_DIR" && npm ci --no-audit --no-fund) >"$T/npm.log" 2>&1
	rc=$? # on failure, lib.sh shows the end of npm.log
else
	rc=0
fi
tap_ok $rc "npm ci installed standardwebhooks (the npm registry must be reachable the first time)"
[ $rc -ne 0 ] && { tap_done; exit 1; }
is "$(node -p 'require("'"$NPM_DIR"'/node_modules/standardwebhooks/package.json").version')" 1.3.0 \
	"the package is the locked version"

"$SIGN" "$seed" "$COUNT" >"$T/signed.tsv" 2>"$T/sign.err"
tap_ok $? "whsig-sign signed $COUNT random requests $(head -c 200 "$T/sign.err")"
is "$(wc -l <"$T/signed.tsv")" "$COUNT" "one line per request"
two=$(cut -f1 "$T/signed.tsv" | grep -c ' ')
nopad=$(cut -f1 "$T/signed.tsv" | tr ' ' '\n' | grep -vc '=$')
[ "$two" -gt 0 ] && [ "$two" -lt "$COUNT" ] && [ "$nopad" -gt 0 ]
tap_ok $? "some have two secrets ($two), some one; some secrets are unpadded or need no padding ($nopad)"

# Webhook.verify, with each secret of each line.
(cd "$NPM_DIR" && node verify.js) <"$T/signed.tsv" >"$T/verify.out" 2>&1
rc=$?
grep '^#' "$T/verify.out" | head -n 10
checks=$((COUNT + two))
is "$(grep -v '^#' "$T/verify.out") (exit $rc)" \
	"lines $COUNT verified $checks/$checks refused $((3 * checks))/$((3 * checks)) (exit 0)" \
	"standardwebhooks verifies every signature with every secret, and refuses each with a flipped body byte, a changed id or timestamp"

# The other way: the package signs; the same bytes as ours, and we verify them.
(cd "$NPM_DIR" && node verify.js --sign) <"$T/signed.tsv" >"$T/theirs.tsv" 2>"$T/theirs.err"
tap_ok $? "standardwebhooks signed the same requests $(head -c 200 "$T/theirs.err")"
is "$(cut -f4 "$T/theirs.tsv" | md5sum)" "$(cut -f4 "$T/signed.tsv" | md5sum)" \
	"its webhook-signature headers are ours, byte for byte (both secrets, in order)"
"$SIGN" --verify <"$T/theirs.tsv" >"$T/ours.out" 2>&1
rc=$?
grep -v '^verified' "$T/ours.out" | head -n 5 | sed 's/^/#   /'
is "$(grep -c '^verified' "$T/ours.out") (exit $rc)" "$COUNT (exit 0)" \
	"lib/whsig.c verifies every request the package signed"

# A request the package signed, with its body tampered: lib/whsig.c refuses it.
head -n 1 "$T/theirs.tsv" | awk -F'\t' 'BEGIN { OFS = "\t" } {
	c = substr($5, 1, 1); $5 = (c == "7" ? "6" : "7") substr($5, 2); print }' >"$T/tampered.tsv"
"$SIGN" --verify <"$T/tampered.tsv" >"$T/tampered.out" 2>&1
is "$(cat "$T/tampered.out")" "refused 1: no v1 signature matches a secret" \
	"and refuses one of them with its body tampered"

tap_done
