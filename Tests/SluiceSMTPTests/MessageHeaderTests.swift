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
}
