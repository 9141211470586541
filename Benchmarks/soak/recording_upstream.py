#!/usr/bin/env python3
"""Recording upstream for the soak test: a small asyncio ESMTP server.

  recording_upstream.py --port PORT --log FILE [--host 127.0.0.1]

Speaks EHLO (PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES), HELO, MAIL, RCPT, DATA, RSET, NOOP and
QUIT. For each message it accepts, it appends one line to FILE and fsyncs it BEFORE it writes the 250:
the message's X-Soak-Id (or `~` + its Message-ID, or `~-` when it has neither). Writes and fsyncs are
group-committed on one thread, so many sessions share an fsync. Prints `READY` on stdout once it listens.
Meant to be killed with SIGKILL and restarted on the same port.
"""
import argparse
import asyncio
import os
import re
import sys
import threading

MAX_SIZE = 64 * 1024 * 1024
HEADER_ID = re.compile(rb"^(x-soak-id|message-id)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$", re.I | re.M)


class Journal:
    """Append + fsync lines on a dedicated thread; callers await their line being durable."""

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.loop = loop
        self.pending = []
        self.cond = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def append(self, line: bytes) -> asyncio.Future:
        fut = self.loop.create_future()
        with self.cond:
            self.pending.append((line, fut))
            self.cond.notify()
        return fut

    def _run(self):
        while True:
            with self.cond:
                while not self.pending:
                    self.cond.wait()
                batch, self.pending = self.pending, []
            data = b"".join(line for line, _ in batch)
            error = None
            try:
                view = memoryview(data)
                while view:
                    n = os.write(self.fd, view)
                    view = view[n:]
                os.fsync(self.fd)
            except OSError as e:  # pragma: no cover - disk trouble
                error = e
            for _, fut in batch:
                self.loop.call_soon_threadsafe(_settle, fut, error)


def _settle(fut, error):
    if fut.done():
        return
    if error:
        fut.set_exception(error)
    else:
        fut.set_result(None)


def message_key(content: bytes) -> bytes:
    end = content.find(b"\r\n\r\n")
    head = content if end < 0 else content[:end + 2]
    # Unfold is not needed for our ids; take the first X-Soak-Id, else the first Message-ID.
    soak = msgid = None
    for m in HEADER_ID.finditer(head):
        name = m.group(1).lower()
        if name == b"x-soak-id" and soak is None:
            soak = m.group(2)
        elif name == b"message-id" and msgid is None:
            msgid = m.group(2)
    if soak:
        return soak
    if msgid:
        return b"~" + msgid
    return b"~-"


class Session:
    def __init__(self, reader, writer, journal):
        self.r, self.w, self.journal = reader, writer, journal
        self.buf = bytearray()
        self.mail = False
        self.rcpts = 0

    async def fill(self) -> bool:
        data = await self.r.read(262144)
        if not data:
            return False
        self.buf += data
        return True

    async def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            if len(self.buf) > 65536:
                return None
            if not await self.fill():
                return None

    async def data(self):
        """Content up to CRLF.CRLF (the CRLF before the dot kept), or None if the peer left."""
        # The content starts on a fresh line, so an immediate ".\r\n" ends an empty message.
        if self.buf.startswith(b".\r\n"):
            del self.buf[:3]
            return b""
        start = 0
        while True:
            i = self.buf.find(b"\r\n.\r\n", start)
            if i >= 0:
                out = bytes(self.buf[:i + 2])
                del self.buf[:i + 5]
                return out
            start = max(0, len(self.buf) - 4)
            if len(self.buf) > MAX_SIZE + 1024:
                return None
            if not await self.fill():
                return None

    def send(self, text: str):
        self.w.write(text.encode() + b"\r\n")

    async def run(self):
        self.send("220 upstream.soak ESMTP recording upstream")
        await self.w.drain()
        while True:
            raw = await self.line()
            if raw is None:
                return
            verb = raw[:4].upper()
            if verb == b"EHLO":
                self.w.write(b"250-upstream.soak\r\n250-PIPELINING\r\n250-SIZE %d\r\n"
                             b"250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n" % MAX_SIZE)
                self.mail, self.rcpts = False, 0
            elif verb == b"HELO":
                self.send("250 upstream.soak")
                self.mail, self.rcpts = False, 0
            elif verb == b"MAIL":
                if self.mail:
                    self.send("503 5.5.1 Nested MAIL")
                else:
                    self.mail, self.rcpts = True, 0
                    self.send("250 2.1.0 Ok")
            elif verb == b"RCPT":
                if not self.mail:
                    self.send("503 5.5.1 Need MAIL")
                else:
                    self.rcpts += 1
                    self.send("250 2.1.5 Ok")
            elif verb == b"DATA":
                if not self.rcpts:
                    self.send("503 5.5.1 Need RCPT")
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>")
                await self.w.drain()
                content = await self.data()
                if content is None:
                    return
                key = message_key(content)
                await self.journal.append(key + b"\n")
                self.send("250 2.0.0 Ok queued")
                self.mail, self.rcpts = False, 0
            elif verb == b"RSET":
                self.mail, self.rcpts = False, 0
                self.send("250 2.0.0 Ok")
            elif verb == b"NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == b"QUIT":
                self.send("221 2.0.0 Bye")
                await self.w.drain()
                return
            else:
                self.send("500 5.5.2 Unknown command")
            if not self.buf:  # flush a pipelined group together
                await self.w.drain()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    a = p.parse_args()
    journal = Journal(a.log, asyncio.get_running_loop())

    async def handle(reader, writer):
        try:
            await Session(reader, writer, journal).run()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    server = await asyncio.start_server(handle, a.host, a.port, reuse_address=True, backlog=1024)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
