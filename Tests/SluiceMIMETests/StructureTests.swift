import Testing
@testable import SluiceMIME

/// Multipart structure, boundaries and the sloppy forms.
struct StructureTests {
    static let nested = """
    From: a@example.com
    Subject: =?utf-8?B?SGVsbG8gV8O2cmxk?=
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="outer-b"

    preamble
    --outer-b
    Content-Type: multipart/alternative; boundary=outer

    --outer
    Content-Type: text/plain; charset=utf-8

    plain text
    --outer
    Content-Type: text/html; charset=utf-8

    <p>html</p>
    --outer--
    --outer-b
    Content-Type: application/octet-stream
    Content-Transfer-Encoding: base64
    Content-Disposition: attachment; filename="C:\\\\tmp\\\\a.bin"

    aGVsbG8gd29ybGQ=
    --outer-b--
    epilogue
    """.crlf

    @Test func nestedMultipartsWithPrefixBoundariesParse() {
        let m = Parse.whole(Self.nested)
        #expect(m.parts.map(\.contentType) == ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/octet-stream"])
        #expect(m.parts.map(\.parent) == [nil, 0, 1, 1, 0])
        #expect(m.parts[2].text == "plain text")
        #expect(m.parts[3].text == "<p>html</p>")
        #expect(m.parts[4].content == Array("hello world".utf8))
        #expect(m.parts[4].filename == "a.bin")
        #expect(m.parts[4].isAttachment)
        #expect(m.headers.first(named: "subject")?.value == "Hello Wörld")
        #expect(m.depth == 2)
    }

    @Test func chunkingDoesNotChangeTheResult() {
        let bytes = Array(Self.nested.utf8)
        let whole = Parse.whole(bytes)
        #expect(Parse.byteByByte(bytes) == whole)
        for seed in 0..<20 { #expect(Parse.chunked(bytes, seed: UInt64(seed)) == whole) }
    }
}
