/// One header field as received, with its decoded value.
public struct MIMEField: Sendable, Hashable {
    /// The name as written (before the colon).
    public var name: String
    /// `name` lowercased, for lookups.
    public var key: String
    /// The value octets as on the wire after the colon, folding kept, without the final line end.
    public var raw: [UInt8]
    /// Unfolded, RFC 2047 encoded-words decoded to UTF-8, surrounding whitespace trimmed.
    public var value: String

    public init(name: String, raw: [UInt8], value: String) {
        self.name = name
        self.key = name.lowercased()
        self.raw = raw
        self.value = value
    }
}

extension Array where Element == MIMEField {
    /// The first field named `name` (case-insensitive).
    public func first(named name: String) -> MIMEField? {
        let key = name.lowercased()
        return first { $0.key == key }
    }

    /// Every field named `name` (case-insensitive), in order.
    public func all(named name: String) -> [MIMEField] {
        let key = name.lowercased()
        return filter { $0.key == key }
    }
}
