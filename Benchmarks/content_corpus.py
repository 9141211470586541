#!/usr/bin/env python3
"""Generates the content benchmark's inputs (issue 15): 200 content rules over decoded MIME (stages
header and body: header patterns, body phrases, attachment facts, compliance detectors, MIME structure)
and a corpus of realistic multipart messages that none of them match, so every message goes through
every rule. Reproducible: everything (boundaries, Message-IDs, dates, attachment bytes) follows SEED.

Messages: multipart/mixed around a multipart/alternative (text/plain + text/html, quoted-printable or
base64, UTF-8 or ISO-8859-1), 0-3 attachments of 20-500 KiB decoded (PDF, JPEG, PNG, zip, docx, all
base64), in about a quarter a forwarded message/rfc822 with its own text and PDF, RFC 2047
encoded-word subjects and display names.

usage: content_corpus.py OUTDIR [MESSAGES] [SEED]
writes OUTDIR/rules.conf, OUTDIR/norules.conf, OUTDIR/corpus/NNNN.eml (CRLF, not dot-stuffed)
and prints a one-line description of the corpus on stdout.
"""
import email.policy, io, os, random, re, statistics, sys, zipfile
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 60
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1515
rng = random.Random(seed)
random.seed(seed)  # the email package draws its MIME boundaries from the global generator
os.makedirs(os.path.join(out, "corpus"), exist_ok=True)

# ---------------------------------------------------------------- the rules
SUBJECT_SPAM = [
    r"viagra", r"cialis", r"lottery", r"you\s+(have\s+)?won", r"winner", r"inheritance", r"bitcoin\s+doubler",
    r"wire\s+transfer", r"urgent\s+reply", r"free\s+money", r"casino\s+bonus", r"weight\s+loss", r"hot\s+singles",
    r"crypto\s+airdrop", r"unclaimed\s+funds", r"nigerian\s+prince", r"act\s+now", r"limited\s+(time\s+)?offer",
    r"risk[-\s]free", r"no\s+credit\s+check", r"miracle\s+cure", r"100\s*%\s+free", r"double\s+your\s+income",
    r"work\s+from\s+home", r"make\s+money\s+fast", r"cheap\s+meds", r"replica\s+watch(es)?", r"luxury\s+replicas?",
    r"enlarge(ment)?", r"singles\s+near\s+you", r"account\s+(suspended|locked|verification)", r"verify\s+your\s+account",
    r"password\s+expir(es|ed|ing)", r"mailbox\s+(is\s+)?full", r"final\s+notice", r"payment\s+overdue",
    r"invoice\s+#?\s*\d{6,}\s+overdue", r"tax\s+refund", r"irs\s+notice", r"dhl\s+delivery\s+failed",
    r"parcel\s+(held|on\s+hold)", r"congratulations", r"claim\s+(your\s+)?(prize|reward)", r"gift\s+card",
    r"(amazing|exclusive)\s+deal", r"lowest\s+price", r"earn\s+\$\d+", r"get\s+rich", r"investment\s+opportunity",
    r"forex\s+signals", r"pre[-\s]approved", r"debt\s+relief", r"dear\s+(friend|beneficiary)",
]
FROM_TLDS = ["top", "xyz", "click", "loan", "work", "gq", "tk", "ml", "cf", "icu"]
MAILERS = [r"PHPMailer", r"Atomic\s+Mail\s+Sender", r"Sendblaster", r"Mass\s+Mailer", r"Bulk\s+Mailer",
           r"GroupMail", r"Advanced\s+Mass\s+Sender", r"MailList\s+King"]
