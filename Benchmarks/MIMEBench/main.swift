import Glibc
import SluiceMIME

/// Base64 decoding throughput through the whole parser: a message with a few text parts and a
/// large base64 attachment, fed in 64 KiB chunks; best of 5 runs.
let decodedSize = 64 << 20
let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

func buildMessage() -> [UInt8] {
    var m = Array("""
    From: bench@example.com\r
    Subject: benchmark\r
    MIME-Version: 1.0\r
    Content-Type: multipart/mixed; boundary="bench-boundary"\r
    \r
    --bench-boundary\r
    Content-Type: text/plain; charset=utf-8\r
    Content-Transfer-Encoding: quoted-printable\r
    \r
    Hello, this is the text part with a soft=\r
     break and caf=C3=A9.\r
    --bench-boundary\r
    Content-Type: text/html; charset=iso-8859-1\r
    \r
    <p>Some <b>html</b> caf\u{E9}</p>\r
    --bench-boundary\r
    Content-Type: application/octet-stream\r
    Content-Transfer-Encoding: base64\r
    Content-Disposition: attachment; filename="big.bin"\r
    \r

    """.utf8)
    var state: UInt32 = 12345
    var line: [UInt8] = []
    let groups = decodedSize / 3
    m.reserveCapacity(m.count + groups * 4 + groups / 19 * 2 + 100)
    for g in 0..<groups {
        for _ in 0..<4 {
            state = state &* 1_103_515_245 &+ 12345
            line.append(alphabet[Int((state >> 16) & 63)])
        }
        if g % 19 == 18 { m.append(contentsOf: line); m.append(contentsOf: [13, 10]); line.removeAll(keepingCapacity: true) }
    }
    m.append(contentsOf: line)
    m.append(contentsOf: Array("\r\n--bench-boundary--\r\n".utf8))
    return m
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let message = buildMessage()
var best = Double.infinity
var decoded = 0
for _ in 0..<5 {
    let start = now()
    var parser = MIMEParser()
    message.withUnsafeBytes { all in
        var i = 0
        while i < all.count {
            let n = min(65536, all.count - i)
            parser.feed(UnsafeRawBufferPointer(rebasing: all[i..<(i + n)]))
            i += n
        }
    }
    let result = parser.finish()
    let elapsed = now() - start
    decoded = result.parts.last?.decodedSize ?? 0
    best = min(best, elapsed)
}
let mb = Double(decoded) / 1e6
print("message \(message.count) octets, attachment \(decoded) octets decoded")
print("best of 5: \(String(Int(best * 1000))) ms, \(Int(mb / best)) MB/s decoded, \(Int(Double(message.count) / 1e6 / best)) MB/s of input")
