/// An element name in lower case ASCII, packed into two words so that classifying a tag allocates
/// nothing. Names longer than 16 bytes are not packed (no element the conversion knows is that long).
struct HTMLElementName: Hashable, Sendable {
    static let capacity = 16
    private var low: UInt64 = 0
    private var high: UInt64 = 0
    private(set) var count = 0

    /// The name in `bytes` folded to lower case; nil when it is longer than `capacity`.
    init?<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            guard count < Self.capacity else { return nil }
            append(byte)
        }
    }

    /// Appends one byte, folding ASCII upper case (the caller keeps to `capacity`).
    mutating func append(_ byte: UInt8) {
        let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
        if count < 8 {
            low |= UInt64(folded) << UInt64(count * 8)
        } else {
            high |= UInt64(folded) << UInt64((count - 8) * 8)
        }
        count += 1
    }

    /// The byte at `offset` (below `count`).
    func byte(at offset: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: offset < 8 ? low >> UInt64(offset * 8) : high >> UInt64((offset - 8) * 8))
    }
}
