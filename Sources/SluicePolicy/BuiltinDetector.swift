/// Where a detector found something: a byte range of the UTF-8 text searched.
public struct DetectorMatch: Sendable, Hashable, CustomStringConvertible {
    /// Bytes from the start of the text.
    public let offset: Int
    /// Bytes, separators included (`4111 1111 1111 1111` is 19).
    public let length: Int

    public init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }

    public var range: Range<Int> { offset..<(offset + length) }

    public var description: String { "\(offset)+\(length)" }
}

/// A compliance detector with a built-in format and validation, over UTF-8 text:
/// - `card-number` (`cardNumber`): payment card numbers, Luhn-valid and in a known issuer range
///   (see `CardNumberScanner` for the word boundaries and grouping, `CardIssuer` for the ranges);
/// - `iban` (`iban`): IBANs with the registry length for their country and a valid MOD 97-10
///   check (see `IBANScanner`).
///
/// Findings never overlap, so `count` is the number of distinct numbers. Scanning is linear in the
/// text and allocates nothing per byte; invalid UTF-8 is scanned as bytes.
public struct BuiltinDetector: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case cardNumber, iban
    }

    /// The name rules use (`body has card-number`).
    public let name: String
    let kind: Kind

    public static let cardNumber = BuiltinDetector(name: "card-number", kind: .cardNumber)
    public static let iban = BuiltinDetector(name: "iban", kind: .iban)
    /// Every built-in detector.
    public static let all: [BuiltinDetector] = [cardNumber, iban]

    private init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// The built-in detector called `name`, if there is one.
    public init?(named name: String) {
        guard let detector = Self.all.first(where: { $0.name == name }) else { return nil }
        self = detector
    }

    public var description: String { name }

    /// Calls `body` with each finding, in order, until it returns false.
    public func forEachMatch(in bytes: UnsafeRawBufferPointer, _ body: (DetectorMatch) -> Bool) {
        let input = bytes.assumingMemoryBound(to: UInt8.self)
        switch kind {
        case .cardNumber:
            var scanner = CardNumberScanner(input)
            scanner.scan(body)
        case .iban:
            var scanner = IBANScanner(input)
            scanner.scan(body)
        }
    }

    /// Every finding in UTF-8 `bytes`.
    public func matches(in bytes: UnsafeRawBufferPointer) -> [DetectorMatch] {
        var found: [DetectorMatch] = []
        forEachMatch(in: bytes) { found.append($0); return true }
        return found
    }

    /// How many findings there are in UTF-8 `bytes`, counting no further than `limit`.
    public func count(in bytes: UnsafeRawBufferPointer, limit: Int = .max) -> Int {
        var found = 0
        guard limit > 0 else { return 0 }
        forEachMatch(in: bytes) { _ in
            found += 1
            return found < limit
        }
        return found
    }

    /// The first finding in UTF-8 `bytes`.
    public func first(in bytes: UnsafeRawBufferPointer) -> DetectorMatch? {
        var found: DetectorMatch?
        forEachMatch(in: bytes) { found = $0; return false }
        return found
    }

    /// Whether there is a finding in UTF-8 `bytes` (`body has card-number`).
    public func isFound(in bytes: UnsafeRawBufferPointer) -> Bool { first(in: bytes) != nil }

    /// Every finding in `text`, as ranges of it.
    public func matches(in text: String) -> [Range<String.Index>] {
        withUTF8(of: text) { bytes in matches(in: bytes).map { Self.range(of: $0, in: text) } }
    }

    /// How many findings there are in `text`, counting no further than `limit`.
    public func count(in text: String, limit: Int = .max) -> Int {
        withUTF8(of: text) { count(in: $0, limit: limit) }
    }

    /// The first finding in `text`.
    public func first(in text: String) -> Range<String.Index>? {
        withUTF8(of: text) { bytes in first(in: bytes).map { Self.range(of: $0, in: text) } }
    }

    /// Whether there is a finding in `text`.
    public func isFound(in text: String) -> Bool { first(in: text) != nil }

    private func withUTF8<Result>(of text: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var text = text
        return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// Findings start and end at ASCII characters, so their offsets are character boundaries.
    private static func range(of match: DetectorMatch, in text: String) -> Range<String.Index> {
        let utf8 = text.utf8
        let lower = utf8.index(utf8.startIndex, offsetBy: match.offset)
        return lower..<utf8.index(lower, offsetBy: match.length)
    }
}
