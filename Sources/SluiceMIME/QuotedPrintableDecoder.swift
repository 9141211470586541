/// Streaming quoted-printable decoder (RFC 2045 6.7), tolerant: soft line breaks are `=` CRLF,
/// `=` LF, `=` bare CR, and `=` followed by trailing whitespace then a line end; hex digits may be
/// lower case; an `=` not starting a valid escape is kept literally with what follows it.
/// State is carried across calls.
struct QuotedPrintableDecoder {
    private enum State { case text, equals, hex(UInt8), cr, spaces, spacesCR }
    private var state = State.text
    /// Whitespace after `=` not yet known to be a soft break (kept to emit it literally otherwise).
    private var spaces: [UInt8] = []
    private static let maxSpaces = 64
    /// Escapes that were not valid (`=` kept literally).
    private(set) var invalidEscapes = 0

    /// The most octets one call can write for `inputCount` input octets.
    static func maxOutput(_ inputCount: Int) -> Int { inputCount + maxSpaces + 4 }

    /// Decodes `input`, writing at most `maxOutput(input.count)` octets to `out`; returns the count.
    mutating func decode(_ input: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let n = input.count
        var i = 0
        var o = 0
        while i < n {
            let b = base[i]
            switch state {
            case .text:
                // Copy the run up to the next '='.
                var j = i
                while j < n && base[j] != 0x3D { out[o] = base[j]; o &+= 1; j &+= 1 }
                if j < n { state = .equals; j &+= 1 }
                i = j
                continue
            case .equals:
                if Bytes.hexValue(b) != nil { state = .hex(b) }
                else if b == Bytes.lf { state = .text }
                else if b == Bytes.cr { state = .cr }
                else if Bytes.isWSP(b) { spaces.removeAll(keepingCapacity: true); spaces.append(b); state = .spaces }
                else { invalidEscapes &+= 1; out[o] = 0x3D; o &+= 1; state = .text; continue }
            case .hex(let first):
                if let low = Bytes.hexValue(b), let high = Bytes.hexValue(first) {
                    out[o] = (high << 4) | low; o &+= 1
                    state = .text
                } else {
                    invalidEscapes &+= 1
                    out[o] = 0x3D; out[o &+ 1] = first; o &+= 2
                    state = .text
                    continue
                }
            case .cr:
                state = .text
                if b != Bytes.lf { continue }  // "=" bare CR: a soft break too.
            case .spaces:
                if Bytes.isWSP(b) {
                    if spaces.count < Self.maxSpaces { spaces.append(b) }
                    else { o &+= emitLiteralSpaces(out + o); state = .text; continue }
                } else if b == Bytes.lf { state = .text }
                else if b == Bytes.cr { state = .spacesCR }
                else { o &+= emitLiteralSpaces(out + o); state = .text; continue }
            case .spacesCR:
                state = .text
                if b != Bytes.lf { continue }
            }
            i &+= 1
        }
        return o
    }

    /// Writes "=" and the pending whitespace (not a soft break after all).
    private mutating func emitLiteralSpaces(_ out: UnsafeMutablePointer<UInt8>) -> Int {
        invalidEscapes &+= 1
        out[0] = 0x3D
        for (k, s) in spaces.enumerated() { out[k + 1] = s }
        let written = spaces.count + 1
        spaces.removeAll(keepingCapacity: true)
        return written
    }

    /// Ends the stream: a trailing `=` (with optional whitespace) is a soft break at the end;
    /// an incomplete `=X` is kept. Writes at most 2 octets.
    mutating func finish(into out: UnsafeMutablePointer<UInt8>) -> Int {
        defer { state = .text; spaces.removeAll() }
        if case .hex(let first) = state {
            invalidEscapes &+= 1
            out[0] = 0x3D; out[1] = first
            return 2
        }
        return 0
    }

    /// Decodes a whole buffer at once (tests, encoded-words use their own Q decoder).
    static func decode(_ bytes: [UInt8]) -> [UInt8] {
        var decoder = QuotedPrintableDecoder()
        var out = [UInt8](repeating: 0, count: maxOutput(bytes.count) + 2)
        let n = out.withUnsafeMutableBufferPointer { buffer -> Int in
            let p = buffer.baseAddress!
            let k = bytes.withUnsafeBytes { decoder.decode($0, into: p) }
            return k + decoder.finish(into: p + k)
        }
        out.removeSubrange(n...)
        return out
    }
}
