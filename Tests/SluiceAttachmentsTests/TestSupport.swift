import Foundation
import Testing

/// Fixture makers: real tools run at test time, results read back into memory.
enum TestSupport {
    /// A fresh temporary directory for one test; the caller removes it with `remove(_:)`.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-attach-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }

    /// Runs `tool` with `arguments` in `directory`, returning its standard output; fails the test on a non-zero exit.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], in directory: URL? = nil) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(tool) \(arguments) exited \(process.terminationStatus)")
        return [UInt8](data)
    }

    /// The bytes a Python 3 snippet writes with `out(bytes)`.
    static func python(_ code: String) throws -> [UInt8] {
        let prelude = "import sys, io, zipfile, tarfile, gzip, bz2, lzma\nout = sys.stdout.buffer.write\n"
        return try run("/usr/bin/python3", ["-c", prelude + code])
    }

    /// A zip made by Python's zipfile from `(name, content)` pairs written as Python expressions.
    static func pythonZip(_ entries: [(String, String)], compression: String = "ZIP_DEFLATED") throws -> [UInt8] {
        let writes = entries.map { "    z.writestr(\($0.0), \($0.1))" }.joined(separator: "\n")
        return try python("""
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w', zipfile.\(compression)) as z:
        \(writes)
        out(b.getvalue())
        """)
    }

    static func readFile(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }

    static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
    }

    /// A fixture committed under Fixtures/, uudecoded.
    static func uuFixture(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
        return uudecode(try String(contentsOf: url, encoding: .utf8))
    }

    /// Decodes the body of a uuencoded file (the lines between `begin` and `end`).
    static func uudecode(_ text: String) -> [UInt8] {
        var result: [UInt8] = []
        var inBody = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let chars = Array(line.utf8)
            if !inBody { inBody = line.hasPrefix("begin "); continue }
            if line.hasPrefix("end") || chars.isEmpty { break }
            let count = Int((chars[0] &- 32) & 63)
            if count == 0 { continue }
            var values = chars.dropFirst().map { ($0 &- 32) & 63 }
            while values.count % 4 != 0 { values.append(0) }
            var decoded: [UInt8] = []
            for group in stride(from: 0, to: values.count, by: 4) {
                let a = values[group], b = values[group + 1], c = values[group + 2], d = values[group + 3]
                decoded += [a << 2 | b >> 4, (b & 0xF) << 4 | c >> 2, (c & 0x3) << 6 | d]
            }
            result += decoded.prefix(count)
        }
        return result
    }

    /// A deterministic generator for the hostile-input loops.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// Hand-built binaries for the sniffer.
enum Samples {
    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func put(_ bytes: [UInt8], into buffer: inout [UInt8], at offset: Int) {
        buffer.replaceSubrange(offset..<offset + bytes.count, with: bytes)
    }

    /// A minimal PE32 image: MZ stub pointing at a `PE\0\0` COFF header for i386 and a PE32 optional header.
    static func minimalPE() -> [UInt8] {
        var image = [UInt8](repeating: 0, count: 1024)
        put(Array("MZ".utf8), into: &image, at: 0)
        put(littleEndian(UInt32(0x80)), into: &image, at: 0x3C)  // e_lfanew
        put(Array("PE".utf8) + [0, 0], into: &image, at: 0x80)
        put(littleEndian(UInt16(0x014C)), into: &image, at: 0x84)  // Machine: i386
        put(littleEndian(UInt16(1)), into: &image, at: 0x86)  // NumberOfSections
        put(littleEndian(UInt16(0xE0)), into: &image, at: 0x94)  // SizeOfOptionalHeader
        put(littleEndian(UInt16(0x0102)), into: &image, at: 0x96)  // Characteristics: executable, 32-bit
        put(littleEndian(UInt16(0x010B)), into: &image, at: 0x98)  // Magic: PE32
        put(littleEndian(UInt16(2)), into: &image, at: 0x98 + 68)  // Subsystem: Windows GUI
        return image
    }

    /// A version-3 compound file (512-byte sectors: header, FAT, one directory sector) with the given directory
    /// entries after the root: `(name, type)` with type 1 storage, 2 stream.
    static func compoundFile(_ entries: [(String, UInt8)], rootClass: [UInt8] = Array(repeating: 0, count: 16)) -> [UInt8] {
        var file = [UInt8](repeating: 0, count: 512 * 3)
        put([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], into: &file, at: 0)
        put(littleEndian(UInt16(0x3E)) + littleEndian(UInt16(3)) + littleEndian(UInt16(0xFFFE))
            + littleEndian(UInt16(9)) + littleEndian(UInt16(6)), into: &file, at: 24)
        put(littleEndian(UInt32(1)), into: &file, at: 44)  // one FAT sector
        put(littleEndian(UInt32(1)), into: &file, at: 48)  // directory at sector 1
        put(littleEndian(UInt32(0x1000)), into: &file, at: 56)
        put(littleEndian(UInt32(0xFFFF_FFFE)), into: &file, at: 60)
        put(littleEndian(UInt32(0xFFFF_FFFE)), into: &file, at: 68)
        put(littleEndian(UInt32(0)), into: &file, at: 76)  // DIFAT[0]: the FAT is sector 0
        for index in 1..<109 { put(littleEndian(UInt32(0xFFFF_FFFF)), into: &file, at: 76 + index * 4) }
        put(littleEndian(UInt32(0xFFFF_FFFD)) + littleEndian(UInt32(0xFFFF_FFFE)), into: &file, at: 512)
        for index in 2..<128 { put(littleEndian(UInt32(0xFFFF_FFFF)), into: &file, at: 512 + index * 4) }
        let all = [("Root Entry", UInt8(5))] + entries.prefix(3)
        for (index, (name, type)) in all.enumerated() {
            let offset = 1024 + index * 128
            let utf16: [UInt8] = name.utf16.flatMap { (unit: UInt16) -> [UInt8] in littleEndian(unit) } + [0, 0]
            put(utf16, into: &file, at: offset)
            put(littleEndian(UInt16(utf16.count)), into: &file, at: offset + 64)
            file[offset + 66] = type
            file[offset + 67] = 1
            let child: UInt32 = index == 0 ? 1 : 0xFFFF_FFFF
            let right: UInt32 = index > 0 && index < all.count - 1 ? UInt32(index + 1) : 0xFFFF_FFFF
            put(littleEndian(UInt32(0xFFFF_FFFF)) + littleEndian(right) + littleEndian(child), into: &file, at: offset + 68)
            if index == 0 { put(rootClass, into: &file, at: offset + 80) }
            put(littleEndian(UInt32(0xFFFF_FFFE)), into: &file, at: offset + 116)
        }
        return file
    }
}
