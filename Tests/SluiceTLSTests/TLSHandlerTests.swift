import NIOCore
import NIOEmbedded
import SluiceTLS
import SluiceTestSupport
import Testing

/// Real OpenSSL handshakes between two handlers in-process, bytes shuttled by hand.
@Suite struct TLSHandlerTests {
    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var received = ""
        var events: [TLSHandshakeCompleted] = []
        var errors: [String] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { received += String(buffer: unwrapInboundIn(data)) }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? TLSHandshakeCompleted { events.append(event) }
        }
        func errorCaught(context: ChannelHandlerContext, error: Error) { errors.append("\(error)") }
    }

    /// Moves every pending outbound byte of `from` into `to`; returns whether anything moved.
    @discardableResult
    func shuttle(_ from: EmbeddedChannel, _ to: EmbeddedChannel) throws -> Bool {
        var moved = false
        while let bytes = try from.readOutbound(as: ByteBuffer.self) {
            moved = true
            try to.writeInbound(bytes)
        }
        return moved
    }

    func pair(client: TLSContext, server: TLSContext) throws -> (EmbeddedChannel, Collector, EmbeddedChannel, Collector) {
        let clientCollector = Collector(), serverCollector = Collector()
        let clientChannel = EmbeddedChannel(handlers: [try TLSHandler(context: client), clientCollector])
        let serverChannel = EmbeddedChannel(handlers: [try TLSHandler(context: server), serverCollector])
        _ = try clientChannel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        _ = try serverChannel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2)).wait()
        for _ in 0..<10 {
            let a = try shuttle(clientChannel, serverChannel)
            let b = try shuttle(serverChannel, clientChannel)
            if !a && !b { break }
        }
        return (clientChannel, clientCollector, serverChannel, serverCollector)
    }

    @Test func handshakeThenDataBothWaysAndCloseNotify() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let server = try TLSContext(certificateChain: certificates.certificate, privateKey: certificates.key)
        let client = try TLSContext(clientVerifying: true, caFile: certificates.certificate, serverName: "localhost")
        let (clientChannel, clientSide, serverChannel, serverSide) = try pair(client: client, server: server)
        #expect(clientSide.events.count == 1 && serverSide.events.count == 1)
        #expect(["TLSv1.2", "TLSv1.3"].contains(serverSide.events.first?.version ?? ""))
        // Plaintext written before and after the handshake arrives decrypted.
        try clientChannel.writeAndFlush(ByteBuffer(string: "EHLO client\r\n")).wait()
        try shuttle(clientChannel, serverChannel)
        #expect(serverSide.received == "EHLO client\r\n")
        try serverChannel.writeAndFlush(ByteBuffer(string: "250 ok\r\n")).wait()
        try shuttle(serverChannel, clientChannel)
        #expect(clientSide.received == "250 ok\r\n")
        // close_notify: the server sees the client's clean close and closes too.
        clientChannel.close(promise: nil)
        try shuttle(clientChannel, serverChannel)
        #expect(!serverChannel.isActive)
        #expect(serverSide.errors.isEmpty && clientSide.errors.isEmpty)
    }

    @Test func aClientThatDoesNotTrustTheCertificateFailsWithOpenSSLsReason() async throws {
        let certificates = try await TestCertificates.make()
        let other = try await TestCertificates.make()
        defer { certificates.remove(); other.remove() }
        let server = try TLSContext(certificateChain: certificates.certificate, privateKey: certificates.key)
        let client = try TLSContext(clientVerifying: true, caFile: other.certificate, serverName: "localhost")
        let (_, clientSide, _, _) = try pair(client: client, server: server)
        #expect(clientSide.events.isEmpty)
        #expect(clientSide.errors.first?.contains("certificate verify failed") == true, "\(clientSide.errors)")
    }

    @Test func badCertificateOrKeyFilesAreClearErrors() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        #expect(throws: TLSError.self) { try TLSContext(certificateChain: "/nonexistent.pem", privateKey: certificates.key) }
        #expect(throws: TLSError.self) { try TLSContext(certificateChain: certificates.certificate, privateKey: certificates.certificate) }
    }
}
