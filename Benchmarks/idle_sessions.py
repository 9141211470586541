#!/usr/bin/env python3
"""Measure a server's resident memory per idle SMTP session.

  idle_sessions.py --port PORT --pid SERVER_PID [--count 1000] [--settle 2]

Samples VmRSS of SERVER_PID, then opens COUNT connections one after another, reads the 220
greeting on each, sends "EHLO bench" and reads the full reply, and holds them all open. After
SETTLE seconds it samples VmRSS again (the maximum of a few samples), closes every connection
(with QUIT) and samples once more. Prints one JSON object; exit status 0 only if all COUNT
sessions reached the EHLO reply.
"""
import argparse
import json
import resource
import socket
import sys
import time


def status(pid: int) -> dict:
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def fd_count(pid: int) -> int:
    import os
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def read_reply(sock: socket.socket, buf: bytes):
    """Read one complete reply; return (code, rest_of_buffer)."""
    while True:
        while b"\r\n" not in buf:
            data = sock.recv(8192)
            if not data:
                raise ConnectionError("closed by server")
            buf += data
        line, buf = buf.split(b"\r\n", 1)
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), buf


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--settle", type=float, default=2.0)
    p.add_argument("--timeout", type=float, default=15.0)
    a = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    before = status(a.pid)
    fds_before = fd_count(a.pid)
    socks, errors = [], []
    t0 = time.monotonic()
    deadline = t0 + max(60.0, a.count * 0.1)  # bounded overall
    for i in range(a.count):
        if time.monotonic() > deadline:
            errors.append("overall deadline reached after %d sessions" % len(socks))
            break
        try:
            s = socket.create_connection((a.host, a.port), timeout=a.timeout)
            code, buf = read_reply(s, b"")
            if code != 220:
                raise RuntimeError("greeting %d" % code)
            s.sendall(b"EHLO bench\r\n")
            code, buf = read_reply(s, buf)
            if code != 250:
                raise RuntimeError("EHLO %d" % code)
            socks.append(s)
        except Exception as e:
            errors.append("session %d: %s" % (i, e))
            if len(errors) >= 20:
                break
    open_seconds = time.monotonic() - t0

    time.sleep(a.settle)
    samples = []
    for _ in range(5):
        samples.append(status(a.pid))
        time.sleep(0.2)
    during = max(samples, key=lambda s: s.get("VmRSS", 0))
    fds_during = fd_count(a.pid)

    # Sessions still alive after the settle time (a server may have dropped some).
    alive = 0
    for s in socks:
        try:
            s.setblocking(False)
            try:
                data = s.recv(1)
                alive += 0 if data == b"" else 1
            except BlockingIOError:
                alive += 1
        except Exception:
            pass
    for s in socks:
        try:
            s.setblocking(True)
            s.settimeout(0.5)
            s.sendall(b"QUIT\r\n")
        except Exception:
            pass
    for s in socks:
        try:
            s.close()
        except Exception:
            pass
    time.sleep(a.settle)
    after = status(a.pid)

    n = len(socks)
    delta = during["VmRSS"] - before["VmRSS"]
    result = {
        "sessions_requested": a.count,
        "sessions_open": n,
        "sessions_alive_after_settle": alive,
        "open_seconds": round(open_seconds, 3),
        "rss_before_kib": before["VmRSS"],
        "rss_with_sessions_kib": during["VmRSS"],
        "rss_after_close_kib": after["VmRSS"],
        "rss_delta_kib": delta,
        "kib_per_session": round(delta / n, 2) if n else None,
        "threads_before": before.get("Threads"),
        "threads_with_sessions": during.get("Threads"),
        "fds_before": fds_before,
        "fds_with_sessions": fds_during,
        "errors": errors[:5],
    }
    print(json.dumps(result))
    return 0 if n == a.count and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
