import Testing
@testable import SluiceMIME

/// The streaming transfer decoders, fed whole and byte by byte.
struct DecoderTests {
    static func base64(_ text: String, byteByByte: Bool) -> (bytes: [UInt8], decoder: Base64Decoder) {
        var decoder = Base64Decoder()
        var out: [UInt8] = []
        let input = Array(text.utf8)
        let chunks: [[UInt8]] = byteByByte ? input.map { [$0] } : [input]
        var buffer = [UInt8](repeating: 0, count: Base64Decoder.maxOutput(input.count) + 8)
        for chunk in chunks {
            let n = buffer.withUnsafeMutableBufferPointer { b in chunk.withUnsafeBytes { decoder.decode($0, into: b.baseAddress!) } }
            out += buffer[0..<n]
        }
        let n = buffer.withUnsafeMutableBufferPointer { decoder.finish(into: $0.baseAddress!) }
        out += buffer[0..<n]
        return (out, decoder)
    }

    static func qp(_ text: String, byteByByte: Bool) -> String {
        var decoder = QuotedPrintableDecoder()
        var out: [UInt8] = []
        let input = Array(text.utf8)
        let chunks: [[UInt8]] = byteByByte ? input.map { [$0] } : [input]
        var buffer = [UInt8](repeating: 0, count: QuotedPrintableDecoder.maxOutput(input.count) + 8)
        for chunk in chunks {
            let n = buffer.withUnsafeMutableBufferPointer { b in chunk.withUnsafeBytes { decoder.decode($0, into: b.baseAddress!) } }
            out += buffer[0..<n]
        }
        let n = buffer.withUnsafeMutableBufferPointer { decoder.finish(into: $0.baseAddress!) }
        out += buffer[0..<n]
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [false, true])
    func base64DecodesAcrossLinesAndChunks(byteByByte: Bool) {
        let r = Self.base64("SGVs\r\nbG8g\r\nV29y bGQh", byteByByte: byteByByte)
        #expect(r.bytes == Array("Hello World!".utf8))
    }

    @Test(arguments: [false, true])
    func base64SkipsGarbageCharacters(byteByByte: Bool) {
        let r = Self.base64("SG!Vs*bG8", byteByByte: byteByByte)
        #expect(r.bytes == Array("Hello".utf8))
        #expect(r.decoder.invalidCharacters == 2)
    }

    @Test(arguments: [false, true])
    func base64ToleratesMissingPadding(byteByByte: Bool) {
        #expect(Self.base64("SGVsbG8", byteByByte: byteByByte).bytes == Array("Hello".utf8))
        #expect(Self.base64("SGVsbA", byteByByte: byteByByte).bytes == Array("Hell".utf8))
        #expect(Self.base64("SGVsbA", byteByByte: byteByByte).decoder.missingPadding)
    }

    /// Python stops at the padding; a lenient client may not, so we decode what follows too.
    @Test(arguments: [false, true])
    func base64DecodesDataAfterPadding(byteByByte: Bool) {
        let r = Self.base64("SGk=\r\nIHRoZXJl", byteByByte: byteByByte)
        #expect(r.bytes == Array("Hi there".utf8))
        #expect(r.decoder.dataAfterPadding)
    }

    @Test func base64DropsALoneTrailingCharacter() {
        let r = Self.base64("SGVsbG8hQ", byteByByte: false)
        #expect(r.bytes == Array("Hello!".utf8))
        #expect(r.decoder.danglingCharacter)
    }

    @Test func base64FastPathMatchesSlowPathOnAllOctets() {
        let bytes = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 3) }
        let encoded = Self.encode(bytes)
        #expect(Self.base64(encoded, byteByByte: false).bytes == bytes)
        #expect(Self.base64(encoded, byteByByte: true).bytes == bytes)
    }

    @Test(arguments: [false, true])
    func softLineBreakJoinsASplitWord(byteByByte: Bool) {
        #expect(Self.qp("vi=\r\nagra", byteByByte: byteByByte) == "viagra")
        #expect(Self.qp("vi=\nagra", byteByByte: byteByByte) == "viagra")
        #expect(Self.qp("vi=  \t\r\nagra", byteByByte: byteByByte) == "viagra")
    }

    @Test(arguments: [false, true])
    func quotedPrintableAcceptsLowerCaseHex(byteByByte: Bool) {
        #expect(Self.qp("caf=c3=a9 caf=C3=A9", byteByByte: byteByByte) == "café café")
    }

    @Test(arguments: [false, true])
    func invalidQuotedPrintableEscapeIsKeptLiterally(byteByByte: Bool) {
        #expect(Self.qp("a=XYb =4 =G1 = x", byteByByte: byteByByte) == "a=XYb =4 =G1 = x")
        #expect(Self.qp("end=4", byteByByte: byteByByte) == "end=4")
    }

    @Test func quotedPrintableKeepsHardLineBreaks() {
        #expect(Self.qp("one\r\ntwo=3D2\r\n", byteByByte: true) == "one\r\ntwo=2\r\n")
    }

    /// A small reference encoder for the tests.
    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        var column = 0
        while i < bytes.count {
            let a = UInt32(bytes[i]), b = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0, c = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let v = a << 16 | b << 8 | c
            out.append(alphabet[Int(v >> 18 & 63)]); out.append(alphabet[Int(v >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(v >> 6 & 63)] : "=")
            out.append(i + 2 < bytes.count ? alphabet[Int(v & 63)] : "=")
            i += 3
            column += 4
            if column == 76 { out += "\r\n"; column = 0 }
        }
        return out
    }
}
