/// A Content-Transfer-Encoding value.
public enum TransferEncoding: Sendable, Hashable {
    case sevenBit, eightBit, binary, base64, quotedPrintable
    /// Anything else, lowercased; the body is taken as is.
    case other(String)

    /// Parses a header value (case-insensitive, surrounding whitespace and quotes ignored);
    /// `nil` means no header: 7bit.
    public init(headerValue: String?) {
        guard let headerValue else { self = .sevenBit; return }
        var token = headerValue.lowercased()
        if let semicolon = token.firstIndex(of: ";") { token = String(token[..<semicolon]) }
        token = String(token.trimmingWhitespace().filter { $0 != "\"" })
        switch token {
        case "", "7bit": self = .sevenBit
        case "8bit": self = .eightBit
        case "binary": self = .binary
        case "base64": self = .base64
        case "quoted-printable": self = .quotedPrintable
        default: self = .other(token)
        }
    }

    /// Whether the body needs decoding (base64 or quoted-printable).
    public var isEncoded: Bool { self == .base64 || self == .quotedPrintable }
}
