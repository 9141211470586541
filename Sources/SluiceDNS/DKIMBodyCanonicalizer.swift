#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `DKIMBodyCanonicalizer` writes canonical octets: spans of the input passed through unchanged
/// (so a run of ordinary octets costs one write, not one per octet), and short constant spans.
protocol DKIMCanonicalSink {
    mutating func write(_ span: UnsafeRawBufferPointer)
}

/// Appends to an array (the public `feed(_:into:)` interface).
struct DKIMArraySink: DKIMCanonicalSink {
    var output: [UInt8]

    @inline(__always)
    mutating func write(_ span: UnsafeRawBufferPointer) { output.append(contentsOf: span) }
}

/// A message body's DKIM canonical form (RFC 6376 §3.4.3, §3.4.4), computed incrementally: fed the
/// body in chunks of any size (split anywhere, inside a CRLF too), it returns the canonical octets
/// each chunk completes. State across chunks is a few flags and a count: a run of empty lines is held
/// back as a number (it is dropped if the body ends there), never as buffered octets.
///
/// `simple`: trailing empty lines removed; a body not ending in CRLF gets one; an empty body is CRLF.
/// `relaxed`: also WSP at line ends deleted and WSP runs reduced to one SP (so a line of only WSP is
/// empty); an empty body stays empty (RFC 6376 erratum 1384), a non-empty one ends in CRLF.
/// A CR not followed by LF and a bare LF are ordinary octets of a line (the SMTP DATA decoder only
/// passes CRLF lines).
///
/// The work is done on spans: the longest run of input that canonicalisation leaves unchanged (in
/// relaxed, ordinary octets and single SPs between them) is written in one piece.
public struct DKIMBodyCanonicalizer: Sendable, Hashable {
    public let canonicalization: DKIMCanonicalization
    /// Empty lines seen and not yet written (they are written when a non-empty line follows).
    private var heldEmptyLines = 0
    /// The last octet fed was a CR, not yet known to start a CRLF.
    private var pendingCR = false
    /// Relaxed only: WSP seen in the current line and not yet written (as one SP).
    private var pendingSpace = false
    /// The current line has content written.
    private var lineHasContent = false
    /// Anything was written at all.
    private var wroteAnything = false
    private var finished = false

    public init(_ canonicalization: DKIMCanonicalization) {
        self.canonicalization = canonicalization
    }

