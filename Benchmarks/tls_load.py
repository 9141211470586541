#!/usr/bin/env python3
"""Relay load over SMTP with or without STARTTLS: THREADS threads, each opening a session per
PER_SESSION messages of SIZE octets. Prints messages/second.
usage: tls_load.py PORT MESSAGES THREADS starttls|plain [PER_SESSION]"""
import smtplib, ssl, sys, threading, time

port, total, threads, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
per_session = int(sys.argv[5]) if len(sys.argv) > 5 else 10
body = "Subject: load\r\n\r\n" + ("x" * 76 + "\r\n") * 130  # about 10 KiB
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
errors = []

def worker(count):
    sent = 0
    while sent < count:
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=30)
            if mode == "starttls":
                s.starttls(context=context)
            for _ in range(min(per_session, count - sent)):
                s.sendmail("load@example.org", ["sink@example.com"], body)
                sent += 1
            s.quit()
        except Exception as e:  # noqa
            errors.append(str(e))
            return

start = time.time()
share = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
ts = [threading.Thread(target=worker, args=(n,)) for n in share]
for t in ts: t.start()
for t in ts: t.join()
elapsed = time.time() - start
if errors:
    print("errors:", len(errors), errors[:3], file=sys.stderr)
    sys.exit(1)
print(round(total / elapsed))
