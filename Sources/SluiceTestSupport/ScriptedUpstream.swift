import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// How the scripted upstream behaves. Every field has the polite default of a working MTA.
public struct UpstreamScript: Sendable {
    /// The greeting; nil: accept the connection and never say anything.
    public var greeting: String? = "220 upstream.test ESMTP scripted"
    public var ehloLines = ["upstream.test Hello", "PIPELINING", "SIZE 10240000", "8BITMIME", "STARTTLS", "AUTH PLAIN LOGIN",
                            "CHUNKING", "ENHANCEDSTATUSCODES", "DSN", "SMTPUTF8"]
    /// Recipients (lower-cased address without brackets) refused, with the full reply text (may be multi-line).
    public var rejectRecipients: [String: String] = [:]
    /// The reply to DATA; anything but 354 refuses the message there.
    public var dataReply = "354 End data with <CR><LF>.<CR><LF>"
    public var finalReply = "250 2.0.0 Ok: queued"
    /// Close the connection as soon as message content starts arriving.
    public var dropDuringData = false
    /// Never answer this verb (`MAIL`, `RCPT`, `DATA`, or `.` for the final dot).
    public var stallOn: String?
    public var helpReply = "214-2.0.0 Commands:\r\n214-2.0.0   HELO EHLO MAIL RCPT DATA\r\n214 2.0.0 End of HELP info"

    public init() {}
}

/// One message as the upstream received it.
public struct ReceivedMessage: Sendable {
    public var sender: String
    public var recipients: [String]
    /// The content exactly as it came over the wire (dot-stuffed), without the final `.CRLF`.
    public var wireData: String
}

/// A small SMTP server written for the tests: it records every command and message and can refuse,
/// stall or drop the connection on cue.
public final class ScriptedUpstream: Sendable {
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let state: NIOLockedValueBox<(commands: [String], messages: [ReceivedMessage], connections: Int)>

    public static func start(_ script: UpstreamScript = UpstreamScript()) async throws -> ScriptedUpstream {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = NIOLockedValueBox<(commands: [String], messages: [ReceivedMessage], connections: Int)>(([], [], 0))
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedUpstreamHandler(script: script, state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedUpstream(port: channel.localAddress!.port!, group: group, channel: channel, state: state)
    }

    private init(port: Int, group: MultiThreadedEventLoopGroup, channel: Channel,
                 state: NIOLockedValueBox<(commands: [String], messages: [ReceivedMessage], connections: Int)>) {
        self.port = port
        self.group = group
        self.channel = channel
        self.state = state
    }

    public var commands: [String] { state.withLockedValue { $0.commands } }
    public var messages: [ReceivedMessage] { state.withLockedValue { $0.messages } }
    public var connections: Int { state.withLockedValue { $0.connections } }

    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

private final class ScriptedUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let script: UpstreamScript
    private let state: NIOLockedValueBox<(commands: [String], messages: [ReceivedMessage], connections: Int)>
    private var buffer = ByteBuffer()
    private var inData = false
    private var data: [UInt8] = []
    private var sender = ""
    private var recipients: [String] = []

    init(script: UpstreamScript, state: NIOLockedValueBox<(commands: [String], messages: [ReceivedMessage], connections: Int)>) {
        self.script = script
        self.state = state
    }

    func channelActive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.connections += 1 }
        if let greeting = script.greeting { send(greeting, context) }
    }

    func channelRead(context: ChannelHandlerContext, data incoming: NIOAny) {
        var bytes = unwrapInboundIn(incoming)
        buffer.writeBuffer(&bytes)
        while true {
            if inData {
                if script.dropDuringData {
                    context.close(promise: nil)
                    return
                }
                data += buffer.readBytes(length: buffer.readableBytes) ?? []
                guard let end = Self.endOfData(in: data) else { return }
                let rest = Array(data[(end + 5)...])
                let content = String(decoding: data[..<(end + 2)], as: UTF8.self)
                data = []
                inData = false
                buffer.clear()
                buffer.writeBytes(rest)
                state.withLockedValue { $0.messages.append(ReceivedMessage(sender: sender, recipients: recipients, wireData: content)) }
                recipients = []
                if script.stallOn == "." { continue }
                send(script.finalReply, context)
                continue
            }
            guard let lf = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return }
            let line = String(decoding: buffer.readSlice(length: lf - buffer.readerIndex + 1)!.readableBytesView, as: UTF8.self)
                .withoutLineEnding()
            state.withLockedValue { $0.commands.append(line) }
            let verb = line.split(separator: " ").first.map { $0.uppercased() } ?? ""
            if script.stallOn == verb { continue }
            switch verb {
            case "EHLO":
                let lines = script.ehloLines
                send(lines.enumerated().map { "250\($0.offset == lines.count - 1 ? " " : "-")\($0.element)" }.joined(separator: "\r\n"), context)
            case "HELO": send("250 upstream.test", context)
            case "MAIL":
                sender = line
                recipients = []
                send("250 2.1.0 Ok", context)
            case "RCPT":
                let address = line.drop { $0 != "<" }.dropFirst().prefix { $0 != ">" }.lowercased()
                if let reply = script.rejectRecipients[address] {
                    send(reply, context)
                } else {
                    recipients.append(address)
                    send("250 2.1.5 Ok", context)
                }
            case "DATA":
                if script.dataReply.hasPrefix("354") {
                    inData = true
                }
                send(script.dataReply, context)
            case "RSET":
                recipients = []
                send("250 2.0.0 Ok", context)
            case "NOOP": send("250 2.0.0 Ok", context)
            case "VRFY": send("252 2.0.0 Cannot VRFY user", context)
            case "HELP": send(script.helpReply, context)
            case "QUIT":
                send("221 2.0.0 Bye", context)
                context.close(promise: nil)
                return
            default: send("502 5.5.2 Error: command not recognized", context)
            }
        }
    }

    private static func endOfData(in data: [UInt8]) -> Int? {
        // The first CRLF.CRLF; a message that is just ".\r\n" has an implicit CRLF before it.
        if data.starts(with: [46, 13, 10]) { return -2 }
        guard data.count >= 5 else { return nil }
        for index in 0...(data.count - 5) where data[index] == 13 && data[index + 1] == 10 && data[index + 2] == 46
            && data[index + 3] == 13 && data[index + 4] == 10 {
            return index
        }
        return nil
    }

    private func send(_ text: String, _ context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: text.utf8.count + 2)
        out.writeString(text + "\r\n")
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }
}

extension String {
    func withoutLineEnding() -> String {
        var text = self
        // "\r\n" is one Character: trim on the UTF-8 view.
        while let last = text.utf8.last, last == 10 || last == 13 { text = String(text.utf8.dropLast())! }
        return text
    }
}
