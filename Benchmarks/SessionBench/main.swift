// The pure per-message work of a relayed session, without sockets: framing and parsing the client's
// commands, the session state machine, parsing the upstream's replies, writing replies, decoding
// 10 KiB of DATA and building the trace header. Prints microseconds per message.
// Usage: SessionBench [MESSAGES]
import Foundation
import NIOCore
import SluiceSMTP
import SluiceSession

let messages = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
let configuration = SessionConfiguration(hostname: "sluice.test")
let line = String(repeating: "X", count: 77) + "\r\n"
let body = Array(("Subject: bench\r\n\r\n" + String(repeating: line, count: 128) + ".\r\n").utf8)
let commands = ["EHLO client.example", "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>", "DATA"]
let replies: [String] = ["220 sink ESMTP\r\n",
                         "250-sink\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n",
                         "250 2.1.0 Ok\r\n", "250 2.1.5 Ok\r\n", "354 End data\r\n", "250 2.0.0 Ok: queued\r\n", "221 2.0.0 Bye\r\n"]
let replyBytes = replies.map { ByteBuffer(string: $0) }
let commandBytes = commands.map { ByteBuffer(string: $0 + "\r\n") }

func drive() -> Int {
    var sink = 0
    var session = ClientSession(configuration: configuration, clientAddress: "192.0.2.7")
    func settle(_ actions: [SessionAction]) -> [SessionAction] {
        var result: [SessionAction] = []
        for action in actions {
            if case .evaluate(let request) = action, case .decided(let decision) = PolicySteps.rules(request, configuration.ruleSet, greylist: configuration.greylist) {
                result += settle(session.policyDecided(decision))
            } else { result.append(action) }
        }
        return result
    }
    var output = ByteBuffer()
    var parser = ReplyParser()
    var framer = CommandLineFramer(maxLength: 512)
    func apply(_ actions: [SessionAction]) {
        for action in settle(actions) { if case .reply(let reply) = action { reply.write(into: &output) } }
    }
    func upstream(_ index: Int) {
        var buffer = replyBytes[index]
        while let reply = try! parser.next(from: &buffer) { apply(session.upstreamReplied(reply)) }
    }
    func client(_ index: Int) {
        var buffer = commandBytes[index]
        while case .line(let line)? = framer.next(from: &buffer) {
            apply(session.received(try! CommandParser.parse(line.readableBytesView)))
        }
    }
    apply(session.start())
    upstream(0)
    for i in 0..<3 { client(i); upstream(i + 1) }
    client(3)
    var decoder = DataDecoder(maxLineLength: 8192, maxSize: 25 << 20)
    var input = ByteBuffer(bytes: body)
    var spool = ByteBuffer()
    _ = decoder.decode(&input, into: &spool)
    apply(session.dataFinished(size: decoder.size, fault: decoder.fault))
    upstream(4)
    let trace = TraceHeader(hostname: "sluice.test", helo: "client.example", clientAddress: "192.0.2.7",
                            sessionID: "5K2XQ9TD3B7N", esmtp: true, recipient: "<b@example.com>", date: Date())
    var traceBuffer = ByteBuffer()
    trace.write(into: &traceBuffer)
    sink &+= traceBuffer.readableBytes
    upstream(5)
    apply(session.received(.quit))
    upstream(6)
    sink &+= output.readableBytes &+ spool.readableBytes
    return sink
}

var sink = 0
for _ in 0..<1000 { sink &+= drive() }
let start = DispatchTime.now().uptimeNanoseconds
for _ in 0..<messages { sink &+= drive() }
let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3
print(String(format: "%.2f µs per message (%d messages, check %d)", elapsed / Double(messages), messages, sink % 10))
