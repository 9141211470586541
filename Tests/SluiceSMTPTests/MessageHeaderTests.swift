import SluiceSMTP
import Testing

@Suite struct MessageHeaderTests {
    let wire = Array("Subject: hello\r\n world\r\nX-Internal-Id: 1\r\n.X-Dotted: yes\r\nX-Mailer: M\r\n\r\n..body\r\nline\r\n".utf8)

    @Test func fieldsAreUnfoldedAndTheBlockEndsAtTheEmptyLine() {
        let header = MessageHeader(wire: wire)
        #expect(header.fields.map(\.name) == ["Subject", "X-Internal-Id", "X-Dotted", "X-Mailer"])
        #expect(header.fields[0].value == "hello world")
        #expect(header.endsWithEmptyLine)
        #expect(Array(wire[header.length...]) == Array("..body\r\nline\r\n".utf8))
    }

    @Test func editsRewriteOnlyWhatTheyTouch() {
        let header = MessageHeader(wire: wire)
        let edited = header.applying([.remove(glob: "x-internal-*"), .replace(name: "x-mailer", value: "redacted"),
                                      .add(name: "X-Checked", value: "yes")])
        #expect(String(decoding: edited, as: UTF8.self)
                == "Subject: hello\r\n world\r\n.X-Dotted: yes\r\nX-Mailer: redacted\r\nX-Checked: yes\r\n\r\n")
        #expect(MessageHeader.glob("x-*-id", matches: "x-internal-id"))
        #expect(!MessageHeader.glob("x-*-id", matches: "x-internal-idx"))
    }

    @Test func bodyForRulesHasDotStuffingRemoved() {
        #expect(MessageHeader.unstuffedBody(Array("..a\r\nb.c\r\n...d\r\n".utf8)[...]) == Array(".a\r\nb.c\r\n..d\r\n".utf8))
        #expect(MessageHeader.unstuffedBody([]) == [])
        #expect(MessageHeader.unstuffedBody(Array(".".utf8)[...]) == [])
        #expect(MessageHeader.unstuffedBody(Array("a\r\n.".utf8)[...]) == Array("a\r\n".utf8))
        #expect(MessageHeader.unstuffedBody(Array("a\n..\n\n.b\r\nc".utf8)[...]) == Array("a\n.\n\nb\r\nc".utf8))
        let wire = Array("x\r\n..y\r\n".utf8)
        #expect(MessageHeader.unstuffedBody(wire[3...]) == Array(".y\r\n".utf8), "a slice that does not start at 0")
    }

    /// Whether the header block's end lies beyond the octets it was parsed from: then where the body
    /// starts is not known (no DKIM over it; `limit header-size` refuses it).
    @Test func aHeaderBlockThatRunsPastItsLimit() {
        let long = Array("Subject: hello\r\nX-Long: \(String(repeating: "a", count: 100))\r\n\r\nbody\r\n".utf8)
        let cut = MessageHeader(wire: long, limit: 40)
        #expect(cut.length == 16 && !cut.endsWithEmptyLine, "only the complete field counts")
        #expect(cut.runsPast(limit: 40, of: long), "a field cut by the limit")
        #expect(!MessageHeader(wire: long, limit: 200).runsPast(limit: 200, of: long))
        let atLine = Array("A: 1\r\nB: 2\r\nC: 3\r\n\r\n".utf8)
        #expect(MessageHeader(wire: atLine, limit: 12).runsPast(limit: 12, of: atLine), "the limit falls on a line end: unknown")
        let noBlankLine = Array("A: 1\r\nthis is the body\r\nmore body, and more, and more\r\n".utf8)
        #expect(!MessageHeader(wire: noBlankLine, limit: 30).runsPast(limit: 30, of: noBlankLine),
                "a line that is not a field ended it within the limit")
        let short = Array("A: 1\r\nB: 2".utf8)
        #expect(!MessageHeader(wire: short, limit: 100).runsPast(limit: 100, of: short), "all of the message is within the limit")
    }
}
