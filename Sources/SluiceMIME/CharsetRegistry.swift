import Glibc

/// How a charset label is read: natively for the common Unicode and Latin cases, through glibc
/// iconv otherwise.
enum CharsetChoice: Hashable {
    /// UTF-8, invalid sequences replaced by U+FFFD.
    case utf8
    /// UTF-8 where valid, other octets as ISO-8859-1 (unlabelled text and US-ASCII that lies).
    case utf8OrLatin1
    case latin1
    /// An iconv source name, and its code unit width (for resynchronising after an invalid unit).
    case iconv(String, unit: Int)
    /// UTF-16 or UTF-32 without an explicit byte order: a BOM decides, else the first unit is sniffed.
    case unicodeUnmarked(unit: Int)
}

/// Charset label resolution: case-insensitive, with the aliases real mail uses.
enum CharsetRegistry {
    /// The choice for `label`, or nil if the label is unknown (the caller reads ISO-8859-1).
    static func resolve(_ label: String) -> CharsetChoice? {
        var name = String(label.lowercased().trimmingWhitespace().filter { $0 != "\"" && $0 != "'" })
        if let star = name.firstIndex(of: "*") { name = String(name[..<star]) }  // RFC 2231 language suffix
        if name.hasPrefix("x-") && aliases[name] == nil { name.removeFirst(2) }
        if let choice = aliases[name] { return choice }
        if let latin = latinFamily(name) { return latin }
        // Anything else glibc knows under a sane name.
        guard !name.isEmpty, name.utf8.count <= 40,
              name.utf8.allSatisfy({ isNameOctet($0) }) else { return nil }
        let upper = name.uppercased()
        return iconvAvailable(upper) ? .iconv(upper, unit: 1) : nil
    }

    private static func isNameOctet(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E || b == 0x3A
    }

    /// `iso-8859-N`, `iso8859-N`, `iso_8859-N`, `latinN`, `windows-125N`, `cp125N`, `win-125N`.
    private static func latinFamily(_ name: String) -> CharsetChoice? {
        for prefix in ["iso-8859-", "iso8859-", "iso_8859-", "iso8859_", "iso-8859_"] where name.hasPrefix(prefix) {
            var rest = String(name.dropFirst(prefix.count))
            if let colon = rest.firstIndex(of: ":") { rest = String(rest[..<colon]) }  // iso_8859-1:1987
            if rest.hasSuffix("-i") || rest.hasSuffix("-e") { rest.removeLast(2) }  // iso-8859-8-i
            guard let n = Int(rest), (1...16).contains(n), n != 12 else { return nil }
            return n == 1 ? .latin1 : .iconv("ISO-8859-\(n)", unit: 1)
        }
        for prefix in ["windows-", "cp", "win-", "win", "ms-"] where name.hasPrefix(prefix) {
            guard let n = Int(name.dropFirst(prefix.count)) else { continue }
            if (1250...1258).contains(n) { return .iconv("CP\(n)", unit: 1) }
            if [874, 932, 936, 949, 950].contains(n) { return aliases["cp\(n)"] }
        }
        if name.hasPrefix("latin"), let n = Int(name.dropFirst(5)) {
            let part = [1: 1, 2: 2, 3: 3, 4: 4, 5: 9, 6: 10, 7: 13, 8: 14, 9: 15, 10: 16][n]
            if let part { return part == 1 ? .latin1 : .iconv("ISO-8859-\(part)", unit: 1) }
        }
        return nil
    }

