#!/usr/bin/env bash
# Greylisting benchmark: decisions/s per store (SQLite, PostgreSQL) at 1 and 50 concurrent sessions,
# and the end-to-end relay rate with greylisting on (all keys already passed) against the rate without.
#   SLUICE_BIN=... GREYBENCH_BIN=... bash Benchmarks/greylist.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT_DIR=${BENCH_OUT_DIR:-$ROOT/bench-results}
ROUNDS=${BENCH_ROUNDS:-3}
MESSAGES=${BENCH_GREY_MESSAGES:-5000}
: "${SLUICE_BIN:?set SLUICE_BIN}" "${GREYBENCH_BIN:?set GREYBENCH_BIN}"
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d); chmod 755 "$WORK"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -d "$WORK/pg" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
    wait 2>/dev/null || true; rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$OUT_DIR" "$WORK/pg"; chown postgres "$WORK/pg"

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

SINK_PORT=$(port); "$SINK" -u nobody -m 4096 127.0.0.1:"$SINK_PORT" 4096 >/dev/null 2>&1 & PIDS+=($!)
printf 'acknowledge open-relay\nlimit message-size 216M\n' > "$WORK/plain.conf"
printf 'acknowledge open-relay\ngreylist delay 0s\ngreylist store sqlite "%s/e2e.db"\nstage rcpt\n  greylist\n' "$WORK" > "$WORK/grey.conf"
P0=$(port); "$SLUICE_BIN" run --listen 127.0.0.1:"$P0" --upstream 127.0.0.1:"$SINK_PORT" --config "$WORK/plain.conf" --spool-dir "$WORK" --log-level warning 2>"$WORK/s0.log" & PIDS+=($!)
P1=$(port); "$SLUICE_BIN" run --listen 127.0.0.1:"$P1" --upstream 127.0.0.1:"$SINK_PORT" --config "$WORK/grey.conf" --spool-dir "$WORK" --log-level warning 2>"$WORK/s1.log" & PIDS+=($!)
sleep 1
# The one key smtp-source uses (foo@vm style sender/recipient): first contact, then it has passed.
"$SOURCE" -m 2 -s 1 127.0.0.1:"$P1" >/dev/null 2>&1 || true
rate() {
    local start end
    start=$(date +%s.%N)
    "$SOURCE" -s 20 -m "$MESSAGES" -l 10240 127.0.0.1:"$1"
    end=$(date +%s.%N)
    python3 -c "print(round($MESSAGES / ($end - $start)))"
}
rate "$P0" >/dev/null; rate "$P1" >/dev/null
none=(); with=()
for r in $(seq 1 "$ROUNDS"); do
    if (( r % 2 )); then a=$(rate "$P0"); b=$(rate "$P1"); else b=$(rate "$P1"); a=$(rate "$P0"); fi
    none+=("$a"); with+=("$b")
    echo "round $r: no greylisting $a msg/s, greylisting (key passed) $b msg/s" >&2
done
python3 - "${none[*]}" "${with[*]}" <<'PY' | tee -a "$OUT_DIR/greylist.md"
import statistics, sys
none = [int(x) for x in sys.argv[1].split()]; with_ = [int(x) for x in sys.argv[2].split()]
print("\n## End to end (smtp-source, 20 sessions, 10 KiB messages, SQLite store, key already passed)\n")
print("| greylisting | msg/s per round | median |\n|---|---|---:|")
print("| off | %s | **%d** |" % (", ".join(map(str, none)), statistics.median(none)))
print("| on | %s | **%d** |" % (", ".join(map(str, with_)), statistics.median(with_)))
print("\nratio on/off (median of per-round ratios): **%.2f**" % statistics.median([w / n for w, n in zip(with_, none)]))
PY
