import NIOCore
import SluiceSMTP
import Testing

/// Defects the protocol fuzzers found (Fuzz/Crashes/), as ordinary tests.
@Suite struct ProtocolFuzzFindingsTests {
    /// `byte | 0x20` made 0x1A match ':' (0x3A): "MAIL FROM\x1A<…>" was a MAIL command.
    @Test(arguments: ["4d41494c2046524f4d1a3c6140622e6578616d706c653e", "5243505420544f1a3c6140622e6578616d706c653e"])
    func aControlByteIsNotTheColonOfFromOrTo(_ hex: String) {
        let line = stride(from: 0, to: hex.count, by: 2).map { UInt8(hex.dropFirst($0).prefix(2), radix: 16)! }
        #expect(throws: CommandParser.Error.self) { try CommandParser.parse(line) }
    }

    /// Unicode case mapping turned "quıt" (dotless i) into QUIT and "maıl" into MAIL.
    @Test(arguments: ["qu\u{131}t", "ma\u{131}l FROM:<a@b.example>", "\u{17F}END"])
    func aVerbWithNonASCIILettersIsUnknown(_ text: String) throws {
        guard case .unknown = try CommandParser.parse(Array(text.utf8)) else {
            Issue.record("'\(text)' parsed as a command")
            return
        }
    }

    /// An unknown verb with a non-ASCII octet kept its lower-case letters, so its wire form parsed to
    /// another command (`FuzzCommandParser-unknown-verb-case`).
    @Test func anUnknownVerbIsUpperCasedTheSameWayWithOrWithoutNonASCIIOctets() throws {
        let line = Array("OOOoO(OOOOOOOOOOOOOOOOOOOOOOOOOQ".utf8) + [0, 0x51, 0, 0x44, 0x54, 0x3C, 0x6A, 0xC3, 0xB6, 0x72, 0x78, 0x65]
        let command = try CommandParser.parse(line)
        guard case .unknown(let verb) = command else {
            Issue.record("parsed as \(command)")
            return
        }
        #expect(verb == "OOOOO(OOOOOOOOOOOOOOOOOOOOOOOOOQ")
        #expect(try CommandParser.parse(Array(verb.utf8)) == command)
    }

    private func framerEvents(_ chunks: [String], maxLength: Int) -> [CommandLineFramer.Event] {
        var framer = CommandLineFramer(maxLength: maxLength)
        var buffer = ByteBuffer()
        var events: [CommandLineFramer.Event] = []
        for chunk in chunks {
            buffer.writeString(chunk)
            while let event = framer.next(from: &buffer) { events.append(event) }
        }
        return events
    }

    /// An over-long line ending in a bare LF was `tooLong` in one read and `bareLF` in two.
    @Test func anOverLongLineIsTooLongHoweverItArrives() {
        #expect(framerEvents(["0123456789\n"], maxLength: 10) == [.fault(.tooLong)])
        #expect(framerEvents(["0123456789", "\n"], maxLength: 10) == [.fault(.tooLong)])
        #expect(framerEvents(["01234567890123", "\r\n"], maxLength: 10) == [.fault(.tooLong)])
    }

    /// The size limit was checked only when buffered content was written out: "ab\n" over a 1-octet
    /// limit was a bare LF in one read and too large byte by byte. The earlier fault wins, always.
    @Test(arguments: ["ab\n", "ab\r.", "ab\u{0}", "abcdefgh"])
    func theFirstFaultIsReportedWhateverTheReads(_ text: String) {
        func fault(_ chunks: [[UInt8]]) -> DataDecoder.Fault? {
            var decoder = DataDecoder(maxLineLength: 4, maxSize: 1, policy: .reject)
            var output = ByteBuffer()
            for chunk in chunks {
                var input = ByteBuffer(bytes: chunk)
                _ = decoder.decode(&input, into: &output)
            }
            return decoder.fault
        }
        let bytes = Array(text.utf8)
        let whole = fault([bytes])
        #expect(whole == .tooLarge, "the second octet is over the limit before anything else goes wrong")
        #expect(fault(bytes.map { [$0] }) == whole)
        for split in 1..<bytes.count { #expect(fault([Array(bytes[..<split]), Array(bytes[split...])]) == whole) }
    }

    /// A NUL or a bare CR inside an upstream's reply line is refused, never relayed to the client.
    @Test(arguments: ["250 o\u{0}k\r\n", "250 o\rk\r\n", "250-a\u{0}\r\n250 b\r\n"])
    func aReplyLineWithANulOrABareCRIsMalformed(_ text: String) {
        var parser = ReplyParser()
        var buffer = ByteBuffer(string: text)
        #expect(throws: ReplyParser.Error.self) { _ = try parser.next(from: &buffer) }
    }
}
