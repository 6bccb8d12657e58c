# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Shell helpers shared by scripts/run and the integration tests: start a
# throwaway redis-server, payhook-fcgi and nginx in a directory of their own.
# Source it; every function reports what went wrong on stderr and returns 1.

PH_TOP=${PH_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PH_BUILD=${PH_BUILD:-$PH_TOP/build}
PH_PIDS=()

# Print a free TCP port on 127.0.0.1.
ph_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Poll a command until it succeeds or SECONDS (default 10) pass.
ph_wait_for() {
	local deadline=$((SECONDS + ${PH_WAIT:-10}))
	while ! "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# Start redis-server on 127.0.0.1:PORT with its data (AOF on) in DIR:
# ph_start_redis DIR PORT [CONFIG-LINE...].
ph_start_redis() {
	local dir=$1 port=$2
	shift 2
	mkdir -p "$dir"
	cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
dir $dir
appendonly yes
save ""
daemonize no
logfile $dir/redis.log
pidfile $dir/redis.pid
CONF
	# Extra config lines (a replica: "replicaof 127.0.0.1 PORT").
	[ $# -gt 0 ] && printf '%s\n' "$@" >>"$dir/redis.conf"
	redis-server "$dir/redis.conf" &
	echo $! >"$dir/redis.pid.shell"
	PH_PIDS+=($!)
	PH_WAIT=10 ph_wait_for redis-cli -p "$port" ping || { cat "$dir/redis.log" >&2; return 1; }
}

# Stop the redis-server started in DIR (and wait until it is gone).
ph_stop_redis() {
	local dir=$1 pid
	pid=$(cat "$dir/redis.pid.shell" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# ph_handler_started DIR N: DIR/handler.log has more than N start lines.
ph_handler_started() {
	[ "$(grep -c 'event=started' "$1/handler.log" 2>/dev/null)" -gt "$2" ]
}

# Start payhook-fcgi: ph_start_handler DIR CONFIG [args...]; socket DIR/fcgi.sock.
# PH_WRAP, when set, is a command prepended to it (scripts/valgrind: memcheck).
ph_start_handler() {
	local dir=$1 conf=$2 started
	shift 2
	# grep -c exits 1 on no match: scripts/run runs under set -e.
	started=$(grep -c 'event=started' "$dir/handler.log" 2>/dev/null) || started=0
	# shellcheck disable=SC2086
	${PH_WRAP:-} "$PH_BUILD/handler/payhook-fcgi" -c "$conf" -l "unix:$dir/fcgi.sock" "$@" \
		2>>"$dir/handler.log" &
	echo $! >"$dir/handler.pid"
	PH_PIDS+=($!)
	ph_wait_for test -S "$dir/fcgi.sock" || { cat "$dir/handler.log" >&2; return 1; }
	# Under valgrind its 64 threads take seconds to start after the socket is
	# there: wait for its start line, so a first request does not outwait nginx.
	if [ -n "${PH_WRAP:-}" ]; then
		ph_wait_for ph_handler_started "$dir" "${started:-0}" ||
			{ cat "$dir/handler.log" >&2; return 1; }
	fi
}

# Write DIR/nginx.conf around nginx/payhook.conf, for PORT and the socket in DIR.
ph_nginx_conf() {
	local dir=$1 port=$2 sock=${3:-$1/fcgi.sock}
	mkdir -p "$dir/nginx"
	cp /etc/nginx/fastcgi_params "$dir/nginx/fastcgi_params"
	sed -e "s#127.0.0.1:8080#127.0.0.1:$port#" \
	    -e "s#unix:/run/payhook/payhook-fcgi.sock#unix:$sock#" \
	    "$PH_TOP/nginx/payhook.conf" >"$dir/nginx/payhook.conf"
	cat >"$dir/nginx/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 2;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/body;
    fastcgi_temp_path $dir/nginx/fastcgi;
    proxy_temp_path $dir/nginx/proxy;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    include $dir/nginx/payhook.conf;
}
CONF
}

# Start nginx on 127.0.0.1:PORT in front of the socket in DIR.
ph_start_nginx() {
	local dir=$1 port=$2
	ph_nginx_conf "$@"
	nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" 2>>"$dir/nginx/stderr.log" &
	echo $! >"$dir/nginx.pid.shell"
	PH_PIDS+=($!)
	ph_wait_for curl -s -o /dev/null "http://127.0.0.1:$port/" ||
		{ cat "$dir/nginx/error.log" "$dir/nginx/stderr.log" >&2; return 1; }
}

# Stop everything started through these helpers.
ph_stop_all() {
	local pid
	for pid in "${PH_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PH_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	PH_PIDS=()
}
