import COpenSSL

/// libcrypto algorithms fetched once. In OpenSSL 3 `EVP_sha256()` is a legacy handle that every
/// `EVP_DigestInit_ex`/`EVP_DigestSignInit`/`EVP_DigestVerifyInit` re-fetches from the provider
/// (a locked lookup); a fetched `EVP_MD` skips that. Kept for the life of the process.
enum DKIMAlgorithms {
    nonisolated(unsafe) static let sha256: OpaquePointer = {
        if let fetched = EVP_MD_fetch(nil, "SHA256", nil) { return fetched }
        ERR_clear_error()
        // No provider fetch (should not happen): the legacy handle works too, just slower.
        return EVP_sha256()
    }()
}

/// SHA-256 through libcrypto's EVP interface, as a value: copying a digest copies its state (the
/// OpenSSL context is copied on the first update of a shared copy), so a half-fed body hash can be
/// finished without disturbing the original, and the value is safely `Sendable`.
struct SHA256Digest: Sendable {
    /// Holds an `EVP_MD_CTX`; mutated only while uniquely referenced (see `update`).
    private final class Context: @unchecked Sendable {
        let pointer: OpaquePointer

        init() {
            guard let pointer = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
            self.pointer = pointer
            precondition(EVP_DigestInit_ex(pointer, DKIMAlgorithms.sha256, nil) == 1, "EVP_DigestInit_ex(sha256) failed")
        }

        init(copying other: Context) {
            guard let pointer = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
            self.pointer = pointer
            precondition(EVP_MD_CTX_copy_ex(pointer, other.pointer) == 1, "EVP_MD_CTX_copy_ex failed")
        }

        deinit { EVP_MD_CTX_free(pointer) }
    }

    private var context = Context()

    /// The context, made this value's own first: it may be updated (through `update(context:_:)`)
    /// until this value is next copied. One uniqueness check for any number of updates.
    mutating func uniqueContext() -> OpaquePointer {
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        return context.pointer
    }

    @inline(__always)
    static func update(context: OpaquePointer, _ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        Self.update(context: uniqueContext(), bytes)
    }

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything fed so far (this value can go on being fed).
    func finalize() -> [UInt8] {
        let copy = Context(copying: context)
        return Self.final(copy.pointer)
    }

    /// The digest, this value being done with (no copy of the state when it is the only reference).
    consuming func finalizeConsuming() -> [UInt8] {
        Self.final(uniqueContext())
    }

    private static func final(_ pointer: OpaquePointer) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(pointer, &output, &length) == 1 && length == 32, "EVP_DigestFinal_ex failed")
        return output
    }

    static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var digest = SHA256Digest()
        digest.update(bytes)
        return digest.finalizeConsuming()
    }
}
