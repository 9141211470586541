import COpenSSL
import NIOCore

/// Sent up the pipeline when the handshake completes.
public struct TLSHandshakeCompleted: Sendable {
    public var version: String
    public var cipher: String
}

/// TLS over OpenSSL memory BIOs as a NIO handler: ciphertext from the socket goes into one BIO,
/// plaintext comes out of `SSL_read`; plaintext writes go through `SSL_write` and the other BIO's
/// ciphertext goes to the socket. Writes made before the handshake completes wait for it. A close
/// sends close_notify; errors carry OpenSSL's text. Renegotiation is refused by the context.
public final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private let role: TLSContext.Role
    private let tlsContext: TLSContext
    private var handshakeDone = false
    private var started = false
    private var failed = false
    private var closing = false
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var pendingFlush = false
    public private(set) var completed: TLSHandshakeCompleted?

    public init(context: TLSContext) throws {
        guard let ssl = SSL_new(context.context) else { throw TLSError.fromQueue("SSL_new") }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.fromQueue("BIO_new")
        }
        SSL_set_bio(ssl, readBIO, writeBIO)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.role = context.role
        self.tlsContext = context
        switch context.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let name = context.serverName {
                if name.contains(":") || name.allSatisfy({ $0.isNumber || $0 == "." }) {
                    // An IP literal: verify it against the certificate's IP SANs; SNI carries names only.
                    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
                } else {
                    _ = sluice_set_sni(ssl, name)
                    SSL_set1_host(ssl, name)
                }
            }
        }
    }

    deinit { SSL_free(ssl) } // frees both BIOs

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        if role == .client { handshake(context) }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = BIO_write(readBIO, bytes.baseAddress! + offset, Int32(bytes.count - offset))
                if n <= 0 { break }
                offset += Int(n)
            }
        }
        if !handshakeDone { handshake(context) }
        if handshakeDone { readPlaintext(context) }
    }

    private func handshake(_ context: ChannelHandlerContext) {
        let result = SSL_do_handshake(ssl)
        flushCiphertext(context, promise: nil)
        context.flush()
        if result == 1 {
            handshakeDone = true
            let version = SSL_get_version(ssl).map { String(cString: $0) } ?? "TLS"
            let cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)).map { String(cString: $0) } ?? "unknown"
            let event = TLSHandshakeCompleted(version: version, cipher: cipher)
            completed = event
            context.fireUserInboundEventTriggered(event)
            let writes = pendingWrites
            pendingWrites = []
            for (buffer, promise) in writes { encrypt(context, buffer, promise: promise) }
            if pendingFlush || !writes.isEmpty { context.flush() }
            return
        }
        let error = SSL_get_error(ssl, result)
        if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return }
        fail(context, TLSError.fromQueue("TLS handshake failed"))
    }

    private func readPlaintext(_ context: ChannelHandlerContext) {
        while !failed {
            var buffer = context.channel.allocator.buffer(capacity: 16 * 1024)
            let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { bytes in
                Int(max(0, SSL_read(ssl, bytes.baseAddress, Int32(bytes.count))))
            }
            if n > 0 {
                context.fireChannelRead(wrapInboundOut(buffer))
                continue
            }
            let error = SSL_get_error(ssl, 0)
            flushCiphertext(context, promise: nil)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { break }
            if error == SSL_ERROR_ZERO_RETURN {
                // The peer sent close_notify: answer it and close.
                context.close(promise: nil)
                break
            }
            fail(context, TLSError.fromQueue("TLS read failed"))
            break
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        guard handshakeDone else {
            pendingWrites.append((buffer, promise))
            return
        }
        encrypt(context, buffer, promise: promise)
    }

    public func flush(context: ChannelHandlerContext) {
        if handshakeDone { context.flush() } else { pendingFlush = true }
    }

    private func encrypt(_ context: ChannelHandlerContext, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        guard !failed else {
            promise?.fail(TLSError("TLS connection failed"))
            return
        }
        let ok = buffer.withUnsafeReadableBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let n = SSL_write(ssl, bytes.baseAddress! + offset, Int32(bytes.count - offset))
                if n <= 0 { return false }
                offset += Int(n)
            }
            return true
        }
        guard ok else {
            promise?.fail(TLSError.fromQueue("TLS write failed"))
            return fail(context, TLSError.fromQueue("TLS write failed"))
        }
        flushCiphertext(context, promise: promise)
    }

    /// Moves the ciphertext OpenSSL produced to the socket.
    private func flushCiphertext(_ context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let pending = Int(sluice_bio_pending(writeBIO))
        guard pending > 0 else {
            promise?.succeed()
            return
        }
        var out = context.channel.allocator.buffer(capacity: pending)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            Int(max(0, BIO_read(writeBIO, bytes.baseAddress, Int32(pending))))
        }
        context.write(wrapOutboundOut(out), promise: promise)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if handshakeDone, !closing, !failed, mode == .all {
            closing = true
            SSL_shutdown(ssl) // close_notify
            flushCiphertext(context, promise: nil)
            context.flush()
        }
        failPendingWrites(ChannelError.ioOnClosedChannel)
        context.close(mode: mode, promise: promise)
    }

    /// The peer went away before the handshake completed: writes waiting for it never will be made.
    /// Their promises are failed, not dropped: a dropped promise keeps whatever its callbacks hold (the
    /// session's context, so the session handler) for ever.
    public func channelInactive(context: ChannelHandlerContext) {
        failPendingWrites(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        failPendingWrites(ChannelError.ioOnClosedChannel)
    }

    private func failPendingWrites(_ error: Error) {
        let writes = pendingWrites
        pendingWrites = []
        for (_, pending) in writes { pending?.fail(error) }
    }

    private func fail(_ context: ChannelHandlerContext, _ error: TLSError) {
        guard !failed else { return }
        failed = true
        failPendingWrites(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
