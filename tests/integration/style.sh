# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# House style: every C file is as clang-format (with .clang-format) writes it.
. "$(dirname "$0")/lib.sh"

if ! command -v clang-format >/dev/null; then
	echo "ok 1 - # SKIP clang-format not installed (scripts/deps installs it)"
	tap_done
	exit 0
fi
cd "$PH_TOP" || exit 1
files=$(find lib handler fetcher tools tests bench -name '*.[ch]' 2>/dev/null | sort)
bad=""
for f in $files; do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+="$f "
done
is "$bad" "" "clang-format finds nothing to change in $(echo "$files" | wc -w) files (run: clang-format -i FILE)"
tap_done
