/// One attribute of Postfix's XCLIENT or XFORWARD command: `NAME=value`, the value xtext-encoded on the
/// wire (RFC 3461: `+HH` for `+`, `=`, and octets outside 33…126).
public struct XClientAttribute: Hashable, Sendable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    /// The attributes Sluice takes in XCLIENT (Postfix's, as its EHLO lists them).
    public static let xclientNames = ["NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT"]
    /// `[UNAVAILABLE]` and `[TEMPUNAVAIL]`: the value is not known (for good, or for now).
    public static let unavailable = "[UNAVAILABLE]"
    public static let temporarilyUnavailable = "[TEMPUNAVAIL]"

    public var isUnavailable: Bool { value == Self.unavailable || value == Self.temporarilyUnavailable }

    /// `NAME=value` as written on the wire.
    public func write(into buffer: inout [UInt8]) {
        buffer.append(contentsOf: name.utf8)
        buffer.append(UInt8(ascii: "="))
        Self.xtextEncode(value, into: &buffer)
    }

    static func xtextEncode(_ text: String, into output: inout [UInt8]) {
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            if byte < 33 || byte > 126 || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "=") {
                output.append(UInt8(ascii: "+"))
                output.append(digits[Int(byte >> 4)])
                output.append(digits[Int(byte & 0xF)])
            } else {
                output.append(byte)
            }
        }
    }

    /// Decodes xtext; nil when a `+` is not followed by two hex digits or the result is not UTF-8.
    static func xtextDecode(_ bytes: ArraySlice<UInt8>) -> String? {
        var output: [UInt8] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                guard index + 2 < bytes.endIndex, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) else { return nil }
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(byte)
                index += 1
            }
        }
        return String(validating: output, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    /// The arguments of `XCLIENT`: one or more `NAME=value`, names from `xclientNames` (any case).
    /// Errors read as Postfix's (`Bad XCLIENT attribute name: FOO`).
    static func parseXCLIENT(_ argument: ArraySlice<UInt8>) throws(CommandParser.Error) -> [XClientAttribute] {
        let words = argument.split(separator: UInt8(ascii: " "))
        guard !words.isEmpty else { throw CommandParser.Error("Syntax: XCLIENT attribute=value...") }
        var attributes: [XClientAttribute] = []
        for word in words {
            guard let equals = word.firstIndex(of: UInt8(ascii: "=")) else {
                throw CommandParser.Error("Syntax: XCLIENT attribute=value...")
            }
            let name = String(decoding: word[..<equals], as: UTF8.self).uppercased()
            guard xclientNames.contains(name) else { throw CommandParser.Error("Bad XCLIENT attribute name: \(name.prefix(32))") }
            guard let value = xtextDecode(word[(equals + 1)...]) else { throw CommandParser.Error("Bad XCLIENT \(name) syntax") }
            let attribute = XClientAttribute(name, value)
            if !attribute.isUnavailable { try validate(attribute) }
            attributes.append(attribute)
        }
        return attributes
    }

    private static func validate(_ attribute: XClientAttribute) throws(CommandParser.Error) {
        let value = attribute.value
        func bad() -> CommandParser.Error { CommandParser.Error("Bad \(attribute.name) syntax: \(value.prefix(64))") }
        switch attribute.name {
        case "ADDR", "DESTADDR":
            // The characters of an address here; the session checks it is one.
            let text = value.uppercased().hasPrefix("IPV6:") ? value.dropFirst(5) : Substring(value)
            guard !text.isEmpty, text.utf8.allSatisfy({ CommandParser.isDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":")
                || (($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "f")) }) else { throw bad() }
        case "PORT", "DESTPORT":
            guard let port = Int(value), (0...65535).contains(port) else { throw bad() }
        case "NAME":
            // A host name, not an address (Postfix refuses NAME=1.2.3.4).
            guard Self.isHostName(value), !value.utf8.allSatisfy({ CommandParser.isDigit($0) || $0 == UInt8(ascii: ".") }),
                  !value.contains(":") else { throw bad() }
        case "PROTO":
            guard ["SMTP", "ESMTP"].contains(value.uppercased()) else { throw bad() }
        default:
            break
        }
    }

    public static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 255 else { return false }
        return text.utf8.allSatisfy { CommandParser.isAlpha($0) || CommandParser.isDigit($0) || $0 == UInt8(ascii: "-")
            || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") }
    }
}

extension EHLOCapabilities {
    /// The upstream's EHLO reply lists XCLIENT (this connection may send it).
    public static func offersXCLIENT(in reply: SMTPReply) -> Bool {
        reply.lines.dropFirst().contains { hasKeyword($0, "XCLIENT") || $0.uppercased().hasPrefix("XCLIENT ") }
    }

    /// The upstream's EHLO reply lists PIPELINING.
    public static func offersPIPELINING(in reply: SMTPReply) -> Bool {
        reply.lines.dropFirst().contains { hasKeyword($0, "PIPELINING") }
    }

    /// The upstream's EHLO reply lists XFORWARD.
    public static func offersXFORWARD(in reply: SMTPReply) -> Bool {
        reply.lines.dropFirst().contains { hasKeyword($0, "XFORWARD") || $0.uppercased().hasPrefix("XFORWARD ") }
    }

    /// What Sluice offers a client that may send XCLIENT.
    public static let xclientOffer = "XCLIENT " + XClientAttribute.xclientNames.joined(separator: " ")
}
