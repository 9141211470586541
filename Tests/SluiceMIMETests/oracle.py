#!/usr/bin/python3
"""Oracle for SluiceMIME: prints, for one message file, a JSON list of its parts in walk() order
as Python's email package sees them: content type, filename, charset, and for text parts the
decoded text (for other leaves the decoded size)."""
import email
import email.policy
import json
import sys


def describe(part):
    entry = {
        "type": part.get_content_type(),
        "filename": part.get_filename(),
        "charset": part.get_content_charset(),
        "container": part.is_multipart(),
    }
    if part.is_multipart():
        return entry
    payload = part.get_payload(decode=True) or b""
    if part.get_content_maintype() == "text":
        try:
            entry["text"] = part.get_content()
        except (LookupError, UnicodeError):
            entry["text"] = payload.decode("latin-1")
            entry["charsetUnknown"] = True
    else:
        entry["size"] = len(payload)
    return entry


def main():
    with open(sys.argv[1], "rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.default)
    parts = [describe(p) for p in message.walk()]
    print(json.dumps({"subject": str(message.get("subject", "")), "parts": parts}, ensure_ascii=False))


if __name__ == "__main__":
    main()
