/// The end-of-data sequences of the SMTP smuggling research (SEC Consult, December 2023, and the
/// follow-ups on NUL and 8-bit variants): each one is *not* the end of DATA for Sluice, and some MTA
/// treats it as one. Shared by the decoder tests and the end-to-end suite against a vulnerable upstream.
public struct SmugglingVariant: Sendable, CustomStringConvertible {
    public let name: String
    /// The octets placed between two lines of a message body.
    public let bytes: [UInt8]
    /// What Sluice relays in their place with `bare-line-endings normalize` (dot-stuffed wire form).
    public let normalized: [UInt8]
    /// True when `reject` refuses the message (a bare CR, bare LF or NUL); false when the octets are
    /// legal and go through verbatim in both modes.
    public let refused: Bool

    public var description: String { name }

    init(_ name: String, _ bytes: [UInt8], normalized: [UInt8]? = nil) {
        self.name = name
        self.bytes = bytes
        self.normalized = normalized ?? bytes
        self.refused = normalized != nil
    }

    static let crlf: [UInt8] = [13, 10], stuffedDotLine: [UInt8] = [13, 10, 46, 46, 13, 10]

    public static let all: [SmugglingVariant] = [
        SmugglingVariant("<LF>.<LF>", [10, 46, 10], normalized: stuffedDotLine),
        SmugglingVariant("<CR>.<CR>", [13, 46, 13], normalized: stuffedDotLine),
        SmugglingVariant("<LF>.<CR><LF>", [10, 46, 13, 10], normalized: stuffedDotLine),
        SmugglingVariant("<CR><LF>.<LF>", [13, 10, 46, 10], normalized: stuffedDotLine),
        SmugglingVariant("<CR><LF>.<CR>", [13, 10, 46, 13], normalized: stuffedDotLine),
        SmugglingVariant("<CR>.<LF>", [13, 46, 10], normalized: stuffedDotLine),
        SmugglingVariant("<CR>.<CR><LF>", [13, 46, 13, 10], normalized: stuffedDotLine),
        SmugglingVariant("<LF>.<CR>", [10, 46, 13], normalized: stuffedDotLine),
        SmugglingVariant("<CR><LF>.<CR><CR><LF>", [13, 10, 46, 13, 13, 10], normalized: stuffedDotLine + crlf),
        SmugglingVariant("<CR><LF><NUL>.<CR><LF>", [13, 10, 0, 46, 13, 10], normalized: stuffedDotLine),
        // ".NUL" is a dot-stuffed NUL: with the NUL removed the line is empty.
        SmugglingVariant("<CR><LF>.<NUL><CR><LF>", [13, 10, 46, 0, 13, 10], normalized: crlf + crlf),
        SmugglingVariant("<CR><LF><NUL>.<NUL><CR><LF>", [13, 10, 0, 46, 0, 13, 10], normalized: stuffedDotLine),
        SmugglingVariant("<CR><LF>.<CR><NUL><LF>", [13, 10, 46, 13, 0, 10], normalized: stuffedDotLine + crlf),
        SmugglingVariant("<LF><NUL>.<NUL><LF>", [10, 0, 46, 0, 10], normalized: stuffedDotLine),
        SmugglingVariant("<CR><LF><NUL><NUL>.<CR><LF>", [13, 10, 0, 0, 46, 13, 10], normalized: stuffedDotLine),
        // 8-bit octets next to the dot are legal (8BITMIME) and no end: relayed verbatim in both modes.
        SmugglingVariant("<CR><LF><0x80>.<CR><LF>", [13, 10, 0x80, 46, 13, 10]),
        SmugglingVariant("<CR><LF>.<0xFF><CR><LF>", [13, 10, 46, 0xFF, 13, 10]),
        SmugglingVariant("<CR><LF><0xAE><CR><LF>", [13, 10, 0xAE, 13, 10]),
        // A stuffed dot is content, never an end.
        SmugglingVariant("<CR><LF>..<CR><LF>", [13, 10, 46, 46, 13, 10]),
    ]

    /// A message around a variant: the smuggled transaction follows it, the genuine end comes last.
    public static let before: [UInt8] = Array("Subject: smuggling\r\n\r\nfirst line".utf8)
    public static let smuggled: [UInt8] = Array("MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@target.example>\r\nDATA\r\nFrom: ceo@target.example\r\n\r\nsmuggled\r\n".utf8)

    /// The message content as the client sends it, without the final `.CRLF`.
    public var message: [UInt8] { Self.before + bytes + Self.smuggled }
    /// What the upstream should receive as content with `normalize` (and, for a legal variant, in
    /// both modes).
    public var relayed: [UInt8] { Self.before + normalized + Self.smuggled }
}
