/// Streaming, tolerant base64 decoder: whitespace and garbage characters are skipped, missing
/// padding is repaired at the end, and data after padding is decoded too (a spam filter must see
/// everything a lenient mail client might show). State is carried across calls.
struct Base64Decoder {
    /// Sextet values: 0...63 data, `pad` for '=', `space` for whitespace, `invalid` otherwise.
    static let pad: UInt8 = 0x40, space: UInt8 = 0x80, invalid: UInt8 = 0xFF

    private var quad: UInt32 = 0
    private var count = 0
    private var pads = 0
    private var afterPadding = false
    /// Characters outside the alphabet that were skipped.
    private(set) var invalidCharacters = 0
    /// Data characters were found after a complete padding sequence.
    private(set) var dataAfterPadding = false
    /// The input ended without padding where padding was needed.
    private(set) var missingPadding = false
    /// The input ended with a lone sextet (cannot be decoded; dropped).
    private(set) var danglingCharacter = false

    /// The most octets one call can write for `inputCount` input octets.
    static func maxOutput(_ inputCount: Int) -> Int { (inputCount / 4 + 1) * 3 }

    /// Decodes `input`, writing at most `maxOutput(input.count)` octets to `out`; returns the count.
    mutating func decode(_ input: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = input.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        let table = base64Table
        let n = input.count
        var i = 0
        var o = 0
        while i < n {
            // Fast path: four data characters at a quad boundary.
            if count == 0 {
                while i &+ 4 <= n {
                    let a = UInt32(table[Int(base[i])]), b = UInt32(table[Int(base[i &+ 1])])
                    let c = UInt32(table[Int(base[i &+ 2])]), d = UInt32(table[Int(base[i &+ 3])])
                    if (a | b | c | d) & 0xC0 != 0 { break }
                    let v = (a << 18) | (b << 12) | (c << 6) | d
                    out[o] = UInt8(truncatingIfNeeded: v >> 16)
                    out[o &+ 1] = UInt8(truncatingIfNeeded: v >> 8)
                    out[o &+ 2] = UInt8(truncatingIfNeeded: v)
                    o &+= 3
                    i &+= 4
                    if afterPadding { dataAfterPadding = true; afterPadding = false }
                }
                if i >= n { break }
            }
            let s = table[Int(base[i])]
            i &+= 1
            o &+= step(s, out + o)
        }
        return o
    }

    /// One character through the slow path; returns octets written.
    @inline(__always)
    private mutating func step(_ s: UInt8, _ out: UnsafeMutablePointer<UInt8>) -> Int {
        if s < 64 {
            if afterPadding { dataAfterPadding = true; afterPadding = false }
            quad = (quad << 6) | UInt32(s)
            count &+= 1
            guard count == 4 else { return 0 }
            out[0] = UInt8(truncatingIfNeeded: quad >> 16)
            out[1] = UInt8(truncatingIfNeeded: quad >> 8)
            out[2] = UInt8(truncatingIfNeeded: quad)
            quad = 0; count = 0; pads = 0
            return 3
        }
        if s == Self.pad {
            guard count >= 2 else { return 0 }
            pads &+= 1
            guard count + pads >= 4 else { return 0 }
            let written = flushPartial(out)
            afterPadding = true
            return written
        }
        if s != Self.space { invalidCharacters &+= 1 }
        return 0
    }

    /// Writes the octets of an incomplete quad (2 or 3 sextets) and resets.
    private mutating func flushPartial(_ out: UnsafeMutablePointer<UInt8>) -> Int {
        defer { quad = 0; count = 0; pads = 0 }
        switch count {
        case 2:
            out[0] = UInt8(truncatingIfNeeded: quad >> 4)
            return 1
        case 3:
            out[0] = UInt8(truncatingIfNeeded: quad >> 10)
            out[1] = UInt8(truncatingIfNeeded: quad >> 2)
            return 2
        default:
            return 0
        }
    }

    /// Ends the stream: writes what an unpadded final quad holds (at most 2 octets to `out`).
    mutating func finish(into out: UnsafeMutablePointer<UInt8>) -> Int {
        if count == 1 { danglingCharacter = true }
        if count >= 2 { missingPadding = true }
        return flushPartial(out)
    }

    /// Decodes a whole buffer at once (encoded-words, tests).
    static func decode(_ bytes: [UInt8]) -> (bytes: [UInt8], dangling: Bool) {
        var decoder = Base64Decoder()
        var out = [UInt8](repeating: 0, count: maxOutput(bytes.count) + 3)
        let n = out.withUnsafeMutableBufferPointer { buffer -> Int in
            let p = buffer.baseAddress!
            let k = bytes.withUnsafeBytes { decoder.decode($0, into: p) }
            return k + decoder.finish(into: p + k)
        }
        out.removeSubrange(n...)
        return (out, decoder.danglingCharacter)
    }
}

/// The decoding table, built once.
nonisolated(unsafe) let base64Table: UnsafePointer<UInt8> = {
    let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    table.initialize(repeating: Base64Decoder.invalid, count: 256)
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    for (value, ch) in alphabet.enumerated() { table[Int(ch)] = UInt8(value) }
    table[Int(UInt8(ascii: "="))] = Base64Decoder.pad
    for ch in [Bytes.space, Bytes.tab, Bytes.cr, Bytes.lf, 0x0B, 0x0C] { table[Int(ch)] = Base64Decoder.space }
    return UnsafePointer(table)
}()
