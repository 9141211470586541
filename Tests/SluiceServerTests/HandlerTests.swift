import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOPosix
@testable import SluiceServer
import SluiceSMTP
import SluiceSession
import SluiceTLS
import Testing

/// Upstream channels as `EmbeddedChannel`s on the test's loop: the test reads what Sluice writes to the
/// upstream and writes the upstream's replies.
final class EmbeddedUpstreams: UpstreamConnector, @unchecked Sendable {
    let loop: EmbeddedEventLoop
    private(set) var channels: [EmbeddedChannel] = []

    init(loop: EmbeddedEventLoop) { self.loop = loop }

    func open(_ connection: UpstreamConnection, implicitTLS: TLSContext?, timeout: Double, on eventLoop: EventLoop) {
        let channel = EmbeddedChannel(loop: loop)
        try! channel.pipeline.syncOperations.addHandler(connection)
        channel.connect(to: try! SocketAddress(ipAddress: "192.0.2.25", port: 25), promise: nil)
        connection.opened(channel)
        channels.append(channel)
    }
}

/// One session handler and its upstream connection, both on `EmbeddedChannel`s: the handlers alone,
/// without sockets, threads or timers of their own.
struct EmbeddedSession {
    let loop = EmbeddedEventLoop()
    let upstreams: EmbeddedUpstreams
    let client: EmbeddedChannel
    let clock = DeadlineClock.manual()
    let registry = SessionRegistry()

    init(rules: String = "", configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        precondition(!rules.contains("stage header") && !rules.contains("stage body") && !rules.contains("stage eom"),
                     "content rules answer from the thread pool, which an embedded loop cannot take")
        upstreams = EmbeddedUpstreams(loop: loop)
        var configuration = ServerConfiguration(listen: [], upstream: Endpoint(host: "192.0.2.25", port: 25), hostname: "sluice.test",
                                                spoolDirectory: NSTemporaryDirectory())
        if !rules.isEmpty { try configuration.apply(rules: rules) }
        configuration.session.introduceClient = false
        configure(&configuration)
        let pool = Self.pool
        let environment = SessionEnvironment(
            settings: NIOLockedValueBox(configuration), upstreamConnector: upstreams, pool: pool, resolver: nil, registry: registry, limiter: ConnectionLimiter(),
            clocks: SessionClocks(group: loop, clock: clock, interval: { .seconds(1) }), metrics: ServerMetrics(),
            logger: Logger(label: "test"), greylistStore: nil, clock: { 1_700_000_000 }, deadlineClock: clock)
        let address = try SocketAddress(ipAddress: "192.0.2.7", port: 40000)
        client = EmbeddedChannel(handler: SessionHandler(environment: environment, eventLoop: loop, remoteAddress: address), loop: loop)
        try client.connect(to: address).wait()
    }

    /// A thread pool that is never started: an embedded loop belongs to one thread, so nothing here
    /// may answer from another (the spool stays in memory; no content rule is loaded).
    static let pool = NIOThreadPool(numberOfThreads: 1)

    var upstream: EmbeddedChannel? { upstreams.channels.first }

