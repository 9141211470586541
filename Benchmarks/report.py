#!/usr/bin/env python3
"""Turn run.sh's raw throughput TSV into the markdown report.

  report.py throughput RESULTS.tsv META.json   -> markdown on stdout
  report.py memory BIG.json IDLE.json META.json -> markdown on stdout

TSV columns: round sessions target messages seconds msgs_per_s delivered proxy_cpu_s status
Medians are over rounds. A ratio row's per-round cells pair targets measured in the same round;
its median column is the median of those per-round ratios. max/min is the spread over rounds.
"""
import csv
import json
import statistics
import sys

TARGETS = [("direct", "smtp-sink direct"), ("haproxy", "haproxy (tcp)"), ("glue", "NIO byte glue"), ("baseline", "Sluice (baseline)"),
           ("sluice", "Sluice")]


def fnum(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def med(values):
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def load(path):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f, delimiter="\t"):
            r["round"] = int(r["round"])
            r["sessions"] = int(r["sessions"])
            ok = r["status"] == "ok"
            r["rate"] = float(r["msgs_per_s"]) if ok else None
            cpu = r.get("proxy_cpu_s") or ""
            r["cpu_us_per_msg"] = (float(cpu) * 1e6 / int(r["messages"])) if ok and cpu not in ("", "-") else None
            rows.append(r)
    return rows


def header(meta):
    lines = [
        "# Sluice throughput benchmark",
        "",
        f"- date: {meta.get('date')}, host: {meta.get('host')}, cores: {meta.get('cores')}, kernel: {meta.get('kernel')}",
        f"- smtp-source: {meta.get('messages')} messages/round of {meta.get('length')} bytes payload, "
        f"{'one session reused per client (-d)' if meta.get('reuse') == '1' else 'new connection per message (no -d)'}, "
        f"no pipelining (smtp-source cannot pipeline), {meta.get('rounds')} round(s), targets rotated per round",
        f"- sink: `{meta.get('sink_cmd')}` (discards messages, nothing written to disk)",
        f"- haproxy {meta.get('haproxy_version')}: mode tcp, nbthread {meta.get('haproxy_threads')}",
        f"- Sluice: {meta.get('sluice_cmd')}",
        "",
    ]
    return lines


def throughput(tsv, meta_path):
    meta = json.load(open(meta_path))
    rows = load(tsv)
    rounds = sorted({r["round"] for r in rows})
    sessions = sorted({r["sessions"] for r in rows})
    targets = [t for t in TARGETS if any(r["target"] == t[0] for r in rows)]
    by = {(r["round"], r["sessions"], r["target"]): r for r in rows}

    out = header(meta)
    cols = ["sessions", "metric"] + [f"round {n}" for n in rounds] + ["median", "max/min"]
    out.append("## Messages per second (higher is better)")
    out.append("")
    out.append("| " + " | ".join(cols) + " |")
    out.append("|" + "|".join(["---:" if i != 1 else "---" for i in range(len(cols))]) + "|")
    for s in sessions:
        for key, label in targets:
            cells = []
            vals = []
            for n in rounds:
                r = by.get((n, s, key))
                v = r["rate"] if r else None
                vals.append(v)
                cells.append(fnum(v) if r and r["status"] == "ok" else (r["status"] if r else "n/a"))
            ok = [v for v in vals if v]
            spread = fnum(max(ok) / min(ok), 2) if len(ok) > 1 else ""
            out.append(f"| {s} | {label} msgs/s | " + " | ".join(cells) + f" | **{fnum(med(vals))}** | {spread} |")
        for num, den, label in (("sluice", "haproxy", "Sluice/haproxy"), ("sluice", "direct", "Sluice/direct"),
                                ("haproxy", "direct", "haproxy/direct"), ("glue", "haproxy", "NIO glue/haproxy"),
                                ("sluice", "glue", "Sluice/NIO glue"), ("baseline", "haproxy", "baseline/haproxy"),
                                ("sluice", "baseline", "Sluice/baseline")):
            if not any(k == num for k, _ in targets) or not any(k == den for k, _ in targets):
                continue
            ratios = []
            for n in rounds:
                a, b = by.get((n, s, num)), by.get((n, s, den))
                ratios.append(a["rate"] / b["rate"] if a and b and a["rate"] and b["rate"] else None)
            out.append(f"| {s} | {label} | " + " | ".join(fnum(x, 2) for x in ratios) + f" | **{fnum(med(ratios), 2)}** | |")
    out.append("")

    proxies = [t for t in targets if t[0] != "direct"]
    if proxies:
        out.append("## Proxy CPU time per message (µs, user+sys of the proxy process; lower is better)")
        out.append("")
        out.append("| sessions | proxy | " + " | ".join(f"round {n}" for n in rounds) + " | median |")
        out.append("|---:|---|" + "---:|" * (len(rounds) + 1))
        for s in sessions:
            for key, label in proxies:
                vals = [by[(n, s, key)]["cpu_us_per_msg"] if (n, s, key) in by else None for n in rounds]
                out.append(f"| {s} | {label} | " + " | ".join(fnum(v) for v in vals) + f" | **{fnum(med(vals))}** |")
        out.append("")

    bad = [r for r in rows if r["status"] != "ok" or (r["delivered"] not in ("", "-") and int(r["delivered"]) != int(r["messages"]))]
    if bad:
        out.append("## Problems")
        out.append("")
        for r in bad:
            out.append(f"- round {r['round']}, {r['sessions']} sessions, {r['target']}: status {r['status']}, "
                       f"sink counted {r['delivered']} of {r['messages']} messages")
        out.append("")
    return "\n".join(out)


