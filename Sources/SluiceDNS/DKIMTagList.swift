import Foundation

/// Why a DKIM signature, key record or signing key is unusable: a reason for the result's comment and
/// the log (RFC 6376's PERMFAIL texts where it has one). Parsing never traps; it returns this.
public struct DKIMError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A DKIM tag=value list (RFC 6376 §3.2), as DKIM-Signature header fields and key records write it:
/// `tag-spec *( ";" tag-spec ) [ ";" ]`, FWS allowed around names, the `=` and values.
///
/// A tag name is `ALPHA *(ALPHA / DIGIT / "_")`; a value holds VALCHARs (and, leniently, octets from
/// 0x80, for EAI identities) separated by FWS. A duplicate tag is an error; an empty tag-spec (`;;`)
/// is skipped. Each tag remembers where its value sits, so the verifier can delete `b=`'s value
/// (with the whitespace around it) from the field it hashes.
struct DKIMTagList: Sendable {
    struct Tag: Sendable {
        let name: String
        /// The value, FWS trimmed from both ends; inner FWS kept.
        let value: [UInt8]
        /// Everything between the `=` and the `;` (or the end), in the parsed bytes' indices.
        let valueRange: Range<Int>
    }

    private(set) var tags: [Tag] = []

    /// Parses `bytes[range]`.
    init(parsing bytes: [UInt8], range: Range<Int>) throws(DKIMError) {
        var start = range.lowerBound
        while start <= range.upperBound {
            var end = start
            while end < range.upperBound && bytes[end] != UInt8(ascii: ";") { end += 1 }
            let spec = Self.trimmed(bytes, start..<end)
            if !spec.isEmpty {
                guard let equals = bytes[spec].firstIndex(of: UInt8(ascii: "=")) else {
                    throw DKIMError("tag-spec without '='")
                }
                let nameRange = Self.trimmed(bytes, spec.lowerBound..<equals)
                guard Self.isTagName(bytes[nameRange]) else { throw DKIMError("malformed tag name") }
                let name = String(decoding: bytes[nameRange], as: UTF8.self)
                guard !tags.contains(where: { $0.name == name }) else { throw DKIMError("duplicate tag \(name)=") }
                let valueRange = (equals + 1)..<end
                let value = Array(bytes[Self.trimmed(bytes, valueRange)])
                guard value.allSatisfy(Self.isValueOctet) else { throw DKIMError("malformed value of \(name)=") }
                tags.append(Tag(name: name, value: value, valueRange: valueRange))
            }
            start = end + 1
        }
    }

    init(parsing text: String) throws(DKIMError) {
        let bytes = Array(text.utf8)
        try self.init(parsing: bytes, range: 0..<bytes.count)
    }

    func tag(_ name: String) -> Tag? { tags.first { $0.name == name } }

    /// The value as text (inner FWS kept), or nil when the tag is absent.
    func string(_ name: String) -> String? { tag(name).map { String(decoding: $0.value, as: UTF8.self) } }

    /// The value with every FWS octet removed (`b=`, `bh=`, `p=` allow FWS anywhere).
    func compact(_ name: String) -> String? {
        tag(name).map { String(decoding: $0.value.filter { !Self.isFWS($0) }, as: UTF8.self) }
    }

    /// A base64 value (FWS removed): nil when absent, an error when not base64.
    func base64(_ name: String) throws(DKIMError) -> [UInt8]? {
        guard let tag = tag(name) else { return nil }
        let text = tag.value.filter { !Self.isFWS($0) }
        if text.isEmpty { return [] }
        guard let decoded = Self.decodeBase64(text) else { throw DKIMError("\(name)= is not base64") }
        return decoded
    }

    /// Padded base64 (RFC 4648 §4, as `Data(base64Encoded:)` takes it: a multiple of four characters,
    /// `=` only at the end): nil for anything else. On octets: every signature's `b=` and `bh=`, and
    /// every key, go through here.
    static func decodeBase64(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        let padding = text.last == UInt8(ascii: "=") ? (text[text.count - 2] == UInt8(ascii: "=") ? 2 : 1) : 0
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 4 * 3)
        var quad: UInt32 = 0
        for (index, octet) in text.enumerated() {
            let value = base64Values[Int(octet)]
            if value == 0xFF {
                guard octet == UInt8(ascii: "="), index >= text.count - padding else { return nil }
                quad <<= 6
            } else {
                quad = quad << 6 | UInt32(value)
            }
            if index % 4 == 3 {
                output.append(UInt8(truncatingIfNeeded: quad >> 16))
                output.append(UInt8(truncatingIfNeeded: quad >> 8))
                output.append(UInt8(truncatingIfNeeded: quad))
                quad = 0
            }
        }
        output.removeLast(padding)
        return output
    }

    /// Each octet's 6-bit value in the base64 alphabet; 0xFF for any other octet.
    private static let base64Values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, octet) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(octet)] = UInt8(value)
        }
        return table
    }()

    static func isFWS(_ octet: UInt8) -> Bool { octet == 0x20 || octet == 0x09 || octet == 0x0D || octet == 0x0A }

    private static func isValueOctet(_ octet: UInt8) -> Bool {
        (0x21...0x3A).contains(octet) || (0x3C...0x7E).contains(octet) || octet >= 0x80 || isFWS(octet)
    }

    private static func isTagName(_ name: ArraySlice<UInt8>) -> Bool {
        guard let first = name.first, isAlpha(first) else { return false }
        return name.allSatisfy { isAlpha($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }

    private static func isAlpha(_ octet: UInt8) -> Bool { (octet | 0x20) >= 0x61 && (octet | 0x20) <= 0x7A }

    private static func trimmed(_ bytes: [UInt8], _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound, upper = range.upperBound
        while lower < upper && isFWS(bytes[lower]) { lower += 1 }
        while upper > lower && isFWS(bytes[upper - 1]) { upper -= 1 }
        return lower..<upper
    }
}