BODY_SPAM = [
    r"claim\s+your\s+prize", r"you\s+have\s+been\s+selected", r"100\s*%\s+guaranteed", r"no\s+prescription\s+needed",
    r"buy\s+now\s+and\s+save", r"order\s+now\s+while\s+supplies\s+last", r"click\s+here\s+to\s+unsubscribe",
    r"this\s+is\s+not\s+spam", r"you\s+are\s+receiving\s+this\s+because\s+you\s+opted\s+in",
    r"reply\s+with\s+your\s+bank\s+details", r"send\s+(me\s+)?your\s+(full\s+name|passport)",
    r"transfer\s+the\s+sum\s+of", r"million\s+(us\s+)?dollars", r"next\s+of\s+kin", r"barrister",
    r"diplomatic\s+courier", r"consignment\s+box", r"western\s+union", r"moneygram", r"gift\s+cards?\s+(code|card)s?",
    r"itunes\s+cards?", r"bitcoin\s+wallet\s+address", r"seed\s+phrase", r"private\s+key\s+backup",
    r"verify\s+your\s+identity\s+within\s+24\s+hours", r"your\s+account\s+will\s+be\s+(closed|suspended)",
    r"unusual\s+sign[-\s]in\s+activity", r"confirm\s+your\s+password", r"update\s+your\s+billing\s+information",
    r"login\s+to\s+restore\s+access", r"mailbox\s+quota\s+exceeded", r"shared\s+a\s+document\s+with\s+you\s+via",
    r"enable\s+(editing|content|macros)", r"security\s+department\s+of\s+your\s+bank", r"irs\s+refund",
    r"lose\s+\d+\s+(pounds|kilos)", r"hot\s+(local\s+)?singles", r"adult\s+dating", r"online\s+casino",
    r"free\s+spins", r"risk[-\s]free\s+trial", r"double\s+your\s+bitcoin", r"guaranteed\s+returns",
    r"pump\s+and\s+dump", r"penny\s+stock", r"limited\s+time\s+only", r"act\s+immediately",
    r"dear\s+(valued\s+)?customer", r"dear\s+account\s+holder", r"kindly\s+revert", r"god\s+bless\s+you",
    r"cheap\s+(viagra|cialis|pills)", r"replica\s+(rolex|handbags)", r"work\s+from\s+home\s+and\s+earn",
    r"crypto\s+giveaway", r"elon\s+musk\s+giveaway", r"password\s+reset\s+required",
    # compliance: words that must not leave the company
    r"strictly\s+confidential", r"attorney[-\s]client\s+privileged?", r"project\s+(nightingale|bluebird|kestrel)",
    r"do\s+not\s+forward\s+outside", r"internal\s+use\s+only", r"insider\s+information", r"merger\s+code\s*name",
    r"export[-\s]controlled", r"itar\s+restricted", r"social\s+security\s+number", r"date\s+of\s+birth\s*:",
    r"passport\s+(no|number)\s*[:.]", r"driver'?s\s+licen[cs]e\s+(no|number)", r"salary\s+spreadsheet",
    r"customer\s+database\s+export", r"source\s+code\s+dump", r"unreleased\s+earnings", r"board\s+minutes\s+draft",
    r"do\s+not\s+share\s+this\s+password", r"medical\s+record\s+(no|number)",
]
BAD_URLS = [
    r"https?:\/\/[^\s\/]*\.(top|xyz|click|icu|tk)\/", r"https?:\/\/(bit\.ly|tinyurl\.com|t\.co|goo\.gl)\/",
    r"https?:\/\/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}[:\/]", r"https?:\/\/[^\s\/]*@", r"https?:\/\/[^\s\/]*xn--",
    r"https?:\/\/[^\s\/]*(paypa1|micros0ft|app1e|amaz0n)\.", r"https?:\/\/[^\s\/]*\.(zip|mov)\/",
    r"https?:\/\/[^\s\/]*(login|secure|verify|account)[-.][^\s\/]*\.(com|net)\/",
    r"https?:\/\/docs\.google\.com\/forms\/", r"https?:\/\/[^\s\/]*ngrok\.io",
]

def reply(kind, i):
    return f'"550 5.7.1 {kind} rule {i}"'

header_rules = []
for i, p in enumerate(SUBJECT_SPAM):
    header_rules.append(f"  reject header \"Subject\" ~ /\\b{p}\\b/i {reply('Subject', i)}")
