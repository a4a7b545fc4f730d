#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL 15 cluster for tests and benchmarks.
#
#   hack/postgres.sh start DIR [SETTING...]
#   hack/postgres.sh stop DIR
#
# start initialises a cluster in DIR/data, listening on 127.0.0.1 only on a
# free port, with its Unix socket in DIR and trust authentication for the
# superuser "postgres"; it waits until the server accepts connections and
# prints its URL as the only line on stdout. The server keeps PostgreSQL's
# durable defaults; a SETTING (name=value, or -c name=value) overrides one,
# e.g. tests opt in to speed with
#
#   hack/postgres.sh start /tmp/pg fsync=off synchronous_commit=off full_page_writes=off
#
# When KUBEDESK_PG_WATCH_PID is set, a detached watcher stops the cluster
# once that process has exited, so a test binary that is killed does not
# leave a server behind.
#
# stop shuts the server down (fast mode) and removes DIR.
#
# initdb and postgres refuse to run as root, so as root the cluster belongs
# to the "postgres" account, or "nobody" where there is none.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN
here=$(cd "$(dirname "$0")" && pwd)
# marker names the file that says DIR holds a cluster this script made, so
# stop never removes a directory it did not create.
marker=.kubedesk-postgres

die() {
	echo "postgres.sh: $*" >&2
	exit 1
}

usage() {
	die "usage: $0 start DIR [name=value | -c name=value ...] | stop DIR"
}

# account prints the unprivileged user a root-started cluster runs as.
account() {
	if id -u postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}

# as USER CMD... runs CMD as USER when we are root, else as ourselves.
as() {
	local user=$1
	shift
	if ((EUID != 0)); then
		"$@"
	elif command -v runuser >/dev/null; then
		runuser -u "$user" -- "$@"
	else
		setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
	fi
}

# free_port prints a port nothing listens on, from below the kernel's
# ephemeral range so outgoing connections are unlikely to take it. Another
# process may still bind it first; start retries on that.
free_port() {
	local low=20000 high=32767 eph port _
	if [[ -r /proc/sys/net/ipv4/ip_local_port_range ]]; then
		read -r eph _ </proc/sys/net/ipv4/ip_local_port_range
		if ((eph - 1000 > low)); then high=$((eph - 1)); fi
	fi
	for _ in {1..100}; do
		port=$((low + (RANDOM * 32768 + RANDOM) % (high - low + 1)))
		# A refused connection means the port is free.
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	die "found no free TCP port on 127.0.0.1 between $low and $high"
}

# conf_line prints a postgresql.conf line for a name=value setting.
conf_line() {
	local name=${1%%=*} value=${1#*=}
	[[ $1 == *=* && $name =~ ^[a-z_][a-z0-9_.]*$ ]] || die "setting $1: want name=value, e.g. fsync=off"
	printf "%s = '%s'\n" "$name" "${value//\'/\'\'}"
}

start() {
	(($# >= 1)) || usage
	local dir=$1 user settings=() port log attempt
	shift
	while (($#)); do
		case $1 in
		-c)
			(($# >= 2)) || die "-c needs a name=value"
			settings+=("$2")
			shift 2
			;;
		-c*) settings+=("${1#-c}") && shift ;;
		*) settings+=("$1") && shift ;;
		esac
	done
	"$here/ensure-postgres.sh"
	local conf="" s
	for s in "${settings[@]}"; do conf+=$(conf_line "$s")$'\n'; done

	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[[ -z $(ls -A "$dir") ]] || die "$dir is not empty; give start a new or empty directory"
	user=$(id -un)
	if ((EUID == 0)); then
		user=$(account)
		chown "$user:" "$dir"
		chmod 0700 "$dir"
	fi
	as "$user" test -w "$dir" -a -x "$dir" ||
		die "user $user cannot write $dir; put it where $user can reach it (e.g. under /tmp, with searchable parent directories)"
	touch "$dir/$marker"
	cd "$dir" # the unprivileged user may not be able to enter our working directory

	log=$dir/postgres.log
	as "$user" "$PGBIN/initdb" --pgdata="$dir/data" --username=postgres --auth=trust \
		--encoding=UTF8 --locale=C --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
		die "initdb failed:"$'\n'"$(cat "$dir/initdb.log")"
	{
		echo "# hack/postgres.sh"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$dir'"
		printf "%s" "$conf"
	} >>"$dir/data/postgresql.conf"

	# Binding is the only reliable test of a free port: try another one when
	# someone else took the port between free_port and postgres.
	for attempt in {1..10}; do
		port=$(free_port)
		local before=0
		if [[ -f $log ]]; then before=$(wc -c <"$log"); fi
		if as "$user" "$PGBIN/pg_ctl" start --pgdata="$dir/data" --log="$log" --wait --timeout=60 \
			--options="-p $port" >/dev/null 2>&1; then
			break
		fi
		if ! tail -c "+$((before + 1))" "$log" 2>/dev/null | grep -q 'could not bind\|could not create any TCP/IP sockets'; then
			die "postgres did not start; its log ($log):"$'\n'"$(tail -n 30 "$log" 2>/dev/null)"
		fi
		((attempt < 10)) || die "postgres found no free port in 10 attempts; its log: $log"
	done
	# pg_ctl --wait saw the server ready; ask it over TCP too when we can.
	if [[ -x $PGBIN/pg_isready ]]; then
		"$PGBIN/pg_isready" --quiet --host=127.0.0.1 --port="$port" --timeout=30 ||
			die "postgres started but does not accept connections on 127.0.0.1:$port; its log: $log"
	fi

	if [[ -n ${KUBEDESK_PG_WATCH_PID:-} ]]; then
		setsid "$here/postgres.sh" watch "$dir" "$KUBEDESK_PG_WATCH_PID" </dev/null >/dev/null 2>&1 &
	fi
	local url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	echo "$url" >"$dir/url"
	echo "$url"
}

stop() {
	(($# == 1)) || usage
	local dir=$1
	[[ -d $dir ]] || return 0
	[[ -f $dir/$marker ]] || die "$dir was not made by $0 start; not touching it"
	dir=$(cd "$dir" && pwd)
	cd "$dir"
	if [[ -f $dir/data/postmaster.pid ]]; then
		as "$(stat -c %U "$dir/data")" "$PGBIN/pg_ctl" stop --pgdata="$dir/data" --mode=fast --wait --timeout=60 >/dev/null ||
			die "pg_ctl stop failed; its log: $dir/postgres.log"
	fi
	cd /
	rm -rf -- "$dir"
}

# watch DIR PID stops the cluster in DIR once PID has exited; it returns as
# soon as the cluster is gone by other means.
watch() {
	local dir=$1 pid=$2
	while [[ -f $dir/data/postmaster.pid ]]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			stop "$dir"
			return
		fi
		sleep 1
	done
}

case ${1:-} in
start) shift && start "$@" ;;
stop) shift && stop "$@" ;;
watch) shift && watch "$@" ;;
*) usage ;;
esac