    /// The canonical octets `chunk` completes, appended to `output`.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        var sink = DKIMArraySink(output: [])
        swap(&sink.output, &output)
        feed(chunk, to: &sink)
        swap(&sink.output, &output)
    }

    public mutating func feed(_ chunk: [UInt8], into output: inout [UInt8]) {
        chunk.withUnsafeBytes { feed($0, into: &output) }
    }

    /// The canonical octets the end of the body completes (held empty lines are dropped).
    public mutating func finish(into output: inout [UInt8]) {
        var sink = DKIMArraySink(output: [])
        swap(&sink.output, &output)
        finish(to: &sink)
        swap(&sink.output, &output)
    }

    /// Writes the canonical octets `chunk` completes to `sink`.
    mutating func feed<Sink: DKIMCanonicalSink>(_ chunk: UnsafeRawBufferPointer, to sink: inout Sink) {
        precondition(!finished, "DKIMBodyCanonicalizer fed after finish")
        guard let base = chunk.baseAddress?.assumingMemoryBound(to: UInt8.self), !chunk.isEmpty else { return }
        let count = chunk.count
        let relaxed = canonicalization == .relaxed
        var index = 0
        if pendingCR {
            pendingCR = false
            if base[0] == 0x0A {
                endLine(to: &sink)
                index = 1
            } else {
                content(Self.carriageReturn, to: &sink)
            }
        }
        while index < count {
            let octet = base[index]
            if octet == 0x0D {
                if index + 1 == count {
                    pendingCR = true
                    return
                }
                if base[index + 1] == 0x0A {
                    endLine(to: &sink)
                    index += 2
                } else {
                    content(Self.carriageReturn, to: &sink)
                    index += 1
                }
                continue
            }
            if relaxed && (octet == 0x20 || octet == 0x09) {
                pendingSpace = true
                index += 1
                continue
            }
            // A run of octets written as they are: up to a CR (or, relaxed, WSP that is not a single
            // SP followed by an ordinary octet).
            let start = index
            index += 1
            if relaxed {
                // Eight octets at a time while none needs attention (see `attention`), then one by one.
                let raw = UnsafeRawPointer(base)
                while index + 9 <= count {
                    let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                    let following = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index + 1, as: UInt64.self))
                    let found = Self.attention(word, following)
                    if found != 0 {
                        index += found.trailingZeroBitCount >> 3
                        break
                    }
                    index += 8
                }
                while index < count {
                    let next = base[index]
                    if next == 0x0D || next == 0x09 { break }
                    if next == 0x20 {
                        guard index + 1 < count else { break }
                        let after = base[index + 1]
                        if after == 0x20 || after == 0x09 || after == 0x0D { break }
                        index += 2
                        continue
                    }
                    index += 1
                }
            } else {
                if let found = memchr(base + index, 0x0D, count - index) {
                    index = UnsafeRawPointer(found) - UnsafeRawPointer(base)
                } else {
                    index = count
                }
            }
            content(UnsafeRawBufferPointer(start: base + start, count: index - start), to: &sink)
        }
    }

    /// Writes the canonical octets the end of the body completes to `sink`.
    mutating func finish<Sink: DKIMCanonicalSink>(to sink: inout Sink) {
        guard !finished else { return }
        finished = true
        if pendingCR {
            pendingCR = false
            content(Self.carriageReturn, to: &sink)
        }
        if lineHasContent {
            sink.write(Self.lineEnds(1))
            wroteAnything = true
        } else if !wroteAnything && canonicalization == .simple {
            sink.write(Self.lineEnds(1))
        }
    }

    /// Content octets of the current line: first any held empty lines and a pending SP.
    @inline(__always)
    private mutating func content<Sink: DKIMCanonicalSink>(_ span: UnsafeRawBufferPointer, to sink: inout Sink) {
        if !lineHasContent {
            while heldEmptyLines > 0 {
                let lines = min(heldEmptyLines, Self.lineEndsCount)
                sink.write(Self.lineEnds(lines))
                heldEmptyLines -= lines
            }
            lineHasContent = true
            wroteAnything = true
        }
        if pendingSpace {
            sink.write(Self.space)
            pendingSpace = false
        }
        sink.write(span)
    }

    @inline(__always)
    private mutating func endLine<Sink: DKIMCanonicalSink>(to sink: inout Sink) {
        pendingSpace = false
        if lineHasContent {
            sink.write(Self.lineEnds(1))
            lineHasContent = false
        } else {
            heldEmptyLines += 1
        }
    }

    /// 0x80 in each octet of `word` (eight octets, the first in the low bits) that may end a relaxed
    /// run: a CR, a TAB, or an SP whose next octet (in `following`, the word one octet on) is WSP or
    /// CR. Exact: no octet that needs attention is missed (none is reported that does not, either).
    @inline(__always)
    private static func attention(_ word: UInt64, _ following: UInt64) -> UInt64 {
        let low: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080, seven: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func equal(_ value: UInt64, _ octet: UInt8) -> UInt64 {
            let difference = value ^ (low &* UInt64(octet))
            return ~(((difference & seven) &+ seven) | difference) & high
        }
        let breaking = equal(word, 0x0D) | equal(word, 0x09)
        let space = equal(word, 0x20)
        let next = equal(following, 0x20) | equal(following, 0x09) | equal(following, 0x0D)
        return breaking | (space & next)
    }

    // Constant octets, in static storage that lives as long as the process.
    private static let lineEndsCount = 64
    private nonisolated(unsafe) static let constants: UnsafeMutableRawBufferPointer = {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * lineEndsCount + 2, alignment: 1)
        for line in 0..<lineEndsCount {
            buffer[2 * line] = 0x0D
            buffer[2 * line + 1] = 0x0A
        }
        buffer[2 * lineEndsCount] = 0x20
        buffer[2 * lineEndsCount + 1] = 0x0D
        return buffer
    }()

    /// `lines` CRLFs (at most `lineEndsCount`).
    @inline(__always)
    private static func lineEnds(_ lines: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: constants[0..<(2 * lines)])
    }
    private static var space: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: constants[(2 * lineEndsCount)..<(2 * lineEndsCount + 1)]) }
    private static var carriageReturn: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: constants[(2 * lineEndsCount + 1)..<(2 * lineEndsCount + 2)])
    }
}
