import COpenSSL

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
///
/// Canonical octets go straight from the chunk to SHA-256 in runs (nothing is copied), and the
/// digest state is checked for sharing once per chunk.
public struct DKIMBodyHasher: Sendable {
    public let parameters: DKIMBodyHashParameters
    private var canonicalizer: DKIMBodyCanonicalizer
    private var digest = SHA256Digest()
    private var canonicalLength = 0
    private var hashedLength = 0

    public init(_ parameters: DKIMBodyHashParameters) {
        self.parameters = parameters
        canonicalizer = DKIMBodyCanonicalizer(parameters.canonicalization)
    }

    public init(canonicalization: DKIMCanonicalization, length: Int? = nil) {
        self.init(DKIMBodyHashParameters(canonicalization: canonicalization, length: length))
    }

    /// Feeds the next chunk of the body (octets after the empty line ending the header).
    public mutating func update(_ chunk: UnsafeRawBufferPointer) {
        guard !chunk.isEmpty else { return }
        let context = digest.uniqueContext()
        withUnsafeTemporaryAllocation(byteCount: Sink.capacity, alignment: 16) { buffer in
            var sink = Sink(context: context, buffer: buffer.baseAddress!, limit: parameters.length,
                            canonicalLength: canonicalLength, hashedLength: hashedLength)
            canonicalizer.feed(chunk, to: &sink)
            sink.flush()
            canonicalLength = sink.canonicalLength
            hashedLength = sink.hashedLength
        }
    }

    public mutating func update(_ chunk: [UInt8]) { chunk.withUnsafeBytes { update($0) } }

    /// The hash of the body fed so far, taken as the whole body. Does not change this hasher.
    public func finish() -> DKIMBodyHash {
        var copy = self
        let context = copy.digest.uniqueContext()
        let (finalLength, finalHashed) = withUnsafeTemporaryAllocation(byteCount: Sink.capacity, alignment: 16) { buffer in
            var sink = Sink(context: context, buffer: buffer.baseAddress!, limit: parameters.length,
                            canonicalLength: canonicalLength, hashedLength: hashedLength)
            copy.canonicalizer.finish(to: &sink)
            sink.flush()
            return (sink.canonicalLength, sink.hashedLength)
        }
        return DKIMBodyHash(parameters: parameters, digest: copy.digest.finalizeConsuming(),
                            canonicalLength: finalLength, hashedLength: finalHashed)
    }

    /// Counts canonical octets and hashes them, up to `l=`. Short spans (a relaxed body breaks at
    /// every WSP run and line end) are gathered in `buffer` so SHA-256 is fed in large updates.
    private struct Sink: DKIMCanonicalSink {
        static let capacity = 16384
        let context: OpaquePointer
        let buffer: UnsafeMutableRawPointer
        var used = 0
        let limit: Int?
        var canonicalLength: Int
        var hashedLength: Int

        init(context: OpaquePointer, buffer: UnsafeMutableRawPointer, limit: Int?, canonicalLength: Int, hashedLength: Int) {
            self.context = context
            self.buffer = buffer
            self.limit = limit
            self.canonicalLength = canonicalLength
            self.hashedLength = hashedLength
        }

        @inline(__always)
        mutating func write(_ span: UnsafeRawBufferPointer) {
            canonicalLength += span.count
            var take = span.count
            if let limit { take = max(0, min(take, limit - hashedLength)) }
            guard take > 0, let base = span.baseAddress else { return }
            hashedLength += take
            if used + take > Self.capacity { flush() }
            if take >= Self.capacity / 4 {
                // What waits in the buffer comes first: hash it before the large span.
                flush()
                EVP_DigestUpdate(context, base, take)
            } else {
                (buffer + used).copyMemory(from: base, byteCount: take)
                used += take
            }
        }

        mutating func flush() {
            guard used > 0 else { return }
            EVP_DigestUpdate(context, buffer, used)
            used = 0
        }
    }
}
