#!/usr/bin/env python3
"""Generate a large test message and relay it through an SMTP server.

  big_message.py gen  --out FILE --mib 100
  big_message.py send --host 127.0.0.1 --port PORT --file FILE [--timeout 900]
  big_message.py measure --port PORT --pid SERVER_PID --file FILE [--warmup-file SMALL]
                         [--sink-log SINK_STDOUT] [--spool-dir DIR]

`gen` writes headers plus MiB * 1 MiB of 76-column base64-like body lines with CRLF line ends
(the file is already in wire form; no line starts with '.', so no dot-stuffing is needed).
`send` streams the file over a raw socket (EHLO, MAIL with SIZE= when advertised, RCPT, DATA),
never holding it in memory, and prints one JSON object: the final reply, bytes and seconds.
`measure` sends the warm-up message, resets the server's VmHWM (/proc/PID/clear_refs), samples
VmRSS, relays FILE, and reports VmRSS before, VmHWM after (peak) and the growth in MiB.
Exit status 0 only if the (big) message was accepted with a 2xx reply.
"""
import argparse
import base64
import json
import os
import socket
import sys
import time

LINE = 76
CHUNK = 1 << 20


def gen(path: str, mib: float) -> None:
    body_bytes = int(mib * 1024 * 1024)
    headers = (
        "From: <bench@sluice.test>\r\n"
        "To: <sink@sluice.test>\r\n"
        "Subject: sluice big message benchmark\r\n"
        "Message-ID: <big-%d@sluice.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" % int(time.time())
    ).encode()
    # One random block of whole lines, repeated; content is irrelevant to a relay.
    lines_per_block = 8192
    raw = base64.b64encode(os.urandom(lines_per_block * LINE * 3 // 4 + 3))
    block = b"".join(raw[i * LINE:(i + 1) * LINE] + b"\r\n" for i in range(lines_per_block))
    with open(path, "wb") as f:
        f.write(headers)
        written = 0
        while written + len(block) <= body_bytes:
            f.write(block)
            written += len(block)
        # Remainder: whole lines from the block, then one shorter line (body within 2 bytes of exact).
        full, rem = divmod(body_bytes - written, LINE + 2)
        f.write(block[:full * (LINE + 2)])
        if rem >= 3:
            f.write(raw[:rem - 2] + b"\r\n")


class Conn:
    def __init__(self, host: str, port: int, timeout: float):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def reply(self):
        """Read one (possibly multi-line) reply; return (code, [lines])."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("connection closed; got %r" % (lines,))
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text)
            if len(text) < 4 or text[3] != "-":
                return int(text[:3]), lines

    def cmd(self, line: str):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()


def send(host: str, port: int, path: str, timeout: float) -> dict:
    size = os.path.getsize(path)
    result = {"bytes": size, "accepted": False}
    t0 = time.monotonic()
    try:
        c = Conn(host, port, timeout)
        code, lines = c.reply()
        if code != 220:
            raise RuntimeError("greeting: %s" % lines)
        code, lines = c.cmd("EHLO bench.sluice.test")
        if code != 250:
            raise RuntimeError("EHLO: %s" % lines)
        caps = [l[4:].upper() for l in lines[1:]]
        size_param = " SIZE=%d" % size if any(k == "SIZE" or k.startswith("SIZE ") for k in caps) else ""
        for line, want in (("MAIL FROM:<bench@sluice.test>" + size_param, 250),
                           ("RCPT TO:<sink@sluice.test>", 250),
                           ("DATA", 354)):
            code, lines = c.cmd(line)
            if code != want:
                result["stage"] = line.split(":")[0]
                result["reply"] = " | ".join(lines)
                raise RuntimeError("%s -> %s" % (line, lines))
        t_data = time.monotonic()
        with open(path, "rb") as f:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                c.sock.sendall(chunk)
        c.sock.sendall(b".\r\n")
        t_dot = time.monotonic()
        code, lines = c.reply()
        t_end = time.monotonic()
        result.update(stage="DOT", reply=" | ".join(lines), code=code, accepted=200 <= code < 300,
                      send_seconds=round(t_dot - t_data, 3), final_reply_wait_seconds=round(t_end - t_dot, 3))
        try:
            c.cmd("QUIT")
        except Exception:
            pass
        c.sock.close()
    except Exception as e:  # report, do not trace back: the harness records the failure
        result.setdefault("error", str(e)[:500])
    result["seconds"] = round(time.monotonic() - t0, 3)
    if result["accepted"] and result["seconds"] > 0:
        result["mib_per_second"] = round(size / 1048576 / result["seconds"], 1)
    return result


def proc_status(pid: int) -> dict:
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def sink_messages(log_path: str) -> int:
    """Last "mesg=N" counter that `smtp-sink -c` wrote to its stdout log (-1 if unknown)."""
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            tail = f.read().decode("ascii", "replace")
    except OSError:
        return -1
    pos = tail.rfind("mesg=")
    if pos < 0:
        return 0 if not tail.strip() else -1
    digits = ""
    for ch in tail[pos + 5:]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else -1


def spool_bytes(pid: int, spool_dir: str) -> int:
    """Bytes in files under spool_dir: those the server holds open (even if already unlinked,
    as a spool file often is) plus any other files in the directory."""
    spool_dir = os.path.realpath(spool_dir)
    seen, total = set(), 0
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
            if not target.startswith(spool_dir + "/"):
                continue
            st = os.stat(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    for root, _, files in os.walk(spool_dir):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def measure(a) -> dict:
    """Warm up with a small message, reset the peak, relay the big one, report RSS growth."""
    import threading

    out = {"pid": a.pid}
    if a.warmup_file:
        out["warmup"] = send(a.host, a.port, a.warmup_file, a.timeout)
    time.sleep(0.5)
    try:  # "5" resets VmHWM to the current RSS (Linux >= 4.0)
        with open("/proc/%d/clear_refs" % a.pid, "w") as f:
            f.write("5")
        out["hwm_reset"] = True
    except OSError:
        out["hwm_reset"] = False
    sink_before = sink_messages(a.sink_log) if a.sink_log else -1
    before = proc_status(a.pid)
    peak = {"rss": before["VmRSS"], "spool": 0}
    stop = threading.Event()

    def sampler():
        while not stop.is_set():
            try:
                peak["rss"] = max(peak["rss"], proc_status(a.pid)["VmRSS"])
                if a.spool_dir:
                    peak["spool"] = max(peak["spool"], spool_bytes(a.pid, a.spool_dir))
            except (OSError, KeyError):
                return
            stop.wait(0.05)

    t = threading.Thread(target=sampler, daemon=True)
    t.start()
    out["send"] = send(a.host, a.port, a.file, a.timeout)
    stop.set()
    t.join(2)
    time.sleep(0.5)
    after = proc_status(a.pid)
    # The kernel folds the current RSS into VmHWM lazily, so take the larger of it and the samples.
    peak_kib = max(after["VmHWM"], peak["rss"])
    out.update(rss_before_kib=before["VmRSS"], hwm_after_kib=after["VmHWM"], rss_after_kib=after["VmRSS"],
               rss_peak_sampled_kib=peak["rss"], rss_peak_kib=peak_kib,
               rss_growth_mib=round((peak_kib - before["VmRSS"]) / 1024, 1))
    if a.spool_dir:
        out["spool_peak_sampled_bytes"] = peak["spool"]
    if a.sink_log:
        sink_after = sink_messages(a.sink_log)
        out["sink_delivered"] = sink_after - sink_before if sink_before >= 0 and sink_after >= 0 else "unknown"
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="op", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--mib", type=float, default=100)
    s = sub.add_parser("send")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--file", required=True)
    s.add_argument("--timeout", type=float, default=900)
    m = sub.add_parser("measure")
    m.add_argument("--host", default="127.0.0.1")
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--pid", type=int, required=True, help="server process whose memory is sampled")
    m.add_argument("--file", required=True)
    m.add_argument("--warmup-file")
    m.add_argument("--sink-log", help="stdout of `smtp-sink -c`, to confirm delivery")
    m.add_argument("--spool-dir", help="spool files (open or in the folder) sampled for their peak size")
    m.add_argument("--timeout", type=float, default=900)
    a = p.parse_args()
    if a.op == "gen":
        gen(a.out, a.mib)
        return 0
    if a.op == "send":
        result = send(a.host, a.port, a.file, a.timeout)
        print(json.dumps(result))
        return 0 if result["accepted"] else 1
    result = measure(a)
    print(json.dumps(result))
    return 0 if result["send"]["accepted"] else 1


if __name__ == "__main__":
    sys.exit(main())
