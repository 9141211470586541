/// What the content rules see of a message once its MIME structure is decoded: the header fields as
/// decoded text and as raw octets, every inner part's header fields, the decoded text of the text parts
/// and of the textual attachments, and the facts about each attachment. Built once per message by the
/// message step (`MessageContentBuilder` in SluiceServer), read by any number of rules.
public struct MessageContent: Hashable, Sendable {
    /// The top-level header fields with their values as written (encoded-words not decoded, folding
    /// removed): `header.raw "Subject"`. (`header "Subject"` reads `Facts.headers`, the decoded ones.)
    public var rawHeaders: [HeaderField] = []
    /// The header fields of every inner part, decoded (`part.header "Content-Disposition"`).
    public var partHeaders: [HeaderField] = []
    /// The decoded text of every text part (text/html converted to text), in document order.
    public var bodyTexts: [String] = []
    /// The decoded text of the attachments whose content is text (text/* attachments, and
    /// `application/octet-stream` ones whose octets are text). `body` sees these too.
    public var attachmentTexts: [String] = []
    /// One entry per attachment, in document order.
    public var attachments: [AttachmentFacts] = []
    /// MIME parts (containers included) and the deepest nesting (`mime.parts`, `mime.depth`).
    public var parts: Int = 0
    public var depth: Int = 0
    /// What each detector the rule set uses found: findings in the body texts and in the attachments'.
    public var detections: [String: DetectorFindings] = [:]

    public init() {}

    /// Every text `body` rules look at: the text parts, then the textual attachments.
    public var allTexts: [String] { bodyTexts + attachmentTexts }
}

/// What a detector found in one message.
public struct DetectorFindings: Hashable, Sendable {
    public var body: Int
    public var attachments: Int

    public init(body: Int, attachments: Int) {
        self.body = body
        self.attachments = attachments
    }

    public var total: Int { body + attachments }
}

/// The facts about one attachment (a part with a file name or `Content-Disposition: attachment`).
public struct AttachmentFacts: Hashable, Sendable {
    /// The file name (RFC 2231 and encoded-words decoded, directories stripped) and, for an archive,
    /// each member's path as `archive.zip/member` with the member's directories stripped too.
    public var names: [String]
    /// The type the message declares (`application/pdf`).
    public var declaredType: String
    /// The kind sniffed from the content (`executable`, `script`, `archive`, `office-macro`, `pdf` …).
    public var magic: String
    /// Decoded octets.
    public var size: Int
    /// An archive with an encrypted member (or encrypted headers).
    public var encrypted: Bool

    public init(names: [String], declaredType: String, magic: String, size: Int, encrypted: Bool) {
        self.names = names
        self.declaredType = declaredType
        self.magic = magic
        self.size = size
        self.encrypted = encrypted
    }
}
