#!/usr/bin/env bash
# Sluice benchmark harness. See Benchmarks/README.md.
#
#   SLUICE_BIN=/path/to/sluice bash Benchmarks/run.sh [--quick]
#   SKIP_SLUICE=1 bash Benchmarks/run.sh --quick      # only smtp-sink direct and haproxy
#
# Markdown report on stdout (progress on stderr); also written to bench-results/.
# Environment (all optional except SLUICE_BIN):
#   SLUICE_BIN            Sluice executable (required unless SKIP_SLUICE=1)
#   SLUICE_THREADS        --threads for Sluice (default 1)
#   SLUICE_EXTRA_ARGS     extra arguments appended to `sluice run ...` (word-split), e.g. a larger
#                         message size limit: the 100 MiB test needs Sluice to accept 100 MiB
#   SLUICE_BENCH_CONFIG=0 do not pass --config with `limit message-size` (passed by default when
#                         `sluice run --help` lists --config, so the 100 MiB message is accepted)
#   SKIP_SLUICE=1         skip the Sluice target and the memory measurements
#   GLUE_BIN              GlueBench executable: adds a minimal SwiftNIO byte glue as a fourth target,
#                         the floor any NIO proxy stands on (make bench sets it)
#   SLUICE_BASELINE_BIN   an earlier Sluice executable: measured as one more target in the same rounds
#                         (interleaved with the current one), for before/after comparisons
#   HAPROXY_THREADS       haproxy nbthread (default: SLUICE_THREADS, so both proxies get the same cores)
#   BENCH_ROUNDS          rounds (default 3; --quick 1)
#   BENCH_MESSAGES        messages per smtp-source run (default 10000; --quick 1000)
#   BENCH_SESSIONS        concurrency levels (default "20 100")
#   BENCH_LENGTH          payload bytes per message (default 10240)
#   BENCH_REUSE=1         pass -d to smtp-source (reuse a session for many messages); default is a
#                         new connection per message, smtp-source's own default
#   BENCH_WARMUP          warm-up messages per target before round 1 (default 2000; --quick 200)
#   BENCH_BIG_MIB         size of the big message in MiB (default 100)
#   BENCH_IDLE_SESSIONS   idle sessions to hold open (default 1000)
#   BENCH_RUN_TIMEOUT     seconds before one smtp-source run is abandoned (default 300)
#   BENCH_OUT_DIR         where reports go (default <repo>/bench-results)
set -euo pipefail

usage() { sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT_DIR=${BENCH_OUT_DIR:-$ROOT/bench-results}

SKIP_SLUICE=${SKIP_SLUICE:-0}
SLUICE_BIN=${SLUICE_BIN:-}
SLUICE_THREADS=${SLUICE_THREADS:-1}
HAPROXY_THREADS=${HAPROXY_THREADS:-$SLUICE_THREADS}
read -r -a SLUICE_EXTRA <<< "${SLUICE_EXTRA_ARGS:-}"
if [[ $QUICK == 1 ]]; then
    ROUNDS=${BENCH_ROUNDS:-1}; MESSAGES=${BENCH_MESSAGES:-1000}; WARMUP=${BENCH_WARMUP:-200}
else
    ROUNDS=${BENCH_ROUNDS:-3}; MESSAGES=${BENCH_MESSAGES:-10000}; WARMUP=${BENCH_WARMUP:-2000}
fi
read -r -a SESSIONS_LIST <<< "${BENCH_SESSIONS:-20 100}"
LENGTH=${BENCH_LENGTH:-10240}
REUSE=${BENCH_REUSE:-0}
BIG_MIB=${BENCH_BIG_MIB:-100}
IDLE_SESSIONS=${BENCH_IDLE_SESSIONS:-1000}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-300}

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_tool() {
    local name=$1 dir
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    for dir in /usr/sbin /usr/lib/postfix/sbin /usr/libexec/postfix /usr/local/sbin; do
        if [[ -x $dir/$name ]]; then echo "$dir/$name"; return 0; fi
    done
    return 1
}

SMTP_SOURCE=$(find_tool smtp-source) || die "smtp-source not found (Debian: apt-get install postfix)"
SMTP_SINK=$(find_tool smtp-sink) || die "smtp-sink not found (Debian: apt-get install postfix)"
HAPROXY=$(find_tool haproxy) || die "haproxy not found"
command -v python3 >/dev/null || die "python3 not found"
command -v timeout >/dev/null || die "timeout (coreutils) not found"
if [[ $SKIP_SLUICE != 1 ]]; then
    [[ -n $SLUICE_BIN ]] || die "set SLUICE_BIN=/path/to/sluice (or SKIP_SLUICE=1)"
    [[ -x $SLUICE_BIN ]] || die "SLUICE_BIN=$SLUICE_BIN is not executable"
    SLUICE_BIN=$(cd "$(dirname "$SLUICE_BIN")" && pwd)/$(basename "$SLUICE_BIN")
