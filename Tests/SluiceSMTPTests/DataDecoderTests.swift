import NIOCore
import SluiceSMTP
import Testing

/// Runs `input` through a decoder in one piece and byte by byte; both must agree.
private func decode(_ input: String, policy: BareLineEndingPolicy = .reject, maxLine: Int = 8192, maxSize: Int = 1 << 20)
    -> (content: String, finished: Bool, rest: String, fault: DataDecoder.Fault?, size: Int)
{
    func run(chunks: [[UInt8]]) -> (String, Bool, String, DataDecoder.Fault?, Int) {
        var decoder = DataDecoder(maxLineLength: maxLine, maxSize: maxSize, policy: policy)
        var output = ByteBuffer()
        var finished = false
        var rest = ByteBuffer()
        for chunk in chunks {
            var buffer = ByteBuffer(bytes: chunk)
            if finished { rest.writeBuffer(&buffer); continue }
            finished = decoder.decode(&buffer, into: &output)
            rest.writeBuffer(&buffer)
        }
        return (String(buffer: output), finished, String(buffer: rest), decoder.fault, decoder.size)
    }
    let bytes = Array(input.utf8)
    let whole = run(chunks: [bytes])
    let byByte = run(chunks: bytes.map { [$0] })
    // A refused message's content is irrelevant (and depends on where the fault fell in a read).
    if whole.3 == nil { #expect(whole.0 == byByte.0, "byte-by-byte content differs") }
    #expect(whole.1 == byByte.1 && whole.2 == byByte.2 && whole.3 == byByte.3 && whole.4 == byByte.4)
    return whole
}

@Suite struct DataDecoderTests {
    @Test func crlfDotCrlfEndsDataAndContentIsPassedVerbatim() {
        let result = decode("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n")
        #expect(result.finished)
        #expect(result.content == "Subject: x\r\n\r\nhello\r\n")
        #expect(result.rest == "QUIT\r\n")
        #expect(result.fault == nil)
    }

    @Test func emptyMessageEndsAtFirstDot() {
        let result = decode(".\r\n")
        #expect(result.finished)
        #expect(result.content == "")
    }

    @Test func dotStuffedLinesArePassedExactlyAsSent() {
        let result = decode("..leading dot\r\n...two\r\n.x\r\n.\r\n")
        #expect(result.finished)
        #expect(result.content == "..leading dot\r\n...two\r\n.x\r\n")
    }

    @Test(arguments: [
        "a\n.\nMAIL FROM:<evil@x>\r\n",        // <LF>.<LF>
        "a\r\n.\nMAIL FROM:<evil@x>\r\n",      // <CR><LF>.<LF>
        "a\n.\r\nMAIL FROM:<evil@x>\r\n",      // <LF>.<CR><LF>
        "a\r.\rMAIL FROM:<evil@x>\r\n",        // <CR>.<CR>
        "a\r\n.\rMAIL FROM:<evil@x>\r\n",      // <CR><LF>.<CR>
        "a\r.\r\nMAIL FROM:<evil@x>\r\n",      // <CR>.<CR><LF>
    ])
    func smugglingEndOfDataVariantsAreNotEndOfData(_ attack: String) {
        let result = decode(attack)
        #expect(!result.finished, "a smuggling variant ended DATA")
        #expect(result.fault == .bareLF || result.fault == .bareCR)
        // The genuine end still works afterwards, and the refused message kept no content.
        let full = decode(attack + ".\r\n")
        #expect(full.finished)
        #expect(full.content.isEmpty || !full.content.contains("\n.\n"))
    }

    /// Long lines are scanned eight octets at a time: a line break in any position of a word is found.
    @Test(arguments: 0..<24)
    func lineBreaksAreFoundAtEveryOffsetOfALongLine(offset: Int) {
        let before = String(repeating: "x", count: 17 + offset), after = String(repeating: "y", count: 23)
        let clean = decode("\(before)\r\n\(after)\r\n.\r\n")
        #expect(clean.finished && clean.fault == nil && clean.content == "\(before)\r\n\(after)\r\n")
        #expect(decode("\(before)\n\(after)\r\n.\r\n").fault == .bareLF)
        #expect(decode("\(before)\r\(after)\r\n.\r\n").fault == .bareCR)
        let smuggled = decode("\(before)\n.\r\n\(after)\r\n.\r\n")
        #expect(smuggled.fault == .bareLF && smuggled.rest.isEmpty, "<LF>.<CRLF> mid-message never ends it")
    }

    @Test func bareLFBeforeDotIsNotEndOfData() {
        let result = decode("line\n.\n")
        #expect(!result.finished)
        #expect(result.fault == .bareLF)
    }

    @Test func bareCRInsideALineIsAFault() {
        let result = decode("one\rtwo\r\n.\r\n")
        #expect(result.finished)
        #expect(result.fault == .bareCR)
        #expect(!result.content.contains("two"), "a refused message is not kept past its fault")
    }

    @Test func normalizeTurnsBareLineEndsIntoCRLF() {
        let result = decode("one\ntwo\rthree\r\n.\r\n", policy: .normalize)
        #expect(result.finished)
        #expect(result.fault == nil)
        #expect(result.content == "one\r\ntwo\r\nthree\r\n")
    }

    @Test func normalizeStuffsADotThatWouldOtherwiseEndTheMessageUpstream() {
        let result = decode("a\n.\nMAIL FROM:<evil@x>\r\n.\r\n", policy: .normalize)
        #expect(result.finished)
        #expect(result.content == "a\r\n..\r\nMAIL FROM:<evil@x>\r\n")
        let cr = decode("a\r\n.\rRCPT\r\n.\r\n", policy: .normalize)
        #expect(cr.content == "a\r\n..\r\nRCPT\r\n")
    }

    @Test func lineLongerThanLimitIsAFaultAndNotBuffered() {
        let long = String(repeating: "x", count: 100)
        let result = decode("ok\r\n\(long)\r\nmore\r\n.\r\n", maxLine: 50)
        #expect(result.finished)
        #expect(result.fault == .lineTooLong)
        #expect(result.content.utf8.count <= 4 + 50, "content stops at the fault")
    }

    @Test func lineAtTheLimitIsAccepted() {
        let exact = String(repeating: "y", count: 50)
        let result = decode("\(exact)\r\n.\r\n", maxLine: 50)
        #expect(result.fault == nil)
        #expect(result.content == exact + "\r\n")
    }

    @Test func messageGrowingPastTheSizeLimitIsRefusedAndNotKept() {
        let body = String(repeating: "0123456789\r\n", count: 100)
        let result = decode(body + ".\r\n", maxSize: 500)
        #expect(result.finished)
        #expect(result.fault == .tooLarge)
        #expect(result.content.utf8.count <= 500)
        #expect(result.size == body.utf8.count)
    }

    @Test func terminatorSplitAcrossReadsIsFound() {
        var decoder = DataDecoder(maxLineLength: 100, maxSize: 1000)
        var output = ByteBuffer()
        var first = ByteBuffer(string: "text\r\n.")
        #expect(!decoder.decode(&first, into: &output))
        var second = ByteBuffer(string: "\r")
        #expect(!decoder.decode(&second, into: &output))
        var third = ByteBuffer(string: "\nNOOP\r\n")
        #expect(decoder.decode(&third, into: &output))
        #expect(String(buffer: output) == "text\r\n")
        #expect(String(buffer: third) == "NOOP\r\n")
    }

    @Test func withheldDotIsReleasedWhenTheLineGoesOn() {
        var decoder = DataDecoder(maxLineLength: 100, maxSize: 1000)
        var output = ByteBuffer()
        var first = ByteBuffer(string: "a\r\n.")
        _ = decoder.decode(&first, into: &output)
        #expect(String(buffer: output) == "a\r\n")
        var second = ByteBuffer(string: ".b\r\n.\r\n")
        #expect(decoder.decode(&second, into: &output))
        #expect(String(buffer: output) == "a\r\n..b\r\n")
    }
}
