/// Small byte and string helpers shared by the parsers (no Foundation).
extension StringProtocol {
    /// Drops leading and trailing spaces, tabs, CR and LF.
    func trimmingWhitespace() -> Substring {
        let s = Substring(self)
        guard let start = s.firstIndex(where: { !$0.isMIMEWhitespace }) else { return s[s.endIndex...] }
        let end = s.lastIndex(where: { !$0.isMIMEWhitespace })!
        return s[start...end]
    }
}

extension Character {
    var isMIMEWhitespace: Bool { self == " " || self == "\t" || self == "\r" || self == "\n" || self == "\r\n" }
}

enum Bytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09

    @inline(__always) static func isWSP(_ b: UInt8) -> Bool { b == space || b == tab }

    /// The value of a hex digit (either case), or nil.
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b &- 0x30
        case 0x41...0x46: return b &- 0x37
        case 0x61...0x66: return b &- 0x57
        default: return nil
        }
    }

    /// ASCII lowercase of one octet.
    @inline(__always) static func lower(_ b: UInt8) -> UInt8 { (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b }

    /// Octets read as UTF-8 where valid; each octet of an invalid sequence is read as ISO-8859-1.
    /// This is how unlabelled 8-bit text and raw 8-bit header octets are taken.
    static func utf8OrLatin1<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        appendUTF8OrLatin1(Array(bytes)[...], to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `input` as UTF-8 to `out`: valid UTF-8 sequences copied, other octets mapped from
    /// ISO-8859-1. Returns how many trailing octets form an incomplete (possibly valid) sequence
    /// and were not consumed when `partial` is true.
    @discardableResult
    static func appendUTF8OrLatin1(_ input: ArraySlice<UInt8>, to out: inout [UInt8], partial: Bool = false) -> Int {
        var i = input.startIndex
        let end = input.endIndex
        while i < end {
            let b = input[i]
            if b < 0x80 { out.append(b); i += 1; continue }
            let length = UTF8Validation.sequenceLength(input, at: i)
            if length > 0 {
                out.append(contentsOf: input[i..<(i + length)])
                i += length
            } else if length < 0 && partial {
                return end - i
            } else {
                appendLatin1(b, to: &out)
                i += 1
            }
        }
        return 0
    }

    /// Appends one ISO-8859-1 octet as UTF-8.
    @inline(__always) static func appendLatin1(_ b: UInt8, to out: inout [UInt8]) {
        if b < 0x80 { out.append(b) } else { out.append(0xC0 | (b >> 6)); out.append(0x80 | (b & 0x3F)) }
    }
}

/// UTF-8 sequence checks (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
enum UTF8Validation {
    /// Length of the valid sequence starting at `i` (1...4), 0 if invalid, or -1 if the input
    /// ends in the middle of a sequence that is valid so far.
    static func sequenceLength(_ s: ArraySlice<UInt8>, at i: Int) -> Int {
        let (length, valid) = scan(s, at: i)
        if valid { return length }
        return length < 0 ? -1 : 0
    }

    /// Scans the sequence at `i`: `(n, true)` for a valid n-octet sequence; `(n, false)` for an
    /// invalid one whose maximal valid prefix (to replace by one U+FFFD) is n >= 1 octets;
    /// `(-1, false)` if the input ends inside a sequence valid so far.
    static func scan(_ s: ArraySlice<UInt8>, at i: Int) -> (Int, Bool) {
        let b0 = s[i]
        let need: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0x00...0x7F: return (1, true)
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return (1, false)
        }
        for k in 1...need {
            guard i + k < s.endIndex else { return (-1, false) }
            let c = s[i + k]
            let ok = k == 1 ? (c >= lo && c <= hi) : (c & 0xC0 == 0x80)
            if !ok { return (k, false) }
        }
        return (need + 1, true)
    }
}
