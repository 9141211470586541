/// The parsed structure of one message.
public struct MIMEMessage: Sendable, Hashable {
    /// Every part, containers included, in document order; `parts[0]` is the message itself.
    public var parts: [MIMEPart]
    /// Top-level header block octets (including those past the limit).
    public var headerSize: Int
    /// The top-level header block exceeded `MIMELimits.headerSize`.
    public var headerOverflow: Bool
    /// Deepest part depth reached.
    public var depth: Int
    /// Some container was too deep to open.
    public var depthExceeded: Bool
    /// Parts past `MIMELimits.parts` were skipped.
    public var partsExceeded: Bool
    /// Octets fed in total.
    public var size: Int
    /// What was repaired or guessed (unknown charset, missing close boundary, bad base64 …), in order.
    public var notes: [String]

    /// The top-level header fields.
    public var headers: [MIMEField] { parts.first?.headers ?? [] }

    /// Leaves (parts that are neither multipart nor encapsulated messages with a parsed child).
    public var leaves: [MIMEPart] {
        var hasChild = Set<Int>()
        for part in parts { if let parent = part.parent { hasChild.insert(parent) } }
        return parts.filter { !hasChild.contains($0.index) && !$0.isMultipart }
    }
}
