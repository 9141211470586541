#!/usr/bin/env python3
"""Soak test for Sluice: mixed load against a Sluice whose upstream is SIGKILLed every 30 s.

  python3 Benchmarks/soak/soak.py --sluice PATH [--seconds N] [--rate MSGS_PER_S] [--keep]

N (default 600, or $SOAK_SECONDS) is the length of the load phase. See Benchmarks/soak/README.md.
Python 3 standard library only, plus Postfix's smtp-source. Everything binds 127.0.0.1; all child
processes are killed at exit (Ctrl-C too); scratch files live in one temp dir, removed unless --keep
or a check failed.
"""
import argparse
import base64
import collections
import os
import random
import re
import shutil
import signal
import smtplib
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
UPSTREAM_KILL_EVERY = 30.0   # seconds between SIGKILLs of the upstream
UPSTREAM_DOWN_FOR = 1.0      # seconds it stays down (Sluice sees refused connections)
FD_ALLOWANCE = 3             # descriptors the end may hold above the idle baseline
RSS_TOLERANCE = 0.10

SENDERS = ["alice@senders.example", "bob@senders.example", "carol@mail.partner.example",
           "dave@news.example.org", "erin@senders.example"]
RECIPIENTS = ["u1@example.com", "u2@example.com", "u3@example.net", "sales@example.com",
              "u5@sub.example.net"]
LOAD_SENDER, LOAD_RCPT = "soak-load@load.example", "sink@example.com"        # smtp-source
TRICKLE_SENDER, ABORT_SENDER = "trickle@senders.example", "abort@senders.example"


def log(msg):
    print("[%7.1fs] %s" % (time.monotonic() - T0, msg), flush=True)


T0 = time.monotonic()


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------------------------------------- config

CONFIG = r'''# Written by Benchmarks/soak/soak.py
hostname     soak.sluice.test
limit message-size   8M
limit memory-spool   64K          # larger messages are spooled to disk
limit recipients     20
limit idle-timeout   2m
limit errors         10
limit line-length    8K
timeout upstream-connect 10s
timeout upstream-command 30s
timeout upstream-data    60s
shutdown-grace 5s

greylist delay        0s          # first sight of a key: 451; any retry passes (soak pre-passes all keys)
greylist retry-window 48h
greylist expire       35d
greylist auto-allow   0           # never skip the store: every RCPT is one upsert
greylist mode         per-recipient
greylist on-error     pass
greylist store        sqlite "{tmp}/greylist.db"

list blocked   cidr    {{ 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 }}
list local     domain  {{ example.com, example.net, .example.net }}
list vip       address {{ ceo@example.com, board@example.net }}
list badfrom   pcre    file "{tmp}/bad-senders.pcre"
list badhelo   domain  {{ spammer.example, .botnet.example }}
list roles     address file "{tmp}/roles.txt"
list partners  domain  {{ partner.example, .partner.example }}

stage connect
  reject     client in blocked                                   "554 5.7.1 Your network is blocked"
  log        "soak connect"

stage helo
  reject     helo ~ /^(localhost|127\.)/i                         "550 5.7.1 Bogus HELO"
  reject     helo ~ /^\[?[0-9.]+\]?$/                             "550 5.7.1 Bare IP address in HELO"
  reject     helo in badhelo                                     "550 5.7.1 Known spammer"
  reject     helo ~ /\.(invalid|localdomain)$/i                   "550 5.7.1 Invalid HELO domain"
  tag        soakhelo
  accept     helo ~ /soak\.example$/i

stage mail
  reject     sender ~ /@spam\.example$/i                         "550 5.7.1 Sender not accepted"
  reject     sender in badfrom                                   "550 5.7.1 Sender not accepted"
  reject     sender.domain = "blocked.example"                   "550 5.7.1 Domain blocked"
  reject     size > 6M                                           "552 5.3.4 Too big for us"
  tag        partner
  accept     sender.domain in partners

stage rcpt
  reject     rcpt.domain not in local                            "554 5.7.1 Relay access denied"
  reject     rcpt ~ /^(postmaster|abuse)@/i and sender = ""      "550 5.7.1 No bounces to role accounts"
  reject     rcpt in roles and sender = ""                       "550 5.7.1 No bounces to this role"
  defer      rcpt in vip and not tls                             "450 4.7.0 Try again over TLS"
  defer      rcpt.count > 15                                     "452 4.5.3 Too many recipients"
  greylist

stage data
  reject     rcpt.count > 18                                     "554 5.5.3 Too many recipients"

stage header
  remove     header "X-Internal-*"
  replace    header "X-Mailer" "redacted"
  add        header "X-Sluice-Checked" "yes"
  reject     header "Subject" ~ /\bwire transfer\b/i              "550 5.7.1 Content rejected"
  reject     header "Subject" ~ /\b(viagra|cialis)\b/i            "550 5.7.1 Spam subject"
  reject     header "From" ~ /@spam\.example>?$/i                 "550 5.7.1 Spam From"
  reject     header "Reply-To" ~ /@(bulk|spam)\.example/i         "550 5.7.1 Spam Reply-To"
  reject     header "X-Spam-Flag" ~ /^yes$/i                      "550 5.7.1 Spam flagged"
  log        "soak header seen"
  tag        soakheader

stage body
  reject     body ~ /\b4[0-9]{{12}}(?:[0-9]{{3}})?\b/                "550 5.7.1 Card number detected"
  reject     body ~ /\bclick here to claim your prize\b/i         "550 5.7.1 Spam body"
  reject     body ~ /https?:\/\/[a-z0-9.-]*\.phish\.example\//i   "550 5.7.1 Phishing link"
  reject     body ~ /\bIBAN:? ?DE[0-9]{{20}}\b/                     "550 5.7.1 Account number detected"
  reject     body ~ /(?m)^begin 6[0-7]{{2}} .*\.exe$/               "550 5.7.1 Executable attachment"
  reject     body ~ /\bunsubscribe\b.*\bwinner\b/is               "550 5.7.1 Lottery spam"

stage eom
  discard    tagged sinkhole
  reject     body ~ /\bconfidential: do not relay\b/i             "550 5.7.1 Confidential content"
'''

