/// RFC 2047 encoded-words (`=?charset?B?...?=`, `=?charset?Q?...?=`) decoded to UTF-8.
/// Adjacent encoded-words separated only by whitespace are joined without it; consecutive words
/// in the same charset are joined before conversion (so a character split across two words
/// survives). Malformed words are left literally.
enum EncodedWords {
    private struct Word { var charset: String; var bytes: [UInt8] }

    /// Decodes every encoded-word in `text` (also inside atoms and quoted strings, as lenient
    /// readers do).
    static func decode(_ text: String) -> String {
        let s = Array(text.utf8)
        guard s.count >= 8, contains(s, 0x3D, 0x3F) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var group: Word? = nil
        var literalStart = 0
        var i = 0
        var nextClose = -1  // cached position of the next "?=" (linear scanning on hostile input)

        func flushGroup() {
            if let g = group { out.append(contentsOf: CharsetConverter.convert(g.bytes, charset: g.charset).text.utf8) }
            group = nil
        }
        while i + 1 < s.count {
            guard s[i] == 0x3D, s[i + 1] == 0x3F, let word = parseWord(s, at: i, nextClose: &nextClose) else { i += 1; continue }
            let between = s[literalStart..<i]
            if group != nil && between.allSatisfy({ Bytes.isWSP($0) || $0 == Bytes.cr || $0 == Bytes.lf }) {
                // Whitespace between encoded-words is dropped.
            } else {
                flushGroup()
                out.append(contentsOf: between)
            }
            if group != nil && group!.charset == word.word.charset {
                group!.bytes.append(contentsOf: word.word.bytes)
            } else {
                flushGroup()
                group = word.word
            }
            i = word.end
            literalStart = i
        }
        flushGroup()
        out.append(contentsOf: s[literalStart...])
        return String(decoding: out, as: UTF8.self)
    }

    private static func contains(_ s: [UInt8], _ a: UInt8, _ b: UInt8) -> Bool {
        var i = 0
        while i + 1 < s.count { if s[i] == a && s[i + 1] == b { return true }; i += 1 }
        return false
    }

    /// Parses the word starting at `start` ("=?"); returns it and the index after its "?=".
    private static func parseWord(_ s: [UInt8], at start: Int, nextClose: inout Int) -> (word: Word, end: Int)? {
        var i = start + 2
        let charsetStart = i
        while i < s.count && s[i] != 0x3F {
            if s[i] <= 0x20 || s[i] >= 0x7F || i - charsetStart > 64 { return nil }
            i += 1
        }
        guard i > charsetStart, i + 2 < s.count, s[i + 2] == 0x3F else { return nil }
        let encoding = Bytes.lower(s[i + 1])
        guard encoding == 0x62 || encoding == 0x71 else { return nil }
        let textStart = i + 3
        if nextClose < textStart {
            nextClose = s.count
            var j = textStart
            while j + 1 < s.count { if s[j] == 0x3F && s[j + 1] == 0x3D { nextClose = j; break }; j += 1 }
        }
        guard nextClose < s.count else { return nil }
        let encoded = Array(s[textStart..<nextClose])
        var charset = String(decoding: s[charsetStart..<i], as: UTF8.self).lowercased()
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }  // RFC 2231 language
        let bytes: [UInt8]
        if encoding == 0x62 {
            let (decoded, dangling) = Base64Decoder.decode(encoded)
            guard !dangling else { return nil }
            bytes = decoded
        } else {
            bytes = qDecode(encoded)
        }
        return (Word(charset: charset, bytes: bytes), nextClose + 2)
    }

    /// The Q encoding: `_` is a space, `=XX` an octet, anything else literal.
    static func qDecode(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            let b = s[i]
            if b == 0x5F { out.append(Bytes.space); i += 1; continue }
            if b == 0x3D, i + 2 < s.count, let h = Bytes.hexValue(s[i + 1]), let l = Bytes.hexValue(s[i + 2]) {
                out.append(h << 4 | l); i += 3; continue
            }
            out.append(b); i += 1
        }
        return out
    }
}
