#!/usr/bin/env bash
# Running Sluice on port 25 (issue 13), three measurements:
#  1. metrics on (`metrics listen`, scraped every second) vs off: relay rate, interleaved rounds;
#  2. a flood of connections from one client (127.0.0.2, Benchmarks/flood/flood.c: epoll, so the
#     generator's own CPU stays small) against the per-client limits while a second client's
#     (127.0.0.1) smtp-source rate is measured, vs the same without the flood;
#  3. reload time of a configuration with 10,000 list entries and 1,000 patterns (SIGHUP to the
#     "reloaded" line), and `sluice check` on it.
#   SLUICE_BIN=... bash Benchmarks/operations.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MESSAGES=${BENCH_OPS_MESSAGES:-6000}  # a message per connection: more would run loopback out of ports (TIME_WAIT)
FLOOD_PACE=${BENCH_FLOOD_PACE:-2000}
FLOOD=${BENCH_FLOOD_CONNECTIONS:-10000}
: "${SLUICE_BIN:?set SLUICE_BIN}"
source "$HERE/common.sh"
start_sink

# 1. Metrics on vs off.
printf 'acknowledge open-relay\n' > "$WORK/off.conf"
METRICS_PORT=$(port)
printf 'acknowledge open-relay\nmetrics listen 127.0.0.1:%s\n' "$METRICS_PORT" > "$WORK/on.conf"
start_sluice "$WORK/off.conf" "$WORK/off.log"; OFF=$STARTED; OFF_PID=${PIDS[-1]}
start_sluice "$WORK/on.conf" "$WORK/on.log"; ON=$STARTED; ON_PID=${PIDS[-1]}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in clock ticks
sleep 1
# One scraper process, once a second (Prometheus's usual interval is 15 s: this is the harsher case).
python3 -c "
import time, urllib.request
while True:
    time.sleep(1)
    try: urllib.request.urlopen('http://127.0.0.1:$METRICS_PORT/metrics', timeout=5).read()
    except Exception: pass
" & PIDS+=($!)
smtp_rate "$OFF" 20 500 >/dev/null; smtp_rate "$ON" 20 500 >/dev/null
OFF_CPU0=$(cpu "$OFF_PID"); ON_CPU0=$(cpu "$ON_PID")
interleave "metrics off" "metrics on" 'smtp_rate "$OFF" 20 "$MESSAGES"' 'smtp_rate "$ON" 20 "$MESSAGES"'
OFF_CPU=$(( $(cpu "$OFF_PID") - OFF_CPU0 )); ON_CPU=$(( $(cpu "$ON_PID") - ON_CPU0 ))
{
echo "# Operations (issue 13)"
} > "$OUT_DIR/operations.md"
ab_table "$OUT_DIR/operations.md" "Metrics on (scraped every second) vs off: smtp-source, 20 sessions, 10 KiB" "Sluice" "metrics off" "metrics on" "on/off"
python3 -c "
ticks = $(getconf CLK_TCK); n = $ROUNDS * $MESSAGES
off, on = $OFF_CPU / ticks / n * 1e6, $ON_CPU / ticks / n * 1e6
print('Sluice CPU per message (user+sys, all rounds): metrics off %.0f µs, on %.0f µs: off/on **%.2f** (the steadier measure on a shared machine)' % (off, on, off / on))
" | tee -a "$OUT_DIR/operations.md"
SAMPLES=$(python3 -c "import urllib.request; print(sum(1 for l in urllib.request.urlopen('http://127.0.0.1:$METRICS_PORT/metrics').read().decode().splitlines() if l and not l.startswith('#')))")
echo "(the endpoint served $SAMPLES samples at the end)" | tee -a "$OUT_DIR/operations.md"

