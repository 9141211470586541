# Shared by rules.sh, greylist.sh and tls.sh (sourced, after `set -euo pipefail` and HERE=...):
# tools, a work folder cleaned up on exit, free ports, the sink, and the interleaved A/B rounds with
# their Markdown table.
ROOT=$(cd "$HERE/.." && pwd)
OUT_DIR=${BENCH_OUT_DIR:-$ROOT/bench-results}
ROUNDS=${BENCH_ROUNDS:-3}
SINK=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
WORK=$(mktemp -d)
PIDS=()
cleanup_extra() { :; }   # a script may redefine it (greylist.sh stops its PostgreSQL)
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    cleanup_extra
    wait 2>/dev/null || true; rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$OUT_DIR"

# start_sink: an smtp-sink on a free port (SINK_PORT).
start_sink() {
    SINK_PORT=$(port); "$SINK" -u nobody -m 4096 127.0.0.1:"$SINK_PORT" 4096 >/dev/null 2>&1 & PIDS+=($!)
}

# --allow-root when running as root (Sluice refuses root without 'user' otherwise).
root_flag() {
    if [ "$(id -u)" = 0 ]; then echo --allow-root; fi
}

# start_sluice CONFIG LOG: a Sluice in front of the sink, on a free port (STARTED).
start_sluice() {
    STARTED=$(port)
    "$SLUICE_BIN" run --listen 127.0.0.1:"$STARTED" --upstream 127.0.0.1:"$SINK_PORT" --config "$1" \
        --spool-dir "$WORK" --log-level warning $(root_flag) 2>"$2" & PIDS+=($!)
}

# smtp_rate PORT SESSIONS MESSAGES [smtp-source options...]: messages per second through PORT.
smtp_rate() {
    local port=$1 sessions=$2 messages=$3 start end
    shift 3
    start=$(date +%s.%N)
    "$SOURCE" -s "$sessions" -m "$messages" -l 10240 "$@" 127.0.0.1:"$port"
    end=$(date +%s.%N)
    python3 -c "print(round($messages / ($end - $start)))"
}

# interleave NAME_A NAME_B CMD_A CMD_B: ROUNDS rounds, the order swapped every round; each command
# prints a rate. Fills RATES_A and RATES_B.
interleave() {
    local a b r
    RATES_A=(); RATES_B=()
    for r in $(seq 1 "$ROUNDS"); do
        if (( r % 2 )); then a=$(eval "$3"); b=$(eval "$4"); else b=$(eval "$4"); a=$(eval "$3"); fi
        RATES_A+=("$a"); RATES_B+=("$b")
        echo "round $r: $1 $a msg/s, $2 $b msg/s" >&2
    done
}

# ab_table FILE TITLE COLUMN ROW_A ROW_B RATIO: appends the rounds of `interleave` as a table, with the
# median of the per-round ratios B/A.
ab_table() {
    python3 - "${RATES_A[*]}" "${RATES_B[*]}" "$2" "$3" "$4" "$5" "$6" <<'PY' | tee -a "$1"
import statistics, sys
a = [int(x) for x in sys.argv[1].split()]; b = [int(x) for x in sys.argv[2].split()]
title, column, row_a, row_b, ratio = sys.argv[3:8]
print("\n## %s\n" % title)
print("| %s | msg/s per round | median |\n|---|---|---:|" % column)
print("| %s | %s | **%d** |" % (row_a, ", ".join(map(str, a)), statistics.median(a)))
print("| %s | %s | **%d** |" % (row_b, ", ".join(map(str, b)), statistics.median(b)))
print("\nratio %s (median of per-round ratios): **%.2f**" % (ratio, statistics.median([y / x for y, x in zip(b, a)])))
PY
}