BAD_SENDERS = "/^[0-9]+@/\n/@(mailer-daemon|bulk)\\.example$/i\n/\\.(zip|top|xyz)$/i\n"
ROLES = "abuse@example.com\nnoc@example.com\n@bounces.example.net\n"


# ---------------------------------------------------------------------------------------------- helpers

def proc_fds(pid):
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    out = []
    for n in names:
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, n)))
        except OSError:
            pass
    return out


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out


def fd_kinds(targets):
    c = collections.Counter()
    for t in targets:
        c[re.sub(r"\[\d+\]", "", t) if not t.startswith("/") else ("file:" + t)] += 1
    return dict(c)


def read_reply(sock, buf):
    """One complete SMTP reply from a raw socket: (code, text, rest)."""
    lines = []
    while True:
        while b"\r\n" not in buf:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            buf += data
        line, buf = buf.split(b"\r\n", 1)
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            try:
                code = int(line[:3])
            except ValueError:
                code = 0
            return code, b"\n".join(lines).decode(errors="replace"), buf


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = collections.Counter()

    def inc(self, key, n=1):
        with self.lock:
            self.c[key] += n

    def get(self, key):
        with self.lock:
            return self.c[key]

    def snapshot(self):
        with self.lock:
            return collections.Counter(self.c)