for i, tld in enumerate(FROM_TLDS):
    header_rules.append(f"  reject header \"From\" ~ /@[a-z0-9.-]+\\.{tld}>?$/i {reply('From', i)}")
for i, tld in enumerate(FROM_TLDS[:6]):
    header_rules.append(f"  reject header \"Reply-To\" ~ /@[a-z0-9.-]+\\.{tld}>?$/i {reply('Reply-To', i)}")
for i, m in enumerate(MAILERS):
    header_rules.append(f"  reject header \"X-Mailer\" ~ /{m}/i {reply('X-Mailer', i)}")
header_rules += [
    f"  reject header \"To\" ~ /undisclosed[-\\s]recipients/i {reply('To', 0)}",
    f"  reject header \"Message-ID\" ~ /@(localhost|localdomain|\\[?127\\.)/i {reply('Message-ID', 0)}",
    f"  reject header \"Message-ID\" ~ /^<?[^@]*@[^.>]*>?$/ {reply('Message-ID', 1)}",
    f"  reject header \"Content-Type\" ~ /charset=\"?(gb2312|koi8-r|big5|windows-1251)/i {reply('Content-Type', 0)}",
    f"  reject header.raw \"Subject\" ~ /=\\?(gb2312|koi8-r|windows-1251|big5)\\?/i {reply('Subject raw', 0)}",
    f"  reject header.raw \"From\" ~ /=\\?(gb2312|koi8-r|windows-1251|big5)\\?/i {reply('From raw', 0)}",
    f"  reject header \"X-PHP-Originating-Script\" ~ /./ {reply('X-PHP', 0)}",
    f"  reject header \"X-Spam-Flag\" ~ /^yes/i {reply('X-Spam-Flag', 0)}",
    f"  reject header \"Subject\" ~ /[$\u20ac\u00a3]\\s?\\d{{3,}}(,\\d{{3}})*\\s+(cash|prize|bonus)/i {reply('Subject money', 0)}",
    f"  reject header \"Subject\" ~ /!!!|\\?\\?\\?/ {reply('Subject punctuation', 0)}",
    f"  reject header \"Subject\" ~ /^(re|fwd?):\\s*(re|fwd?):\\s*(re|fwd?):\\s*(re|fwd?):/i {reply('Subject chain', 0)}",
    f"  reject header \"From\" ~ /(paypal|apple|microsoft|amazon|netflix)[^@]*@(?!([a-z0-9-]+\\.)*(paypal|apple|microsoft|amazon|netflix)\\.com)/i {reply('From spoof', 0)}",
    f"  reject header \"Return-Path\" ~ /@[a-z0-9.-]+\\.(top|xyz|icu)>?$/i {reply('Return-Path', 0)}",
    f"  reject header \"List-Unsubscribe\" ~ /mailto:[^>]*@[a-z0-9.-]+\\.(top|xyz|icu)/i {reply('List-Unsubscribe', 0)}",
    f"  reject header \"Date\" ~ /\\b(19[0-9]{{2}}|20[0-1][0-9])\\b/ {reply('Date', 0)}",
    f"  reject header \"Organization\" ~ /\\b(lottery|casino|pharmacy)\\b/i {reply('Organization', 0)}",
]
detectors = ["detector employee-id pcre /\\bE[0-9]{6}\\b/ validate none"]
attachment_rules = [
    f"  reject attachment.name ~ /\\.(exe|scr|js)$/i {reply('Attachment name', 0)}",
    f"  reject attachment.name ~ /\\.(bat|cmd|com|pif|vbs|vbe|jse|wsf|wsh|ps1|hta|cpl|msi|msp|lnk)$/i {reply('Attachment name', 1)}",
    f"  reject attachment.name ~ /\\.(docm|xlsm|pptm|dotm)$/i {reply('Attachment name', 2)}",
    f"  reject attachment.name ~ /\\.(pdf|docx?|xlsx?|jpe?g|png|txt)\\.(exe|scr|js|vbs|bat|cmd)$/i {reply('Attachment name', 3)}",
    f"  reject attachment.name ~ /\\.(iso|img|vhdx?)$/i {reply('Attachment name', 4)}",
    f"  reject attachment.name ~ /\\.(ace|arj|cab|uue)$/i {reply('Attachment name', 5)}",
    f"  reject attachment.magic = \"executable\" {reply('Attachment kind', 0)}",
    f"  reject attachment.magic = \"script\" {reply('Attachment kind', 1)}",
    f"  reject attachment.magic = \"office-macro\" {reply('Attachment kind', 2)}",
    f"  reject attachment.encrypted {reply('Encrypted archive', 0)}",
    f"  reject attachment.size > 20M {reply('Attachment size', 0)}",
    f"  reject attachment.type ~ /application\\/(x-msdownload|x-dosexec|hta|x-ms-shortcut)/i {reply('Attachment type', 0)}",
]
content_rules = [
    f"  reject body has card-number {reply('Card number', 0)}",
    f"  reject body has iban {reply('IBAN', 0)}",
    f"  reject count(employee-id) > 3 {reply('Employee IDs', 0)}",
    f"  reject attachment has card-number {reply('Card number in attachment', 0)}",
    f"  reject mime.parts > 100 {reply('MIME parts', 0)}",
    f"  reject mime.depth > 8 {reply('MIME depth', 0)}",
    f"  reject part.header \"Content-Type\" ~ /name=\"?[^\"]*\\.(exe|scr|js)\"?/i {reply('Part name', 0)}",
    f"  reject part.header \"Content-Disposition\" ~ /filename\\*?=.*\\.(exe|scr|js)/i {reply('Part name', 1)}",
]
body_rules = [f"  reject body ~ /\\b{p}\\b/i {reply('Body phrase', i)}" for i, p in enumerate(BODY_SPAM)]
body_rules += [f"  reject body ~ /{p}/i {reply('Link', i)}" for i, p in enumerate(BAD_URLS)]
total = len(header_rules) + len(body_rules) + len(attachment_rules) + len(content_rules)
assert total == 200, (len(header_rules), len(body_rules), len(attachment_rules), len(content_rules), total)

