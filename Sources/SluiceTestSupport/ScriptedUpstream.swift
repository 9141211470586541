import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SluiceTLS

/// How the scripted upstream behaves. Every field has the polite default of a working MTA.
public struct UpstreamScript: Sendable {
    /// The greeting; nil: accept the connection and never say anything.
    public var greeting: String? = "220 upstream.test ESMTP scripted"
    /// Seconds before the greeting is sent.
    public var greetingDelay: Double = 0
    public var ehloLines = ["upstream.test Hello", "PIPELINING", "SIZE 10240000", "8BITMIME", "STARTTLS", "AUTH PLAIN LOGIN",
                            "CHUNKING", "ENHANCEDSTATUSCODES", "DSN", "SMTPUTF8"]
    /// Recipients (lower-cased address without brackets) refused, with the full reply text (may be multi-line).
    public var rejectRecipients: [String: String] = [:]
    /// The reply to DATA; anything but 354 refuses the message there.
    public var dataReply = "354 End data with <CR><LF>.<CR><LF>"
    public var finalReply = "250 2.0.0 Ok: queued"
    /// Close the connection as soon as message content starts arriving.
    public var dropDuringData = false
    /// Stop reading once DATA is answered (the connection stays open): what the sender writes piles up
    /// in the socket buffers, then its writes never complete.
    public var stopReadingInData = false
    /// Never answer this verb (`MAIL`, `RCPT`, `DATA`, or `.` for the final dot).
    public var stallOn: String?
    /// With a TLS context, STARTTLS (advertised by default) really starts TLS.
    public var tls: TLSContext?
    /// How the upstream misbehaves at a stage: `GREETING`, `EHLO`, `MAIL`, `RCPT`, `DATA` or `.` (the
    /// reply to the final dot).
    public var faults: [String: UpstreamFault] = [:]
    /// Users AUTH PLAIN and LOGIN accept (user → password); empty: every AUTH is refused.
    public var authUsers: [String: String] = [:]
    /// End DATA the way a vulnerable MTA does: a line that is just "." ends it, whatever ends the lines
    /// around it (CR, LF or CRLF) and with any NULs in it ignored. What follows is read as commands, so
    /// a smuggling sequence that reached this upstream would show as a second message.
    public var naiveEndOfData = false
    public var helpReply = "214-2.0.0 Commands:\r\n214-2.0.0   HELO EHLO MAIL RCPT DATA\r\n214 2.0.0 End of HELP info"

    public init() {}
}

struct UpstreamRecord: Sendable {
    var commands: [String] = []
    var messages: [ReceivedMessage] = []
    var connections = 0
    var tlsSessions = 0
    var authenticated: [String] = []
}

/// One message as the upstream received it.
public struct ReceivedMessage: Sendable {
    public var sender: String
    public var recipients: [String]
    /// The content exactly as it came over the wire (dot-stuffed), without the final `.CRLF`.
    public var wireData: String
    /// The same octets, undecoded (NULs and 8-bit octets as they came).
    public var wireBytes: [UInt8]
}

/// A small SMTP server written for the tests: it records every command and message and can refuse,
/// stall or drop the connection on cue.
public final class ScriptedUpstream: Sendable {
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let state: NIOLockedValueBox<UpstreamRecord>

    public static func start(_ script: UpstreamScript = UpstreamScript()) async throws -> ScriptedUpstream {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = NIOLockedValueBox(UpstreamRecord())
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
                 state: NIOLockedValueBox<UpstreamRecord>) {
        self.port = port
        self.group = group
        self.channel = channel
        self.state = state
    }

    public var commands: [String] { state.withLockedValue { $0.commands } }
    public var messages: [ReceivedMessage] { state.withLockedValue { $0.messages } }
    public var connections: Int { state.withLockedValue { $0.connections } }
    /// Sessions that switched to TLS with STARTTLS.
    public var tlsSessions: Int { state.withLockedValue { $0.tlsSessions } }
    /// Users that authenticated successfully.
    public var authenticated: [String] { state.withLockedValue { $0.authenticated } }

    public func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

final class ScriptedUpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let script: UpstreamScript
    private let state: NIOLockedValueBox<UpstreamRecord>
    private var buffer = ByteBuffer()
    private enum AuthStep { case none, plain, loginUser, loginPassword(String) }
    private var auth = AuthStep.none
    private var inData = false
    private var data: [UInt8] = []
    private var sender = ""
    private var recipients: [String] = []

    init(script: UpstreamScript, state: NIOLockedValueBox<UpstreamRecord>) {
        self.script = script
        self.state = state
    }

