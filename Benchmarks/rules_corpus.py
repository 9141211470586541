#!/usr/bin/env python3
"""Generates the rule benchmark's inputs: a configuration with 200 PCRE2 rules (100 header, 100 body)
and a corpus of realistic messages that match none of them (so every rule is evaluated).

usage: rules_corpus.py OUTDIR [MESSAGES]
writes OUTDIR/rules.conf, OUTDIR/norules.conf, OUTDIR/corpus/NNNN.eml
"""
import os, random, sys

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
random.seed(4711)
os.makedirs(os.path.join(out, "corpus"), exist_ok=True)

SPAM = ["viagra", "cialis", "lottery", "winner", "inheritance", "bitcoin doubler", "wire transfer",
        "urgent reply", "free money", "casino bonus", "weight loss", "hot singles", "crypto airdrop",
        "unclaimed funds", "nigerian prince", "act now", "limited offer", "risk free", "no credit check",
        "miracle cure"]
header_rules = []
for i in range(100):
    field = ["Subject", "From", "To", "Reply-To", "X-Mailer"][i % 5]
    words = "|".join(f"{w}{i}" for w in random.sample(SPAM, 4))
    header_rules.append(f'  reject header "{field}" ~ /\\b({words})\\b/i "550 5.7.1 Header rule {i}"')
body_rules = []
for i in range(100):
    kind = i % 4
    if kind == 0:
        body_rules.append(f'  reject body ~ /\\b{random.choice(SPAM)} {i}\\b/i "550 5.7.1 Body phrase {i}"')
    elif kind == 1:
        body_rules.append(f'  reject body ~ /https?:\\/\\/[a-z0-9.-]*bad{i}\\.example\\// "550 5.7.1 Bad link {i}"')
    elif kind == 2:
        body_rules.append(f'  reject body ~ /\\bACCT-{i:03d}-[0-9]{{6}}\\b/ "550 5.7.1 Account number {i}"')
    else:
        body_rules.append(f'  reject body ~ /(?:{random.choice(SPAM)}|{random.choice(SPAM)})[^\\n]{{0,40}}\\b{i}x\\b/i "550 5.7.1 Combo {i}"')

head = "acknowledge open-relay\nlimit message-size 216M\n"
with open(os.path.join(out, "rules.conf"), "w") as f:
    f.write(head + "stage header\n" + "\n".join(header_rules) + "\nstage body\n" + "\n".join(body_rules) + "\n")
with open(os.path.join(out, "norules.conf"), "w") as f:
    f.write(head)

WORDS = ("the quarterly report is attached please review the numbers before our meeting on thursday we "
         "should discuss the budget for next year and the hiring plan for engineering as well as the "
         "customer feedback from the last release which was mostly positive but some users reported "
         "problems with the export feature and the login page on mobile devices").split()
for n in range(count):
    lines = []
    size = random.choice([2, 4, 8, 16, 32, 64]) * 1024
    text = []
    length = 0
    while length < size:
        line = " ".join(random.choice(WORDS) for _ in range(random.randint(8, 14)))
        text.append(line)
        length += len(line) + 2
    headers = [
        f"From: Person {n} <person{n}@sender{n % 17}.example>",
        f"To: Team <team@example.com>",
        f"Subject: Re: quarterly numbers, item {n}",
        f"Date: Tue, 24 Nov 2026 10:{n % 60:02d}:00 +0000",
        f"Message-ID: <{n}.{random.randint(0, 10**9)}@sender.example>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "X-Mailer: ExampleMail 5.1",
    ]
    with open(os.path.join(out, "corpus", f"{n:04d}.eml"), "w") as f:
        f.write("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(text) + "\r\n")
print(f"{out}: 200 rules, {count} messages")
