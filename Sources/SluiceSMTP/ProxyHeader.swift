import NIOCore

/// A PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2): the address of the client
/// a load balancer accepted, sent before anything else on the connection.
public struct ProxyHeader: Hashable, Sendable {
    /// The client as the balancer saw it; nil for `UNKNOWN` (v1) or `LOCAL`/unspecified (v2): the
    /// connection's own address stands.
    public var source: (address: String, port: Int)?
    public var version: Int

    public init(source: (address: String, port: Int)?, version: Int) {
        self.source = source
        self.version = version
    }

    public static func == (lhs: ProxyHeader, rhs: ProxyHeader) -> Bool {
        lhs.version == rhs.version && lhs.source?.address == rhs.source?.address && lhs.source?.port == rhs.source?.port
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(version)
        hasher.combine(source?.address)
        hasher.combine(source?.port)
    }
}

/// Reads a PROXY header from the first octets of a connection, however they are split across reads.
/// Bounded: v1 is at most 107 octets; a v2 header may carry at most `maxV2Length` octets of addresses
/// and TLVs.
public enum ProxyHeaderParser {
    public enum Result: Hashable, Sendable {
        /// Not enough octets yet.
        case needMore
        /// The header, and how many octets it took (what follows is the client's own data).
        case header(ProxyHeader, length: Int)
        case invalid(String)
    }

    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    static let v1Prefix = Array("PROXY ".utf8)
    public static let maxV2Length = 1024

    public static func parse(_ buffer: ByteBuffer) -> Result {
        let bytes = buffer.readableBytesView
        guard let first = bytes.first else { return .needMore }
        if first == v2Signature[0] { return parseV2(bytes) }
        if first == v1Prefix[0] { return parseV1(bytes) }
        return .invalid("no PROXY header")
    }

    private static func startsWith(_ bytes: ByteBufferView, _ prefix: [UInt8]) -> Bool? {
        for (index, byte) in prefix.enumerated() {
            guard index < bytes.count else { return nil } // could still match
            if bytes[bytes.startIndex + index] != byte { return false }
        }
        return true
    }

    private static func parseV1(_ bytes: ByteBufferView) -> Result {
        switch startsWith(bytes, v1Prefix) {
        case nil: return .needMore
        case false?: return .invalid("no PROXY header")
        case true?: break
        }
        let limit = min(bytes.count, 107)
        var end: Int?
        for offset in 0..<limit {
            let byte = bytes[bytes.startIndex + offset]
            if byte == 0x0A {
                guard offset > 0, bytes[bytes.startIndex + offset - 1] == 0x0D else { return .invalid("PROXY v1 line without CRLF") }
                end = offset - 1
                break
            }
            if byte < 0x20 && byte != 0x0D || byte > 0x7E { return .invalid("PROXY v1 line with a control octet") }
        }
        guard let end else { return bytes.count >= 107 ? .invalid("PROXY v1 line longer than 107 octets") : .needMore }
        let line = String(decoding: bytes[bytes.startIndex..<(bytes.startIndex + end)], as: UTF8.self)
        let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard words.count >= 2, words[0] == "PROXY" else { return .invalid("malformed PROXY v1 line") }
        let length = end + 2
        switch words[1] {
        case "UNKNOWN":
            return .header(ProxyHeader(source: nil, version: 1), length: length)
        case "TCP4", "TCP6":
            guard words.count == 6, let port = Int(words[4]), (0...65535).contains(port), Int(words[5]).map({ (0...65535).contains($0) }) == true,
                  words[4].allSatisfy(\.isASCIIDigit), words[5].allSatisfy(\.isASCIIDigit)
            else { return .invalid("malformed PROXY v1 line") }
            let address = words[2]
            guard isAddress(address, v6: words[1] == "TCP6"), isAddress(words[3], v6: words[1] == "TCP6") else {
                return .invalid("PROXY v1 address is not \(words[1] == "TCP6" ? "IPv6" : "IPv4")")
            }
            return .header(ProxyHeader(source: (address, port), version: 1), length: length)
        default:
            return .invalid("unknown PROXY v1 protocol '\(words[1])'")
        }
    }

    private static func parseV2(_ bytes: ByteBufferView) -> Result {
        switch startsWith(bytes, v2Signature) {
        case nil: return .needMore
        case false?: return .invalid("no PROXY header")
        case true?: break
        }
        guard bytes.count >= 16 else { return .needMore }
        let start = bytes.startIndex
        let versionCommand = bytes[start + 12], family = bytes[start + 13]
        let length = Int(bytes[start + 14]) << 8 | Int(bytes[start + 15])
        guard versionCommand >> 4 == 2 else { return .invalid("PROXY v2 with version \(versionCommand >> 4)") }
        guard length <= maxV2Length else { return .invalid("PROXY v2 header of \(length) octets (at most \(maxV2Length))") }
        guard bytes.count >= 16 + length else { return .needMore }
        let total = 16 + length
        switch versionCommand & 0x0F {
        case 0x0: return .header(ProxyHeader(source: nil, version: 2), length: total) // LOCAL: the balancer's own check
        case 0x1: break
        default: return .invalid("PROXY v2 command \(versionCommand & 0x0F)")
        }
        let body = Array(bytes[(start + 16)..<(start + total)])
        switch family {
        case 0x11, 0x12: // TCP4, UDP4
            guard body.count >= 12 else { return .invalid("PROXY v2 IPv4 addresses cut short") }
            let address = body[0..<4].map(String.init).joined(separator: ".")
            return .header(ProxyHeader(source: (address, Int(body[8]) << 8 | Int(body[9])), version: 2), length: total)
        case 0x21, 0x22: // TCP6, UDP6
            guard body.count >= 36 else { return .invalid("PROXY v2 IPv6 addresses cut short") }
            let groups = stride(from: 0, to: 16, by: 2).map { String(Int(body[$0]) << 8 | Int(body[$0 + 1]), radix: 16) }
            let address = IPv6Text.compressed(groups)
            return .header(ProxyHeader(source: (address, Int(body[32]) << 8 | Int(body[33])), version: 2), length: total)
        case 0x00:
            return .header(ProxyHeader(source: nil, version: 2), length: total)
        default:
            return .invalid("PROXY v2 address family \(family) is not TCP over IPv4 or IPv6")
        }
    }

    private static func isAddress(_ text: String, v6: Bool) -> Bool {
        if v6 { return text.contains(":") && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } && text.count <= 45 }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && Int(part)! <= 255
        }
    }
}

/// IPv6 text in the RFC 5952 form: the longest run of zero groups (two or more) as `::`.
enum IPv6Text {
    static func compressed(_ groups: [String]) -> String {
        var best = (start: -1, length: 0), run = (start: -1, length: 0)
        for (index, group) in groups.enumerated() {
            if group == "0" {
                if run.start < 0 { run = (index, 0) }
                run.length += 1
                if run.length > best.length { best = run }
            } else {
                run = (-1, 0)
            }
        }
        guard best.length >= 2 else { return groups.joined(separator: ":") }
        let head = groups[..<best.start].joined(separator: ":")
        let tail = groups[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }
}
