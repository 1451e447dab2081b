#!/usr/bin/env bash
# The project's private PostGIS cluster: init | start | stop | status | destroy | url.
#
# Lives in var/pg (or, when run as root and the `postgres` user cannot reach the project folder,
# e.g. a clone under /root, in /var/tmp/gridmap-pg-<port>-<hash> with var/pg a symlink to it).
# Listens on 127.0.0.1:$GRIDMAP_PG_PORT only (no Unix socket: socket paths are limited to 107
# bytes and clones can live deep), with a generated password kept in var/pg-password (0600).
# The port is $GRIDMAP_PG_PORT if set, else chosen free from 54329 up at init and kept in
# var/pg-port, so two clones on one machine do not collide. gridmap/settings.py reads both files.
set -euo pipefail

cd "$(dirname "$0")/.."
project=$(pwd)
portfile=var/pg-port
pgbin=${GRIDMAP_PG_BIN:-/usr/lib/postgresql/15/bin}
link=var/pg
pwfile=var/pg-password
dbname=gridmap
dbuser=gridmap

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

choose_port() {
  if [ -n "${GRIDMAP_PG_PORT:-}" ]; then echo "$GRIDMAP_PG_PORT"; return; fi
  if [ -s "$portfile" ]; then cat "$portfile"; return; fi
  local p=54329
  while port_taken "$p"; do p=$((p + 1)); done
  mkdir -p var && echo "$p" > "$portfile" && echo "$p"
}
port=$(choose_port)

as_owner() {  # run a server binary as the cluster's owner (postgres refuses to run as root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

datadir() {
  if [ -e "$link" ]; then readlink -f "$link"; return; fi
  mkdir -p var
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$project/var"; then
    local hash
    hash=$(printf '%s' "$project" | sha1sum | cut -c1-8)
    local dir="/var/tmp/gridmap-pg-$port-$hash"
    ln -s "$dir" "$link"
    echo "$dir"
  else
    echo "$project/$link"
  fi
}

is_running() {
  local dir; dir=$(datadir)
  [ -f "$dir/PG_VERSION" ] && as_owner "$pgbin/pg_ctl" -D "$dir" status >/dev/null 2>&1
}

init() {
  local dir; dir=$(datadir)
  if [ -f "$dir/PG_VERSION" ]; then return; fi
  [ -x "$pgbin/initdb" ] || { echo "PostgreSQL 15 server binaries not found in $pgbin: run 'make deps' first" >&2; exit 1; }
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
  chmod 700 "$dir"
  if [ ! -s "$pwfile" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$pwfile")
  fi
  local tmppw; tmppw=$(mktemp); cp "$pwfile" "$tmppw"; chmod 644 "$tmppw"
  # C.UTF-8 keeps byte order for codes; Chinese names get ICU collation per column where needed.
  as_owner "$pgbin/initdb" -D "$dir" -U "$dbuser" --pwfile="$tmppw" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$tmppw"
  cat >> "$dir/postgresql.conf" <<CONF
# gridmap private cluster
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
shared_buffers = 256MB
work_mem = 32MB
maintenance_work_mem = 256MB
max_connections = 50
logging_collector = on
log_directory = 'log'
CONF
}

start() {
  init
  if is_running; then tune; return; fi
  local dir; dir=$(datadir)
  if port_taken "$port"; then
    echo "port $port is taken by another server: set GRIDMAP_PG_PORT to a free port" >&2; exit 1
  fi
  as_owner "$pgbin/pg_ctl" -D "$dir" -l "$dir/startup.log" -w -t 60 start >/dev/null
  local url; url=$(url postgres)
  if ! psql "$(url "$dbname")" -qtAc 'select 1' >/dev/null 2>&1; then
    psql "$url" -qc "CREATE DATABASE $dbname"
  fi
  tune
  # Extensions are created by a superuser once; Django's test database copies template1.
  for db in template1 "$dbname"; do
    psql "$(url "$db")" -qc 'CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pgrouting' 2>&1 \
      | grep -v 'already exists' || true
  done
}

tune() {
  # Bulk writes (a county's COPY, generate_province's ~10 GB) filled the default 1 GB of WAL every
  # few seconds: a checkpoint each time and every touched index page written to the WAL again.
  # Run on every start, so clusters made before this line get it too (a reload, no restart).
  psql "$(url postgres)" -qAt >/dev/null <<'SQL'
ALTER SYSTEM SET max_wal_size = '4GB';
ALTER SYSTEM SET checkpoint_timeout = '15min';
ALTER SYSTEM SET wal_compression = 'on';
SELECT pg_reload_conf();
SQL
}

stop() {
  local dir; dir=$(datadir)
  if is_running; then as_owner "$pgbin/pg_ctl" -D "$dir" -w -m fast stop >/dev/null; fi
}

destroy() {
  stop || true
  if [ -L "$link" ]; then rm -rf "$(readlink -f "$link")"; fi
  rm -rf "$link" "$pwfile" "$portfile"
}

url() {  # url [DBNAME]: a libpq URL for the private cluster
  printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' "$dbuser" "$(cat "$pwfile")" "$port" "${1:-$dbname}"
}

case "${1:-}" in
  init) init ;;
  start) start; echo "PostGIS running on 127.0.0.1:$port (data in $(datadir))" ;;
  stop) stop ;;
  status) if is_running; then echo "running on 127.0.0.1:$port"; else echo "stopped"; exit 3; fi ;;
  destroy) destroy ;;
  url) url "${2:-$dbname}" ;;
  *) echo "usage: $0 init|start|stop|status|destroy|url" >&2; exit 2 ;;
esac
