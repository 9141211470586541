import Testing
@testable import SluiceMIME

/// What a spam filter must not miss, and the sloppy structures real mail has.
struct EvasionTests {
    @Test func base64TextPartIsDecoded() {
        let m = Parse.byteByByte(Array("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nQnV5IGNoZWFwIHdhdGNoZXMg\r\nbm93IQ==\n".crlf.utf8))
        #expect(m.parts[0].text == "Buy cheap watches now!")
    }

    @Test func quotedPrintableTextPartIsDecoded() {
        let m = Parse.whole("Content-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: Quoted-Printable\n\n<p>caf=E9 vi=\nagra</p>\n".crlf)
        #expect(m.parts[0].text == "<p>café viagra</p>\r\n")
        #expect(m.parts[0].contentType == "text/html")
    }

    @Test func textInABase64OctetStreamAttachmentIsRetained() {
        let m = Parse.whole("""
        Content-Type: multipart/mixed; boundary=x

        --x
        Content-Type: application/octet-stream
        Content-Transfer-Encoding: base64

        QnV5IG5vdyBhdCBodHRwOi8vc3BhbS5leGFtcGxlLw==
        --x--
        """.crlf)
        #expect(String(decoding: m.parts[1].content, as: UTF8.self) == "Buy now at http://spam.example/")
    }

    @Test func missingCloseBoundaryClosesAtEndAndIsNoted() {
        let m = Parse.whole("Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\nunclosed\n".crlf)
        #expect(m.parts.count == 2)
        #expect(m.parts[1].text == "unclosed")
        #expect(m.notes.contains { $0.contains("close boundary missing") })
    }

    @Test func outerBoundaryClosesInnerParts() {
        let m = Parse.whole("""
        Content-Type: multipart/mixed; boundary=outer

        --outer
        Content-Type: multipart/alternative; boundary=inner

        --inner
        Content-Type: text/plain

        inner text
        --outer
        Content-Type: text/plain

        after
        --outer--
        """.crlf)
        #expect(m.parts.map(\.contentType) == ["multipart/mixed", "multipart/alternative", "text/plain", "text/plain"])
        #expect(m.parts[2].text == "inner text")
        #expect(m.parts[3].parent == 0)
        #expect(m.parts[3].text == "after")
    }

    @Test func innerBoundaryThatExtendsTheOuterOneIsNotConfused() {
        let m = Parse.whole("""
        Content-Type: multipart/mixed; boundary=abc

        --abc
        Content-Type: multipart/alternative; boundary=abc-1

        --abc-1
        Content-Type: text/plain

        one
        --abc-1--
        --abc
        Content-Type: text/plain

        two
        --abc--
        """.crlf)
        #expect(m.parts.map(\.text) == [nil, nil, "one", "two"])
        #expect(m.parts.map(\.parent) == [nil, 0, 1, 0])
    }

    @Test func forwardedMessageHeadersBecomeTheChildsHeaders() {
        let m = Parse.whole("""
        Content-Type: multipart/mixed; boundary=f

        --f
        Content-Type: message/rfc822

        Subject: inner subject
        Content-Type: text/plain

        inner body
        --f--
        """.crlf)
        #expect(m.parts.map(\.contentType) == ["multipart/mixed", "message/rfc822", "text/plain"])
        #expect(m.parts[2].headers.first(named: "subject")?.value == "inner subject")
        #expect(m.parts[2].depth == 2)
        #expect(m.parts[2].text == "inner body")
    }

    /// Python would parse base64 octets as header lines; an encoded rfc822 part is a leaf here.
    @Test func encodedMessageRFC822IsALeaf() {
        let m = Parse.whole("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0KDQpib2R5\n".crlf)
        #expect(m.parts.count == 1)
        #expect(String(decoding: m.parts[0].content, as: UTF8.self) == "Subject: x\r\n\r\nbody")
    }

    @Test func multipartDigestPartsDefaultToMessageRFC822() {
        let m = Parse.whole("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: s\n\nbody\n--d--\n".crlf)
        #expect(m.parts.map(\.contentType) == ["multipart/digest", "message/rfc822", "text/plain"])
    }

    @Test func bareLFLineEndsAreTolerated() {
        let m = Parse.byteByByte(Array("Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nlf text\n--q--\n".utf8))
        #expect(m.parts[1].text == "lf text")
    }

    @Test func boundaryWithTransportPaddingIsRecognised() {
        let m = Parse.whole("Content-Type: multipart/mixed; boundary=\"pad\"\n\n--pad \t \nContent-Type: text/plain\n\nx\n--pad--  \n".crlf)
        #expect(m.parts.count == 2)
        #expect(m.parts[1].text == "x")
        #expect(m.notes.isEmpty)
    }
}
