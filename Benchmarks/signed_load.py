#!/usr/bin/env python3
"""Relay load with one given message (a DKIM-signed one, say): PROCS processes (not threads: the
generator must not be the bottleneck), each opening a session per PER_SESSION messages. Prints
messages/second.
usage: signed_load.py PORT MESSAGES PROCS FILE SENDER [PER_SESSION]"""
import multiprocessing, smtplib, sys, time

port, total, procs, path, sender = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
per_session = int(sys.argv[6]) if len(sys.argv) > 6 else 10
data = open(path, "rb").read()

def worker(count):
    sent = 0
    while sent < count:
        s = smtplib.SMTP("127.0.0.1", port, timeout=30, local_hostname="client.example")
        for _ in range(min(per_session, count - sent)):
            s.sendmail(sender, ["sink@example.com"], data)
            sent += 1
        s.quit()
    return sent

if __name__ == "__main__":
    start = time.time()
    with multiprocessing.Pool(procs) as pool:
        done = sum(pool.map(worker, [total // procs] * procs))
    print(round(done / (time.time() - start)))
