/// Bounds on what the parser keeps. Whatever the input size, the parser's memory stays within
/// roughly `headerSize + parts * partHeaderSize + retainedTotal` plus small per-part state.
public struct MIMELimits: Sendable, Hashable {
    /// Top-level header block octets kept; beyond it `headerOverflow` is set and later fields dropped.
    public var headerSize = 1 << 20
    /// Header block octets kept per inner part (and per encapsulated message).
    public var partHeaderSize = 64 << 10
    /// Nesting limit: a container at this depth is not opened (`depthExceeded`), its octets are counted only.
    public var depth = 20
    /// Part count limit (containers included); later parts are skipped (`partsExceeded`).
    public var parts = 500
    /// Decoded UTF-8 octets kept per text part (`textTruncated`).
    public var textPerPart = 1 << 20
    /// Decoded octets kept per non-text leaf, for content sniffing (`contentTruncated`).
    public var retainedContent = 4 << 20
    /// Text and content octets kept over all parts together.
    public var retainedTotal = 32 << 20
    /// Longest line examined as a whole (header lines, boundary candidates); longer lines are
    /// passed through as body data or cut in headers.
    public var lineLength = 64 << 10

    public init() {}
}
