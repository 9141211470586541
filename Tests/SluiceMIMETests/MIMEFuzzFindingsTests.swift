import SluiceMIME
import Testing

/// One test per defect the fuzzer (Fuzz/Sources/FuzzMIMEParser) found: the same message gives the same
/// result however it arrives.
@Suite struct MIMEFuzzFindingsTests {
    /// Fuzz/Crashes/FuzzMIMEParser-truncated-text-replacement-count: past the text limit conversion
    /// stops, so the count of replaced sequences depended on the chunking.
    @Test func aTruncatedTextPartNotesTheSameWhateverTheChunking() {
        var limits = MIMELimits()
        limits.textPerPart = 33
        let message = Array("Content-Type: text/plain; charset=utf-8\r\n\r\n".utf8) + [UInt8](repeating: 0xFF, count: 40) + [13, 10]
        let whole = Parse.whole(message, limits: limits)
        #expect(Parse.byteByByte(message, limits: limits) == whole)
        #expect(whole.notes.contains("part 0: invalid character sequences replaced by U+FFFD"), "\(whole.notes)")
        #expect(whole.parts[0].textTruncated)
    }

    /// Fuzz/Crashes/FuzzMIMEParser-long-header-line-cut: an over-long header line was cut only when
    /// it spanned two feeds.
    @Test func anOverlongHeaderLineIsCutInOneChunkAsInMany() {
        var limits = MIMELimits()
        limits.lineLength = 69
        let message = Array(("Subject: " + String(repeating: "x", count: 89) + "\r\n\r\nbody\r\n").utf8)
        let whole = Parse.whole(message, limits: limits)
        #expect(Parse.byteByByte(message, limits: limits) == whole)
        #expect(Parse.chunked(message, seed: 7, limits: limits) == whole)
        #expect(whole.notes.contains { $0.contains("over-long line cut at 69 octets") }, "\(whole.notes)")
        let subject = whole.headers.first(named: "Subject")?.value ?? ""
        #expect(subject.count < 69, "\(subject.count)")
    }
}
