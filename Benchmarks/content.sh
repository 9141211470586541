#!/usr/bin/env bash
# Content rules over decoded MIME (issue 15). Run by `make bench` after authentication.sh, or alone:
#   SLUICE_BIN=... MIMEBENCH_BIN=... bash Benchmarks/content.sh
# 1. MIMEBench: parse + base64 decode throughput of the streaming MIME parser on one core (target
#    >= 250 MB/s decoded).
# 2. End to end: content_load.py (python smtplib, several processes) -> Sluice -> smtp-sink with the
#    200 content rules of content_corpus.py (header patterns, body phrases over the decoded text,
#    attachment names/kinds/sizes/encryption, card-number/iban/employee-id detectors, MIME structure)
#    against the same relay with no rules, interleaved rounds, over a seeded corpus of multipart
#    messages with attachments that no rule matches (target ratio >= 0.65).
# Settings: BENCH_ROUNDS (3), BENCH_CONTENT_MESSAGES per run (1000), BENCH_CONTENT_PROCS (6),
# BENCH_CONTENT_CORPUS messages (60), BENCH_CONTENT_SEED (1515).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MESSAGES=${BENCH_CONTENT_MESSAGES:-1000}
PROCS=${BENCH_CONTENT_PROCS:-6}
CORPUS=${BENCH_CONTENT_CORPUS:-60}
SEED=${BENCH_CONTENT_SEED:-1515}
: "${SLUICE_BIN:?set SLUICE_BIN}"
source "$HERE/common.sh"
PY=/usr/bin/python3
REPORT="$OUT_DIR/content.md"
echo "# Content rules over decoded MIME (issue 15)" > "$REPORT"

# 1. Parse + decode on one core: MIMEBench (best of 5 passes over a 64 MiB attachment) run 3 times, the median.
if [ -n "${MIMEBENCH_BIN:-}" ]; then
    for r in 1 2 3; do "$MIMEBENCH_BIN" > "$WORK/mimebench.$r"; cat "$WORK/mimebench.$r" >&2; done
    $PY - "$WORK"/mimebench.[123] <<'PY' | tee -a "$REPORT"
import re, statistics, sys
texts = [open(p).read() for p in sys.argv[1:]]
rates = [int(re.search(r"(\d+) MB/s decoded", t).group(1)) for t in texts]
rate = statistics.median(rates)
print("\n## MIME parse + base64 decode, one core (MIMEBench)\n")
print("```\n%s```\n" % texts[rates.index(rate)])
print("base64 decoded, median of %d runs (%s): **%d MB/s** (target >= 250: %s)"
      % (len(rates), ", ".join(map(str, rates)), rate, "met" if rate >= 250 else "NOT met"))
PY
fi

# 2. End to end.
DESCRIPTION=$($PY "$HERE/content_corpus.py" "$WORK" "$CORPUS" "$SEED")
echo "corpus: $DESCRIPTION" >&2
"$SLUICE_BIN" check --config "$WORK/rules.conf" >&2
"$SLUICE_BIN" check --config "$WORK/norules.conf" >&2
RULES=$(grep -c '^  reject' "$WORK/rules.conf")

start_sink
start_sluice "$WORK/norules.conf" "$WORK/s0.log"; P0=$STARTED; PID0=${PIDS[-1]}
start_sluice "$WORK/rules.conf" "$WORK/s1.log"; P1=$STARTED; PID1=${PIDS[-1]}
sleep 1

# The rules do run: messages that each match one rule are refused (subject, a phrase in base64 HTML,
# an attachment's name, an archive member's name, four employee IDs in a QP part).
$PY - "$P1" <<'PY' >&2
import email.policy, io, smtplib, sys, zipfile
from email.message import EmailMessage
def message(subject="Hello", html="<p>hello</p>", plain="hello", files=()):
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"], m["To"], m["Subject"] = "a@example.org", "sink@example.com", subject
    m.set_content(plain, cte="quoted-printable"); m.add_alternative(html, subtype="html", cte="base64")
    for name, data in files:
        m.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return m.as_bytes()
z = io.BytesIO(); zipfile.ZipFile(z, "w").writestr("setup.exe", b"MZ" + bytes(200))
controls = {"subject": message(subject="Congratulations, Gewinner!"),
            "base64 html": message(html="<p>Please <b>claim your prize</b> today</p>"),
            "attachment name": message(files=[("invoice.pdf.js", b"var x = 1;\n")]),
            "archive member": message(files=[("docs.zip", z.getvalue())]),
            "employee ids": message(plain="E100001 E100002 E100003 E100004 caf\u00e9")}
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
for what, data in controls.items():
    try:
        s.sendmail("a@example.org", ["sink@example.com"], data)
        sys.exit("control message (%s) was not refused: the rules did not run" % what)
    except smtplib.SMTPDataError as e:
        print("control (%s): %d %s" % (what, e.smtp_code, e.smtp_error.decode()))
s.quit()
PY

# rate PORT PID NAME: messages/s of one run; Sluice's CPU (user + system) per message goes to $WORK/cpu.NAME.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rate() {
    local before after r
    before=$(ticks "$2")
    r=$($PY "$HERE/content_load.py" "$1" "$MESSAGES" "$PROCS" "$WORK/corpus")
    after=$(ticks "$2")
    $PY -c "print(round(($after - $before) * 1e6 / $(getconf CLK_TCK) / $MESSAGES))" >> "$WORK/cpu.$3"
    echo "$r"
}
$PY "$HERE/content_load.py" "$P0" 120 "$PROCS" "$WORK/corpus" >/dev/null   # warm-up
$PY "$HERE/content_load.py" "$P1" 120 "$PROCS" "$WORK/corpus" >/dev/null
interleave "no rules" "$RULES rules" 'rate "$P0" "$PID0" none' 'rate "$P1" "$PID1" rules'
ab_table "$REPORT" "End to end: $RULES content rules vs none ($PROCS smtplib processes, 10 messages per session, $MESSAGES messages per run)" \
    "Sluice" "no rules" "$RULES rules" "with/without rules"
$PY - "$DESCRIPTION" "${RATES_A[*]}" "${RATES_B[*]}" "$WORK/cpu.none" "$WORK/cpu.rules" "$WORK/corpus" <<'PY' | tee -a "$REPORT"
import os, statistics, sys
desc, a, b = sys.argv[1], [int(x) for x in sys.argv[2].split()], [int(x) for x in sys.argv[3].split()]
cpu = [[int(x) for x in open(p).read().split()] for p in sys.argv[4:6]]
folder = sys.argv[6]
mean = statistics.mean(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
ratio = statistics.median([y / x for y, x in zip(b, a)])
print("\ntarget with/without >= 0.65: %s" % ("met" if ratio >= 0.65 else "NOT met"))
print("\ncorpus: %s" % desc)
print("\nrelayed: %.1f MB/s without rules, %.1f MB/s with (medians)" % (statistics.median(a) * mean / 1e6, statistics.median(b) * mean / 1e6))
print("\nSluice CPU (user + system) per message, median of the rounds: %d µs without rules (%s), %d µs with (%s)"
      % (statistics.median(cpu[0]), ", ".join(map(str, cpu[0])), statistics.median(cpu[1]), ", ".join(map(str, cpu[1]))))
PY
for log in "$WORK/s0.log" "$WORK/s1.log"; do
    if grep -qi "warning\|error" "$log"; then echo "$log:" >&2; tail -5 "$log" >&2; fi
done
echo "report: $REPORT" >&2
