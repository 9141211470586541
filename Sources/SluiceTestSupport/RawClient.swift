import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SluiceServer
import SluiceTLS

/// How a test client leaves: a FIN, or a TCP reset.
public enum CloseMode: String, CaseIterable, Sendable { case clean, reset }

/// A byte-level SMTP client for the cases no polite client produces: pipelined groups in one write,
/// bare LFs, smuggling attempts, over-long lines. It sends exactly the bytes it is given.
public final class RawClient: Sendable {
    private let channel: Channel
    private let received: NIOLockedValueBox<(text: String, closed: Bool)>

    /// Connects; with `tls` (a client context), the connection is TLS from the first byte.
    public static func connect(port: Int, host: String = "127.0.0.1", tls: TLSContext? = nil) async throws -> RawClient {
        let received = NIOLockedValueBox<(text: String, closed: Bool)>(("", false))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawTap())
                    if let tls { try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received))
                }
            }
            .connect(host: host, port: port).get()
        return RawClient(channel: channel, received: received)
    }

    /// Writes octets straight to the socket, below TLS (a partial record, a bare handshake fragment).
    public func sendRaw(bytes: [UInt8]) async throws {
        let channel = self.channel
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            guard let context = try? channel.pipeline.syncOperations.context(handlerType: RawTap.self) else {
                return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
            }
            let promise = channel.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: bytes)), promise: promise)
            return promise.futureResult
        }.get()
    }

    private init(channel: Channel, received: NIOLockedValueBox<(text: String, closed: Bool)>) {
        self.channel = channel
        self.received = received
    }

    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    public func send(bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Everything received so far.
    public var transcript: String { received.withLockedValue { $0.text } }
    public var isClosed: Bool { received.withLockedValue { $0.closed } }

    /// The reply lines received so far (`250 2.1.0 Ok`), continuation lines included.
    public var replyLines: [String] { transcript.components(separatedBy: "\r\n").filter { !$0.isEmpty } }

    /// Final reply lines only (`250 …`, not `250-…`).
    public var replies: [String] { replyLines.filter { $0.count < 4 || $0[$0.index($0.startIndex, offsetBy: 3)] != "-" } }

    /// Waits until `count` final replies arrived (or the connection closed, or `seconds` passed).
    @discardableResult
    public func waitForReplies(_ count: Int, seconds: Double = 10) async -> [String] {
        let deadline = Patience.deadline(after: seconds)
        while replies.count < count, !isClosed, Date() < deadline {
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return replies
    }

    /// Waits for `count` replies while moving `clock` forward by `step` every 50 ms: a deadline that is
    /// armed passes at the next step, however busy the machine is. No test waits out a real timeout.
    @discardableResult
    public func waitForReplies(_ count: Int, advancing clock: DeadlineClock, by step: TimeAmount, seconds: Double = 25) async -> [String] {
        let deadline = Patience.deadline(after: seconds)
        while replies.count < count, !isClosed, Date() < deadline {
            clock.advance(by: step)
            await waitForReplies(count, seconds: 0.05)
        }
        return replies
    }

    /// Waits until the server closed the connection.
    @discardableResult
    public func waitForClose(seconds: Double = 10) async -> Bool {
        let deadline = Patience.deadline(after: seconds)
        while !isClosed, Date() < deadline { try? await Task.sleep(nanoseconds: 5_000_000) }
        return isClosed
    }

    /// EHLO, MAIL, RCPT and DATA in one write; returns once the greeting and their four replies are in
    /// (the 354 last).
    public func startTransaction() async throws {
        try await send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
        _ = await waitForReplies(5)
    }

    public func close() async {
        try? await channel.close()
    }

    /// Aborts the connection: SO_LINGER 0, so the close sends a TCP reset instead of a FIN.
    public func reset() async {
        if let provider = channel as? SocketOptionProvider {
            try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close()
    }

    /// Ends the connection the way `mode` says.
    public func end(_ mode: CloseMode) async {
        switch mode {
        case .clean: await close()
        case .reset: await reset()
        }
    }
}

/// The first handler of a client's pipeline: `sendRaw` writes through its context, under any TLS.
private final class RawTap: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
}

private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let received: NIOLockedValueBox<(text: String, closed: Bool)>

    init(received: NIOLockedValueBox<(text: String, closed: Bool)>) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let text = String(buffer: unwrapInboundIn(data))
        received.withLockedValue { $0.text += text }
    }

    func channelInactive(context: ChannelHandlerContext) {
        received.withLockedValue { $0.closed = true }
    }
}
