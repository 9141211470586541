/// Decoding a character reference (`&amp;`, `&#105;`, `&#x69;`) in text content the way browsers
/// do (WHATWG HTML, "character reference state"): the semicolon may be missing after a number and
/// after the legacy names; a number that is not a usable code point becomes U+FFFD.
enum HTMLCharacterReference {
    /// What a reference stands for.
    enum Replacement {
        case scalar(Unicode.Scalar)
        case text(String)
    }

    /// The reference starting at `start` (an `&`) and the index after it; nil when the `&` does not
    /// start one (it is then text). Reads at most the digits of a number or 32 name characters.
    static func decode(_ input: UnsafeBufferPointer<UInt8>, at start: Int, end: Int) -> (Replacement, Int)? {
        let next = start + 1
        guard next < end else { return nil }
        if input[next] == UInt8(ascii: "#") { return numeric(input, at: next + 1, end: end) }
        return named(input, at: next, end: end)
    }

    private static func numeric(_ input: UnsafeBufferPointer<UInt8>, at start: Int, end: Int) -> (Replacement, Int)? {
        var index = start
        var radix: UInt32 = 10
        if index < end, input[index] | 0x20 == UInt8(ascii: "x") {
            radix = 16
            index += 1
        }
        let digitsStart = index
        var value: UInt32 = 0
        while index < end, let digit = digitValue(input[index], radix: radix) {
            value = min(value &* radix &+ digit, 0x110000)  // saturates: anything larger is invalid anyway
            index += 1
        }
        guard index > digitsStart else { return nil }  // "&#" or "&#x" without digits is text
        if index < end, input[index] == UInt8(ascii: ";") { index += 1 }
        return (.scalar(scalar(forCodePoint: value)), index)
    }

    private static func digitValue(_ byte: UInt8, radix: UInt32) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// The numeric character reference rules: zero, surrogates and values beyond U+10FFFF become
    /// U+FFFD; 0x80–0x9F are read as Windows-1252, as every browser does.
    static func scalar(forCodePoint value: UInt32) -> Unicode.Scalar {
        let replacement = Unicode.Scalar(0xFFFD)!
        if (0x80...0x9F).contains(value) {
            let mapped = windows1252[Int(value - 0x80)]
            return mapped == 0 ? Unicode.Scalar(value)! : Unicode.Scalar(mapped)!
        }
        guard value != 0, let scalar = Unicode.Scalar(value) else { return replacement }
        return scalar
    }

    /// Windows-1252 0x80–0x9F (0: the five undefined positions, kept as they are).
    private static let windows1252: [UInt32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
        0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ]

    private static func named(_ input: UnsafeBufferPointer<UInt8>, at start: Int, end: Int) -> (Replacement, Int)? {
        var index = start
        let cap = min(end, start + HTMLEntityTable.longestName + 1)
        while index < cap, isAlphanumeric(input[index]) { index += 1 }
        let length = index - start
        guard length > 0 else { return nil }
        if length <= HTMLEntityTable.longestName, index < end, input[index] == UInt8(ascii: ";"),
           let text = HTMLEntityTable.terminated(name(input, from: start, length: length)) {
            return (.text(text), index + 1)
        }
        // Without the semicolon only the legacy names count, longest first (`&notit;` is "¬it;").
        var prefix = min(length, HTMLEntityTable.longestLegacyName)
        while prefix >= 2 {
            if let text = HTMLEntityTable.legacy(name(input, from: start, length: prefix)) {
                return (.text(text), start + prefix)
            }
            prefix -= 1
        }
        return nil
    }

    private static func name(_ input: UnsafeBufferPointer<UInt8>, from start: Int, length: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: input[start..<(start + length)]), as: UTF8.self)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        let folded = byte | 0x20
        return (folded >= UInt8(ascii: "a") && folded <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
