#!/usr/bin/env bash
# DNS facts and email authentication (issue 14): the relay rate with 3 DNS lists at connect, SPF at
# MAIL, DKIM verification and DMARC at the end of the message, against the same relay without them
# (both in front of smtp-sink, interleaved rounds, a real DNS server on loopback); the same for DKIM
# signing (RSA-2048) of every message; and how many of the lookups the resolver's cache answered.
#   SLUICE_BIN=... bash Benchmarks/authentication.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MESSAGES=${BENCH_AUTH_MESSAGES:-3000}
: "${SLUICE_BIN:?set SLUICE_BIN}"
source "$HERE/common.sh"
PY=/usr/bin/python3
start_sink

# Keys and the zone: the lists do not list 127.0.0.1 (NXDOMAIN, as for most clients), the sender's
# domain authorises it, the message is signed, the policy is p=reject.
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$WORK/key.pem" 2>/dev/null
RECORD="v=DKIM1; k=rsa; p=$(openssl pkey -in "$WORK/key.pem" -pubout -outform DER 2>/dev/null | base64 -w0)"
$PY - "$WORK/zone" "$RECORD" <<'PY'
import sys
record = sys.argv[2]
chunks = " ".join('"%s"' % record[i:i + 200] for i in range(0, len(record), 200))
open(sys.argv[1], "w").write("""example.test. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 -all"
client.example. 300 IN TXT "v=spf1 -all"
sel._domainkey.example.test. 300 IN TXT %s
_dmarc.example.test. 300 IN TXT "v=DMARC1; p=reject"
""" % chunks)
PY
DNS_QUERY_LOG="$WORK/queries" $PY "$ROOT/Tests/DNS/dns_server.py" "$WORK/zone" 0 > "$WORK/dns.out" & PIDS+=($!)
for _ in $(seq 50); do grep -q PORT "$WORK/dns.out" 2>/dev/null && break; sleep 0.1; done
DNS_PORT=$(awk '{print $2}' "$WORK/dns.out")

printf 'From: Bench <bench@example.test>\r\nTo: sink@example.com\r\nSubject: load\r\nDate: Mon, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <b@example.test>\r\n\r\n' > "$WORK/plain.eml"
$PY -c "import sys; sys.stdout.write(('x' * 76 + '\r\n') * 130)" >> "$WORK/plain.eml"
$PY "$ROOT/Tests/DNS/dkim_tool.py" sign --key "$WORK/key.pem" --selector sel --domain example.test \
    --canon relaxed/relaxed --headers from,to,subject,date,message-id < "$WORK/plain.eml" > "$WORK/signed.eml"

printf 'acknowledge open-relay\n' > "$WORK/plain.conf"
cat > "$WORK/auth.conf" <<CONF
acknowledge open-relay
dns server 127.0.0.1:$DNS_PORT
list zen dnsbl "zen.example.test"
list pbl dnsbl "pbl.example.test"
list wl  dnsbl "wl.example.test"
stage connect
  accept client in wl
  reject client in zen "554 5.7.1 listed"
  defer  dnsbl.score >= 2 "451 4.7.1 later"
stage mail
  reject spf = fail "550 5.7.23 SPF"
stage eom
  reject dmarc = fail and dmarc.policy = reject "550 5.7.1 DMARC"
  tag signed dkim = pass
CONF
cat > "$WORK/sign.conf" <<CONF
acknowledge open-relay
dkim sign out domain "example.test" selector "s1" key "$WORK/key.pem"
stage eom
  sign out
CONF
start_sluice "$WORK/plain.conf" "$WORK/plain.log"; PLAIN=$STARTED
start_sluice "$WORK/auth.conf" "$WORK/auth.log"; AUTH=$STARTED
start_sluice "$WORK/sign.conf" "$WORK/sign.log"; SIGN=$STARTED
sleep 1
signed() { $PY "$HERE/signed_load.py" "$1" "$MESSAGES" 8 "$WORK/signed.eml" bench@example.test; }
signed "$PLAIN" >/dev/null; signed "$AUTH" >/dev/null   # warm up (and fill the resolver's cache)
{ echo "# DNS facts and email authentication (issue 14)"; } > "$OUT_DIR/authentication.md"
: > "$WORK/queries"
interleave "plain" "authenticated" 'signed "$PLAIN"' 'signed "$AUTH"'
ab_table "$OUT_DIR/authentication.md" "3 DNS lists + SPF + DKIM verify (RSA-2048) + DMARC vs none: a signed 10 KiB message, 8 client processes, 10 per session" \
    "Sluice" "no checks" "all checks" "checks/none"
QUERIES=$(wc -l < "$WORK/queries")
# Per message: 3 lists at connect (one session per 10 messages), SPF for the sender and the HELO, the
# DKIM key, the DMARC record.
$PY -c "
n = $ROUNDS * $MESSAGES; lookups = n * 4 + n / 10 * 3
print('\nresolver cache: %d queries reached the DNS server for about %d lookups: hit rate **%.1f %%**' % ($QUERIES, lookups, 100 * (1 - $QUERIES / lookups)))
" | tee -a "$OUT_DIR/authentication.md"
grep -c "status=" "$WORK/auth.log" >/dev/null 2>&1 || true
if grep -q "warning\|error" "$WORK/auth.log"; then echo "auth log:" >&2; tail -5 "$WORK/auth.log" >&2; fi

smtp_rate "$PLAIN" 20 500 >/dev/null; smtp_rate "$SIGN" 20 500 >/dev/null
interleave "plain" "signing" 'smtp_rate "$PLAIN" 20 "$MESSAGES"' 'smtp_rate "$SIGN" 20 "$MESSAGES"'
ab_table "$OUT_DIR/authentication.md" "DKIM signing (RSA-2048, relaxed/relaxed) of every message vs none: smtp-source, 20 sessions, 10 KiB" \
    "Sluice" "no signing" "signing" "signing/none"
echo "report: $OUT_DIR/authentication.md" >&2
