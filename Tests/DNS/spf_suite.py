#!/usr/bin/python3
"""The RFC 7208 SPF test suite (openspf.org, as Debian's python3-spf ships it) for Sluice's evaluator.

    spf_suite.py list SUITE.yml.gz          the scenarios and their tests, as JSON on stdout
    spf_suite.py serve SUITE.yml.gz INDEX   a real DNS server (python3-dnslib, UDP and TCP on 127.0.0.1,
                                            an OS-picked port) serving scenario INDEX's zone data;
                                            prints "PORT <n>" and serves until killed

The zone data follows the suite's own driver (testspf.py): an SPF entry is also served as TXT unless
the name has a TXT entry of its own (TXT "NONE" is such an entry, serving nothing); TIMEOUT means no
answer for the types not listed before it; names under "error." that are not listed never answer; a
CNAME is followed one level inside the zone."""
import gzip, json, sys, time
import yaml
from dnslib import RR, QTYPE, RCODE, A, AAAA, MX, PTR, CNAME, TXT, RD, DNSLabel
from dnslib.server import DNSServer, BaseResolver, DNSLogger


def scenarios(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return list(yaml.safe_load_all(f))


class Silent(Exception):
    pass


def zone_of(scenario):
    zone = {}
    for name, entries in scenario["zonedata"].items():
        records, generated, has_txt = [], [], False
        for entry in entries:
            if entry == "TIMEOUT":
                records.append(("TIMEOUT", None))
                continue
            (kind, value), = entry.items()
            if kind in ("TXT", "SPF") and isinstance(value, str):
                value = [value]
            if kind == "TXT":
                has_txt = True
            if kind == "SPF":
                generated.append(("TXT", value))
            if value != ["NONE"]:
                records.append((kind, value))
        if not has_txt:
            records += generated
        zone[key(name)] = records
    return zone


def key(name):
    """A name as dnslib prints a query's name (spaces and such escaped), lower case, no final dot."""
    return str(DNSLabel(name)).lower().rstrip(".")


def strings(value):
    """TXT character-strings: UTF-8, each at most 255 octets. A TXT with no string at all (the suite's
    "null text") is not valid on the wire, and libunbound drops such an answer as malformed: it is
    served as one empty string, the nearest valid form (it is not an SPF record either way)."""
    if not value:
        return [b""]
    out = []
    for s in value:
        data = s.encode("utf-8")
        if not data:
            out.append(b"")
        while data:
            out.append(data[:255]); data = data[255:]
    return out


def rdata(kind, value):
    if kind == "A": return QTYPE.A, A(value)
    if kind == "AAAA": return QTYPE.AAAA, AAAA(value)
    if kind == "MX": return QTYPE.MX, MX(value[1] if value[1] else ".", value[0])
    if kind == "PTR": return QTYPE.PTR, PTR(value)
    if kind == "CNAME": return QTYPE.CNAME, CNAME(value)
    if kind in ("TXT", "SPF"): return (QTYPE.TXT if kind == "TXT" else 99), TXT(strings(value))
    raise ValueError(kind)


def answers(zone, name, qtype, level=0):
    """The records for (name, qtype) as the suite's driver gives them, or Silent, or None (NXDOMAIN)."""
    if name not in zone:
        if name.startswith("error."):
            raise Silent()
        return None
    found = []
    for kind, value in zone[name]:
        if kind == "TIMEOUT":
            if not found:
                raise Silent()
            break
        rtype, data = rdata(kind, value)
        if rtype == qtype:
            found.append(RR(name, rtype, rdata=data, ttl=300))
        elif kind == "CNAME" and level == 0:
            found.append(RR(name, QTYPE.CNAME, rdata=data, ttl=300))
            more = answers(zone, key(value), qtype, 1)
            found += more or []
    return found


class Resolver(BaseResolver):
    def __init__(self, zone):
        self.zone = zone

    def resolve(self, request, handler):
        reply = request.reply()
        name = key(str(request.q.qname))
        try:
            found = answers(self.zone, name, request.q.qtype)
        except Silent:
            raise RuntimeError("silent")  # the handler sends nothing
        if found is None:
            reply.header.rcode = RCODE.NXDOMAIN
        for rr in found or []:
            reply.add_answer(rr)
        return reply


class QuietLogger(DNSLogger):
    def __init__(self): super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data")
    def log_error(self, handler, e): pass


def serve(zone):
    for attempt in range(50):
        udp = DNSServer(Resolver(zone), port=0, address="127.0.0.1", logger=QuietLogger())
        chosen = udp.server.server_address[1]
        try:
            tcp = DNSServer(Resolver(zone), port=chosen, address="127.0.0.1", tcp=True, logger=QuietLogger())
            break
        except OSError:
            udp.server.server_close()
    udp.start_thread(); tcp.start_thread()
    print("PORT %d" % chosen, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    all_scenarios = scenarios(sys.argv[2])
    if sys.argv[1] == "list":
        out = []
        for index, scenario in enumerate(all_scenarios):
            tests = []
            for name, test in scenario["tests"].items():
                result = test["result"]
                tests.append({"name": name, "helo": test["helo"], "host": test["host"],
                              "mailfrom": test["mailfrom"], "spec": str(test.get("spec", "")),
                              "results": result if isinstance(result, list) else [result],
                              "explanation": test.get("explanation")})
            out.append({"index": index, "description": scenario["description"], "tests": tests})
        json.dump(out, sys.stdout)
    else:
        serve(zone_of(all_scenarios[int(sys.argv[3])]))
