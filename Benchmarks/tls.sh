#!/usr/bin/env bash
# TLS benchmark: client-side handshakes per second (openssl s_time against an implicit-TLS listener),
# and relay throughput with STARTTLS on both sides (client -> Sluice A -> Sluice B -> smtp-sink, TLS on
# both hops) as a ratio to the same chain in plaintext, interleaved.
#   SLUICE_BIN=... bash Benchmarks/tls.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MESSAGES=${BENCH_TLS_MESSAGES:-3000}
: "${SLUICE_BIN:?set SLUICE_BIN}"
source "$HERE/common.sh"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

start_sink
start() { # NAME LISTEN-OPTIONS UPSTREAM-PORT UPSTREAM-OPTIONS; sets STARTED to the port
    local port; port=$(port)
    printf 'acknowledge open-relay\nlimit message-size 216M\ntls certificate "%s" key "%s"\nlisten 127.0.0.1:%s %s\nupstream 127.0.0.1:%s %s\n' \
        "$WORK/cert.pem" "$WORK/key.pem" "$port" "$2" "$3" "$4" > "$WORK/$1.conf"
    "$SLUICE_BIN" run --config "$WORK/$1.conf" --spool-dir "$WORK" --log-level warning $(root_flag) 2>"$WORK/$1.log" & PIDS+=($!)
    STARTED=$port
}
start bplain "" "$SINK_PORT" ""; B_PLAIN=$STARTED
start btls "" "$SINK_PORT" ""; B_TLS=$STARTED
start aplain "" "$B_PLAIN" ""; A_PLAIN=$STARTED
start atls "" "$B_TLS" "starttls no-verify"; A_TLS=$STARTED
start implicit "tls" "$SINK_PORT" ""; IMPLICIT=$STARTED
sleep 1

{
echo "## TLS (ECDSA P-256 certificate, OpenSSL $(openssl version | cut -d' ' -f2))"
echo
handshakes=$(openssl s_time -connect 127.0.0.1:"$IMPLICIT" -new -time 5 2>/dev/null | grep -o '^[0-9]* connections in [0-9.]* real' | awk '{printf "%.0f", $1/$4}')
echo "client-side TLS handshakes (openssl s_time -new, implicit-TLS listener, each with its upstream connection): **${handshakes}/s**"
} | tee "$OUT_DIR/tls.md"

python3 "$HERE/tls_load.py" "$A_PLAIN" 300 20 plain >/dev/null
python3 "$HERE/tls_load.py" "$A_TLS" 300 20 starttls >/dev/null
load() { python3 "$HERE/tls_load.py" "$1" "$MESSAGES" 20 "$2"; }
interleave "plaintext" "STARTTLS both sides" 'load "$A_PLAIN" plain' 'load "$A_TLS" starttls'
ab_table "$OUT_DIR/tls.md" "Relay throughput, client -> Sluice -> Sluice -> smtp-sink (20 Python smtplib threads, 10 KiB, 10 messages a session)" \
    "both hops" plaintext STARTTLS STARTTLS/plaintext
