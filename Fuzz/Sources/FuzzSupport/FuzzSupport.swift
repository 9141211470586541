#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import CLibFuzzer
import NIOCore

// Shared by every fuzz target: reading parameters from the front of the input, splitting a byte
// stream into chunks the way TCP might, and failing loudly when a property does not hold.

/// The body of each target's `<Target>_main`: runs libFuzzer's driver on `testOneInput` (the target's
/// `LLVMFuzzerTestOneInput`), with the process's arguments (-max_total_time=…, corpus directories).
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                         _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
}

/// Stops the process with `message` when `condition` is false, so libFuzzer records the input as a
/// crash (`crash-<sha1>`). A property violation is a finding exactly like a trap or an ASan report.
@inline(__always)
public func check(_ condition: Bool, _ message: @autoclosure () -> String,
                  file: StaticString = #fileID, line: UInt = #line) {
    if !condition { violated(message(), file: file, line: line) }
}

public func violated(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    let text = "\n==== PROPERTY VIOLATED (\(file):\(line)) ====\n\(message)\n"
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
    fatalError("property violated: \(message)", file: file, line: line)
}

/// The fuzzer's input, read from the front: a few parameter bytes, then the data.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ data: UnsafePointer<UInt8>, _ count: Int) {
        bytes = count == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: count))
    }

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The next byte, or 0 once the input is used up (so short inputs still run, with defaults).
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// The next `count` bytes as a little-endian integer (missing bytes are 0).
    public mutating func integer(bytes count: Int) -> UInt64 {
        var value: UInt64 = 0
        for shift in 0..<count { value |= UInt64(byte()) << (8 * UInt64(shift)) }
        return value
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { position = bytes.count }
        return position < bytes.count ? Array(bytes[position...]) : []
    }
}

/// SplitMix64: a tiny deterministic generator, so a crash input replays with the same chunking.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Ways of cutting one byte stream into reads.
public enum Chunking: CustomStringConvertible, Sendable {
    /// All bytes in one read.
    case whole
    /// One byte per read (NIOTestUtils' `ByteToMessageDecoderVerifier` does the same).
    case byteByByte
    /// Reads of 1...maxChunk bytes chosen by a seeded generator.
    case random(seed: UInt64, maxChunk: Int)

    public var description: String {
        switch self {
        case .whole: return "whole"
        case .byteByByte: return "byte-by-byte"
        case .random(let seed, let maxChunk): return "random(seed: \(seed), maxChunk: \(maxChunk))"
        }
    }

    /// The chunkings every stream target compares: whole, byte by byte, and one chosen by `seed`.
    public static func all(seed: UInt64) -> [Chunking] {
        [.whole, .byteByByte, .random(seed: seed, maxChunk: 1 + Int(seed % 61))]
    }

    public func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        switch self {
        case .whole:
            return [bytes[...]]
        case .byteByByte:
            return bytes.indices.map { bytes[$0...$0] }
        case .random(let seed, let maxChunk):
            var generator = SplitMix64(seed: seed)
            var chunks: [ArraySlice<UInt8>] = []
            var start = 0
            while start < bytes.count {
                let length = Int(generator.next() % UInt64(maxChunk)) + 1
                let end = min(bytes.count, start + length)
                chunks.append(bytes[start..<end])
                start = end
            }
            return chunks
        }
    }
}

/// `0d0a2e` style, for messages that must show exactly which bytes were involved.
public func hex(_ bytes: some Sequence<UInt8>, limit: Int = 256) -> String {
    var text = ""
    var count = 0
    for byte in bytes {
        if count == limit { text += "…"; break }
        let digits = Array("0123456789abcdef")
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0xF)])
        count += 1
    }
    return text
}

extension ByteBuffer {
    public var bytes: [UInt8] { Array(readableBytesView) }
}

/// True when every CR is followed by LF and every LF follows a CR (the only line ends SMTP allows).
public func hasOnlyCRLFLineEnds(_ bytes: some Collection<UInt8>) -> Bool {
    var previous: UInt8 = 0
    var first = true
    for byte in bytes {
        if !first, previous == 13, byte != 10 { return false }
        if byte == 10, first || previous != 13 { return false }
        previous = byte
        first = false
    }
    return first || previous != 13
}

/// Every CR not followed by LF and every LF not preceded by CR made into CRLF.
public func normalizingLineEnds(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 16)
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        if byte == 13 {
            out += [13, 10]
            index += index + 1 < bytes.count && bytes[index + 1] == 10 ? 2 : 1
            continue
        }
        if byte == 10 { out += [13, 10] } else { out.append(byte) }
        index += 1
    }
    return out
}

/// Splits at every `separator`, keeping empty pieces.
public func pieces(_ bytes: [UInt8], separator: UInt8) -> [[UInt8]] {
    bytes.split(separator: separator, omittingEmptySubsequences: false).map(Array.init)
}

public func asciiUppercased(_ bytes: some Sequence<UInt8>) -> [UInt8] {
    bytes.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
}
