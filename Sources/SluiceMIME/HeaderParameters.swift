/// A structured header value (`Content-Type`, `Content-Disposition`): the main value and its
/// parameters. Tolerant: unquoted values may hold spaces (up to the next `;`), an unterminated
/// quoted-string runs to the end. RFC 2231 continuations (`name*0*=`), charsets and
/// percent-encoding are decoded; encoded-words are decoded in values too (Outlook puts them in
/// quoted filenames).
struct HeaderParameters {
    /// The value before the first `;`, trimmed and lowercased.
    var value: String
    /// Parameters by lowercased name. The first of duplicate plain parameters wins; an RFC 2231
    /// form (`name*` or `name*0`…) wins over a plain one.
    var parameters: [String: String] = [:]
    /// Parameter names given more than once (an evasion signal).
    var duplicates: [String] = []

    private struct Section { var index: Int; var extended: Bool; var value: String }
    private static let maxSections = 256

    init(_ text: String) {
        let s = Array(text.utf8)
        var i = 0
        while i < s.count && s[i] != 0x3B { i += 1 }
        value = String(String(decoding: s[0..<i], as: UTF8.self).trimmingWhitespace()).lowercased()
        var plain: [String: String] = [:]
        var sections: [String: [Section]] = [:]
        while i < s.count {
            i += 1  // the ';'
            guard let (name, raw, next) = Self.parameter(s, from: i) else { break }
            i = next
            guard !name.isEmpty else { continue }
            if name.contains("*") {
                // name*  |  name*N  |  name*N*  (RFC 2231)
                let pieces = name.split(separator: "*", omittingEmptySubsequences: false)
                let base = String(pieces[0])
                var index: Int? = nil
                var extended = false
                if pieces.count == 2 && pieces[1].isEmpty { index = 0; extended = true }
                else if pieces.count == 2 || (pieces.count == 3 && pieces[2].isEmpty) {
                    extended = pieces.count == 3
                    if pieces[1].utf8.count <= 4, pieces[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { index = Int(pieces[1]) }
                }
                if !base.isEmpty, let index {
                    var list = sections[base, default: []]
                    if list.contains(where: { $0.index == index }) { duplicates.append(name); continue }
                    if list.count < Self.maxSections { list.append(Section(index: index, extended: extended, value: raw)) }
                    sections[base] = list
                    continue
                }
            }
            if plain[name] != nil { duplicates.append(name); continue }
            plain[name] = raw
        }
        for (name, raw) in plain { parameters[name] = Self.decodeWords(raw) }
        for (name, list) in sections {
            if plain[name] != nil && !duplicates.contains(name) { duplicates.append(name) }
            parameters[name] = Self.join(list.sorted { $0.index < $1.index })
        }
    }

    /// One `name=value` starting at `i`; returns the lowercased name, the unquoted value and the
    /// index of the next `;` (or the end).
    private static func parameter(_ s: [UInt8], from start: Int) -> (String, String, Int)? {
        var i = start
        while i < s.count && (Bytes.isWSP(s[i]) || s[i] == Bytes.cr || s[i] == Bytes.lf) { i += 1 }
        guard i < s.count else { return nil }
        let nameStart = i
        while i < s.count && s[i] != 0x3D && s[i] != 0x3B { i += 1 }
        let name = String(String(decoding: s[nameStart..<i], as: UTF8.self).trimmingWhitespace()).lowercased()
        guard i < s.count, s[i] == 0x3D else { return ("", "", i) }  // no "=": skipped
        i += 1
        while i < s.count && Bytes.isWSP(s[i]) { i += 1 }
        var value: [UInt8] = []
        if i < s.count && s[i] == 0x22 {
            i += 1
            while i < s.count && s[i] != 0x22 {
                if s[i] == 0x5C && i + 1 < s.count { i += 1 }
                value.append(s[i]); i += 1
            }
            while i < s.count && s[i] != 0x3B { i += 1 }  // anything after the closing quote
            return (name, String(decoding: value, as: UTF8.self), i)
        }
        let valueStart = i
        while i < s.count && s[i] != 0x3B { i += 1 }
        let token = String(decoding: s[valueStart..<i], as: UTF8.self).trimmingWhitespace()
        return (name, String(token), i)
    }

    /// RFC 2231 sections joined: extended ones percent-decoded, the charset taken from the
    /// first section's `charset'language'` prefix.
    private static func join(_ list: [Section]) -> String {
        var charset: String? = nil
        var bytes: [UInt8] = []
        var anyExtended = false
        for (k, section) in list.enumerated() {
            var raw = Array(section.value.utf8)[...]
            if section.extended {
                anyExtended = true
                if k == 0, let q1 = raw.firstIndex(of: 0x27), let q2 = raw[(q1 + 1)...].firstIndex(of: 0x27) {
                    charset = String(decoding: raw[raw.startIndex..<q1], as: UTF8.self)
                    raw = raw[(q2 + 1)...]
                }
                bytes.append(contentsOf: percentDecode(raw))
            } else {
                bytes.append(contentsOf: raw)
            }
        }
        let text: String
        if anyExtended, let charset, !charset.isEmpty {
            text = CharsetConverter.convert(bytes, charset: charset).text
        } else {
            text = Bytes.utf8OrLatin1(bytes)
        }
        return decodeWords(text)
    }

    private static func percentDecode(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == 0x25, i + 2 < s.endIndex, let h = Bytes.hexValue(s[i + 1]), let l = Bytes.hexValue(s[i + 2]) {
                out.append(h << 4 | l); i += 3
            } else {
                out.append(s[i]); i += 1
            }
        }
        return out
    }

    private static func decodeWords(_ value: String) -> String {
        value.contains("=?") ? EncodedWords.decode(value) : value
    }
}