head = "acknowledge open-relay\n"
with open(os.path.join(out, "rules.conf"), "w") as f:
    f.write(head + "\n".join(detectors) + "\nstage header\n" + "\n".join(header_rules) + "\nstage body\n"
            + "\n".join(body_rules + attachment_rules + content_rules) + "\n")
with open(os.path.join(out, "norules.conf"), "w") as f:
    f.write(head)

# ---------------------------------------------------------------- the corpus
WORDS = ("the quarterly report is attached please review the numbers before our meeting on thursday we "
         "should discuss the budget for next year and the hiring plan for engineering as well as the "
         "customer feedback from the last release which was mostly positive but some users reported "
         "problems with the export feature and the login page on mobile devices the supplier sent a new "
         "quote for the warehouse shelving and asked whether we can move the delivery to the second week "
         "of march thanks again for your help with the migration let me know if anything is unclear").split()
ACCENTED = ["café", "Müller", "naïve", "Straße", "Größe", "résumé", "Zürich", "São Paulo", "façade", "Ålesund",
            "crème brûlée", "€ 1.200", "Señor", "Ærø", "Łódź"]
LATIN1 = ["café", "Müller", "naïve", "Größe", "résumé", "Zürich", "façade", "Señor", "crème brûlée"]
SUBJECTS = ["Q3 budget review", "Meeting notes from Thursday", "Contract draft, second version", "Travel plans for March",
            "Warehouse shelving quote", "Release 4.2 feedback", "Hiring plan for engineering", "Slides for Monday",
            "Präsentation für Montag", "Résumé et pièces jointes", "会議の議事録について", "Отчёт за квартал",
            "Café order confirmation", "Photos from the offsite", "Ångström units in the spec", "Zählerstände März",
            "Ποσοστά και αριθμοί", "Supplier invoice 2026-114", "Team lunch on Friday", "Spec for the export feature"]
