import COpenSSL

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
            precondition(EVP_DigestInit_ex(pointer, EVP_sha256(), nil) == 1, "EVP_DigestInit_ex(sha256) failed")
        }

        init(copying other: Context) {
            guard let pointer = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
            self.pointer = pointer
            precondition(EVP_MD_CTX_copy_ex(pointer, other.pointer) == 1, "EVP_MD_CTX_copy_ex failed")
        }

        deinit { EVP_MD_CTX_free(pointer) }
    }

    private var context = Context()

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        EVP_DigestUpdate(context.pointer, base, bytes.count)
    }

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything fed so far (this value can go on being fed).
    func finalize() -> [UInt8] {
        let copy = Context(copying: context)
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(copy.pointer, &output, &length) == 1 && length == 32, "EVP_DigestFinal_ex failed")
        return output
    }

    static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var digest = SHA256Digest()
        digest.update(bytes)
        return digest.finalize()
    }
}
