import COpenSSL

/// A TLS error with OpenSSL's own text.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// Drains OpenSSL's error queue into one message.
    static func fromQueue(_ context: String) -> TLSError {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return TLSError(parts.isEmpty ? context : "\(context): \(parts.joined(separator: "; "))")
    }
}

/// An OpenSSL `SSL_CTX`: TLS 1.2 minimum, renegotiation refused, certificate chain and key from PEM
/// files (server), or verification against a CA file (client). Built once; shared by every session.
public final class TLSContext: @unchecked Sendable {
    public enum Role: Sendable { case server, client }

    let context: OpaquePointer
    public let role: Role
    /// Client role: the name sent as SNI and checked against the certificate (when verifying).
    public let serverName: String?

    /// A server context from a PEM certificate chain and a PEM private key.
    public init(certificateChain: String, privateKey: String, ciphers: String? = nil) throws {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromQueue("SSL_CTX_new") }
        self.context = context
        role = .server
        serverName = nil
        sluice_ctx_set_min_tls12(context)
        sluice_ctx_set_options(context)
        if let ciphers, SSL_CTX_set_cipher_list(context, ciphers) != 1 {
            throw TLSError.fromQueue("cipher list '\(ciphers)'")
        }
        guard SSL_CTX_use_certificate_chain_file(context, certificateChain) == 1 else {
            throw TLSError.fromQueue("certificate \(certificateChain)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, privateKey, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.fromQueue("key \(privateKey)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError.fromQueue("key \(privateKey) does not match certificate \(certificateChain)")
        }
    }

    /// A client context: verify the peer against `caFile` (or the system store) unless `verify` is false.
    public init(clientVerifying verify: Bool, caFile: String? = nil, serverName: String?) throws {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError.fromQueue("SSL_CTX_new") }
        self.context = context
        role = .client
        self.serverName = serverName
        sluice_ctx_set_min_tls12(context)
        sluice_ctx_set_options(context)
        if verify {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            if let caFile {
                guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else { throw TLSError.fromQueue("CA file \(caFile)") }
            } else {
                SSL_CTX_set_default_verify_paths(context)
            }
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
    }

    deinit { SSL_CTX_free(context) }
}
