/// One part of a message in document order: the top-level message is part 0, containers
/// (multipart/*, message/rfc822) are parts too.
public struct MIMEPart: Sendable, Hashable {
    /// Position in `MIMEMessage.parts` (document order).
    public var index: Int
    /// The enclosing container's index; `nil` for the top level.
    public var parent: Int?
    /// 0 for the top level, +1 per multipart or encapsulated message.
    public var depth: Int
    /// This part's header fields (for an encapsulated message's child: the inner message's headers).
    public var headers: [MIMEField] = []
    /// Header block octets seen for this part (including those past the limit).
    public var headerSize = 0
    /// The header block exceeded its limit; later fields were dropped.
    public var headerOverflow = false
    /// `type/subtype` lowercased; text/plain by default, message/rfc822 inside multipart/digest.
    public var contentType = "text/plain"
    /// Content-Type parameters, keys lowercased, RFC 2231 and quoting decoded.
    public var parameters: [String: String] = [:]
    /// Content-Disposition type lowercased (`inline`, `attachment`…), if any.
    public var disposition: String?
    /// Disposition parameters, decoded like `parameters`.
    public var dispositionParameters: [String: String] = [:]
    /// Disposition filename, else Content-Type name; decoded, path components stripped.
    public var filename: String?
    public var transferEncoding: TransferEncoding = .sevenBit
    /// The charset parameter lowercased, if any.
    public var charset: String?
    /// The charset was not recognised; the text was read as ISO-8859-1.
    public var charsetUnknown = false
    /// multipart/* with a usable boundary (its children follow it in `parts`).
    public var isMultipart = false
    /// Disposition attachment, or a filename without any disposition.
    public var isAttachment = false
    /// Octets after transfer decoding, counted in full even past what is retained.
    public var decodedSize = 0
    /// text/*: transfer-decoded and converted to UTF-8 (up to `MIMELimits.textPerPart`);
    /// line ends as decoded (CRLF on the wire stays CRLF).
    public var text: String?
    public var textTruncated = false
    /// Non-text leaves: the decoded prefix (up to `MIMELimits.retainedContent`).
    public var content: [UInt8] = []
    public var contentTruncated = false

    public init(index: Int, parent: Int?, depth: Int) {
        self.index = index
        self.parent = parent
        self.depth = depth
    }

    /// `true` for text/* parts.
    public var isText: Bool { contentType.hasPrefix("text/") }
}
