/// The named character references of HTML (the full WHATWG list: every HTML 4 name, `apos`, and the
/// rest of HTML5), looked up by name as browsers do in text content.
///
/// The table is parsed from `source` once, on first use.
enum HTMLEntityTable {
    /// One reference: its replacement text, and whether browsers accept it without the semicolon.
    struct Entry: Sendable {
        let text: String
        let isLegacy: Bool
    }

    /// The longest name (`CounterClockwiseContourIntegral`) is 31 characters.
    static let longestName = 31
    /// The longest name accepted without a semicolon (`brvbar`, `curren`, `middot`, `plusmn`, …).
    static let longestLegacyName = 6

    /// Name (without `&` and `;`) to entry.
    static let entries: [String: Entry] = parse(source)

    /// The reference for `name` followed by a semicolon.
    static func terminated(_ name: String) -> String? {
        entries[name]?.text
    }

    /// The reference for `name` without a semicolon: only the legacy names.
    static func legacy(_ name: String) -> String? {
        guard let entry = entries[name], entry.isLegacy else { return nil }
        return entry.text
    }

    private static func parse(_ source: String) -> [String: Entry] {
        var table: [String: Entry] = [:]
        table.reserveCapacity(2200)
        for item in source.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let separator = item.firstIndex(where: { $0 == ":" || $0 == "=" }) else { continue }
            let name = String(item[..<separator])
            var text = ""
            for hex in item[item.index(after: separator)...].split(separator: "+") {
                if let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) {
                    text.unicodeScalars.append(scalar)
                }
            }
            table[name] = Entry(text: text, isLegacy: item[separator] == "=")
        }
        return table
    }
}