# 2. A flood from one client while another is measured.
printf 'acknowledge open-relay\nlimit exempt none\nlimit connections 2000\nlimit connections-per-client 50\n' > "$WORK/flood.conf"
start_sluice "$WORK/flood.conf" "$WORK/flood.log"; FLOODED=$STARTED
sleep 1
smtp_rate "$FLOODED" 10 500 >/dev/null
quiet() { smtp_rate "$FLOODED" 10 "$MESSAGES"; }
gcc -O2 -o "$WORK/flood" "$HERE/flood/flood.c"
flooded() { # RATE [LIMIT]: the flood's connections per second (0: as fast as the generator can), and how many
    "$WORK/flood" "$FLOODED" "${2:-100000000}" 100 "$1" > "$WORK/flood.json" & local flood=$!
    sleep 0.5
    smtp_rate "$FLOODED" 10 "$MESSAGES"
    kill -TERM "$flood" 2>/dev/null || true # a burst may be over already
    wait "$flood" || true
    cat "$WORK/flood.json" >&2
}
# Paced: 2,000 connections a second for the whole measured run (about 3 s: 6,000 or so).
interleave "no flood" "flood" quiet 'flooded $FLOOD_PACE'
ab_table "$OUT_DIR/operations.md" "Second client's rate while one client floods $FLOOD_PACE connections/s (limit connections-per-client 50; smtp-source, 10 sessions, 10 KiB)" \
    "client 127.0.0.1" "no flood" "127.0.0.2 flooding" "flood/no flood"
# Unpaced: a burst of $FLOOD connections as fast as the generator goes (over 10,000 a second on
# loopback), during the measured run.
interleave "no flood" "flood" quiet 'flooded 0 $FLOOD'
ab_table "$OUT_DIR/operations.md" "Second client's rate while one client sends a burst of $FLOOD connections as fast as it can (same setup)" \
    "client 127.0.0.1" "no flood" "127.0.0.2 flooding" "flood/no flood"
"$WORK/flood" "$FLOODED" "$FLOOD" 100 0 > "$WORK/flood-count.json"
echo "a flood of $FLOOD connections alone, as fast as the generator goes: $(cat "$WORK/flood-count.json")" | tee -a "$OUT_DIR/operations.md"

# 3. Reload time: 10,000 list entries, 1,000 patterns.
python3 - "$WORK/big.conf" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("acknowledge open-relay\n")
    f.write("list bigdomains domain {\n" + ",\n".join("  d%05d.example" % i for i in range(5000)) + "\n  }\n")
    f.write("list bignets cidr {\n" + ",\n".join("  10.%d.%d.0/24" % (i // 256, i % 256) for i in range(5000)) + "\n  }\n")
    f.write("list bigpatterns pcre {\n" + ",\n".join("  /^spam%04d[a-z]+\\.(com|net)$/i" % i for i in range(1000)) + "\n  }\n")
    f.write("stage connect\n  reject client in bignets \"554 5.7.1 no\"\n")
    f.write("stage helo\n  reject helo in bigpatterns \"554 5.7.1 no\"\n")
    f.write("stage mail\n  reject sender.domain in bigdomains \"554 5.7.1 no\"\n")
PY
# At --log-level info (the "reloaded" line is info).
"$SLUICE_BIN" run --listen 127.0.0.1:"$(port)" --upstream 127.0.0.1:"$SINK_PORT" --config "$WORK/big.conf" \
    --spool-dir "$WORK" $(root_flag) 2>"$WORK/big.log" & SLUICE_PID=$!; PIDS+=($!)
sleep 2
python3 - "$SLUICE_PID" "$WORK/big.log" "$SLUICE_BIN" "$WORK/big.conf" <<'PY' | tee -a "$OUT_DIR/operations.md"
import os, signal, statistics, subprocess, sys, time
pid, log, binary, conf = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def reloaded(): return open(log).read().count("reloaded:")
times = []
for _ in range(5):
    before = reloaded(); start = time.monotonic()
    os.kill(pid, signal.SIGHUP)
    while reloaded() == before:
        time.sleep(0.002)
        if time.monotonic() - start > 60: sys.exit("no reload")
    times.append(time.monotonic() - start)
checks = []
for _ in range(3):
    start = time.monotonic(); subprocess.run([binary, "check", "--config", conf], capture_output=True, check=False)
    checks.append(time.monotonic() - start)
print("\n## Reload time: 10,000 list entries (5,000 domains, 5,000 networks) and 1,000 PCRE2 patterns\n")
print("SIGHUP to the `reloaded` log line (the log writer adds up to 20 ms): median **%.0f ms** (%s)" %
      (statistics.median(times) * 1000, ", ".join("%.0f" % (t * 1000) for t in times)))
print("\n`sluice check` on the same file (process start, load, compile): median **%.0f ms**" % (statistics.median(checks) * 1000))
PY
echo "report: $OUT_DIR/operations.md" >&2