NAMES = [("Anna Schmidt", "anna.schmidt", "example.de"), ("José García", "jose.garcia", "example.es"),
         ("Zoë Dubois", "zoe.dubois", "example.fr"), ("Tanaka Hiroshi", "h.tanaka", "example.co.jp"),
         ("Björn Larsson", "bjorn", "example.se"), ("Priya Natarajan", "priya", "example.com"),
         ("Mark Evans", "mark.evans", "example.org"), ("Łucja Nowak", "lucja.nowak", "example.pl"),
         ("田中 花子", "hanako", "example.co.jp"), ("Olaf Østergaard", "olaf", "example.net")]
MAILER_HEADERS = [None, "Microsoft Outlook 16.0", "Apple Mail (2.3774.600.62)", "Mozilla Thunderbird 128.3.1", None]
base_date = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)

def sentence():
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), rng.choice(ACCENTED))
    return " ".join(words).capitalize() + "."

def paragraphs(n, latin1=False, ids=False):
    ps = []
    for _ in range(n):
        p = " ".join(sentence() for _ in range(rng.randint(2, 6)))
        if latin1:
            p = p.encode("latin-1", "replace").decode("latin-1")
        ps.append(p)
    if ids and rng.random() < 0.3:  # an employee ID (in the text and the HTML): found twice, the rule wants 4
        ps.append("Ticket owner: E%06d." % rng.randint(100000, 999999))
    return ps

def html_of(ps):
    link = "https://intranet.example.com/wiki/%d" % rng.randint(1000, 9999)
    body = "".join("<p>%s</p>\n" % p.replace("&", "&amp;") for p in ps)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><style>p { font-family: Arial; margin: 0 0 1em }"
            " .sig { color: #666 }</style></head>\n<body>\n%s<p class=\"sig\">See <a href=\"%s\">the wiki page</a>"
            " &mdash; thanks&nbsp;again.</p>\n</body></html>\n" % (body, link))

def kib():  # 20-500 KiB, log-uniform
    return int(1024 * 20 * (25 ** rng.random()))

def pdf(n):
    return (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            + b"4 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % n + rng.randbytes(n)
            + b"\nendstream\nendobj\n%%EOF\n")

def jpeg(n):
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00" + rng.randbytes(n) + b"\xff\xd9"

def png(n):
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x04\x00\x00\x00\x03\x00\x08\x02\x00\x00\x00" + rng.randbytes(n)

