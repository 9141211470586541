#!/usr/bin/env python3
"""DKIM interop helper for the Swift tests, on Debian's python3-dkim (dkimpy) and python3-nacl.

    dkim_tool.py sign --key KEY.pem --selector S --domain D [--canon relaxed/simple]
                      [--algo rsa-sha256|ed25519-sha256] [--length] [--headers from,to,subject]
        reads a message (CRLF lines) on stdin, writes it signed (DKIM-Signature prepended) on stdout
    dkim_tool.py verify --record "v=DKIM1; k=...; p=..."
        reads a signed message on stdin; every key lookup answers RECORD; prints True or False
"""
import argparse
import base64
import sys

import dkim


def ed25519_seed(pem: bytes) -> bytes:
    """The base64 32-octet seed dkimpy wants, from the PKCS#8 PEM `openssl genpkey` writes (the
    seed is the last 32 octets of its fixed 48-octet DER)."""
    body = b"".join(line for line in pem.splitlines() if line and not line.startswith(b"-----"))
    return base64.b64encode(base64.b64decode(body)[-32:])


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sign = sub.add_parser("sign")
    sign.add_argument("--key", required=True)
    sign.add_argument("--selector", required=True)
    sign.add_argument("--domain", required=True)
    sign.add_argument("--canon", default="relaxed/simple")
    sign.add_argument("--algo", default="rsa-sha256")
    sign.add_argument("--length", action="store_true")
    sign.add_argument("--headers", default="")
    verify = sub.add_parser("verify")
    verify.add_argument("--record", required=True)
    args = parser.parse_args()
    message = sys.stdin.buffer.read()
    if args.command == "sign":
        key = open(args.key, "rb").read()
        if args.algo == "ed25519-sha256":
            key = ed25519_seed(key)
        header, body = args.canon.split("/") if "/" in args.canon else (args.canon, "simple")
        include = [h.encode() for h in args.headers.split(",")] if args.headers else None
        signature = dkim.sign(message, args.selector.encode(), args.domain.encode(), key,
                              canonicalize=(header.encode(), body.encode()), signature_algorithm=args.algo.encode(),
                              include_headers=include, length=args.length, linesep=b"\r\n")
        sys.stdout.buffer.write(signature + message)
        return 0
    record = args.record.encode()
    ok = dkim.verify(message, dnsfunc=lambda name, timeout=5: record)
    print(ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
