# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Shell helpers to run a throwaway Apache 2.4 in front of payhook, with the
# deployable configs of apache/ templated only for the port and the paths.
# Source it after scripts/lib.sh; every function reports what went wrong on
# stderr and returns 1.
#   ph_start_apache DIR PORT proxy [SOCKET]     mod_proxy_fcgi to SOCKET
#                                               (default DIR/fcgi.sock)
#   ph_start_apache DIR PORT fcgid CONFIG       mod_fcgid spawns payhook-fcgi -c CONFIG

PH_APACHE_MODULES=${PH_APACHE_MODULES:-/usr/lib/apache2/modules}

# Print the user Apache's children run as when started by root, else nothing.
ph_apache_user() {
	[ "$(id -u)" = 0 ] || return 0
	if getent passwd www-data >/dev/null; then
		echo www-data
	else
		echo daemon
	fi
}

# Write DIR/apache/httpd.conf around apache/payhook-{proxy-fcgi,fcgid}.conf.
ph_apache_conf() {
	local dir=$1 port=$2 mode=$3 arg=${4:-}
	local a=$dir/apache user mods m src prog=$PH_BUILD/handler/payhook-fcgi
	mkdir -p "$a/run" "$a/fcgid"
	case $mode in
	proxy)
		src=$PH_TOP/apache/payhook-proxy-fcgi.conf
		mods="proxy proxy_fcgi"
		[ -n "$arg" ] || arg=$dir/fcgi.sock
		;;
	fcgid)
		src=$PH_TOP/apache/payhook-fcgid.conf
		mods="fcgid"
		[ -n "$arg" ] || { echo "ph_apache_conf: fcgid needs a config file" >&2; return 1; }
		# mod_fcgid starts payhook-fcgi as Apache's user, who may not reach
		# the build tree (a checkout under /root, or any 0700 directory):
		# run a copy from the test's own directory, as an install would.
		mkdir -p "$a/bin"
		cp "$prog" "$a/bin/payhook-fcgi" && chmod 0755 "$a/bin" "$a/bin/payhook-fcgi" || return 1
		prog=$a/bin/payhook-fcgi
		;;
	*)
		echo "ph_apache_conf: mode must be proxy or fcgid (got $mode)" >&2
		return 1
		;;
	esac
	sed -e "s#127\.0\.0\.1:8080#127.0.0.1:$port#g" \
	    -e "s#unix:/run/payhook/payhook-fcgi\.sock#unix:${arg}#g" \
	    -e "s#/usr/bin/payhook-fcgi#$prog#g" \
	    -e "s#/etc/payhook/payhook\.conf#${arg}#g" \
	    "$src" >"$a/payhook.conf"

	user=$(ph_apache_user)
	if [ -n "$user" ]; then
		# Apache's children (and the payhook-fcgi processes mod_fcgid spawns)
		# run as $user: let them through the test's directory, no further.
		chmod 0711 "$dir" "$a"
		chown "$user" "$a/fcgid"
		[ "$mode" = fcgid ] && chmod 0644 "$arg"
	fi
	{
		echo "ServerRoot $a"
		echo "ServerName 127.0.0.1"
		echo "PidFile $a/run/httpd.pid"
		echo "DefaultRuntimeDir $a/run"
		echo "Mutex file:$a/run default"
		echo "ErrorLog $a/error.log"
		echo "LogLevel warn"
		[ -n "$user" ] && { echo "User $user"; echo "Group $(id -gn "$user")"; }
		for m in mpm_event authz_core authz_host alias headers reqtimeout $mods; do
			echo "LoadModule ${m}_module $PH_APACHE_MODULES/mod_$m.so"
		done
		cat <<CONF
StartServers 1
ServerLimit 2
ThreadsPerChild 8
MaxRequestWorkers 16
MinSpareThreads 4
MaxSpareThreads 16
CONF
		if [ "$mode" = fcgid ]; then
			echo "FcgidIPCDir $a/fcgid"
			echo "FcgidProcessTableFile $a/fcgid/shm"
		fi
		echo "Include $a/payhook.conf"
	} >"$a/httpd.conf"
}

# Start Apache in the foreground on 127.0.0.1:PORT (see the modes above).
ph_start_apache() {
	local dir=$1 port=$2
	ph_apache_conf "$@" || return 1
	apache2 -f "$dir/apache/httpd.conf" -DFOREGROUND 2>>"$dir/apache/stderr.log" &
	echo $! >"$dir/apache.pid.shell"
	PH_PIDS+=($!)
	ph_wait_for curl -s -o /dev/null "http://127.0.0.1:$port/" ||
		{ cat "$dir/apache/error.log" "$dir/apache/stderr.log" >&2 2>/dev/null; return 1; }
}
