#!/usr/bin/env bash
# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhook through a real Apache 2.4 with apache/payhook-fcgid.conf: mod_fcgid
# spawns payhook-fcgi with the FastCGI socket on fd 0. Same checks as
# apache-proxy-fcgi.sh.
PH_APACHE_MODE=fcgid exec bash "$(dirname "$0")/apache-proxy-fcgi.sh"
