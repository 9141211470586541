import Testing
@testable import SluiceMIME

/// Depth, part count, text and content limits, and bounded memory on large input.
struct LimitsTests {
    static func nested(depth: Int) -> String {
        var text = ""
        for level in 0..<depth { text += "Content-Type: multipart/mixed; boundary=\"b\(level)\"\n\n--b\(level)\n" }
        text += "Content-Type: text/plain\n\ndeep text\n"
        for level in (0..<depth).reversed() { text += "--b\(level)--\n" }
        return text.crlf
    }

    @Test func nestingPastTheDepthLimitIsNotParsed() {
        var limits = MIMELimits()
        limits.depth = 5
        let m = Parse.whole(Self.nested(depth: 10), limits: limits)
        #expect(m.depthExceeded)
        #expect(m.parts.count == 6)
        #expect(m.parts.last!.depth == 5)
        #expect(m.parts.last!.decodedSize > 0)
        #expect(m.parts.last!.content.isEmpty)
        let within = Parse.whole(Self.nested(depth: 4), limits: limits)
        #expect(!within.depthExceeded)
        #expect(within.parts.last!.text == "deep text")
    }

    @Test func partsPastThePartLimitAreSkipped() {
        var limits = MIMELimits()
        limits.parts = 10
        var text = "Content-Type: multipart/mixed; boundary=p\n\n"
        for i in 0..<50 { text += "--p\nContent-Type: text/plain\n\npart \(i)\n" }
        text += "--p--\n"
        let m = Parse.whole(text.crlf, limits: limits)
        #expect(m.partsExceeded)
        #expect(m.parts.count == 10)
        #expect(m.parts[9].text == "part 8")
    }

    @Test func textPastTheLimitIsTruncatedOnACharacterBoundary() {
        var limits = MIMELimits()
        limits.textPerPart = 10
        let m = Parse.whole("Content-Type: text/plain; charset=utf-8\n\nééééééééé".crlf, limits: limits)
        #expect(m.parts[0].text == "ééééé")
        #expect(m.parts[0].textTruncated)
        #expect(m.parts[0].decodedSize == 18)
    }

    @Test func retainedContentIsAPrefixAndSizeCountsEverything() {
        var limits = MIMELimits()
        limits.retainedContent = 4
        let m = Parse.whole("Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\naGVsbG8gd29ybGQ=".crlf, limits: limits)
        #expect(m.parts[0].content == Array("hell".utf8))
        #expect(m.parts[0].contentTruncated)
        #expect(m.parts[0].decodedSize == 11)
    }

    @Test func retainedTotalBoundsAllPartsTogether() {
        var limits = MIMELimits()
        limits.retainedTotal = 10
        var text = "Content-Type: multipart/mixed; boundary=p\n\n"
        for _ in 0..<5 { text += "--p\nContent-Type: application/x-a\n\n0123456789\n" }
        text += "--p--\n"
        let m = Parse.whole(text.crlf, limits: limits)
        #expect(m.parts.reduce(0) { $0 + $1.content.count } == 10)
        #expect(m.parts.last!.decodedSize == 10)
    }

    @Test func overlongBodyLineIsPassedThroughNotBuffered() {
        var limits = MIMELimits()
        limits.lineLength = 100
        let long = String(repeating: "-", count: 5000)
        let text = "Content-Type: multipart/mixed; boundary=p\r\n\r\n--p\r\nContent-Type: text/plain\r\n\r\n\(long)\r\nend\r\n--p--\r\n"
        let m = Parse.chunked(Array(text.utf8), seed: 1, maxChunk: 300, limits: limits)
        #expect(m.parts[1].text == long + "\r\nend")
    }

    /// 50 MiB of base64 fed in 64 KiB chunks: the parser never holds more than the retained
    /// prefix plus small buffers.
    @Test func fiftyMiBBase64AttachmentKeepsMemoryBounded() {
        var limits = MIMELimits()
        limits.retainedContent = 1 << 20
        let decoded = 50 << 20
        var parser = MIMEParser(limits: limits)
        parser.feed(Array("""
        Content-Type: multipart/mixed; boundary=big\r
        \r
        --big\r
        Content-Type: text/plain\r
        \r
        hello\r
        --big\r
        Content-Type: application/octet-stream\r
        Content-Transfer-Encoding: base64\r
        \r

        """.utf8))
        // 57 octets per 76-character line: "QUJD" repeated is "ABC" repeated.
        let line = Array((String(repeating: "QUJD", count: 19) + "\r\n").utf8)
        var chunk: [UInt8] = []
        for _ in 0..<(65536 / line.count) { chunk += line }
        let chunkDecoded = chunk.count / line.count * 57
        var fed = 0
        var maxRetained = 0
        while fed + chunkDecoded <= decoded {
            parser.feed(chunk)
            fed += chunkDecoded
            maxRetained = max(maxRetained, parser.retainedOctets)
        }
        parser.feed(Array("--big--\r\n".utf8))
        let m = parser.finish()
        #expect(maxRetained <= (1 << 20) + (128 << 10))
        #expect(m.parts[2].decodedSize == fed)
        #expect(m.parts[2].content.count == 1 << 20)
        #expect(m.parts[2].contentTruncated)
        #expect(m.parts[2].content.prefix(6) == Array("ABCABC".utf8)[...])
        #expect(m.parts[1].text == "hello")
    }
}