def memory(big_path, idle_path, meta_path):
    meta = json.load(open(meta_path))
    out = ["## Sluice memory", ""]
    out.append(f"Sluice: {meta.get('sluice_cmd')}")
    out.append("")
    out.append("| measurement | value |")
    out.append("|---|---:|")
    try:
        big = json.load(open(big_path))
    except Exception as e:
        big = {"error": f"no result ({e})"}
    if "rss_before_kib" in big:
        out.append(f"| 100 MiB message: VmRSS before (after a 10 KiB warm-up message) | {big['rss_before_kib'] / 1024:,.1f} MiB |")
        out.append(f"| 100 MiB message: peak RSS (max of VmHWM after, VmRSS sampled every 50 ms) | "
                   f"{big['rss_peak_kib'] / 1024:,.1f} MiB (VmHWM {big['hwm_after_kib'] / 1024:,.1f}, "
                   f"sampled {big['rss_peak_sampled_kib'] / 1024:,.1f}) |")
        out.append(f"| **100 MiB message: peak RSS growth** | **{(big['rss_peak_kib'] - big['rss_before_kib']) / 1024:,.1f} MiB** |")
        out.append(f"| 100 MiB message: VmRSS after | {big['rss_after_kib'] / 1024:,.1f} MiB |")
        if "spool_peak_sampled_bytes" in big:
            out.append(f"| 100 MiB message: peak size of spool files (sampled) | {big['spool_peak_sampled_bytes'] / 1048576:,.1f} MiB |")
        if not big.get("hwm_reset", False):
            out.append("| note | VmHWM could not be reset after warm-up: peak includes start-up |")
    send = big.get("send", {})
    if send:
        if send.get("accepted"):
            out.append(f"| 100 MiB message: relayed in | {send.get('seconds')} s ({send.get('mib_per_second')} MiB/s) |")
        else:
            out.append(f"| 100 MiB message: **NOT accepted** | {send.get('stage', '')} {send.get('reply', '')} {send.get('error', '')} |")
        out.append(f"| 100 MiB message: sink counted it | {big.get('sink_delivered', 'n/a')} |")
    if "error" in big:
        out.append(f"| 100 MiB message: error | {big['error']} |")

    try:
        idle = json.load(open(idle_path))
    except Exception as e:
        idle = {"error": f"no result ({e})"}
    if "rss_before_kib" in idle:
        out.append(f"| idle: sessions open (220 + EHLO done) | {idle['sessions_open']} of {idle['sessions_requested']} "
                   f"({idle['sessions_alive_after_settle']} still alive after settle) |")
        out.append(f"| idle: VmRSS before / with sessions / after close | {idle['rss_before_kib'] / 1024:,.1f} / "
                   f"{idle['rss_with_sessions_kib'] / 1024:,.1f} / {idle['rss_after_close_kib'] / 1024:,.1f} MiB |")
        out.append(f"| **idle: RSS per idle session** | **{fnum(idle['kib_per_session'], 1)} KiB** |")
        out.append(f"| idle: threads / fds with sessions | {idle['threads_with_sessions']} / {idle['fds_with_sessions']} |")
        if idle.get("errors"):
            out.append(f"| idle: errors | {'; '.join(idle['errors'])} |")
    if "error" in idle:
        out.append(f"| idle: error | {idle['error']} |")
    out.append("")
    return "\n".join(out)


def main():
    if sys.argv[1] == "throughput":
        print(throughput(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "memory":
        print(memory(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit("usage: report.py throughput TSV META | memory BIG IDLE META")


if __name__ == "__main__":
    main()
