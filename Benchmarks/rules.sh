#!/usr/bin/env bash
# Rule benchmark (issue: the rule engine). Run by `make bench` after run.sh, or alone:
#   SLUICE_BIN=... RULEBENCH_BIN=... bash Benchmarks/rules.sh
# 1. RuleBench: 200 PCRE2 rules (100 header, 100 body) over a corpus of realistic messages, the engine
#    against a direct PCRE2 loop on the same patterns and subjects.
# 2. End to end: smtp-source -> Sluice -> smtp-sink with no rules and with the 200 rules, interleaved.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT_DIR=${BENCH_OUT_DIR:-$ROOT/bench-results}
ROUNDS=${BENCH_ROUNDS:-3}
MESSAGES=${BENCH_RULE_MESSAGES:-5000}
SESSIONS=${BENCH_RULE_SESSIONS:-20}
: "${SLUICE_BIN:?set SLUICE_BIN}" "${RULEBENCH_BIN:?set RULEBENCH_BIN}"
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$OUT_DIR"

python3 "$HERE/rules_corpus.py" "$WORK" 200 >&2
echo "## Rule evaluation (200 PCRE2 rules, 200 messages of 2-64 KiB)" | tee "$OUT_DIR/rules.md"
echo '```' | tee -a "$OUT_DIR/rules.md"
"$RULEBENCH_BIN" "$WORK/rules.conf" "$WORK/corpus" 5 | tee -a "$OUT_DIR/rules.md"
echo '```' | tee -a "$OUT_DIR/rules.md"

SINK_PORT=$(port); "$SINK" -u nobody -m 4096 127.0.0.1:"$SINK_PORT" 4096 >/dev/null 2>&1 & PIDS+=($!)
P0=$(port); "$SLUICE_BIN" run --listen 127.0.0.1:"$P0" --upstream 127.0.0.1:"$SINK_PORT" --config "$WORK/norules.conf" --spool-dir "$WORK" --log-level warning 2>"$WORK/s0.log" & PIDS+=($!)
P1=$(port); "$SLUICE_BIN" run --listen 127.0.0.1:"$P1" --upstream 127.0.0.1:"$SINK_PORT" --config "$WORK/rules.conf" --spool-dir "$WORK" --log-level warning 2>"$WORK/s1.log" & PIDS+=($!)
sleep 1
rate() {
    local start end
    start=$(date +%s.%N)
    "$SOURCE" -s "$SESSIONS" -m "$MESSAGES" -l 10240 -f bench@example.org -t sink@example.com 127.0.0.1:"$1"
    end=$(date +%s.%N)
    python3 -c "print(round($MESSAGES / ($end - $start)))"
}
rate "$P0" >/dev/null; rate "$P1" >/dev/null   # warm-up
none=(); with=()
for r in $(seq 1 "$ROUNDS"); do
    if (( r % 2 )); then a=$(rate "$P0"); b=$(rate "$P1"); else b=$(rate "$P1"); a=$(rate "$P0"); fi
    none+=("$a"); with+=("$b")
    echo "round $r: no rules $a msg/s, 200 rules $b msg/s" >&2
done
python3 - "${none[*]}" "${with[*]}" <<'PY' | tee -a "$OUT_DIR/rules.md"
import statistics, sys
none = [int(x) for x in sys.argv[1].split()]; with_ = [int(x) for x in sys.argv[2].split()]
print("\n## End to end (smtp-source, %s sessions, 10 KiB messages)\n" % "20")
print("| rules | msg/s per round | median |\n|---|---|---:|")
print("| none | %s | **%d** |" % (", ".join(map(str, none)), statistics.median(none)))
print("| 200 | %s | **%d** |" % (", ".join(map(str, with_)), statistics.median(with_)))
print("\nratio with/without rules (median of per-round ratios): **%.2f**" % statistics.median([w / n for w, n in zip(with_, none)]))
PY
