#!/usr/bin/python3
"""Generates the oracle corpus: realistic structures built with email.message plus hand-written
sloppy ones. Run from this directory; writes *.eml with CRLF line ends."""
import base64
import email.policy
import quopri
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.message import MIMEMessage
from email.mime.image import MIMEImage

SMTP = email.policy.SMTP
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def write(name, data):
    if isinstance(data, str):
        data = data.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    with open(name, "wb") as f:
        f.write(data)


def crlf_bytes(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# 1. Plain ASCII.
m = EmailMessage()
m["From"] = "alice@example.com"
m["To"] = "bob@example.org"
m["Subject"] = "Lunch"
m.set_content("Shall we meet at noon?\nAlice\n")
write("plain.eml", m.as_bytes(policy=SMTP))

# 2. multipart/alternative text + html (non-ASCII: Python picks the encoding).
m = EmailMessage()
m["From"] = "shop@example.com"
m["Subject"] = "Offre spéciale – 50 %"
m.set_content("Bonjour,\nprofitez de notre offre spéciale : 50 % de réduction.\n")
m.add_alternative("<html><body><p>Bonjour,</p><p>profitez de notre <b>offre spéciale</b>.</p></body></html>\n",
                  subtype="html")
write("alternative.eml", m.as_bytes(policy=SMTP))

# 3. Nested mixed: alternative + PDF + image.
outer = MIMEMultipart("mixed")
outer["Subject"] = "Invoice"
alt = MIMEMultipart("alternative")
alt.attach(MIMEText("Please find the invoice attached.\n", "plain", "utf-8"))
alt.attach(MIMEText("<p>Please find the <i>invoice</i> attached.</p>\n", "html", "utf-8"))
outer.attach(alt)
pdf = MIMEApplication(b"%PDF-1.4\n" + bytes(range(256)) * 20, "pdf")
pdf.add_header("Content-Disposition", "attachment", filename="invoice 2024.pdf")
outer.attach(pdf)
img = MIMEImage(PNG, "png")
img.add_header("Content-Disposition", "inline", filename="dot.png")
outer.attach(img)
write("nested.eml", outer.as_bytes(policy=SMTP))

# 4. Forwarded message/rfc822 whose inner message is multipart/alternative.
inner = MIMEMultipart("alternative")
inner["From"] = "carol@example.net"
inner["Subject"] = "Original"
inner.attach(MIMEText("original text\n", "plain", "us-ascii"))
inner.attach(MIMEText("<p>original text</p>\n", "html", "us-ascii"))
fwd = MIMEMultipart("mixed")
fwd["Subject"] = "Fwd: Original"
fwd.attach(MIMEText("See below.\n", "plain", "us-ascii"))
fwd.attach(MIMEMessage(inner))
write("forwarded.eml", fwd.as_bytes(policy=SMTP))

# 5. Outlook-like: ks_c_5601-1987 base64 text, encoded-word filenames, winmail.dat.
korean = "안녕하세요. 회의 자료를 첨부합니다.\r\n"
kb = base64.encodebytes(korean.encode("cp949")).decode()
fname = "=?ks_c_5601-1987?B?" + base64.b64encode("회의자료.docx".encode("cp949")).decode() + "?="
tnef = base64.encodebytes(b"\x78\x9f\x3e\x22" + b"\x00" * 300).decode()
write("outlook.eml", f"""From: =?ks_c_5601-1987?B?x+Gx5rW/?= <kim@example.kr>
Subject: =?ks_c_5601-1987?B?yLjAxyDA2rfh?=
MIME-Version: 1.0
Content-Type: multipart/mixed;
\tboundary="----=_NextPart_000_0012_01DA1234.56789ABC"
X-Mailer: Microsoft Outlook 16.0

This is a multi-part message in MIME format.

------=_NextPart_000_0012_01DA1234.56789ABC
Content-Type: text/plain;
\tcharset="ks_c_5601-1987"
Content-Transfer-Encoding: base64

{kb}
------=_NextPart_000_0012_01DA1234.56789ABC
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;
\tname="{fname}"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
\tfilename="{fname}"

UEsDBBQABgAIAAAAIQDfpNJsWgEAACAFAAATAAgCW0NvbnRlbnRfVHlwZXNdLnhtbCCiBAIooAAC
------=_NextPart_000_0012_01DA1234.56789ABC
Content-Type: application/ms-tnef;
\tname="winmail.dat"
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
\tfilename="winmail.dat"

{tnef}
------=_NextPart_000_0012_01DA1234.56789ABC--
""")

# 6. Apple Mail-like: alternative > plain QP + related > (html QP, inline image).
qp_plain = quopri.encodestring("Voilà les photos du week-end à la mer, c'était très bien.\n".encode()).decode()
qp_html = quopri.encodestring(('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
                               '<body style="word-wrap: break-word;">Voilà les photos <img src="cid:ABC@apple"></body></html>').encode()).decode()
png64 = base64.encodebytes(PNG).decode()
write("apple.eml", f"""From: Dominique <dom@example.fr>
Content-Type: multipart/alternative; boundary="Apple-Mail=_7E1F0C1D-2B3A-4C5D-9E8F-0123456789AB"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3731.300.101.1.3\\))
Subject: Photos
Date: Mon, 1 Jan 2024 10:00:00 +0100


--Apple-Mail=_7E1F0C1D-2B3A-4C5D-9E8F-0123456789AB
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
\tcharset=utf-8

{qp_plain}
--Apple-Mail=_7E1F0C1D-2B3A-4C5D-9E8F-0123456789AB
Content-Type: multipart/related;
\ttype="text/html";
\tboundary="Apple-Mail=_1A2B3C4D-5E6F-7A8B-9C0D-EF0123456789"


--Apple-Mail=_1A2B3C4D-5E6F-7A8B-9C0D-EF0123456789
Content-Transfer-Encoding: quoted-printable
Content-Type: text/html;
\tcharset=utf-8

{qp_html}
--Apple-Mail=_1A2B3C4D-5E6F-7A8B-9C0D-EF0123456789
Content-Transfer-Encoding: base64
Content-Disposition: inline;
\tfilename=dot.png
Content-Type: image/png;
\tx-unix-mode=0644;
\tname="dot.png"
Content-Id: <ABC@apple>

{png64}
--Apple-Mail=_1A2B3C4D-5E6F-7A8B-9C0D-EF0123456789--

--Apple-Mail=_7E1F0C1D-2B3A-4C5D-9E8F-0123456789AB--
""")

# 7. Broken boundaries: unquoted, transport padding, near-miss lines that are not boundaries.
write("broken_boundary.eml", """From: x@example.com
Subject: broken
Content-Type: multipart/mixed; boundary=simple

--simple   \t
Content-Type: text/plain

first part
--simple garbage is not a boundary
--simplex is not either
-- simple neither
--simple
Content-Type: text/plain; charset=us-ascii

second part
--simple--   
epilogue text
""")

# 8. Missing close boundary.
write("missing_close.eml", """From: x@example.com
Subject: unclosed
Content-Type: multipart/mixed; boundary="zzz"

--zzz
Content-Type: text/plain

only part, never closed
""")

# 9. RFC 2231 filenames.
write("rfc2231.eml", """From: x@example.com
Subject: rfc2231
Content-Type: multipart/mixed; boundary="b2231"

--b2231
Content-Type: text/plain

see attachments
--b2231
Content-Type: application/octet-stream
Content-Disposition: attachment;
 filename*0*=utf-8''%E6%97%A5%E6%9C%AC%E8%AA%9E;
 filename*1*=%E3%81%AE%E6%96%87%E6%9B%B8;
 filename*2=".txt"
Content-Transfer-Encoding: base64

SGVsbG8=
--b2231
Content-Type: application/pdf; name*=iso-8859-1'fr'r%E9sum%E9.pdf
Content-Disposition: attachment
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b2231--
""")

# 10. ISO-2022-JP text with an encoded-word subject.
jp = "こんにちは、世界。会議は明日です。\n"
write("iso2022jp.eml", b"From: taro@example.jp\r\nSubject: =?ISO-2022-JP?B?" +
      base64.b64encode("会議のお知らせ".encode("iso-2022-jp")) +
      b"?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
      crlf_bytes(jp.encode("iso-2022-jp")))

# 11. One part per charset.
samples = [
    ("koi8-r", "Привет, мир! Съешь же ещё этих мягких булок.\n", "8bit"),
    ("windows-1252", "Café “quoted” – 5 € naïve\n", "quoted-printable"),
    ("iso-8859-2", "Zażółć gęślą jaźń, Příliš žluťoučký kůň\n", "8bit"),
    ("gb2312", "你好，世界。这是一个测试。\n", "base64"),
    ("gbk", "繁體與简体混合：中文\n", "base64"),
    ("gb18030", "测试 GB18030 编码 €\n", "base64"),
    ("big5", "你好，世界。這是一個測試。\n", "base64"),
    ("shift_jis", "こんにちは世界、テストです。\n", "base64"),
    ("euc-jp", "日本語のテキスト、ひらがなとカタカナ。\n", "8bit"),
    ("euc-kr", "한국어 텍스트입니다.\n", "base64"),
    ("utf-16", "UTF-16 text with BOM: Ünïcödé ✓\n", "base64"),
    ("utf-8", "UTF-8: Ελληνικά, עברית, 😀\n", "8bit"),
    ("latin1", "Latin-1 alias: déjà vu\n", "quoted-printable"),
    ("windows-1251", "Кириллица в windows-1251\n", "base64"),
]
out = b"From: x@example.com\r\nSubject: charsets\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"cs\"\r\n\r\n"
for cs, text, cte in samples:
    raw = text.encode(cs)
    if cte == "base64":
        body = base64.encodebytes(raw)
    elif cte == "quoted-printable":
        body = quopri.encodestring(raw)
    else:
        body = raw
    out += (f"--cs\r\nContent-Type: text/plain; charset=\"{cs}\"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n").encode()
    out += crlf_bytes(body)
    if not body.endswith(b"\n"):
        out += b"\r\n"
out += b"--cs--\r\n"
write("charsets.eml", out)

# 12. multipart/digest: parts default to message/rfc822.
write("digest.eml", """From: list@example.com
Subject: Digest
MIME-Version: 1.0
Content-Type: multipart/digest; boundary="dig"

--dig

From: one@example.com
Subject: first

first message body
--dig

From: two@example.com
Subject: second
Content-Type: text/plain; charset=utf-8

second message body
--dig--
""")

# 13. A header line without a colon ends the header block (Python): the rest is body.
write("no_colon_header.eml", """From: x@example.com
Subject: sloppy
X-Broken header line without colon
Content-Type: text/html

<p>body</p>
""")

# 14. Quoted-printable soft breaks splitting words, lower-case hex, =LF breaks.
write("qp_soft.eml", """From: x@example.com
Subject: qp
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

This word is vi=
agra split by a soft break, caf=c3=a9 in lower case.=
Another line=3D with an escaped equals sign.
Plain trailing line
""")

# 15. Text hidden in a base64 application/octet-stream attachment.
hidden = base64.encodebytes(b"Buy cheap watches now at http://spam.example/\r\n").decode()
write("octet_text.eml", f"""From: x@example.com
Subject: attachment
Content-Type: multipart/mixed; boundary="oo"

--oo
Content-Type: text/plain

see attachment
--oo
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=readme.txt

{hidden}
--oo--
""")

# 16. Bare LF line ends throughout.
with open("bare_lf.eml", "wb") as f:
    f.write(b"From: x@example.com\nSubject: lf\nContent-Type: multipart/alternative; boundary=lf\n\n"
            b"--lf\nContent-Type: text/plain\n\nline one\nline two\n--lf\nContent-Type: text/html\n\n<b>bold</b>\n--lf--\n")

# 17. message/rfc822 inside message/rfc822 inside multipart.
deep = EmailMessage()
deep["Subject"] = "deepest"
deep.set_content("deepest text\n")
mid = EmailMessage()
mid["Subject"] = "middle"
mid.set_content(deep)
top = MIMEMultipart("mixed")
top["Subject"] = "top"
top.attach(MIMEText("top text\n", "plain", "us-ascii"))
top.attach(MIMEMessage(mid))
write("nested_rfc822.eml", top.as_bytes(policy=SMTP))

# 18. Multipart without a boundary parameter (a deliberate difference: see OracleTests).
write("no_boundary.eml", """From: x@example.com
Subject: no boundary
Content-Type: multipart/mixed

just some text
""")

# 19. Repeated boundary lines make no empty part; preamble and epilogue are not parts.
write("double_boundary.eml", """From: x@example.com
Subject: double
Content-Type: multipart/mixed; boundary="dd"

preamble text
--dd
--dd
Content-Type: text/plain

after a doubled boundary
--dd--
epilogue
""")
