#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// The ways an upstream can fail at one stage of the dialogue.
public enum UpstreamFault: String, CaseIterable, Sendable {
    /// Never answer (the connection stays open).
    case stall
    /// Half a reply line, then close.
    case closeMidReply
    /// A TCP reset instead of the reply.
    case reset
    /// A line that is no SMTP reply.
    case garbage
    /// `421` and close, the way an MTA that is shutting down answers.
    case reply421
    /// A multi-line reply of 10 MiB that never ends.
    case hugeMultiline
    /// 10 MiB without a line end.
    case endlessLine
    /// The normal reply, one octet per write (many reads on Sluice's side): must work.
    case splitReply
    /// The normal reply, but 30 s late: long after Sluice's timeout, which the tests reach by moving a
    /// manual clock (a busy machine may hold the test back for seconds; it must not lose that race).
    case lateReply
}

extension ScriptedUpstreamHandler {
    /// Built once: 10 MiB take a debug build longer to make than Sluice's timeouts in these tests.
    static let hugeMultiline: ByteBuffer = {
        var line = ByteBuffer(string: "250-")
        line.writeRepeatingByte(UInt8(ascii: "m"), count: 1020)
        line.writeString("\r\n")
        var buffer = ByteBuffer()
        for _ in 0..<(10 * 1024) { buffer.writeImmutableBuffer(line) }
        return buffer
    }()
    static let endlessLine: ByteBuffer = {
        var buffer = ByteBuffer(string: "250 ")
        buffer.writeRepeatingByte(UInt8(ascii: "e"), count: 10 * 1024 * 1024)
        return buffer
    }()

    /// Sends `text` (the normal reply to `verb`), or does what the script's fault for `verb` says.
    func reply(_ text: String, to verb: String, _ context: ChannelHandlerContext) {
        guard let fault = script.faults[verb] else { return send(text, context) }
        let channel = context.channel
        switch fault {
        case .stall:
            return
        case .closeMidReply:
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: String(text.prefix(2)))), promise: nil)
            context.close(promise: nil)
        case .reset:
            if let provider = channel as? SocketOptionProvider {
                _ = provider.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            }
            context.close(promise: nil)
        case .garbage:
            send("HTTP/1.1 400 Bad Request", context)
        case .reply421:
            send("421 4.3.2 upstream.test Service shutting down", context)
            context.close(promise: nil)
        case .hugeMultiline:
            context.writeAndFlush(wrapOutboundOut(Self.hugeMultiline), promise: nil)
        case .endlessLine:
            context.writeAndFlush(wrapOutboundOut(Self.endlessLine), promise: nil)
        case .splitReply:
            for (index, byte) in Array((text + "\r\n").utf8).enumerated() {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(index))) {
                    channel.writeAndFlush(ByteBuffer(bytes: [byte]), promise: nil)
                }
            }
        case .lateReply:
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(30)) {
                channel.writeAndFlush(ByteBuffer(string: text + "\r\n"), promise: nil)
            }
        }
    }
}
