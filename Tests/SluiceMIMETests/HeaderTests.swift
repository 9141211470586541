import Testing
@testable import SluiceMIME

/// Header blocks, RFC 2047 encoded-words and RFC 2231 parameters.
struct HeaderTests {
    @Test func foldedFieldIsUnfoldedAndRawKeepsFolding() {
        let m = Parse.whole("Subject: first\n  second\nX-A: b\n\nbody".crlf)
        let subject = m.headers.first(named: "SUBJECT")!
        #expect(subject.value == "first  second")
        #expect(subject.raw == Array(" first\r\n  second".utf8))
        #expect(subject.name == "Subject")
        #expect(m.headers.first(named: "x-a")?.value == "b")
    }

    @Test func lineWithoutColonEndsTheHeaderBlockAsInPython() {
        let m = Parse.whole("From: a\nnot a header\nSubject: late\n\nbody".crlf)
        #expect(m.headers.map(\.key) == ["from"])
        #expect(m.parts[0].text == "not a header\r\nSubject: late\r\n\r\nbody")
        #expect(m.notes.contains { $0.contains("not a field") })
    }

    @Test func subjectAfter300KiBOfOtherFieldsIsFound() {
        var text = "From: a@example.com\r\n"
        for i in 0..<3000 { text += "X-Filler-\(i): " + String(repeating: "x", count: 100) + "\r\n" }
        text += "Subject: find me\r\n\r\nbody\r\n"
        #expect(text.utf8.count > 300 << 10)
        let bytes = Array(text.utf8)
        let m = Parse.chunked(bytes, seed: 3, maxChunk: 4096)
        #expect(m.headers.first(named: "subject")?.value == "find me")
        #expect(!m.headerOverflow)
        #expect(m.parts[0].text == "body\r\n")
    }

    @Test func headerOverflowDropsLaterFieldsButFindsTheBody() {
        var limits = MIMELimits()
        limits.headerSize = 1000
        var text = "Subject: early\r\n"
        for i in 0..<100 { text += "X-\(i): filler filler\r\n" }
        text += "X-Late: dropped\r\n\r\nbody"
        let m = Parse.whole(text, limits: limits)
        #expect(m.headerOverflow)
        #expect(m.headers.first(named: "subject")?.value == "early")
        #expect(m.headers.first(named: "x-late") == nil)
        #expect(m.headerSize == text.utf8.count - 4)
        #expect(m.parts[0].text == "body")
    }

    @Test func encodedWordSubjectsAreDecoded() {
        #expect(EncodedWords.decode("=?utf-8?B?SGVsbG8gV8O2cmxk?=") == "Hello Wörld")
        #expect(EncodedWords.decode("=?ISO-8859-1?Q?caf=E9_cr=e8me?=") == "café crème")
        #expect(EncodedWords.decode("a =?utf-8?q?b?= c") == "a b c")
        let m = Parse.whole("Subject: =?utf-8?Q?V=C3=AD?=\n =?utf-8?B?YWdyYQ==?= now\n\n".crlf)
        #expect(m.headers.first(named: "subject")?.value == "Víagra now")
    }

    @Test func adjacentEncodedWordsJoinWithoutWhitespace() {
        #expect(EncodedWords.decode("=?utf-8?Q?a?= \t =?utf-8?Q?b?=") == "ab")
        #expect(EncodedWords.decode("=?utf-8?Q?a?= x =?utf-8?Q?b?=") == "a x b")
    }

    @Test func characterSplitAcrossEncodedWordsSurvives() {
        // "é" is C3 A9: split across two words.
        #expect(EncodedWords.decode("=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?=") == "café")
    }

    @Test func encodedWordCharsetWithLanguageSuffix() {
        #expect(EncodedWords.decode("=?utf-8*en?Q?hi?=") == "hi")
    }

    @Test func invalidEncodedWordsStayLiteral() {
        #expect(EncodedWords.decode("=?utf-8?X?abc?=") == "=?utf-8?X?abc?=")
        #expect(EncodedWords.decode("=?utf-8?B?QUJDR?=") == "=?utf-8?B?QUJDR?=")
        #expect(EncodedWords.decode("=?utf-8?Q?unterminated") == "=?utf-8?Q?unterminated")
        #expect(EncodedWords.decode("=??Q?x?=") == "=??Q?x?=")
    }

    @Test func unknownEncodedWordCharsetReadsLatin1() {
        #expect(EncodedWords.decode("=?x-nonsense?Q?caf=E9?=") == "café")
    }

    @Test func hostileEncodedWordInputIsLinear() {
        let text = String(repeating: "=?a?q?x", count: 20000)
        let same = EncodedWords.decode(text) == text
        #expect(same)
    }

    @Test func rfc2231ContinuationsAndCharsetsDecode() {
        let p = HeaderParameters("attachment; filename*0*=utf-8''%E6%97%A5; filename*1*=%E6%9C%AC; filename*2=\".txt\"")
        #expect(p.value == "attachment")
        #expect(p.parameters["filename"] == "日本.txt")
        let q = HeaderParameters("application/pdf; NAME*=iso-8859-1'fr'r%E9sum%E9.pdf")
        #expect(q.parameters["name"] == "résumé.pdf")
    }

    @Test func quotedAndUnquotedParametersUnquote() {
        let p = HeaderParameters("text/plain; charset=\"utf-8\"; format=flowed; title=\"a \\\"b\\\" c\"; x=sloppy value")
        #expect(p.parameters["charset"] == "utf-8")
        #expect(p.parameters["format"] == "flowed")
        #expect(p.parameters["title"] == "a \"b\" c")
        #expect(p.parameters["x"] == "sloppy value")
    }

    @Test func duplicateParametersAreNotedAndFirstWins() {
        let p = HeaderParameters("attachment; filename=a.txt; filename=a.exe")
        #expect(p.parameters["filename"] == "a.txt")
        #expect(p.duplicates == ["filename"])
    }

    @Test func outlookEncodedWordFilenameIsDecodedAndPathStripped() {
        let m = Parse.whole("""
        Content-Type: application/octet-stream; name="=?utf-8?B?w6lsw6h2ZS5leGU=?="
        Content-Disposition: attachment; filename="C:\\\\Users\\\\x\\\\=?utf-8?B?w6lsw6h2ZS5leGU=?="

        x
        """.crlf)
        #expect(m.parts[0].filename == "élève.exe")
        #expect(m.parts[0].isAttachment)
    }

    @Test func hostileParameterListsStayBounded() {
        var value = "attachment"
        for i in 0..<2000 { value += "; filename*\(i)*=%41" }
        let p = HeaderParameters(value)
        #expect(p.parameters["filename"]?.count == 256)
    }
}
