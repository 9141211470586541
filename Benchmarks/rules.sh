#!/usr/bin/env bash
# Rule benchmark (issue: the rule engine). Run by `make bench` after run.sh, or alone:
#   SLUICE_BIN=... RULEBENCH_BIN=... bash Benchmarks/rules.sh
# 1. RuleBench: 200 PCRE2 rules (100 header, 100 body) over a corpus of realistic messages, the engine
#    against a direct PCRE2 loop on the same patterns and subjects.
# 2. End to end: smtp-source -> Sluice -> smtp-sink with no rules and with the 200 rules, interleaved.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MESSAGES=${BENCH_RULE_MESSAGES:-5000}
SESSIONS=${BENCH_RULE_SESSIONS:-20}
: "${SLUICE_BIN:?set SLUICE_BIN}" "${RULEBENCH_BIN:?set RULEBENCH_BIN}"
source "$HERE/common.sh"

python3 "$HERE/rules_corpus.py" "$WORK" 200 >&2
echo "## Rule evaluation (200 PCRE2 rules, 200 messages of 2-64 KiB)" | tee "$OUT_DIR/rules.md"
echo '```' | tee -a "$OUT_DIR/rules.md"
"$RULEBENCH_BIN" "$WORK/rules.conf" "$WORK/corpus" 5 | tee -a "$OUT_DIR/rules.md"
echo '```' | tee -a "$OUT_DIR/rules.md"

start_sink
start_sluice "$WORK/norules.conf" "$WORK/s0.log"; P0=$STARTED
start_sluice "$WORK/rules.conf" "$WORK/s1.log"; P1=$STARTED
sleep 1
rate() { smtp_rate "$1" "$SESSIONS" "$MESSAGES" -f bench@example.org -t sink@example.com; }
rate "$P0" >/dev/null; rate "$P1" >/dev/null   # warm-up
interleave "no rules" "200 rules" 'rate "$P0"' 'rate "$P1"'
ab_table "$OUT_DIR/rules.md" "End to end (smtp-source, $SESSIONS sessions, 10 KiB messages)" rules none 200 "with/without rules"
