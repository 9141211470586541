#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import FuzzSupport
import SluiceMIME

// MIMEParser on a delivered message (any octets), fed in several chunkings, under small limits.
//
// Input: byte 0 picks the limits (through SplitMix64, so every byte value is a different mix):
// depth 1...8, parts 1...64, textPerPart 16...4096, retainedContent 16...4096, headerSize 64...64K,
// partHeaderSize 64...4096, lineLength 16...4096 (or the default 64K), retainedTotal 32...16K (or
// the default); bytes 1-8 seed the random chunking; the rest is the message.
//
// Properties:
// - it never traps; the message is the same (MIMEMessage is Hashable: parts, headers, text, content,
//   notes…) whether the input is fed whole, one byte per feed, or in random chunks.
// - parts.count <= limits.parts (part 0 counts: `startPart` refuses a part once parts.count reaches
//   the limit, LimitsTests.partsPastThePartLimitAreSkipped: parts = 10 gives exactly 10), and
//   partsExceeded only with parts.count == limits.parts.
// - parts[i].index == i; part 0 has no parent and depth 0; every other part's parent comes before it
//   and is one level up; no part is deeper than limits.depth, and message.depth is the deepest.
// - every part's text is at most textPerPart octets of UTF-8 and its content at most retainedContent;
//   text and content of all parts together at most retainedTotal; content is a prefix of the decoded
//   octets (count <= decodedSize, equal when not truncated).
// - size is the number of octets fed.
// - parser.retainedOctets, after every feed, is at most
//   retainedTotal (text and content kept, the open leaf included)
//   + lineLength + 2 (the pending line, a cut header line keeps its LF)
//   + 24 * (headerSize + parts * partHeaderSize) (header blocks, each field's raw octets (CRLF per
//     fold) and its decoded value: Latin-1 and encoded-word charsets expand by at most 4 per octet).