# A pool of base64 text (76-column CRLF lines) to cut bodies from; no line starts with a dot.
LINE = 78
POOL = b"".join(base64.b64encode(os.urandom(57)) + b"\r\n" for _ in range((4 * 1024 * 1024) // LINE + 1))


def body_of(size, rng):
    lines = max(1, size // LINE)
    start = rng.randrange(0, len(POOL) // LINE - lines) * LINE
    return POOL[start:start + lines * LINE]


def pick_size(rng):
    r = rng.random()
    if r < 0.70:
        return rng.randint(1024, 16 * 1024)
    if r < 0.90:
        return rng.randint(16 * 1024, 256 * 1024)
    if r < 0.98:
        return rng.randint(256 * 1024, 1024 * 1024)
    return rng.randint(1024 * 1024, 2 * 1024 * 1024)


# -------------------------------------------------------------------------------------------- the soak

class Soak:
    def __init__(self, args):
        self.a = args
        self.tmp = tempfile.mkdtemp(prefix="sluice-soak-")
        self.spool = os.path.join(self.tmp, "spool")
        os.mkdir(self.spool)
        self.uplog = os.path.join(self.tmp, "upstream.log")
        self.conf = os.path.join(self.tmp, "soak.conf")
        self.sluice_log = os.path.join(self.tmp, "sluice.log")
        self.port, self.uport = free_port(), free_port()
        self.stop = threading.Event()          # stops the load
        self.stop_upstream = threading.Event()  # stops the kill/restart cycle
        self.procs = []
        self.procs_lock = threading.Lock()
        self.upstream = None
        self.upstream_lock = threading.Lock()
        self.sluice = None
        self.stats = Stats()
        self.acked = set()
        self.rejected_ids = set()
        self.attempted = set()
        self.ids_lock = threading.Lock()
        self.seq = 0
        self.samples = []
        self.ref = None                  # (fds, rss) at the RSS reference point
        self.spool_fds_max = 0
        self.spool_seen = set()  # spool file names seen open (sampled every 0.5 s)
        self.threads = []
        self.load_start = None

    # ------------------------------------------------------------------ processes
    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        with self.procs_lock:
            self.procs.append(p)
        return p

    def kill_all(self):
        with self.procs_lock:
            procs = list(self.procs)
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=5)
            except Exception:
                pass

    def start_upstream(self):
        for attempt in range(40):
            p = self.spawn([sys.executable, os.path.join(HERE, "recording_upstream.py"),
                            "--host", HOST, "--port", str(self.uport), "--log", self.uplog],
                           stdout=subprocess.PIPE, stderr=open(os.path.join(self.tmp, "upstream.err"), "ab"))
            line = p.stdout.readline()
            if line.strip() == b"READY":
                with self.upstream_lock:
                    self.upstream = p
                return p
            p.wait()
            time.sleep(0.25)
        raise RuntimeError("recording upstream does not start (see %s/upstream.err)" % self.tmp)

    def upstream_cycle(self):
        while not self.stop_upstream.wait(UPSTREAM_KILL_EVERY):
            with self.upstream_lock:
                p, self.upstream = self.upstream, None
            p.kill()
            p.wait()
            self.stats.inc("upstream_kills")
            if self.stop_upstream.wait(UPSTREAM_DOWN_FOR):
                self.start_upstream()
                break
            self.start_upstream()

    def start_sluice(self):
        with open(os.path.join(self.tmp, "bad-senders.pcre"), "w") as f:
            f.write(BAD_SENDERS)
        with open(os.path.join(self.tmp, "roles.txt"), "w") as f:
            f.write(ROLES)
        with open(self.conf, "w") as f:
            f.write(CONFIG.format(tmp=self.tmp))
        chk = subprocess.run([self.a.sluice, "check", "--config", self.conf], capture_output=True, text=True)
        if chk.returncode != 0:
            raise RuntimeError("sluice check failed:\n" + chk.stdout + chk.stderr)
        self.sluice = self.spawn([self.a.sluice, "run", "--listen", "%s:%d" % (HOST, self.port),
                                  "--upstream", "%s:%d" % (HOST, self.uport), "--config", self.conf,
                                  "--spool-dir", self.spool, "--threads", str(self.a.threads),
                                  "--log-level", "notice"] + (["--allow-root"] if os.getuid() == 0 else []),
                                 stdout=subprocess.DEVNULL, stderr=open(self.sluice_log, "wb"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.sluice.poll() is not None:
                raise RuntimeError("sluice exited at start with %s:\n%s" % (self.sluice.returncode, self.tail_log()))
            try:
                s = socket.create_connection((HOST, self.port), timeout=5)
                code, _, _ = read_reply(s, b"")
                s.sendall(b"QUIT\r\n")
                s.close()
                if code == 220:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("sluice does not answer on port %d" % self.port)

    def tail_log(self, n=30):
        try:
            with open(self.sluice_log, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------------ greylist pre-pass
    def prepass(self):
        """Every key the load uses: first contact (451), then the retry passes (delay 0)."""
        pairs = [(s, r) for s in SENDERS + [TRICKLE_SENDER, ABORT_SENDER] for r in RECIPIENTS]
        pairs.append((LOAD_SENDER, LOAD_RCPT))
        first, passed = collections.Counter(), 0
        # A 451 counts against `limit errors`: a few keys per session.
        for chunk in range(0, len(pairs), 4):
            with smtplib.SMTP(HOST, self.port, local_hostname="prepass.soak.example", timeout=30) as c:
                c.ehlo()
                for s, r in pairs[chunk:chunk + 4]:
                    c.mail(s)
                    for attempt in range(3):
                        code, _ = c.rcpt(r)
                        first[(attempt, code)] += 1
                        if code == 250:
                            passed += 1
                            break
                        time.sleep(0.05)
                    c.rset()
        if passed != len(pairs):
            raise RuntimeError("greylist pre-pass: %d of %d keys passed (%s)" % (passed, len(pairs), dict(first)))
        log("greylist pre-pass: %d keys passed (replies by attempt: %s)" % (passed, dict(first)))

    # ------------------------------------------------------------------ (a) verified sender
    def next_id(self):
        with self.ids_lock:
            self.seq += 1
            return "soak-%d-%06d" % (os.getpid(), self.seq)

    def sender_thread(self, n, interval):
        rng = random.Random(n * 7919 + 1)
        next_at = time.monotonic() + rng.random() * interval
        conn, left = None, 0
        while not self.stop.is_set():
            now = time.monotonic()
            if next_at > now:
                if self.stop.wait(next_at - now):
                    break
            elif now - next_at > 2.0:
                next_at = now  # fell behind (a slow large message): don't burst
            next_at += interval
            try:
                if conn is None:
                    conn = smtplib.SMTP(HOST, self.port, local_hostname="sender%d.soak.example" % n, timeout=60)
                    conn.ehlo()
                    left = rng.randint(1, 8)
                fresh = self.send_one(conn, rng)
                left -= 1
                if fresh or left <= 0:
                    try:
                        conn.quit()
                    except (smtplib.SMTPException, OSError):
                        pass
                    conn = self.drop(conn)
            except smtplib.SMTPConnectError as e:
                self.stats.inc("tempfail_%d@greeting" % e.smtp_code if 400 <= e.smtp_code < 500 else "unexpected_%d@greeting" % e.smtp_code)
                conn = self.drop(conn)
            except (smtplib.SMTPException, OSError) as e:
                self.stats.inc("conn_error")
                conn = self.drop(conn)
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.drop(conn)

    @staticmethod
    def drop(conn):
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass
        return None

    def send_one(self, conn, rng):
        mid = self.next_id()
        sender = rng.choice(SENDERS)
        rcpts = rng.sample(RECIPIENTS, rng.choice([1, 1, 1, 2, 3]))
        bad = rng.random() < 0.03
        subject = "soak message %s" % mid
        extra = ""
        body = body_of(pick_size(rng), rng)
        if bad:
            kind = rng.choice(["subject", "body", "eom"])
            if kind == "subject":
                subject = "urgent wire transfer %s" % mid
            elif kind == "body":
                body = body + b"please click here to claim your prize\r\n"
            else:
                body = body + b"confidential: do not relay\r\n"
        head = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@soak.example>\r\n"
                "X-Soak-Id: %s\r\nX-Mailer: soak.py\r\nX-Internal-Route: a1\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=us-ascii\r\n%s\r\n") % (
            sender, ", ".join("<%s>" % r for r in rcpts), subject,
            time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()), mid, mid, extra)
        msg = head.encode() + body
        with self.ids_lock:
            self.attempted.add(mid)
        self.stats.inc("sent")
        try:
            refused = conn.sendmail(sender, rcpts, msg)
        except smtplib.SMTPRecipientsRefused as e:
            self.count_refusals(e.recipients)
            self.stats.inc("no_rcpt_accepted")
            return True
        except smtplib.SMTPResponseException as e:
            code = e.smtp_code
            stage = {smtplib.SMTPHeloError: "EHLO", smtplib.SMTPSenderRefused: "MAIL",
                     smtplib.SMTPDataError: "DATA"}.get(type(e), type(e).__name__)
            if 400 <= code < 500:
                self.stats.inc("tempfail_%d@%s" % (code, stage))
                return True  # start a fresh session after a 4xx
            if bad and code == 550:
                self.stats.inc("rejected_as_expected")
                with self.ids_lock:
                    self.rejected_ids.add(mid)
                return False
            self.stats.inc("unexpected_%d@%s" % (code, stage))
            self.stats.inc("unexpected")
            if self.stats.get("unexpected") <= 5:
                log("unexpected reply for %s (%d bytes): %d %r" % (mid, len(msg), code, e.smtp_error))
            return True
        if refused:
            self.count_refusals(refused)
        if bad:
            self.stats.inc("bad_but_accepted")
            if self.stats.get("bad_but_accepted") <= 5:
                log("a message that policy should refuse got 250: %s" % mid)
        with self.ids_lock:
            self.acked.add(mid)
        self.stats.inc("acked")
        self.stats.inc("acked_bytes", len(msg))
        return False

    def count_refusals(self, refused):
        for rcpt, (code, text) in refused.items():
            if code == 451 and b"4.7.1" in text:
                self.stats.inc("greylist_deferral")
            elif 400 <= code < 500:
                self.stats.inc("tempfail_%d@RCPT" % code)
            else:
                self.stats.inc("unexpected_%d@RCPT" % code)
                self.stats.inc("unexpected")

    # ------------------------------------------------------------------ (b) smtp-source
    def smtp_source_loop(self):
        out = open(os.path.join(self.tmp, "smtp-source.log"), "ab")
        while not self.stop.is_set():
            p = self.spawn([self.a.smtp_source, "-s", "5", "-w", "1", "-m", "100", "-l", "10240",
                            "-M", "load.soak.example", "-f", LOAD_SENDER, "-t", LOAD_RCPT,
                            "%s:%d" % (HOST, self.port)], stdout=out, stderr=out)
            while p.poll() is None:
                if self.stop.wait(0.5):
                    p.kill()
                    p.wait()
                    return
            self.stats.inc("smtp_source_runs")
            if p.returncode != 0:
                self.stats.inc("smtp_source_failed_runs")
                self.stop.wait(0.5)

    # ------------------------------------------------------------------ (c) tricklers
    def trickler(self, n):
        """A slow client: the commands before its slow phase go line by line (a line a second), then from
        a randomly chosen phase on (EHLO, MAIL, RCPT or the DATA content) one byte every 0.5-3 s. Every
        upstream restart cuts it off (Sluice has no upstream for it any more); it then reconnects."""
        rng = random.Random(n * 104729)
        lines = [b"EHLO trickle%d.soak.example\r\n" % n, ("MAIL FROM:<%s>\r\n" % TRICKLE_SENDER).encode(),
                 ("RCPT TO:<%s>\r\n" % rng.choice(RECIPIENTS)).encode(), b"DATA\r\n",
                 b"Subject: slow\r\nMessage-ID: <trickle-%d@soak.example>\r\n\r\nslowly\r\n.\r\nQUIT\r\n" % n]
        phases = {0: "EHLO", 1: "MAIL", 2: "RCPT", 4: "DATA"}  # 4: the DATA command is fast, its content slow
        self.stop.wait(rng.random() * 3)
        while not self.stop.is_set():
            slow_from = rng.choice(list(phases))
            try:
                s = socket.create_connection((HOST, self.port), timeout=10)
            except OSError:
                self.stats.inc("trickle_connect_error")
                self.stop.wait(1)
                continue
            self.stats.inc("trickle_sessions")
            self.stats.inc("trickle_slow_%s" % phases[slow_from])
            cut, buf, done = False, b"", False
            try:
                code, _, buf = read_reply(s, buf)
                if code != 220:
                    raise ConnectionError("greeting %d" % code)
                for i, line in enumerate(lines):
                    if self.stop.is_set():
                        break
                    if i < slow_from:
                        if self.stop.wait(rng.uniform(0.5, 1.5)):
                            break
                        s.sendall(line)
                        code, _, buf = read_reply(s, buf)
                        if code >= 400:
                            raise ConnectionError("reply %d" % code)
                        continue
                    for j in range(len(line)):
                        if socket_wait(s, rng.uniform(0.5, 3.0), self.stop):
                            data = s.recv(65536)
                            if not data:
                                raise ConnectionError("closed")
                            if self.stop.is_set():
                                break
                        if self.stop.is_set():
                            break
                        s.sendall(line[j:j + 1])
                else:
                    done = True
                if done:
                    self.stats.inc("trickle_completed")
            except OSError:  # ConnectionError included
                cut = True
            if cut:
                self.stats.inc("trickle_cut_off")
            s.close()
            self.stop.wait(rng.uniform(1.0, 3.0) if cut else 0.2)

    # ------------------------------------------------------------------ (d) aborter
    POINTS = ["connect", "greeting", "mid-ehlo", "ehlo", "mid-mail", "mail", "rcpt", "data",
              "mid-data-small", "mid-data-small", "mid-data-large", "mid-data-large",
              "before-dot", "after-dot"]

    def aborter(self, n):
        rng = random.Random(n * 15485863)
        while not self.stop.is_set():
            point = rng.choice(self.POINTS)
            reset = rng.random() < 0.5
            try:
                self.abort_once(point, reset, rng)
                self.stats.inc("abort_%s" % point)
            except OSError:  # includes ConnectionError: Sluice (or its upstream) ended it first
                self.stats.inc("abort_early_close")
            self.stats.inc("aborts_rst" if reset else "aborts_clean")
            self.stop.wait(rng.uniform(0.05, 0.4))

    def abort_once(self, point, reset, rng):
        s = socket.create_connection((HOST, self.port), timeout=30)
        try:
            self._abort_dialogue(s, point, rng)
        finally:
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()

    def _abort_dialogue(self, s, point, rng):
        buf = b""

        def step(line, want):
            nonlocal buf
            s.sendall(line)
            code, text, buf = read_reply(s, buf)
            if code != want:
                raise ConnectionError("got %d" % code)

        if point == "connect":
            return
        code, _, buf = read_reply(s, buf)
        if code != 220 or point == "greeting":
            return
        if point == "mid-ehlo":
            s.sendall(b"EHLO abort.so")
            return
        step(b"EHLO abort.soak.example\r\n", 250)
        if point == "ehlo":
            return
        if point == "mid-mail":
            s.sendall(b"MAIL FROM:<abort@sen")
            return
        step(("MAIL FROM:<%s>\r\n" % ABORT_SENDER).encode(), 250)
        if point == "mail":
            return
        step(("RCPT TO:<%s>\r\n" % rng.choice(RECIPIENTS)).encode(), 250)
        if point == "rcpt":
            return
        step(b"DATA\r\n", 354)
        if point == "data":
            return
        s.sendall(b"Subject: abort\r\nMessage-ID: <abort-%d@soak.example>\r\n\r\n" % rng.randrange(1 << 30))
        if point == "mid-data-small":
            s.sendall(body_of(rng.randint(1024, 48 * 1024), rng)[:-rng.randint(1, 40)])
            return
        if point == "mid-data-large":
            s.sendall(body_of(rng.randint(1100 * 1024, 3 * 1024 * 1024), rng)[:-rng.randint(1, 40)])
            self.stats.inc("abort_large_bytes_sent")
            return
        s.sendall(body_of(rng.choice([4096, 200 * 1024, 1200 * 1024]), rng))
        if point == "before-dot":
            s.sendall(b".")
            return
        s.sendall(b".\r\n")  # after-dot: leave without reading the reply

    # ------------------------------------------------------------------ sampling
    def sampler(self, ref_at):
        while not self.stop.is_set():
            fds = proc_fds(self.sluice.pid)
            st = proc_status(self.sluice.pid)
            if fds is None or st is None:
                self.stop.wait(1)
                continue
            spool = [t for t in fds if t.startswith(self.spool)]
            spool_fds = len(spool)
            self.spool_fds_max = max(self.spool_fds_max, spool_fds)
            self.spool_seen.update(spool)
            t = time.monotonic() - self.load_start
            self.samples.append((t, len(fds), st["VmRSS"]))
            if self.ref is None and t >= ref_at:
                self.ref = (t, len(fds), st["VmRSS"])
                log("reference point (%.0f s of load): fds=%d VmRSS=%d KiB" % (t, len(fds), st["VmRSS"]))
            if len(self.samples) % 20 == 0:
                c = self.stats.snapshot()
                log("acked=%d 4xx=%d conn-errors=%d greylisted=%d trickle-cut=%d aborts=%d upstream-kills=%d "
                    "fds=%d spool-fds=%d VmRSS=%d KiB" % (
                        c["acked"], sum(v for k, v in c.items() if k.startswith("tempfail_")),
                        c["conn_error"], c["greylist_deferral"], c["trickle_cut_off"],
                        c["aborts_rst"] + c["aborts_clean"], c["upstream_kills"],
                        len(fds), spool_fds, st["VmRSS"]))
            self.stop.wait(0.5)

    # ------------------------------------------------------------------ run
    def idle_fds(self, timeout, target=None):
        """Wait until the descriptor count is steady (and, with target, at most target)."""
        deadline = time.monotonic() + timeout
        last, steady = None, 0
        while time.monotonic() < deadline:
            fds = proc_fds(self.sluice.pid)
            if fds is None:
                return None
            n = len(fds)
            steady = steady + 1 if n == last else 0
            last = n
            if steady >= 4 and (target is None or n <= target):
                return fds
            time.sleep(0.5)
        return proc_fds(self.sluice.pid)

    def run(self):
        a = self.a
        log("temp dir %s; sluice on %s:%d, recording upstream on %s:%d" % (self.tmp, HOST, self.port, HOST, self.uport))
        self.start_upstream()
        self.start_sluice()
        self.prepass()
        base_fds = self.idle_fds(15)
        base_st = proc_status(self.sluice.pid)
        log("idle baseline: fds=%d %s VmRSS=%d KiB" % (len(base_fds), fd_kinds(base_fds), base_st["VmRSS"]))

        self.load_start = time.monotonic()
        ref_at = 60.0 if a.seconds >= 180 else a.seconds / 3.0
        senders = a.senders
        threads = [threading.Thread(target=self.upstream_cycle, name="upstream-cycle")]
        threads += [threading.Thread(target=self.sender_thread, args=(i, senders / a.rate)) for i in range(senders)]
        threads.append(threading.Thread(target=self.smtp_source_loop))
        threads += [threading.Thread(target=self.trickler, args=(i,)) for i in range(a.tricklers)]
        threads += [threading.Thread(target=self.aborter, args=(i,)) for i in range(a.aborters)]
        threads.append(threading.Thread(target=self.sampler, args=(ref_at,)))
        for t in threads:
            t.daemon = True
            t.start()
        self.threads = threads
        log("load started: %d senders at %.0f msg/s, smtp-source -s 5 -w 1, %d tricklers, %d aborters, "
            "upstream SIGKILLed every %.0f s" % (senders, a.rate, a.tricklers, a.aborters, UPSTREAM_KILL_EVERY))
        end = self.load_start + a.seconds
        while time.monotonic() < end:
            if self.sluice.poll() is not None:
                log("SLUICE EXITED during the load with status %s" % self.sluice.returncode)
                break
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))

        log("stopping the load")
        self.stop.set()
        self.stop_upstream.set()
        for t in threads:
            t.join(timeout=90)
        stuck = [t.name for t in threads if t.is_alive()]
        if stuck:
            log("threads still running after 90 s: %s" % stuck)
        with self.upstream_lock:
            if self.upstream is None or self.upstream.poll() is not None:
                self.start_upstream()
        return self.check(base_fds, base_st)

    # ------------------------------------------------------------------ checks
    def check(self, base_fds, base_st):
        results = []

        def result(name, ok, detail):
            results.append(ok)
            print("%s  %-28s %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)

        alive = self.sluice.poll() is None
        end_fds = self.idle_fds(60, len(base_fds) + FD_ALLOWANCE) if alive else None
        time.sleep(1)
        end_st = proc_status(self.sluice.pid) if alive else None

        counts = collections.Counter()
        with open(self.uplog, "rb") as f:
            for line in f:
                if line.endswith(b"\n"):
                    counts[line[:-1].decode(errors="replace")] += 1
        c = self.stats.snapshot()
        with self.ids_lock:
            acked, rejected, attempted = set(self.acked), set(self.rejected_ids), set(self.attempted)
        once = sum(1 for i in acked if counts[i] == 1)
        missing = sorted(i for i in acked if counts[i] == 0)
        dup = sorted(i for i in acked if counts[i] > 1)
        dup_any = sorted(i for i in counts if i.startswith("soak-") and counts[i] > 1)
        unacked_delivered = sum(1 for i in attempted - acked if counts[i] > 0)
        others = sum(v for k, v in counts.items() if not k.startswith("soak-"))
        tempfails = {k[9:]: v for k, v in sorted(c.items()) if k.startswith("tempfail_")}

        print()
        print("=== Sluice soak: %d s of load, %s ===" % (self.a.seconds, self.a.sluice))
        print("verified sender: sent %d, acknowledged %d (%.1f MiB), 4xx %s, connection errors %d, "
              "policy rejects %d (as expected), greylist deferrals %d, unexpected replies %d" % (
                  c["sent"], len(acked), c["acked_bytes"] / 1048576.0, tempfails or 0, c["conn_error"],
                  c["rejected_as_expected"], c["greylist_deferral"], c["unexpected"]))
        print("upstream: killed %d times; log has %d soak ids, %d other messages (smtp-source, tricklers, "
              "aborters); delivered but not acknowledged %d" % (c["upstream_kills"],
                                                               sum(1 for k in counts if k.startswith("soak-")),
                                                               others, unacked_delivered))
        print("smtp-source: %d runs of 100 messages (%d ended non-zero)" % (
            c["smtp_source_runs"], c["smtp_source_failed_runs"]))
        print("tricklers: %d sessions (slow from %s), %d cut off, %d completed" % (
            c["trickle_sessions"], {k[13:]: v for k, v in sorted(c.items()) if k.startswith("trickle_slow_")},
            c["trickle_cut_off"], c["trickle_completed"]))
        print("aborts %d (%d reset, %d clean), by point %s, %d ended early by Sluice" % (
                  c["aborts_rst"] + c["aborts_clean"], c["aborts_rst"], c["aborts_clean"],
                  {k[6:]: v for k, v in sorted(c.items()) if k.startswith("abort_") and k not in
                   ("abort_early_close", "abort_large_bytes_sent")}, c["abort_early_close"]))
        print("spool (sampled every 0.5 s): %d distinct spool files seen open, at most %d at once" % (
            len(self.spool_seen), self.spool_fds_max))
        print()

        result("delivery", len(acked) > 0 and not missing and not dup,
               "acknowledged %d, found once %d, missing %d, duplicated %d%s" % (
                   len(acked), once, len(missing), len(dup),
                   ("; missing e.g. %s" % missing[:5]) if missing else "") + (
                   ("; duplicated e.g. %s" % dup[:5]) if dup else ""))
        result("no duplicate relays", not dup_any, "soak ids in the upstream log more than once: %d%s" % (
            len(dup_any), (" e.g. %s" % dup_any[:5]) if dup_any else ""))
        leaked_rejects = sorted(i for i in rejected if counts[i] > 0)
        result("refused never relayed", not leaked_rejects and c["bad_but_accepted"] == 0,
               "policy-refused %d, found upstream %d, refusable but accepted %d" % (
                   len(rejected), len(leaked_rejects), c["bad_but_accepted"]))
        result("greylist store", c["greylist_deferral"] == 0,
               "%d deferrals after the pre-pass (every RCPT upserts a passed key)" % c["greylist_deferral"])
        result("process alive", alive, "pid %d %s" % (self.sluice.pid, "running" if alive
                                                          else "exited with %s" % self.sluice.returncode))
        if alive and end_fds is not None:
            ok = len(end_fds) <= len(base_fds) + FD_ALLOWANCE
            detail = "idle baseline %d, under load (reference) %s, end %d (allowance +%d)" % (
                len(base_fds), self.ref[1] if self.ref else "-", len(end_fds), FD_ALLOWANCE)
            if not ok:
                extra = collections.Counter(fd_kinds(end_fds))
                extra.subtract(fd_kinds(base_fds))
                detail += "; extra at end: %s" % {k: v for k, v in extra.items() if v}
            result("file descriptors", ok, detail)
            spool_open = [t for t in end_fds if t.startswith(self.spool)]
            left = os.listdir(self.spool)
            result("spool empty", not left and not spool_open,
                   "%d files in %s, %d spool files held open" % (len(left), self.spool, len(spool_open)))
            if self.ref:
                growth = (end_st["VmRSS"] - self.ref[2]) / float(self.ref[2])
                result("RSS", growth <= RSS_TOLERANCE,
                       "VmRSS after %.0f s of load %d KiB, end %d KiB (%+.1f %%, limit +%.0f %%); idle start %d KiB, VmHWM %d KiB" % (
                           self.ref[0], self.ref[2], end_st["VmRSS"], 100 * growth, 100 * RSS_TOLERANCE,
                           base_st["VmRSS"], end_st["VmHWM"]))
            else:
                result("RSS", False, "no reference sample was taken")
            # Clean shutdown: SIGTERM, exit 0 within the grace period.
            self.sluice.send_signal(signal.SIGTERM)
            try:
                rc = self.sluice.wait(timeout=20)
            except subprocess.TimeoutExpired:
                rc = None
            result("SIGTERM exit", rc == 0, "exit status %s" % rc)
        else:
            for name in ("file descriptors", "spool empty", "RSS"):
                result(name, False, "sluice is not running")
        levels = collections.Counter()
        kinds = collections.Counter()
        with open(self.sluice_log, "rb") as f:
            for raw in f:
                line = raw.decode(errors="replace").rstrip("\n")
                words = line.split(" ", 2)
                lvl = words[1] if len(words) > 1 and re.match(r"\d{4}-\d\d-\d\dT", words[0]) else words[0]
                levels[lvl] += 1
                if lvl in ("warning", "error", "critical"):
                    kinds[re.sub(r"\b[0-9A-Z]{12}\b|\d+", "N", line.split(" ", 1)[-1])[:150]] += 1
        print()
        print("sluice log lines by level: %s" % dict(levels))
        for k, v in kinds.most_common(8):
            print("  %6d  %s" % (v, k))
        ok = all(results)
        print()
        print("SOAK %s" % ("PASSED" if ok else "FAILED"))
        return ok


def socket_wait(s, timeout, stop):
    """True if s is readable within timeout (checks stop every 0.5 s)."""
    import select
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0 or stop.is_set():
            return False
        r, _, _ = select.select([s], [], [], min(0.5, left))
        if r:
            return True


def main():
    p = argparse.ArgumentParser(description="Sluice soak test")
    p.add_argument("--sluice", required=True, help="path of the sluice binary")
    p.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "600")),
                   help="length of the load phase (default 600, or $SOAK_SECONDS)")
    p.add_argument("--rate", type=float, default=25.0, help="verified messages per second (total)")
    p.add_argument("--senders", type=int, default=8, help="verified sender threads")
    p.add_argument("--tricklers", type=int, default=50)
    p.add_argument("--aborters", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="sluice --threads")
    p.add_argument("--smtp-source", default=shutil.which("smtp-source") or "/usr/sbin/smtp-source")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (also kept when a check fails)")
    a = p.parse_args()
    a.sluice = os.path.abspath(a.sluice)

    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))

    def on_term(signum, frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT may arrive ignored (started with &)
        signal.signal(sig, on_term)

    soak = Soak(a)
    ok = interrupted = False
    try:
        ok = soak.run()
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted", flush=True)
    except Exception as e:
        import traceback
        traceback.print_exc()
        print("soak error: %s" % e, flush=True)
        if soak.sluice is not None:
            print(soak.tail_log(), flush=True)
    finally:
        soak.stop.set()
        soak.stop_upstream.set()
        soak.kill_all()
        if (ok or interrupted) and not a.keep:
            shutil.rmtree(soak.tmp, ignore_errors=True)
        else:
            print("kept %s (sluice.log, upstream.log, smtp-source.log)" % soak.tmp, flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