fi

# 1,000 idle sessions through a proxy need ~2,000 descriptors in the proxy and 1,000 in the sink.
hard=$(ulimit -Hn)
if [[ $hard == unlimited || $hard -ge 16384 ]]; then ulimit -Sn 16384; else ulimit -Sn "$hard"; fi
[[ $(ulimit -Sn) -ge 4096 ]] || log "warning: open-file limit is $(ulimit -Sn); the idle-session test may fail"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
PIDS=()

stop_pid() {  # stop_pid PID: TERM, wait up to 5 s, then KILL; forget it
    local pid=$1 i
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {  # a free loopback port below the ephemeral range, so outgoing connections never take it
    python3 - <<'EOF'
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except Exception:
    low = 32768
for _ in range(200):
    port = random.randint(max(1025, low - 12000), low - 1)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
    finally:
        s.close()
else:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
EOF
}

wait_port() {  # wait_port PORT PID SECONDS: until PORT accepts connections; fail if PID exits
    python3 - "$@" <<'EOF'
import os, socket, sys, time
port, pid, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("process %d exited before listening on port %d" % (pid, port))
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit("port %d not listening after %.0f s" % (port, limit))
EOF
}

cpu_ticks() {  # user+system clock ticks of a process (all threads)
    local stat
    stat=$(<"/proc/$1/stat") || { echo 0; return; }
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo $(( ${12} + ${13} ))
}
CLK_TCK=$(getconf CLK_TCK)

SINK_LOG=$TMP/sink.out
sink_count() {  # messages smtp-sink has received so far (its -c counters, "... mesg=N" + CR)
    tail -c 4096 "$SINK_LOG" 2>/dev/null | tr '\r' '\n' | grep -o 'mesg=[0-9]*' | tail -n 1 | cut -d= -f2 | grep . || echo 0
}

# ---------------------------------------------------------------- servers

SINK_PORT=$(free_port)
# -c: counters on stdout (used to check every message arrived); -m: up to 4096 concurrent sessions
# (default 256, too few for 1,000 idle sessions relayed upstream); backlog 4096. Nothing is
# written to disk: no -d/-D dump options.
SINK_ARGS=(-c -m 4096)
[[ $EUID -eq 0 ]] && SINK_ARGS+=(-u nobody)  # smtp-sink refuses to run as root without -u
SINK_ARGS+=("127.0.0.1:$SINK_PORT" 4096)
"$SMTP_SINK" "${SINK_ARGS[@]}" >"$SINK_LOG" 2>"$TMP/sink.err" &
SINK_PID=$!
PIDS+=("$SINK_PID")
wait_port "$SINK_PORT" "$SINK_PID" 10 || { cat "$TMP/sink.err" >&2; die "smtp-sink did not start"; }
log "smtp-sink pid $SINK_PID on 127.0.0.1:$SINK_PORT"

HAPROXY_PORT=$(free_port)
cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread $HAPROXY_THREADS
    maxconn 4000

defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    maxconn 4000

frontend smtp_in
    bind 127.0.0.1:$HAPROXY_PORT backlog 4096
    default_backend smtp_sink

backend smtp_sink
    server sink 127.0.0.1:$SINK_PORT
EOF
"$HAPROXY" -c -q -f "$TMP/haproxy.cfg" || die "haproxy rejected its config"
"$HAPROXY" -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
HAPROXY_PID=$!
PIDS+=("$HAPROXY_PID")
wait_port "$HAPROXY_PORT" "$HAPROXY_PID" 10 || { cat "$TMP/haproxy.log" >&2; die "haproxy did not start"; }
HAPROXY_VERSION=$("$HAPROXY" -v | head -n 1 | awk '{print $3}')
log "haproxy $HAPROXY_VERSION pid $HAPROXY_PID on 127.0.0.1:$HAPROXY_PORT (mode tcp, nbthread $HAPROXY_THREADS)"

SLUICE_PID= SLUICE_PORT= SLUICE_N=0
SLUICE_CONF=()
if [[ $SKIP_SLUICE != 1 && ${SLUICE_BENCH_CONFIG:-1} == 1 ]] \
        && timeout 10 "$SLUICE_BIN" run --help 2>&1 | grep -q -- '--config'; then
    # The default message size limit (25M) would refuse the big message: raise it in a config
    # file (flags override the file, so listen/upstream/spool/threads still come from the flags).
    printf 'limit message-size %sM\n' $((BIG_MIB * 2 + 16)) >"$TMP/sluice-bench.conf"
    SLUICE_CONF=(--config "$TMP/sluice-bench.conf")
fi
start_sluice() {  # start_sluice [BIN]: fresh Sluice instance with its own port, spool dir and log
    local bin=${1:-$SLUICE_BIN}
    SLUICE_N=$((SLUICE_N + 1))
    SLUICE_PORT=$(free_port)
    SLUICE_SPOOL=$TMP/spool-$SLUICE_N
    SLUICE_LOG=$TMP/sluice-$SLUICE_N.log
    mkdir -p "$SLUICE_SPOOL"
    local root=()  # as root, a Sluice that refuses root without 'user' is told it is intended
    if [ "$(id -u)" = 0 ] && "$bin" run --help 2>&1 | grep -q -- '--allow-root'; then root=(--allow-root); fi
    SLUICE_CMD=("$bin" run --listen "127.0.0.1:$SLUICE_PORT" --upstream "127.0.0.1:$SINK_PORT"
                --spool-dir "$SLUICE_SPOOL" --threads "$SLUICE_THREADS" "${SLUICE_CONF[@]}" "${SLUICE_EXTRA[@]}" "${root[@]}")
    "${SLUICE_CMD[@]}" >"$SLUICE_LOG" 2>&1 &
    SLUICE_PID=$!
    PIDS+=("$SLUICE_PID")
    if ! wait_port "$SLUICE_PORT" "$SLUICE_PID" 30; then
        tail -n 30 "$SLUICE_LOG" >&2 || true
        die "Sluice did not start: ${SLUICE_CMD[*]}"
    fi
    log "Sluice pid $SLUICE_PID on 127.0.0.1:$SLUICE_PORT: ${SLUICE_CMD[*]}"
}

TARGETS=(direct haproxy)
declare -A PORT_OF=([direct]=$SINK_PORT [haproxy]=$HAPROXY_PORT)
declare -A PID_OF=([direct]=$SINK_PID [haproxy]=$HAPROXY_PID)
if [[ -n ${GLUE_BIN:-} ]]; then
    GLUE_PORT=$(free_port)
    "$GLUE_BIN" "$GLUE_PORT" "$SINK_PORT" "$SLUICE_THREADS" >"$TMP/glue.log" 2>&1 &
    GLUE_PID=$!
    PIDS+=("$GLUE_PID")
    wait_port "$GLUE_PORT" "$GLUE_PID" 10 || { cat "$TMP/glue.log" >&2; die "GlueBench did not start"; }
    log "NIO byte glue pid $GLUE_PID on 127.0.0.1:$GLUE_PORT ($SLUICE_THREADS event loop(s))"
    TARGETS+=(glue)
    PORT_OF[glue]=$GLUE_PORT
    PID_OF[glue]=$GLUE_PID
fi
SLUICE_DESC="skipped (SKIP_SLUICE=1)"
if [[ $SKIP_SLUICE != 1 ]]; then
    start_sluice
    TARGETS+=(sluice)
    PORT_OF[sluice]=$SLUICE_PORT
    PID_OF[sluice]=$SLUICE_PID
    if [[ -n ${SLUICE_BASELINE_BIN:-} ]]; then
        [[ -x $SLUICE_BASELINE_BIN ]] || die "SLUICE_BASELINE_BIN=$SLUICE_BASELINE_BIN is not executable"
        start_sluice "$SLUICE_BASELINE_BIN"
        TARGETS+=(baseline)
        PORT_OF[baseline]=$SLUICE_PORT
        PID_OF[baseline]=$SLUICE_PID
        BASELINE_PID=$SLUICE_PID
        start_sluice   # the current one again last: the memory tests below stop and restart it
        PORT_OF[sluice]=$SLUICE_PORT
        PID_OF[sluice]=$SLUICE_PID
    fi
    SLUICE_DESC="\`$(basename "$SLUICE_BIN") run --listen 127.0.0.1:PORT --upstream 127.0.0.1:SINKPORT --spool-dir TMPDIR --threads $SLUICE_THREADS${SLUICE_CONF[*]:+ --config BENCH.conf}${SLUICE_EXTRA_ARGS:+ $SLUICE_EXTRA_ARGS}\`"
    [[ ${#SLUICE_CONF[@]} -gt 0 ]] && SLUICE_DESC+=" with BENCH.conf = \`$(cat "$TMP/sluice-bench.conf")\`"
fi

# ---------------------------------------------------------------- throughput

SOURCE_LOG=$TMP/source.log
run_source() {  # run_source SESSIONS MESSAGES PORT: smtp-source, bounded by RUN_TIMEOUT
    local args=(-s "$1" -m "$2" -l "$LENGTH" -M bench.sluice.test -f bench@sluice.test -t sink@sluice.test)
    [[ $REUSE == 1 ]] && args+=(-d)
    timeout "$RUN_TIMEOUT" "$SMTP_SOURCE" "${args[@]}" "127.0.0.1:$3" >>"$SOURCE_LOG" 2>&1
}

RESULTS=$TMP/throughput.tsv
printf 'round\tsessions\ttarget\tmessages\tseconds\tmsgs_per_s\tdelivered\tproxy_cpu_s\tstatus\n' >"$RESULTS"
FAILURES=0

measure() {  # measure ROUND SESSIONS TARGET
    local round=$1 sessions=$2 target=$3 port=${PORT_OF[$3]} pid=${PID_OF[$3]}
    local before after t0 t1 cpu0=0 cpu1=0 status=ok rc seconds rate cpu=-
    kill -0 "$pid" 2>/dev/null || die "$target (pid $pid) is no longer running"
    before=$(sink_count)
    [[ $target != direct ]] && cpu0=$(cpu_ticks "$pid")
    t0=$(date +%s.%N)
    if run_source "$sessions" "$MESSAGES" "$port"; then rc=0; else rc=$?; fi
    t1=$(date +%s.%N)
    [[ $target != direct ]] && cpu1=$(cpu_ticks "$pid")
    sleep 0.2  # let smtp-sink write its last counter line
    after=$(sink_count)
    if [[ $rc -ne 0 ]]; then
        status="fail(rc=$rc)"; FAILURES=$((FAILURES + 1))
        log "smtp-source failed (rc=$rc); last output:"; tail -n 5 "$SOURCE_LOG" >&2
    fi
    seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    rate=$(awk -v m="$MESSAGES" -v s="$seconds" 'BEGIN { printf "%.1f", m / s }')
    [[ $target != direct ]] && cpu=$(awk -v t=$((cpu1 - cpu0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
    if [[ $status == ok && $((after - before)) -ne $MESSAGES ]]; then
        log "warning: smtp-sink counted $((after - before)) of $MESSAGES messages"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$sessions" "$target" "$MESSAGES" "$seconds" \
        "$rate" "$((after - before))" "$cpu" "$status" >>"$RESULTS"
    log "$(printf 'round %s/%s  -s %-3s  %-8s %6s msgs  %7.3f s  %8.1f msgs/s  proxy cpu %s s  %s' \
        "$round" "$ROUNDS" "$sessions" "$target" "$MESSAGES" "$seconds" "$rate" "$cpu" "$status")"
}

log "warm-up: $WARMUP messages per target"
for target in "${TARGETS[@]}"; do
    run_source 20 "$WARMUP" "${PORT_OF[$target]}" || die "warm-up against $target failed: $(tail -n 3 "$SOURCE_LOG")"
done

n_targets=${#TARGETS[@]}
n_sessions=${#SESSIONS_LIST[@]}
for ((round = 1; round <= ROUNDS; round++)); do
    # Round robin: every round measures every (sessions, target) pair once, rotating the order
    # so no target always runs first or last.
    for ((i = 0; i < n_sessions; i++)); do
        sessions=${SESSIONS_LIST[$(((i + round - 1) % n_sessions))]}
        for ((j = 0; j < n_targets; j++)); do
            measure "$round" "$sessions" "${TARGETS[$(((j + round - 1) % n_targets))]}"
        done
    done
done

# ---------------------------------------------------------------- memory (Sluice only)

BIG_JSON=$TMP/big-message.json
IDLE_JSON=$TMP/idle-sessions.json
if [[ $SKIP_SLUICE != 1 ]]; then
    stop_pid "$SLUICE_PID"   # each memory test gets a fresh process
    [[ -n ${BASELINE_PID:-} ]] && stop_pid "$BASELINE_PID"

    log "generating a $BIG_MIB MiB message"
    python3 "$HERE/big_message.py" gen --out "$TMP/big.eml" --mib "$BIG_MIB"
    python3 "$HERE/big_message.py" gen --out "$TMP/small.eml" --mib 0.01
    start_sluice
    log "relaying the $BIG_MIB MiB message through Sluice"
    if ! timeout 1200 python3 "$HERE/big_message.py" measure --port "$SLUICE_PORT" --pid "$SLUICE_PID" \
            --file "$TMP/big.eml" --warmup-file "$TMP/small.eml" --sink-log "$SINK_LOG" \
            --spool-dir "$SLUICE_SPOOL" >"$BIG_JSON"; then
        FAILURES=$((FAILURES + 1))
        log "big message was not relayed: $(cat "$BIG_JSON" 2>/dev/null)"
        log "(Sluice's default limit is 25 MiB; raise it with SLUICE_EXTRA_ARGS if the CLI has an option)"
    fi
    log "big message: $(cat "$BIG_JSON" 2>/dev/null)"
    kill -0 "$SLUICE_PID" 2>/dev/null || die "Sluice died during the big-message test: $(tail -n 20 "$SLUICE_LOG")"
    rm -f "$TMP/big.eml"
    stop_pid "$SLUICE_PID"

    start_sluice
    # Warm up: one full session, so first-use allocations are not charged to idle sessions.
    python3 "$HERE/big_message.py" send --port "$SLUICE_PORT" --file "$TMP/small.eml" >/dev/null \
        || log "warning: warm-up message before the idle test failed"
    log "opening $IDLE_SESSIONS idle sessions to Sluice"
    if ! timeout 600 python3 "$HERE/idle_sessions.py" --port "$SLUICE_PORT" --pid "$SLUICE_PID" \
            --count "$IDLE_SESSIONS" >"$IDLE_JSON"; then
        FAILURES=$((FAILURES + 1))
        log "not all idle sessions could be opened"
    fi
    log "idle sessions: $(cat "$IDLE_JSON" 2>/dev/null)"
    kill -0 "$SLUICE_PID" 2>/dev/null || die "Sluice died during the idle-session test: $(tail -n 20 "$SLUICE_LOG")"
    stop_pid "$SLUICE_PID"
fi

# ---------------------------------------------------------------- report

META_MESSAGES=$MESSAGES META_LENGTH=$LENGTH META_ROUNDS=$ROUNDS META_REUSE=$REUSE \
META_SINK="smtp-sink ${SINK_ARGS[*]/$SINK_PORT/SINKPORT}" META_HAPROXY_VERSION=$HAPROXY_VERSION \
META_HAPROXY_THREADS=$HAPROXY_THREADS META_SLUICE=$SLUICE_DESC \
python3 - "$TMP/meta.json" <<'EOF'
import json, os, platform, socket, sys, time
e = os.environ
json.dump({
    "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    "host": socket.gethostname(),
    "cores": os.cpu_count(),
    "kernel": platform.release(),
    "messages": int(e["META_MESSAGES"]),
    "length": int(e["META_LENGTH"]),
    "rounds": int(e["META_ROUNDS"]),
    "reuse": e["META_REUSE"],
    "sink_cmd": e["META_SINK"],
    "haproxy_version": e["META_HAPROXY_VERSION"],
    "haproxy_threads": e["META_HAPROXY_THREADS"],
    "sluice_cmd": e["META_SLUICE"],
}, open(sys.argv[1], "w"), indent=1)
EOF

mkdir -p "$OUT_DIR"
python3 "$HERE/report.py" throughput "$RESULTS" "$TMP/meta.json" >"$TMP/throughput.md"
cp "$RESULTS" "$OUT_DIR/throughput.tsv"
if [[ $SKIP_SLUICE != 1 ]]; then
    python3 "$HERE/report.py" memory "$BIG_JSON" "$IDLE_JSON" "$TMP/meta.json" >"$TMP/memory.md"
    cp "$TMP/memory.md" "$OUT_DIR/memory.md"
    cp "$BIG_JSON" "$OUT_DIR/big-message.json" 2>/dev/null || true
    cp "$IDLE_JSON" "$OUT_DIR/idle-sessions.json" 2>/dev/null || true
    cat "$TMP/memory.md" >>"$TMP/throughput.md"
fi
cp "$TMP/throughput.md" "$OUT_DIR/throughput.md"
cat "$TMP/throughput.md"
log "report written to $OUT_DIR/throughput.md"
if [[ $FAILURES -gt 0 ]]; then
    log "$FAILURES measurement(s) failed; see the report"
    exit 1
fi
