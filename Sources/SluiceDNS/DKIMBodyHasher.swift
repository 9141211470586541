/// What a body hash depends on: the body canonicalisation and the `l=` count. (The hash is SHA-256:
/// the only one Sluice verifies or signs with.) Signatures sharing these share one hasher.
public struct DKIMBodyHashParameters: Sendable, Hashable {
    public var canonicalization: DKIMCanonicalization
    /// `l=`: hash only this many octets of the canonical body; nil for all of it.
    public var length: Int?

    public init(canonicalization: DKIMCanonicalization, length: Int? = nil) {
        self.canonicalization = canonicalization
        self.length = length
    }
}

/// A finished body hash.
public struct DKIMBodyHash: Sendable, Hashable {
    public var parameters: DKIMBodyHashParameters
    /// SHA-256 of the canonical body (its first `length` octets under `l=`).
    public var digest: [UInt8]
    /// The octets of canonical body that exist; under `l=` it may exceed what was hashed.
    public var canonicalLength: Int
    /// The octets hashed: `min(length, canonicalLength)`.
    public var hashedLength: Int

    /// Every octet of the canonical body was hashed (no `l=`, or an `l=` reaching the end).
    public var coversWholeBody: Bool { hashedLength == canonicalLength }
}

/// Canonicalises and hashes a body fed in chunks of any size, holding no more than a chunk's
/// canonical octets at a time: the spool can be read back in pieces. A value: copies are independent.
public struct DKIMBodyHasher: Sendable {
    public let parameters: DKIMBodyHashParameters
    private var canonicalizer: DKIMBodyCanonicalizer
    private var digest = SHA256Digest()
    private var canonicalLength = 0
    private var hashedLength = 0
    private var output: [UInt8] = []

    public init(_ parameters: DKIMBodyHashParameters) {
        self.parameters = parameters
        canonicalizer = DKIMBodyCanonicalizer(parameters.canonicalization)
    }

    public init(canonicalization: DKIMCanonicalization, length: Int? = nil) {
        self.init(DKIMBodyHashParameters(canonicalization: canonicalization, length: length))
    }

    /// Feeds the next chunk of the body (octets after the empty line ending the header).
    public mutating func update(_ chunk: UnsafeRawBufferPointer) {
        output.removeAll(keepingCapacity: true)
        canonicalizer.feed(chunk, into: &output)
        absorb()
    }

    public mutating func update(_ chunk: [UInt8]) { chunk.withUnsafeBytes { update($0) } }

    /// The hash of the body fed so far, taken as the whole body. Does not change this hasher.
    public func finish() -> DKIMBodyHash {
        var copy = self
        copy.output.removeAll(keepingCapacity: true)
        copy.canonicalizer.finish(into: &copy.output)
        copy.absorb()
        return DKIMBodyHash(parameters: parameters, digest: copy.digest.finalize(),
                            canonicalLength: copy.canonicalLength, hashedLength: copy.hashedLength)
    }

    private mutating func absorb() {
        guard !output.isEmpty else { return }
        canonicalLength += output.count
        let take = parameters.length.map { max(0, min(output.count, $0 - hashedLength)) } ?? output.count
        if take > 0 {
            output.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[..<take])) }
            hashedLength += take
        }
    }
}
