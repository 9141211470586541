import NIOCore
import SluiceSMTP
import SluiceTestSupport
import Testing

/// Every published end-of-data smuggling variant, fed to the DATA decoder whole, byte by byte and split
/// in two at every offset: none ends the message, and what comes out is exactly what the policy says.
@Suite struct SmugglingConformanceTests {
    private struct Run: Equatable {
        var content: [UInt8]
        var finished: Bool
        var rest: [UInt8]
        var fault: DataDecoder.Fault?
    }

    private func run(_ chunks: [[UInt8]], policy: BareLineEndingPolicy) -> Run {
        var decoder = DataDecoder(maxLineLength: 8192, maxSize: 1 << 20, policy: policy)
        var output = ByteBuffer()
        var rest: [UInt8] = []
        var finished = false
        for chunk in chunks {
            if finished { rest += chunk; continue }
            var buffer = ByteBuffer(bytes: chunk)
            finished = decoder.decode(&buffer, into: &output)
            rest += buffer.readableBytesView
        }
        return Run(content: Array(output.readableBytesView), finished: finished, rest: rest, fault: decoder.fault)
    }

    private static let terminator: [UInt8] = [46, 13, 10]
    private static let after: [UInt8] = Array("QUIT\r\n".utf8)

    @Test(arguments: SmugglingVariant.all, [BareLineEndingPolicy.reject, .normalize])
    func variantIsNeverEndOfDataAtAnySplit(_ variant: SmugglingVariant, policy: BareLineEndingPolicy) {
        let input = variant.message + Self.terminator + Self.after
        var chunkings: [[[UInt8]]] = [[input], input.map { [$0] }]
        for split in 1..<input.count { chunkings.append([Array(input[..<split]), Array(input[split...])]) }
        for chunks in chunkings {
            let result = run(chunks, policy: policy)
            #expect(result.finished, "\(variant) with \(policy): the genuine end was missed")
            #expect(result.rest == Self.after, "\(variant) with \(policy): DATA ended early (\(chunks.map(\.count)))")
            if policy == .reject && variant.refused {
                #expect(result.fault != nil, "\(variant): not refused")
                #expect(result.content.isEmpty || result.fault != nil)
            } else {
                #expect(result.fault == nil)
                #expect(result.content == variant.relayed, "\(variant) with \(policy): relayed differently (\(chunks.map(\.count)))")
            }
            // Nothing that leaves the decoder has a bare CR, a bare LF or a NUL.
            if result.fault == nil { #expect(Self.isCleanWireForm(result.content), "\(variant): unclean output") }
        }
    }

    @Test func nulInDataIsAFaultWithReject() {
        let result = run([Array("Subject: x\r\n\r\nnul\u{0}here\r\n.\r\n".utf8)], policy: .reject)
        #expect(result.finished && result.fault == .nul)
    }

    @Test func nulInDataIsRemovedWithNormalize() {
        let result = run([Array("Subject: x\r\n\r\nnul\u{0}here\u{0}\r\n\u{0}\r\n.\r\n".utf8)], policy: .normalize)
        #expect(result.finished && result.fault == nil)
        #expect(result.content == Array("Subject: x\r\n\r\nnulhere\r\n\r\n".utf8))
    }

    /// Long runs are scanned eight octets at a time: a NUL at any position of a word is found.
    @Test(arguments: 0..<16)
    func nulIsFoundAtEveryOffsetOfALongLine(offset: Int) {
        let line = Array(String(repeating: "x", count: 9 + offset).utf8) + [0] + Array(String(repeating: "y", count: 20).utf8)
        let input = line + [13, 10] + Self.terminator
        #expect(run([input], policy: .reject).fault == .nul)
        #expect(run([input], policy: .normalize).content == line.filter { $0 != 0 } + [13, 10])
    }

    /// Only CRLF line ends, no NUL, and no line that is a lone "." (which would end the message).
    static func isCleanWireForm(_ bytes: [UInt8]) -> Bool {
        var lineStart = 0
        for (index, byte) in bytes.enumerated() {
            if byte == 0 { return false }
            if byte == 13 && (index + 1 >= bytes.count || bytes[index + 1] != 10) { return false }
            if byte == 10 {
                if index == 0 || bytes[index - 1] != 13 { return false }
                if index - 1 - lineStart == 1 && bytes[lineStart] == 46 { return false }
                lineStart = index + 1
            }
        }
        return true
    }
}
