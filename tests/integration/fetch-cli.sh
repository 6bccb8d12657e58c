# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook-fetcher's command line: --version, --help, --check-config (secrets
# hidden), and a clear message with a non-zero status for every bad input.
. "$(dirname "$0")/lib.sh"

F=$PH_BUILD/fetcher/payhook-fetcher
like "$("$F" --version)" '^payhook-fetcher [0-9]+\.[0-9]+\.[0-9]+$' "--version"
out=$("$F" --help); rc=$?
is "$rc" 0 "--help exits 0"
like "$out" '--concurrency N' "--help names --concurrency"
like "$out" '--once' "--help names --once"

"$F" --bogus >/dev/null 2>"$T/err"; is $? 2 "unknown flag: exit 2"
like "$(cat "$T/err")" 'usage: payhook-fetcher' "unknown flag: usage on stderr"
"$F" extra >/dev/null 2>"$T/err"; is $? 2 "stray argument: exit 2"

cat >"$T/ok.conf" <<CONF
[fetcher]
concurrency = 7
[oneinfinite]
api_key = key-visible-nowhere
api_secret = secret-visible-nowhere
CONF
out=$("$F" -c "$T/ok.conf" --check-config 2>&1); rc=$?
is "$rc" 0 "--check-config on a good file: exit 0"
like "$out" 'config ok' "--check-config says config ok"
like "$out" 'concurrency.*7' "--check-config shows the values"
tap_ok "$(echo "$out" | grep -c 'visible-nowhere')" "--check-config never prints a secret"

"$F" -c "$T/ok.conf" --concurrency 0 2>"$T/err"; rc=$?
tap_ok "$([ $rc -ne 0 ]; echo $?)" "--concurrency 0: non-zero exit ($rc)"
like "$(cat "$T/err")" '--concurrency 0: must be a whole number from 1 to 4096' "--concurrency 0: says why"
"$F" -c "$T/ok.conf" --concurrency 12x 2>/dev/null
tap_ok "$([ $? -ne 0 ]; echo $?)" "--concurrency 12x: non-zero exit"
"$F" -c "$T/ok.conf" --id 'bad id/..' 2>"$T/err"
tap_ok "$([ $? -ne 0 ]; echo $?)" "--id with bad characters: non-zero exit"
like "$(cat "$T/err")" '--id .*\[A-Za-z0-9_-\]' "--id: says what is allowed"
"$F" -c "$T/missing.conf" 2>"$T/err"
tap_ok "$([ $? -ne 0 ]; echo $?)" "-c of a missing file: non-zero exit"
like "$(cat "$T/err")" 'missing.conf' "-c of a missing file: names it"
printf '[fetcher]\nlock_ttl = 500\ntimeout_ms = 1000\n' >"$T/bad.conf"
"$F" -c "$T/bad.conf" 2>"$T/err"
tap_ok "$([ $? -ne 0 ]; echo $?)" "lock_ttl below timeout_ms: refused"
like "$(cat "$T/err")" 'lock_ttl' "the message names the key"
tap_done
