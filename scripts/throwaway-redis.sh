#!/usr/bin/env bash
# A throwaway Redis server: `start DIR PORT` starts Debian's redis-server on 127.0.0.1:PORT with
# its files in DIR (no persistence) and prints its URL; `restart DIR PORT` stops it (without
# saving) and starts it again; `stop DIR` stops it and removes DIR.
set -euo pipefail
serve() {
  redis-server --bind 127.0.0.1 --port "$2" --dir "$1" --save '' --appendonly no \
    --daemonize yes --pidfile "$1/redis.pid" --logfile "$1/log"
  for _ in $(seq 100); do
    if redis-cli -h 127.0.0.1 -p "$2" ping 2>/dev/null | grep -q PONG; then return 0; fi
    sleep 0.05
  done
  echo "redis-server did not start on port $2 (see $1/log)" >&2
  exit 1
}
halt() {
  if [ -f "$1/redis.pid" ]; then
    pid=$(cat "$1/redis.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    rm -f "$1/redis.pid"
  fi
}
case "$1" in
  start)
    mkdir -p "$2"
    serve "$2" "$3"
    echo "redis://127.0.0.1:$3"
    ;;
  restart)
    halt "$2"
    serve "$2" "$3"
    ;;
  stop)
    halt "$2"
    rm -rf "$2"
    ;;
  *) echo "usage: $0 start DIR PORT | restart DIR PORT | stop DIR" >&2; exit 2 ;;
esac