def zip_of(n):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("scans/page-1.jpg", (2026, 11, 2, 9, 0, 0)), jpeg(n // 2), zipfile.ZIP_STORED)
        z.writestr(zipfile.ZipInfo("scans/page-2.jpg", (2026, 11, 2, 9, 0, 0)), jpeg(n // 3), zipfile.ZIP_STORED)
        z.writestr(zipfile.ZipInfo("notes.txt", (2026, 11, 2, 9, 0, 0)), "\n".join(paragraphs(20)), zipfile.ZIP_DEFLATED)
    return buf.getvalue()

def docx(n):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr("word/document.xml", "<w:document><w:body>%s</w:body></w:document>"
                   % "".join("<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % p for p in paragraphs(30)))
        z.writestr(zipfile.ZipInfo("word/media/image1.png", (2026, 11, 2, 9, 0, 0)), png(n), zipfile.ZIP_STORED)
    return buf.getvalue()

KINDS = [("application", "pdf", "pdf", pdf), ("image", "jpeg", "jpg", jpeg), ("image", "png", "png", png),
         ("application", "zip", "zip", zip_of),
         ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", docx)]
FILENAMES = ["report", "Rechnung März", "scan", "photo", "contract", "résumé", "slides", "budget 2027", "議事録"]

def texts(msg, plain_cs, html_cte, ids=False):
    latin1 = plain_cs == "iso-8859-1"
    ps = paragraphs(rng.randint(2, 8), latin1, ids)
    msg.set_content("\n\n".join(ps) + "\n\n-- \nSent from the office\n", subtype="plain", charset=plain_cs,
                    cte="quoted-printable")
    msg.add_alternative(html_of(ps), subtype="html", charset="utf-8", cte=html_cte)

sizes, attachments, forwarded = [], 0, 0
for n in range(count):
    name, user, domain = rng.choice(NAMES)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = "%s <%s@%s>" % (name, user, domain)
    msg["To"] = "Team <team@example.com>"
    if rng.random() < 0.3:
        msg["Cc"] = "Ops <ops@example.com>, \"Müller, Jörg\" <joerg@example.de>"
    msg["Subject"] = ("Re: " if rng.random() < 0.3 else "") + rng.choice(SUBJECTS)
    msg["Date"] = format_datetime(base_date + timedelta(minutes=n * 7))
    msg["Message-ID"] = "<%08x.%d@mail.%s>" % (rng.getrandbits(32), n, domain)
    mailer = rng.choice(MAILER_HEADERS)
    if mailer:
        msg["X-Mailer"] = mailer
    plain_cs = "iso-8859-1" if rng.random() < 0.3 else "utf-8"
    texts(msg, plain_cs, "base64" if rng.random() < 0.25 else "quoted-printable", ids=True)
    msg.make_mixed()
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        maintype, subtype, ext, make = rng.choice(KINDS)
        msg.add_attachment(make(kib()), maintype=maintype, subtype=subtype,
                           filename="%s.%s" % (rng.choice(FILENAMES), ext))
        attachments += 1
    if rng.random() < 0.25:
        inner = EmailMessage(policy=email.policy.SMTP)
        iname, iuser, idomain = rng.choice(NAMES)
        inner["From"] = "%s <%s@%s>" % (iname, iuser, idomain)
        inner["To"] = msg["From"]
        inner["Subject"] = rng.choice(SUBJECTS)
        inner["Date"] = format_datetime(base_date - timedelta(days=3, minutes=n))
        inner["Message-ID"] = "<%08x.fwd%d@mail.%s>" % (rng.getrandbits(32), n, idomain)
        texts(inner, "utf-8", "quoted-printable")
        inner.make_mixed()
        inner.add_attachment(pdf(rng.randint(20, 60) * 1024), maintype="application", subtype="pdf",
                             filename="%s.pdf" % rng.choice(FILENAMES))
        msg.add_attachment(inner, filename="forwarded.eml")
        forwarded += 1
        attachments += 1
    data = msg.as_bytes(policy=email.policy.SMTP)
    assert b"\r\n.\r\n" not in data
    with open(os.path.join(out, "corpus", "%04d.eml" % n), "wb") as f:
        f.write(data)
    sizes.append(len(data))

# Self-check: no pattern rule may match the corpus (the Python re reading of the PCRE patterns, over the
# decoded header fields and text parts; the relay run checks the rest, every message must get 250).
checks = []  # (header name or None for the body, pattern)
for line in header_rules + body_rules:
    m = re.match(r'  reject (?:(?:header|header\.raw) "([^"]+)"|body) ~ /(.*)/(i?) "', line)
    checks.append((m.group(1), re.compile(m.group(2).replace("\\/", "/"), re.I if m.group(3) else 0)))
for name in sorted(os.listdir(os.path.join(out, "corpus"))):
    raw = open(os.path.join(out, "corpus", name), "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    raw_fields = email.message_from_bytes(raw, policy=email.policy.compat32)
    bodies = [part.get_content() for part in msg.walk() if part.get_content_maintype() == "text"]
    for field, p in checks:
        subjects = bodies if field is None else [str(v) for v in msg.get_all(field, [])] + \
            [str(v) for v in raw_fields.get_all(field, [])]
        for s in subjects:
            if p.search(s):
                sys.exit("corpus message %s matches /%s/: %r" % (name, p.pattern, p.search(s).group(0)))

print("%d messages (seed %d), %.0f KiB on average (median %.0f, %.0f-%.0f), %d attachments, %d forwarded "
      "message/rfc822, %.1f MiB in all" % (count, seed, statistics.mean(sizes) / 1024, statistics.median(sizes) / 1024,
                                            min(sizes) / 1024, max(sizes) / 1024, attachments, forwarded,
                                            sum(sizes) / 1048576))
