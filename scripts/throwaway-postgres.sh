#!/usr/bin/env bash
# A throwaway PostgreSQL cluster: `start DIR PORT` initialises DIR (a fresh folder), starts a server on
# 127.0.0.1:PORT and prints its URL; `pause DIR` stops it keeping its data, `resume DIR PORT` starts
# it again; `restart DIR PORT` does both; `stop DIR` stops it and removes DIR. initdb refuses to run
# as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail
bin=$(dirname "$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -1)")
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
serve() {
  as_owner "$bin/pg_ctl" -D "$1/data" -l "$1/log" -w -o "-h 127.0.0.1 -p $2 -k $1 -c fsync=${BESS_PG_FSYNC:-off}" start >/dev/null
}
case "$1" in
  start)
    dir=$2 port=$3
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -U bess --auth=trust -E UTF8 >/dev/null
    serve "$dir" "$port"
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U bess bess
    echo "postgres://bess@127.0.0.1:$port/bess"
    ;;
  pause) as_owner "$bin/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null ;;
  resume) serve "$2" "$3" ;;
  restart)
    as_owner "$bin/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
    serve "$2" "$3"
    ;;
  stop)
    dir=$2
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start DIR PORT | pause DIR | resume DIR PORT | restart DIR PORT | stop DIR" >&2; exit 2 ;;
esac
