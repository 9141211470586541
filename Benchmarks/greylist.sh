#!/usr/bin/env bash
# Greylisting benchmark: decisions/s per store (SQLite, PostgreSQL) at 1 and 50 concurrent sessions,
# and the end-to-end relay rate with greylisting on (all keys already passed) against the rate without.
#   SLUICE_BIN=... GREYBENCH_BIN=... bash Benchmarks/greylist.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MESSAGES=${BENCH_GREY_MESSAGES:-5000}
: "${SLUICE_BIN:?set SLUICE_BIN}" "${GREYBENCH_BIN:?set GREYBENCH_BIN}"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
source "$HERE/common.sh"
chmod 755 "$WORK"
cleanup_extra() {
    [ -d "$WORK/pg" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
}
mkdir -p "$WORK/pg"; chown postgres "$WORK/pg"

PGPORT=$(port)
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres --no-sync >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1" -l "$WORK/pg/log" -w start </dev/null >/dev/null 2>&1
runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres sluice

{
echo "## Greylisting decisions (SQLite: WAL, synchronous=NORMAL; PostgreSQL: synchronous_commit=off, server fsync on)"
echo
"$GREYBENCH_BIN" sqlite "$WORK/grey.db" 20000
"$GREYBENCH_BIN" postgres "postgresql://postgres@127.0.0.1:$PGPORT/sluice" 20000 | tail -n +3
} | tee "$OUT_DIR/greylist.md"

start_sink
printf 'acknowledge open-relay\nlimit message-size 216M\n' > "$WORK/plain.conf"
printf 'acknowledge open-relay\ngreylist delay 0s\ngreylist store sqlite "%s/e2e.db"\nstage rcpt\n  greylist\n' "$WORK" > "$WORK/grey.conf"
start_sluice "$WORK/plain.conf" "$WORK/s0.log"; P0=$STARTED
start_sluice "$WORK/grey.conf" "$WORK/s1.log"; P1=$STARTED
sleep 1
# The one key smtp-source uses (foo@vm style sender/recipient): first contact, then it has passed.
"$SOURCE" -m 2 -s 1 127.0.0.1:"$P1" >/dev/null 2>&1 || true
rate() { smtp_rate "$1" 20 "$MESSAGES"; }
rate "$P0" >/dev/null; rate "$P1" >/dev/null
interleave "no greylisting" "greylisting (key passed)" 'rate "$P0"' 'rate "$P1"'
ab_table "$OUT_DIR/greylist.md" "End to end (smtp-source, 20 sessions, 10 KiB messages, SQLite store, key already passed)" \
    greylisting off on on/off