    func channelActive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.connections += 1 }
        guard let greeting = script.greeting else { return }
        if script.greetingDelay > 0 {
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(script.greetingDelay * 1000))) {
                self.reply(greeting, to: "GREETING", context)
            }
        } else {
            reply(greeting, to: "GREETING", context)
        }
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
                // Scan only what is new (and the four octets before it): a 10 MiB message arrives in
                // hundreds of reads.
                let scanFrom = max(0, data.count - 4)
                data += buffer.readBytes(length: buffer.readableBytes) ?? []
                guard let (contentEnd, next) = script.naiveEndOfData ? Self.naiveEndOfData(in: data) : Self.endOfData(in: data, from: scanFrom)
                else { return }
                let rest = Array(data[next...])
                let bytes = Array(data[..<contentEnd])
                data = []
                inData = false
                buffer.clear()
                buffer.writeBytes(rest)
                let message = ReceivedMessage(sender: sender, recipients: recipients,
                                              wireData: String(decoding: bytes, as: UTF8.self), wireBytes: bytes)
                state.withLockedValue { $0.messages.append(message) }
                recipients = []
                if script.stallOn == "." { continue }
                reply(script.finalReply, to: ".", context)
                continue
            }
            guard let lf = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return }
            let line = String(decoding: buffer.readSlice(length: lf - buffer.readerIndex + 1)!.readableBytesView, as: UTF8.self)
                .withoutLineEnding()
            switch auth {
            case .none: break
            case .plain:
                auth = .none
                finishPlain(line, context)
                continue
            case .loginUser:
                auth = .loginPassword(Self.decode(line))
                send("334 UGFzc3dvcmQ6", context)
                continue
            case .loginPassword(let user):
                auth = .none
                check(user, Self.decode(line), context)
                continue
            }
            state.withLockedValue { $0.commands.append(line.hasPrefix("AUTH") ? String(line.prefix(10)) : line) }
            let verb = line.split(separator: " ").first.map { $0.uppercased() } ?? ""
            if script.stallOn == verb { continue }
            switch verb {
            case "EHLO":
                let lines = script.ehloLines
                reply(lines.enumerated().map { "250\($0.offset == lines.count - 1 ? " " : "-")\($0.element)" }.joined(separator: "\r\n"), to: verb, context)
            case "HELO": send("250 upstream.test", context)
            case "MAIL":
                sender = line
                recipients = []
                reply("250 2.1.0 Ok", to: verb, context)
            case "RCPT":
                let address = line.drop { $0 != "<" }.dropFirst().prefix { $0 != ">" }.lowercased()
                if let reply = script.rejectRecipients[address] {
                    send(reply, context)
                } else {
                    recipients.append(address)
                    reply("250 2.1.5 Ok", to: verb, context)
                }
            case "DATA":
                if script.dataReply.hasPrefix("354") {
                    inData = true
                }
                reply(script.dataReply, to: verb, context)
                if script.stopReadingInData {
                    try? context.channel.syncOptions?.setOption(.autoRead, value: false)
                    return
                }
            case "RSET":
                recipients = []
                send("250 2.0.0 Ok", context)
            case "NOOP": send("250 2.0.0 Ok", context)
            case "STARTTLS":
                guard let tls = script.tls, let handler = try? TLSHandler(context: tls) else {
                    send("454 4.7.0 TLS not available", context)
                    continue
                }
                send("220 2.0.0 Ready to start TLS", context)
                buffer.clear()
                state.withLockedValue { $0.tlsSessions += 1 }
                try? context.pipeline.syncOperations.addHandler(handler, position: .first)
                return
            case "AUTH":
                let words = line.split(separator: " ")
                let mechanism = words.count > 1 ? words[1].uppercased() : ""
                if mechanism == "PLAIN" {
                    if words.count > 2 { finishPlain(String(words[2]), context) } else { auth = .plain; send("334 ", context) }
                } else if mechanism == "LOGIN" {
                    auth = .loginUser
                    send("334 VXNlcm5hbWU6", context)
                } else {
                    send("504 5.5.4 Unrecognized authentication type", context)
                }
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

    private func finishPlain(_ response: String, _ context: ChannelHandlerContext) {
        let parts = Self.decode(response).split(separator: "\u{0}", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return send("501 5.5.2 Bad PLAIN response", context) }
        check(String(parts[1]), String(parts[2]), context)
    }

    private func check(_ user: String, _ password: String, _ context: ChannelHandlerContext) {
        if !user.isEmpty, script.authUsers[user] == password {
            state.withLockedValue { $0.authenticated.append(user) }
            send("235 2.7.0 Authentication successful", context)
        } else {
            send("535 5.7.8 Authentication credentials invalid", context)
        }
    }

    private static func decode(_ base64: String) -> String {
        Data(base64Encoded: base64.trimmingCharacters(in: .whitespaces)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Where the content ends and what follows the terminator begins: the first CRLF.CRLF; a message
    /// that is just ".\r\n" has an implicit CRLF before it.
    private static func endOfData(in data: [UInt8], from start: Int) -> (Int, Int)? {
        if data.starts(with: [46, 13, 10]) { return (0, 3) }
        guard data.count >= 5, start <= data.count - 5 else { return nil }
        for index in start...(data.count - 5) where data[index] == 13 && data[index + 1] == 10 && data[index + 2] == 46
            && data[index + 3] == 13 && data[index + 4] == 10 {
            return (index + 2, index + 5)
        }
        return nil
    }

    /// A vulnerable MTA's end of data: a line that is "." once NULs are ignored, lines ending in CR, LF
    /// or CRLF.
    private static func naiveEndOfData(in data: [UInt8]) -> (Int, Int)? {
        var start = 0
        while start < data.count {
            var end = start
            while end < data.count, data[end] != 13, data[end] != 10 { end += 1 }
            guard end < data.count else { return nil }
            var next = end + 1
            if data[end] == 13 {
                guard next < data.count else { return nil } // a CR at the end: wait for what follows
                if data[next] == 10 { next += 1 }
            }
            if data[start..<end].filter({ $0 != 0 }) == [46] { return (start, next) }
            start = next
        }
        return nil
    }

    func send(_ text: String, _ context: ChannelHandlerContext) {
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