func makeLimits(_ choice: UInt8) -> MIMELimits {
    var generator = SplitMix64(seed: UInt64(choice) &* 0x0123_4567_89AB_CDEF &+ 1)
    func pick(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(generator.next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
    var limits = MIMELimits()
    limits.depth = pick(1...8)
    limits.parts = pick(1...64)
    limits.textPerPart = pick(16...4096)
    limits.retainedContent = pick(16...4096)
    limits.headerSize = pick(64...(64 << 10))
    limits.partHeaderSize = pick(64...4096)
    let lineLength = pick(16...4096)
    if generator.next() % 4 != 0 { limits.lineLength = lineLength }
    let retainedTotal = pick(32...(16 << 10))
    if generator.next() % 2 == 0 { limits.retainedTotal = retainedTotal }
    return limits
}

func describe(_ limits: MIMELimits) -> String {
    "depth \(limits.depth), parts \(limits.parts), textPerPart \(limits.textPerPart), "
        + "retainedContent \(limits.retainedContent), retainedTotal \(limits.retainedTotal), "
        + "headerSize \(limits.headerSize), partHeaderSize \(limits.partHeaderSize), lineLength \(limits.lineLength)"
}

func retainedBound(_ limits: MIMELimits) -> Int {
    limits.retainedTotal + limits.lineLength + 2 + 24 * (limits.headerSize + limits.parts * limits.partHeaderSize)
}

func parse(_ message: [UInt8], limits: MIMELimits, chunking: Chunking) -> MIMEMessage {
    var parser = MIMEParser(limits: limits)
    let bound = retainedBound(limits)
    var fed = 0
    for chunk in chunking.split(message) {
        chunk.withUnsafeBytes { parser.feed($0) }
        fed += chunk.count
        let retained = parser.retainedOctets
        check(retained <= bound, """
            the parser holds \(retained) octets (bound \(bound)) after \(fed) of \(message.count) octets \
            (\(chunking); \(describe(limits))) for \(hex(message))
            """)
    }
    return parser.finish()
}

func checkStructure(_ m: MIMEMessage, limits: MIMELimits, size: Int, input: [UInt8]) {
    let context = "(\(describe(limits))) for \(hex(input))"
    check(!m.parts.isEmpty, "no part 0 \(context)")
    check(m.parts.count <= limits.parts, "\(m.parts.count) parts with limit \(limits.parts) \(context)")
    check(!m.partsExceeded || m.parts.count == limits.parts,
          "partsExceeded with \(m.parts.count) parts, limit \(limits.parts) \(context)")
    check(m.size == size, "size \(m.size) after \(size) octets \(context)")
    check(m.depth <= limits.depth, "depth \(m.depth) with limit \(limits.depth) \(context)")
    check(m.depth == (m.parts.map(\.depth).max() ?? 0), "depth \(m.depth) is not the deepest part's \(context)")
    var kept = 0
    for (i, part) in m.parts.enumerated() {
        check(part.index == i, "part \(i) has index \(part.index) \(context)")
        if i == 0 {
            check(part.parent == nil && part.depth == 0, "part 0: parent \(String(describing: part.parent)), depth \(part.depth) \(context)")
        } else if let parent = part.parent {
            check(parent < i, "part \(i) has parent \(parent) \(context)")
            check(part.depth == m.parts[parent].depth + 1,
                  "part \(i) depth \(part.depth), its parent \(parent) depth \(m.parts[parent].depth) \(context)")
        } else {
            violated("part \(i) has no parent \(context)")
        }
        check(part.depth <= limits.depth, "part \(i) at depth \(part.depth) with limit \(limits.depth) \(context)")
        let textCount = part.text?.utf8.count ?? 0
        check(textCount <= limits.textPerPart,
              "part \(i) text of \(textCount) octets with textPerPart \(limits.textPerPart) \(context)")
        check(part.content.count <= limits.retainedContent,
              "part \(i) content of \(part.content.count) octets with retainedContent \(limits.retainedContent) \(context)")
        check(part.content.count <= part.decodedSize,
              "part \(i) content of \(part.content.count) octets, decodedSize \(part.decodedSize) \(context)")
        if !part.contentTruncated && part.text == nil {
            check(part.content.count == part.decodedSize,
                  "part \(i) content of \(part.content.count) octets not truncated, decodedSize \(part.decodedSize) \(context)")
        }
        kept += textCount + part.content.count
    }
    check(kept <= limits.retainedTotal, "\(kept) octets of text and content with retainedTotal \(limits.retainedTotal) \(context)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let limits = makeLimits(input.byte())
    let seed = input.integer(bytes: 8)
    let message = input.rest()

    let whole = parse(message, limits: limits, chunking: .whole)
    checkStructure(whole, limits: limits, size: message.count, input: message)
    for chunking in Chunking.all(seed: seed).dropFirst() {
        let other = parse(message, limits: limits, chunking: chunking)
        guard other != whole else { continue }
        var difference = "parts \(whole.parts.count) / \(other.parts.count)"
        if whole.notes != other.notes { difference += "\nnotes whole: \(whole.notes)\nnotes \(chunking): \(other.notes)" }
        for (a, b) in zip(whole.parts, other.parts) where a != b {
            difference += "\nfirst different part \(a.index):\nwhole: \(a)\n\(chunking): \(b)"
            break
        }
        if whole.headerSize != other.headerSize || whole.headerOverflow != other.headerOverflow
            || whole.depthExceeded != other.depthExceeded || whole.partsExceeded != other.partsExceeded {
            difference += "\nflags whole: \(whole.headerSize) \(whole.headerOverflow) \(whole.depthExceeded) \(whole.partsExceeded)"
            difference += "\nflags \(chunking): \(other.headerSize) \(other.headerOverflow) \(other.depthExceeded) \(other.partsExceeded)"
        }
        violated("""
            the message depends on the chunking (\(describe(limits))) for \(hex(message, limit: 2048)):
            \(difference)
            """)
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzMIMEParser_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
