import NIOCore
import SluiceSMTP
import Testing

private func frame(_ input: String, maxLength: Int = 512, byteByByte: Bool = false) -> [CommandLineFramer.Event] {
    var framer = CommandLineFramer(maxLength: maxLength)
    var buffer = ByteBuffer()
    var events: [CommandLineFramer.Event] = []
    let chunks: [[UInt8]] = byteByByte ? Array(input.utf8).map { [$0] } : [Array(input.utf8)]
    for chunk in chunks {
        buffer.writeBytes(chunk)
        while let event = framer.next(from: &buffer) { events.append(event) }
    }
    return events
}

private func line(_ text: String) -> CommandLineFramer.Event { .line(ByteBuffer(string: text)) }

@Suite struct CommandLineFramerTests {
    @Test func crlfEndsALine() {
        #expect(frame("HELO a\r\nNOOP\r\n") == [line("HELO a"), line("NOOP")])
        #expect(frame("HELO a\r\nNOOP\r\n", byteByByte: true) == [line("HELO a"), line("NOOP")])
    }

    @Test func bareLFIsAFaultNotALine() {
        #expect(frame("HELO a\nNOOP\r\n") == [.fault(.bareLF), line("NOOP")])
    }

    @Test func bareCRAndNulInsideALineAreFaults() {
        #expect(frame("HELO a\rb\r\n") == [.fault(.bareCR)])
        #expect(frame("HELO a\u{0}b\r\n") == [.fault(.nul)])
    }

    @Test func lineOverTheLimitIsTooLongAndTheNextLineStillWorks() {
        let long = "NOOP " + String(repeating: "x", count: 600) + "\r\n"
        #expect(frame(long + "QUIT\r\n") == [.fault(.tooLong), line("QUIT")])
        #expect(frame(long + "QUIT\r\n", byteByByte: true) == [.fault(.tooLong), line("QUIT")])
    }

    @Test func limitCountsTheCRLF() {
        let exact = String(repeating: "a", count: 510)
        #expect(frame(exact + "\r\n") == [line(exact)])
        #expect(frame(exact + "a\r\n") == [.fault(.tooLong)])
    }

    @Test func aLongLineIsNeverBuffered() {
        var framer = CommandLineFramer(maxLength: 512)
        var buffer = ByteBuffer(string: String(repeating: "z", count: 10_000))
        #expect(framer.next(from: &buffer) == nil)
        #expect(buffer.readableBytes <= 1, "the framer kept the bytes of an over-long line")
    }
}
