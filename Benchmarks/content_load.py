#!/usr/bin/env python3
"""Relay load with a corpus of messages (content_corpus.py's): PROCS processes (not threads: the
generator must not be the bottleneck), each opening a session per PER_SESSION messages and sending the
corpus in turn, starting at its own offset. The messages are dot-stuffed once, at start, and sent as
they are (no per-message work in smtplib). Every message must be accepted with 250: anything else (a
rule that matched, an error) is printed and the exit status is 1. Prints messages/second.
usage: content_load.py PORT MESSAGES PROCS DIR [PER_SESSION]"""
import multiprocessing, os, re, smtplib, sys, time

port, total, procs, folder = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
per_session = int(sys.argv[5]) if len(sys.argv) > 5 else 10
corpus = []
for name in sorted(os.listdir(folder)):
    data = open(os.path.join(folder, name), "rb").read()
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    corpus.append(data + b".\r\n")

def send(s, data):
    code, text = s.mail("bench@example.org")
    if code != 250:
        return code, text
    code, text = s.rcpt("sink@example.com")
    if code != 250:
        return code, text
    code, text = s.docmd("DATA")
    if code != 354:
        return code, text
    s.send(data)
    return s.getreply()

def worker(index):
    count = total // procs
    sent = failed = 0
    k = index
    while sent < count:
        s = smtplib.SMTP("127.0.0.1", port, timeout=60, local_hostname="client.example")
        s.ehlo()
        for _ in range(min(per_session, count - sent)):
            code, text = send(s, corpus[k % len(corpus)])
            if code != 250:
                failed += 1
                print("message %d: %d %s" % (k % len(corpus), code, text.decode(errors="replace")), file=sys.stderr)
                s.rset()
            k += procs
            sent += 1
        s.quit()
    return sent, failed

if __name__ == "__main__":
    start = time.time()
    with multiprocessing.Pool(procs) as pool:
        results = pool.map(worker, range(procs))
    elapsed = time.time() - start
    failed = sum(f for _, f in results)
    if failed:
        sys.exit("%d of %d messages not accepted" % (failed, sum(s for s, _ in results)))
    print(round(sum(s for s, _ in results) / elapsed))
