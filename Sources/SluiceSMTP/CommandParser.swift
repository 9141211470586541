/// Parses one command line (CRLF already removed by `CommandLineFramer`) into an `SMTPCommand`.
///
/// Verbs are whole words compared case-insensitively (`HELOX` is not `HELO`). Paths follow RFC 5321
/// §4.1.2 with the angle brackets required; a space after `FROM:`/`TO:` is tolerated as real clients
/// send it.
public enum CommandParser {
    public struct Error: Swift.Error, Hashable, Sendable {
        /// Text for the `501 5.5.4` reply.
        public var detail: String
        public init(_ detail: String) { self.detail = detail }
    }

    public static func parse(_ line: some Collection<UInt8>) throws(Error) -> SMTPCommand {
        var bytes = Array(line)
        // Commands are almost always ASCII: validate UTF-8 only when a byte says it is needed.
        if !bytes.allSatisfy({ $0 < 0x80 }) {
            guard String(validating: bytes, as: UTF8.self) != nil else { throw Error("invalid UTF-8 in command") }
        }
        let verbEnd = bytes.firstIndex(of: UInt8(ascii: " ")) ?? bytes.count
        // ASCII upper case, in place. A verb is ASCII (RFC 5321): no Unicode case mapping, which turns
        // "quıt" into "QUIT"; a non-ASCII octet makes it unknown below.
        for i in 0..<verbEnd where isAlpha(bytes[i]) { bytes[i] &= 0xDF }
        let verb = String(decoding: bytes[..<verbEnd], as: UTF8.self)
        guard !verb.isEmpty, verb.utf8.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }) else {
            return .unknown(verb: String(verb.prefix(32)))
        }
        let rest = verbEnd < bytes.count ? Array(bytes[(verbEnd + 1)...]) : []
        let argument = trimmed(rest)
        // Built only for the verbs that take free text (MAIL and RCPT are parsed from the bytes).
        var argumentText: String? { argument.isEmpty ? nil : String(decoding: argument, as: UTF8.self) }

        switch verb {
        case "HELO", "EHLO":
            guard let domain = argumentText else { throw Error("\(verb) requires a domain or address literal") }
            guard !domain.utf8.contains(UInt8(ascii: " ")) else { throw Error("\(verb) takes one domain or address literal") }
            return verb == "HELO" ? .helo(domain) : .ehlo(domain)
        case "MAIL":
            var cursor = Cursor(rest)
            try cursor.expectKeyword("FROM:", usage: "MAIL FROM:<address>")
            let path = try cursor.reversePath()
            return .mail(path, try cursor.parameters())
        case "RCPT":
            var cursor = Cursor(rest)
            try cursor.expectKeyword("TO:", usage: "RCPT TO:<address>")
            let path = try cursor.forwardPath()
            return .rcpt(path, try cursor.parameters())
        case "DATA", "RSET", "QUIT", "STARTTLS":
            guard argument.isEmpty else { throw Error("\(verb) takes no arguments") }
            switch verb {
            case "DATA": return .data
            case "RSET": return .rset
            case "QUIT": return .quit
            default: return .startTLS
            }
        case "NOOP": return .noop(argumentText)
        case "HELP": return .help(argumentText)
        case "VRFY", "EXPN", "AUTH":
            guard let argumentText else { throw Error("\(verb) requires an argument") }
            switch verb {
            case "VRFY": return .vrfy(argumentText)
            case "EXPN": return .expn(argumentText)
            default: return .auth(argumentText)
            }
        case "BDAT": return .bdat(argumentText ?? "")
        case "XCLIENT": return .xclient(try XClientAttribute.parseXCLIENT(argument))
        default: return .unknown(verb: String(verb.prefix(32)))
        }
    }

    static func isAlpha(_ byte: UInt8) -> Bool { (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z") }
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func trimmed(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var slice = bytes[...]
        while slice.first == UInt8(ascii: " ") { slice.removeFirst() }
        while slice.last == UInt8(ascii: " ") { slice.removeLast() }
        return slice
    }
}

/// A read position over the argument bytes of MAIL or RCPT.
private struct Cursor {
    typealias Error = CommandParser.Error
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func expectKeyword(_ keyword: String, usage: String) throws(Error) {
        let expected = Array(keyword.utf8)
        // Letters compare case-insensitively, anything else exactly (0x1A | 0x20 is ":").
        func same(_ byte: UInt8, _ wanted: UInt8) -> Bool {
            byte == wanted || (CommandParser.isAlpha(wanted) && byte | 0x20 == wanted | 0x20)
        }
        guard bytes.count >= expected.count, zip(bytes[0..<expected.count], expected).allSatisfy(same)
        else { throw Error("use \(usage)") }
        index = expected.count
        while current == UInt8(ascii: " ") { index += 1 }
    }

    mutating func reversePath() throws(Error) -> ReversePath {
        if bytes[index...].starts(with: Array("<>".utf8)) {
            index += 2
            return .null
        }
        return .path(try path())
    }

    mutating func forwardPath() throws(Error) -> ForwardPath {
        // RFC 5321: "<Postmaster>" without a domain is always accepted as a recipient.
        let save = index
        if current == UInt8(ascii: "<"), let close = bytes[index...].firstIndex(of: UInt8(ascii: ">")) {
            let inner = String(decoding: bytes[(index + 1)..<close], as: UTF8.self)
            if inner.lowercased() == "postmaster" {
                index = close + 1
                return .postmaster(inner)
            }
        }
        index = save
        return .path(try path())
    }

    mutating func path() throws(Error) -> Path {
        guard current == UInt8(ascii: "<") else { throw Error("address must be enclosed in <>") }
        index += 1
        var route: [String] = []
        // A-d-l: "@one,@two:" — accepted as syntax and ignored.
        if current == UInt8(ascii: "@") {
            while current == UInt8(ascii: "@") {
                index += 1
                route.append(try domain())
                if current == UInt8(ascii: ",") { index += 1; continue }
                guard current == UInt8(ascii: ":") else { throw Error("bad source route") }
                index += 1
                break
            }
        }
        var local = try localPart()
        guard current == UInt8(ascii: "@") else { throw Error("address must have a domain part") }
        index += 1
        var domain = try domain()
        // `user@host@domain`: kept whole (the domain is the last part) so relay hygiene can refuse it
        // with 550 5.7.1 rather than a syntax error; the local part then holds an "@".
        while current == UInt8(ascii: "@"), !local.hasPrefix("\"") {
            index += 1
            local += "@" + domain
            domain = try self.domain()
        }
        guard current == UInt8(ascii: ">") else { throw Error("unexpected character in address") }
        index += 1
        return Path(sourceRoute: route, mailbox: Mailbox(localPart: local, domain: domain))
    }

    mutating func localPart() throws(Error) -> String {
        let start = index
        if current == UInt8(ascii: "\"") {
            index += 1
            while let byte = current, byte != UInt8(ascii: "\"") {
                if byte == UInt8(ascii: "\\") {
                    index += 1
                    guard let escaped = current, escaped >= 32, escaped != 127 else { throw Error("bad quoted local part") }
                } else if byte < 32 || byte == 127 {
                    throw Error("bad quoted local part")
                }
                index += 1
            }
            guard current == UInt8(ascii: "\"") else { throw Error("unterminated quoted local part") }
            index += 1
        } else {
            var previousDot = true
            while let byte = current, Self.isAtext(byte) || byte == UInt8(ascii: ".") {
                if byte == UInt8(ascii: ".") {
                    guard !previousDot else { throw Error("bad dots in local part") }
                    previousDot = true
                } else {
                    previousDot = false
                }
                index += 1
            }
            guard index > start, !previousDot else { throw Error("bad local part") }
        }
        guard index - start <= 256 else { throw Error("local part too long") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func domain() throws(Error) -> String {
        let start = index
        if current == UInt8(ascii: "[") {
            guard let close = bytes[index...].firstIndex(of: UInt8(ascii: "]")), close > index + 1 else {
                throw Error("bad address literal")
            }
            guard bytes[(index + 1)..<close].allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "[") && $0 != UInt8(ascii: "\\") }) else {
                throw Error("bad address literal")
            }
            index = close + 1
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        var labelLength = 0
        while let byte = current {
            if byte == UInt8(ascii: ".") {
                guard labelLength > 0 else { throw Error("bad domain") }
                labelLength = 0
            } else if CommandParser.isAlpha(byte) || CommandParser.isDigit(byte) || byte == UInt8(ascii: "-")
                        || byte == UInt8(ascii: "_") || byte >= 0x80 {
                labelLength += 1
                guard labelLength <= 63 else { throw Error("domain label too long") }
            } else {
                break
            }
            index += 1
        }
        guard index > start, index - start <= 255 else { throw Error("bad domain") }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    mutating func parameters() throws(Error) -> ESMTPParameters {
        var items: [ESMTPParameter] = []
        while index < bytes.count {
            guard current == UInt8(ascii: " ") else { throw Error("unexpected text after address") }
            while current == UInt8(ascii: " ") { index += 1 }
            guard index < bytes.count else { break }
            let start = index
            while let byte = current, byte != UInt8(ascii: " ") { index += 1 }
            let word = bytes[start..<index]
            let equals = word.firstIndex(of: UInt8(ascii: "="))
            let keyword = word[..<(equals ?? word.endIndex)]
            guard let first = keyword.first, CommandParser.isAlpha(first) || CommandParser.isDigit(first),
                  keyword.allSatisfy({ CommandParser.isAlpha($0) || CommandParser.isDigit($0) || $0 == UInt8(ascii: "-") })
            else { throw Error("bad ESMTP parameter") }
            var value: String?
            if let equals {
                let raw = word[(equals + 1)...]
                guard !raw.isEmpty, raw.allSatisfy({ $0 > 32 && $0 != UInt8(ascii: "=") && $0 != 127 }) else {
                    throw Error("bad ESMTP parameter value")
                }
                value = String(decoding: raw, as: UTF8.self)
            }
            let parameter = ESMTPParameter(keyword: String(decoding: keyword, as: UTF8.self), value: value)
            if parameter.keyword == "SIZE" {
                guard let value, value.count <= 20, value.allSatisfy(\.isASCIIDigit) else { throw Error("bad SIZE parameter") }
            }
            guard !items.contains(where: { $0.keyword == parameter.keyword }) else { throw Error("duplicate ESMTP parameter") }
            items.append(parameter)
        }
        return ESMTPParameters(items)
    }

    static func isAtext(_ byte: UInt8) -> Bool {
        if CommandParser.isAlpha(byte) || CommandParser.isDigit(byte) || byte >= 0x80 { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
             UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
             UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