    private static let aliases: [String: CharsetChoice] = {
        var map: [String: CharsetChoice] = [:]
        func add(_ names: [String], _ choice: CharsetChoice) { for n in names { map[n] = choice } }
        add(["utf-8", "utf8", "unicode-1-1-utf-8", "unicode20utf8", "x-unicode20utf8", "utf_8"], .utf8)
        add(["us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "646", "iso-ir-6", "cp367", "ibm367",
             "csascii", "ansi_x3.4-1986", "iso_646.irv:1991", ""], .utf8OrLatin1)
        add(["latin1", "latin-1", "l1", "cp819", "ibm819", "iso-ir-100", "csisolatin1", "iso88591", "8859-1"], .latin1)
        add(["gb2312", "gbk", "cp936", "ms936", "euc-cn", "euccn", "gb18030", "gb_2312-80", "chinese",
             "csgb2312", "x-gbk", "windows-936", "gb2312-80", "x-euc-cn"], .iconv("GB18030", unit: 1))
        add(["big5", "big-5", "cn-big5", "csbig5", "x-x-big5", "cp950", "big5-eten"], .iconv("BIG5", unit: 1))
        add(["big5-hkscs", "big5hkscs"], .iconv("BIG5-HKSCS", unit: 1))
        add(["shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j", "cp932",
             "ms932", "x-ms-cp932", "shiftjis"], .iconv("CP932", unit: 1))
        add(["euc-jp", "eucjp", "x-euc-jp", "ujis", "cseucpkdfmtjapanese"], .iconv("EUC-JP-MS", unit: 1))
        add(["iso-2022-jp", "csiso2022jp", "iso2022jp", "jis", "iso-2022-jp-1", "iso-2022-jp-2"], .iconv("ISO-2022-JP-2", unit: 1))
        add(["iso-2022-jp-3"], .iconv("ISO-2022-JP-3", unit: 1))
        add(["iso-2022-kr", "csiso2022kr"], .iconv("ISO-2022-KR", unit: 1))
        add(["euc-kr", "euckr", "ks_c_5601-1987", "ks_c_5601", "ks_c_5601-1989", "ksc5601", "ksc_5601",
             "cp949", "uhc", "windows-949", "ms949", "korean", "csksc56011987", "iso-ir-149", "csueckr",
             "cseuckr", "ks_c_5601_1987"], .iconv("CP949", unit: 1))
        add(["koi8-r", "koi8r", "cskoi8r", "koi8"], .iconv("KOI8-R", unit: 1))
        add(["koi8-u", "koi8u"], .iconv("KOI8-U", unit: 1))
        add(["tis-620", "tis620", "cp874", "windows-874", "iso-8859-11"], .iconv("CP874", unit: 1))
        add(["utf-16", "utf16", "ucs-2", "ucs2", "unicode", "csunicode", "iso-10646-ucs-2"], .unicodeUnmarked(unit: 2))
        add(["utf-16le", "utf16le", "ucs-2le", "unicodelittleunmarked"], .iconv("UTF-16LE", unit: 2))
        add(["utf-16be", "utf16be", "ucs-2be", "unicodebigunmarked"], .iconv("UTF-16BE", unit: 2))
        add(["utf-32", "utf32", "ucs-4", "ucs4", "iso-10646-ucs-4"], .unicodeUnmarked(unit: 4))
        add(["utf-32le", "utf32le", "ucs-4le"], .iconv("UTF-32LE", unit: 4))
        add(["utf-32be", "utf32be", "ucs-4be"], .iconv("UTF-32BE", unit: 4))
        add(["utf-7", "utf7", "unicode-1-1-utf-7"], .iconv("UTF-7", unit: 1))
        add(["macintosh", "mac", "x-mac-roman", "macroman"], .iconv("MACINTOSH", unit: 1))
        add(["ibm866", "cp866", "866"], .iconv("CP866", unit: 1))
        add(["viscii", "tcvn"], .iconv("VISCII", unit: 1))
        return map
    }()

    /// Whether iconv can convert from `name` to UTF-8 on this system.
    static func iconvAvailable(_ name: String) -> Bool {
        let cd = iconv_open("UTF-8", name)
        if Int(bitPattern: cd) == -1 { return false }
        iconv_close(cd)
        return true
    }
}
