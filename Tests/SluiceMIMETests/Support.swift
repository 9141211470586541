import SluiceMIME

/// Test helpers: parsing whole messages and in chunks.
enum Parse {
    static func whole(_ bytes: [UInt8], limits: MIMELimits = MIMELimits()) -> MIMEMessage {
        var parser = MIMEParser(limits: limits)
        parser.feed(bytes)
        return parser.finish()
    }

    static func whole(_ text: String, limits: MIMELimits = MIMELimits()) -> MIMEMessage {
        whole(Array(text.utf8), limits: limits)
    }

    static func byteByByte(_ bytes: [UInt8], limits: MIMELimits = MIMELimits()) -> MIMEMessage {
        var parser = MIMEParser(limits: limits)
        for b in bytes { parser.feed([b]) }
        return parser.finish()
    }

    /// Random chunk sizes from a fixed seed (reproducible).
    static func chunked(_ bytes: [UInt8], seed: UInt64, maxChunk: Int = 97, limits: MIMELimits = MIMELimits()) -> MIMEMessage {
        var parser = MIMEParser(limits: limits)
        var rng = SplitMix(seed: seed)
        var i = 0
        while i < bytes.count {
            let n = min(bytes.count - i, Int(rng.next() % UInt64(maxChunk)) + 1)
            parser.feed(Array(bytes[i..<(i + n)]))
            i += n
        }
        return parser.finish()
    }
}

/// A small deterministic generator.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    /// CRLF line ends from a literal written with LF.
    var crlf: String {
        var out = ""
        for ch in self { if ch == "\n" { out += "\r\n" } else { out.append(ch) } }
        return out
    }
}
