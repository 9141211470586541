#!/usr/bin/python3
"""A small authoritative DNS server for the tests (Debian's python3-dnslib: a real DNS wire protocol,
over UDP and TCP on 127.0.0.1). It serves the zone file given (standard zone-file lines, absolute
names), and two kinds of trouble:
    ;; servfail NAME     every query for NAME (and below it) is answered SERVFAIL
    ;; silent NAME       every query for NAME (and below it) gets no answer at all (a dead server)
With DNS_QUERY_LOG=FILE in the environment, every query received is a line of FILE (the benchmarks
count them). It prints "PORT <n>" once listening (port 0: the OS picks), and serves until killed."""
import os, sys, time
from dnslib import RR, QTYPE, RCODE, DNSRecord, SOA
from dnslib.server import DNSServer, BaseResolver, DNSLogger

zone_text = open(sys.argv[1]).read()
port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
servfail, silent = [], []
for line in zone_text.splitlines():
    words = line.split()
    if len(words) == 3 and words[0] == ";;":
        (servfail if words[1] == "servfail" else silent).append(words[2].rstrip(".").lower() + ".")
records = RR.fromZone(zone_text)

def under(name, zones):
    return any(name == z or name.endswith("." + z) for z in zones)

query_log = open(os.environ["DNS_QUERY_LOG"], "a", buffering=1) if os.environ.get("DNS_QUERY_LOG") else None

class Resolver(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).lower()
        if query_log:
            query_log.write("%s %s\n" % (qname, QTYPE[request.q.qtype]))
        if under(qname, silent):
            raise RuntimeError("silent")  # the handler logs it and sends nothing
        if under(qname, servfail):
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        matched = [rr for rr in records if str(rr.rname).lower() == qname]
        answers = [rr for rr in matched if rr.rtype == request.q.qtype or request.q.qtype == QTYPE.ANY]
        cnames = [rr for rr in matched if rr.rtype == QTYPE.CNAME and request.q.qtype != QTYPE.CNAME]
        for rr in answers or cnames:
            reply.add_answer(rr)
        if not matched:
            exists = any(str(rr.rname).lower().endswith("." + qname) for rr in records)
            if not exists:
                reply.header.rcode = RCODE.NXDOMAIN
        if not answers and not cnames:
            # A negative answer carries its SOA (RFC 2308), so resolvers cache it for the SOA's minimum
            # (without one libunbound keeps it a few seconds only, and a test on the cache would race).
            apex = ".".join(qname.rstrip(".").split(".")[-2:]) + "."
            reply.add_auth(RR(apex, QTYPE.SOA, ttl=300, rdata=SOA("ns." + apex, "hostmaster." + apex, (1, 3600, 600, 86400, 300))))
        return reply

class QuietLogger(DNSLogger):
    def __init__(self): super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data")
    def log_error(self, handler, e): pass

# UDP on a port the OS picks, then TCP on the same number: that one may be taken (a TCP port is not a
# UDP port), so try again with another.
for attempt in range(50):
    udp = DNSServer(Resolver(), port=port, address="127.0.0.1", logger=QuietLogger())
    chosen = udp.server.server_address[1]
    try:
        tcp = DNSServer(Resolver(), port=chosen, address="127.0.0.1", tcp=True, logger=QuietLogger())
        break
    except OSError:
        udp.server.server_close()
        if port != 0:
            raise
port = chosen
udp.start_thread(); tcp.start_thread()
print("PORT %d" % port, flush=True)
while True:
    time.sleep(3600)