    /// Everything the handler wrote to the client since the last call.
    func clientReceived() throws -> String {
        var text = ""
        while let buffer = try client.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// Everything written to the upstream since the last call.
    func upstreamReceived() throws -> String {
        var text = ""
        while let buffer = try upstream?.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    func clientSends(_ text: String) throws { try client.writeInbound(ByteBuffer(string: text)) }
    func upstreamReplies(_ text: String) throws { try upstream?.writeInbound(ByteBuffer(string: text)) }
}

@Suite struct HandlerTests {
    @Test func aTransactionGoesThroughBothHandlersAndThe250IsTheUpstreams() throws {
        let session = try EmbeddedSession()
        #expect(try session.clientReceived() == "", "no greeting before the upstream's")
        try session.upstreamReplies("220 mx.upstream ESMTP\r\n")
        #expect(try session.clientReceived() == "220 sluice.test ESMTP\r\n")
        try session.clientSends("EHLO client.example\r\n")
        #expect(try session.upstreamReceived() == "EHLO client.example\r\n")
        try session.upstreamReplies("250-mx.upstream\r\n250 8BITMIME\r\n")
        #expect(try session.clientReceived().hasPrefix("250-sluice.test\r\n250-PIPELINING\r\n"))
        // Pipelined: the upstream hears one command at a time, each after the previous reply.
        try session.clientSends("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        #expect(try session.upstreamReceived() == "MAIL FROM:<a@example.org>\r\n")
        try session.upstreamReplies("250 2.1.0 Ok\r\n")
        #expect(try session.upstreamReceived() == "RCPT TO:<b@example.com>\r\n")
        try session.upstreamReplies("250 2.1.5 Ok\r\n")
        #expect(try session.clientReceived() == "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n")
        #expect(try session.upstreamReceived() == "", "DATA goes upstream only after the final dot")
        try session.clientSends("Subject: hi\r\n\r\nbody\r\n.\r\n")
        #expect(try session.upstreamReceived() == "DATA\r\n")
        try session.upstreamReplies("354 go ahead\r\n")
        let message = try session.upstreamReceived()
        #expect(message.hasPrefix("Received: from client.example ([192.0.2.7])\r\n"))
        #expect(message.hasSuffix("\r\nSubject: hi\r\n\r\nbody\r\n.\r\n"))
        #expect(try session.clientReceived() == "", "no acknowledgement before the upstream's")
        try session.upstreamReplies("250 2.0.0 Ok: queued as X\r\n")
        #expect(try session.clientReceived() == "250 2.0.0 Ok: queued as X\r\n")
        try session.clientSends("QUIT\r\n")
        #expect(try session.upstreamReceived() == "QUIT\r\n")
        try session.upstreamReplies("221 2.0.0 Bye\r\n")
        #expect(try session.clientReceived() == "221 2.0.0 Bye\r\n")
    }

    /// A message refused at its final dot (here a bare LF; a content rule does the same from the thread
    /// pool, which an embedded loop cannot take answers from) never goes upstream: only its transaction
    /// is closed, and the client's next command waits for that RSET.
    @Test func aRefusedMessageIsResetUpstreamSilentlyAndWhatFollowsWaitsForTheReset() throws {
        let session = try EmbeddedSession()
        try session.upstreamReplies("220 mx ESMTP\r\n")
        try session.clientSends("EHLO c\r\n")
        try session.upstreamReplies("250 mx\r\n")
        try session.clientSends("MAIL FROM:<a@example.org>\r\n")
        try session.upstreamReplies("250 ok\r\n")
        try session.clientSends("RCPT TO:<b@example.com>\r\n")
        try session.upstreamReplies("250 ok\r\n")
        try session.clientSends("DATA\r\n")
        _ = try session.clientReceived()
        _ = try session.upstreamReceived()
        try session.clientSends("Subject: x\r\n\r\nbare\nline feed\r\n.\r\nMAIL FROM:<c@example.org>\r\n")
        #expect(try session.upstreamReceived() == "RSET\r\n", "the message never goes; only its transaction is closed")
        #expect(try session.clientReceived().hasPrefix("554 5.6.0"))
        try session.upstreamReplies("250 2.0.0 Reset\r\n")
        #expect(try session.upstreamReceived() == "MAIL FROM:<c@example.org>\r\n", "queued behind the RSET")
        #expect(try session.clientReceived() == "", "the RSET's reply is Sluice's own")
        try session.upstreamReplies("250 ok\r\n")
        #expect(try session.clientReceived() == "250 ok\r\n")
    }

    @Test func aClientClosingOwesTheUpstreamAQuit() throws {
        let session = try EmbeddedSession()
        try session.upstreamReplies("220 mx ESMTP\r\n")
        _ = try session.clientReceived()
        try session.client.close().wait()
        #expect(try session.upstreamReceived() == "QUIT\r\n")
    }

    @Test func anUpstreamThatDoesNotAnswerTimesOutOnTheClock() throws {
        let session = try EmbeddedSession()
        try session.upstreamReplies("220 mx ESMTP\r\n")
        try session.clientSends("EHLO c\r\n")
        _ = try session.clientReceived()
        session.clock.advance(by: .seconds(299))
        session.loop.run()
        #expect(try session.clientReceived() == "")
        session.clock.advance(by: .seconds(2)) // the command timeout is 300 s
        session.loop.run()
        #expect(try session.clientReceived().hasPrefix("421 4.4.2"))
        #expect(session.upstream?.isActive == false, "the upstream connection is closed")
    }

    @Test func aConnectRefusalNeverOpensAnUpstream() throws {
        let session = try EmbeddedSession(rules: "stage connect\n  reject client = \"192.0.2.7\" \"554 5.7.1 Not you\"")
        #expect(try session.clientReceived() == "554 5.7.1 Not you\r\n")
        #expect(session.upstreams.channels.isEmpty)
        #expect(session.client.isActive == false)
    }
}

