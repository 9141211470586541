import NIOCore
import SluiceSMTP
import Testing

@Suite struct ReplyParserTests {
    @Test func multiLineReplyKeepsEveryLine() throws {
        var parser = ReplyParser()
        var buffer = ByteBuffer(string: "250-mx.example Hello\r\n250-SIZE 1000\r\n250 8BITMIME\r\n")
        let reply = try parser.next(from: &buffer)
        #expect(reply == SMTPReply(code: 250, lines: ["mx.example Hello", "SIZE 1000", "8BITMIME"]))
        #expect(reply?.wireText == "250-mx.example Hello\r\n250-SIZE 1000\r\n250 8BITMIME\r\n")
    }

    @Test func replyArrivingInPiecesAndEnhancedCode() throws {
        var parser = ReplyParser()
        var buffer = ByteBuffer(string: "550-5.7.1 first\r\n550 5.7")
        #expect(try parser.next(from: &buffer) == nil)
        buffer.writeString(".1 second\r\n221 2.0.0 Bye\r\n")
        let first = try parser.next(from: &buffer)
        #expect(first?.lines == ["5.7.1 first", "5.7.1 second"])
        #expect(first?.enhancedCode == "5.7.1")
        #expect(try parser.next(from: &buffer)?.code == 221)
    }

    @Test func malformedAndUnboundedRepliesAreErrors() {
        var parser = ReplyParser(maxLineLength: 100, maxLines: 3)
        var garbage = ByteBuffer(string: "hello\r\n")
        #expect(throws: ReplyParser.Error.self) { try parser.next(from: &garbage) }
        var parser2 = ReplyParser(maxLineLength: 100, maxLines: 3)
        var long = ByteBuffer(string: String(repeating: "x", count: 200))
        #expect(throws: ReplyParser.Error.lineTooLong) { try parser2.next(from: &long) }
        var parser3 = ReplyParser(maxLineLength: 100, maxLines: 3)
        var many = ByteBuffer(string: "250-a\r\n250-b\r\n250-c\r\n250-d\r\n250 e\r\n")
        #expect(throws: ReplyParser.Error.tooManyLines) { try parser3.next(from: &many) }
        var parser4 = ReplyParser()
        var mixed = ByteBuffer(string: "250-a\r\n550 b\r\n")
        #expect(throws: ReplyParser.Error.codeChangedWithinReply) { try parser4.next(from: &mixed) }
    }

    @Test func replyWithoutTextIsWrittenAsBareCode() {
        #expect(SMTPReply(code: 250, lines: [""]).wireText == "250\r\n")
    }
}
