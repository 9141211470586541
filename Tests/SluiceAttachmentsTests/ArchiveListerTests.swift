import Foundation
@testable import SluiceAttachments
import Testing

@Suite struct ArchiveListerTests {
    func list(_ bytes: [UInt8], memberLimit: Int = 100, decompressionLimit: Int = ArchiveLister.defaultDecompressionLimit)
        -> ArchiveListing {
        bytes.withUnsafeBytes { ArchiveLister.list($0, memberLimit: memberLimit, decompressionLimit: decompressionLimit) }
    }

    /// Writes `files` (name → content) into a fresh directory, runs `make` there, returns the file it names.
    func withFiles(_ files: [String: String], _ make: (URL) throws -> String) throws -> [UInt8] {
        let directory = try TestSupport.temporaryDirectory()
        defer { TestSupport.remove(directory) }
        for (name, content) in files { try TestSupport.write(content, to: directory.appendingPathComponent(name)) }
        return try TestSupport.readFile(directory.appendingPathComponent(try make(directory)))
    }

    @Test func aZipListsItsMembersWithSizes() throws {
        let zip = try TestSupport.pythonZip([("'docs/readme.txt'", "b'hello world'"), ("'data.bin'", "bytes(1000)")])
        let listing = list(zip)
        #expect(listing.format == "zip")
        #expect(listing.compression == nil)
        #expect(listing.members == [ArchiveMember(name: "docs/readme.txt", size: 11, encrypted: false),
                                    ArchiveMember(name: "data.bin", size: 1000, encrypted: false)])
        #expect(listing.error == nil && !listing.truncated && !listing.encrypted)
    }

    @Test func anInvoiceZipRevealsTheExecutableInside() throws {
        let zip = try withFiles(["invoice.pdf.exe": "MZ not really"]) { directory in
            try TestSupport.run("/usr/bin/zip", ["-q", "invoice.zip", "invoice.pdf.exe"], in: directory)
            return "invoice.zip"
        }
        let listing = list(zip)
        #expect(listing.members.map(\.name) == ["invoice.pdf.exe"])
        #expect(listing.members.first?.size == 13)
    }

    @Test func aTarGzListsItsMembersAndItsCompression() throws {
        let tgz = try TestSupport.python("""
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode='w:gz') as t:
            for name, data in [('a/one.txt', b'1' * 10), ('a/two.exe', b'MZ' * 50)]:
                info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
        out(b.getvalue())
        """)
        let listing = list(tgz)
        #expect(listing.format == "tar")
        #expect(listing.compression == "gzip")
        #expect(listing.members.map(\.name) == ["a/one.txt", "a/two.exe"])
        #expect(listing.members.map(\.size) == [10, 100])
        #expect(listing.error == nil)
    }

    @Test func a7zArchiveListsItsMembers() throws {
        let archive = try withFiles(["report.doc": "words", "run.bat": "@echo off"]) { directory in
            try TestSupport.run("/usr/bin/7z", ["a", "-bd", "out.7z", "report.doc", "run.bat"], in: directory)
            return "out.7z"
        }
        let listing = list(archive)
        #expect(listing.format == "7z")
        #expect(Set(listing.members.map(\.name)) == ["report.doc", "run.bat"])
        #expect(!listing.encrypted)
        #expect(listing.error == nil)
    }

    @Test func aRAR4ArchiveFromLibarchivesTestsIsListed() throws {
        let listing = list(try TestSupport.uuFixture("test_read_format_rar.rar.uu"))
        #expect(listing.format == "rar")
        #expect(listing.members.map(\.name) == ["test.txt", "testlink", "testdir/test.txt", "testdir", "testemptydir"])
        #expect(listing.members.first?.size == 20)
        #expect(listing.error == nil)
    }

    @Test func aRAR5ArchiveFromLibarchivesTestsIsListed() throws {
        let listing = list(try TestSupport.uuFixture("test_read_format_rar5_stored.rar.uu"))
        #expect(listing.format == "rar5")
        #expect(listing.members.map(\.name) == ["helloworld.txt"])
        #expect(listing.error == nil)
    }

    @Test func aCABArchiveFromLibarchivesTestsIsListed() throws {
        let listing = list(try TestSupport.uuFixture("test_read_format_cab_1.cab.uu"))
        #expect(listing.format == "cab")
        #expect(listing.members.map(\.name) == ["empty", "dir1/file1", "dir2/file2"])
        #expect(listing.members.map(\.size) == [0, 60, 78])
        #expect(listing.error == nil)
    }

    @Test func aPlainTarListsItsMembers() throws {
        let tar = try TestSupport.python("""
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode='w') as t:
            info = tarfile.TarInfo('setup.exe'); info.size = 3; t.addfile(info, io.BytesIO(b'MZ!'))
        out(b.getvalue())
        """)
        let listing = list(tar)
        #expect(listing.format == "tar" && listing.compression == nil)
        #expect(listing.members == [ArchiveMember(name: "setup.exe", size: 3, encrypted: false)])
    }

    @Test func theSolidFlagOfARARMainHeaderIsRead() throws {
        let rar4 = try TestSupport.uuFixture("test_read_format_rar.rar.uu")
        let rar5 = try TestSupport.uuFixture("test_read_format_rar5_stored.rar.uu")
        #expect(rar4.withUnsafeBytes { ArchiveLister.isNonSolidRAR($0) })
        #expect(rar5.withUnsafeBytes { ArchiveLister.isNonSolidRAR($0) })
        var solid4 = rar4
        solid4[10] |= 0x08
        #expect(!solid4.withUnsafeBytes { ArchiveLister.isNonSolidRAR($0) })
        #expect(!Array(rar5.prefix(13)).withUnsafeBytes { ArchiveLister.isNonSolidRAR($0) })
    }

    @Test func aLoneGzipIsOneMemberNamedFromItsHeader() throws {
        let gz = try TestSupport.python("""
        b = io.BytesIO()
        with gzip.GzipFile(filename='report.pdf.exe', mode='wb', fileobj=b) as g: g.write(b'MZ' * 100)
        out(b.getvalue())
        """)
        let listing = list(gz)
        #expect(listing.format == "gzip")
        #expect(listing.compression == "gzip")
        #expect(listing.members.map(\.name) == ["report.pdf.exe"])
        #expect(listing.error == nil)
    }

    @Test func loneBzip2AndXzFilesAreOneMemberEach() throws {
        let bz = list(try TestSupport.python("out(bz2.compress(b'hello' * 100))"))
        #expect(bz.format == "bzip2")
        #expect(bz.members.count == 1)
        let xz = list(try TestSupport.python("out(lzma.compress(b'hello' * 100))"))
        #expect(xz.format == "xz")
        #expect(xz.members.count == 1)
    }

    @Test func anEncryptedZipIsReportedEncrypted() throws {
        let zip = try withFiles(["secret.txt": "the plans"]) { directory in
            try TestSupport.run("/usr/bin/zip", ["-q", "-e", "-P", "secret", "locked.zip", "secret.txt"], in: directory)
            return "locked.zip"
        }
        let listing = list(zip)
        #expect(listing.encrypted)
        #expect(listing.members == [ArchiveMember(name: "secret.txt", size: 9, encrypted: true)])
    }

    @Test func anEncrypted7zWithVisibleNamesIsReportedEncrypted() throws {
        let archive = try withFiles(["a.exe": "MZ one", "b.exe": "MZ two"]) { directory in
            try TestSupport.run("/usr/bin/7z", ["a", "-bd", "-psecret", "locked.7z", "a.exe", "b.exe"], in: directory)
            return "locked.7z"
        }
        let listing = list(archive)
        #expect(listing.format == "7z")
        #expect(listing.encrypted)
        #expect(listing.members.first?.name == "a.exe")
        #expect(listing.members.first?.encrypted == true)
    }

    @Test func a7zWithEncryptedHeadersIsReportedEncrypted() throws {
        let archive = try withFiles(["a.exe": "MZ one"]) { directory in
            try TestSupport.run("/usr/bin/7z", ["a", "-bd", "-psecret", "-mhe=on", "locked.7z", "a.exe"], in: directory)
            return "locked.7z"
        }
        let listing = list(archive)
        #expect(listing.format == "7z")
        #expect(listing.encrypted)
        #expect(listing.members.isEmpty)
        #expect(listing.error != nil)
    }

    @Test func theMemberLimitTruncatesTheListing() throws {
        let zip = try TestSupport.python("""
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w') as z:
            for i in range(20): z.writestr('file%02d.txt' % i, b'x')
        out(b.getvalue())
        """)
        let listing = list(zip, memberLimit: 5)
        #expect(listing.members.map(\.name) == (0..<5).map { "file0\($0).txt" })
        #expect(listing.truncated)
        #expect(listing.error == nil)
        #expect(!list(zip, memberLimit: 20).truncated)
        #expect(list(zip, memberLimit: 0).members.isEmpty)
    }

    @Test func aCutOffZipStillListsTheMembersBeforeTheCut() throws {
        let zip = try TestSupport.python("""
        import random
        r = random.Random(7)
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED) as z:
            for i in range(10): z.writestr('part%d.bin' % i, bytes(r.getrandbits(8) for _ in range(4000)))
        out(b.getvalue())
        """)
        let listing = list(Array(zip.prefix(zip.count / 2)))
        #expect(listing.format == "zip")
        // Local headers at 0, 4044, …, 20220 lie in the first 20506 bytes: six members, the last one cut inside.
        #expect(listing.members.map(\.name) == (0..<6).map { "part\($0).bin" })
        #expect(listing.error != nil)
    }

    @Test func aTarBombStopsAtTheDecompressionLimit() throws {
        let tgz = try TestSupport.python("""
        b = io.BytesIO()
        with tarfile.open(fileobj=b, mode='w:gz') as t:
            for name, size in [('zeros.bin', 8 << 20), ('after.txt', 1)]:
                info = tarfile.TarInfo(name); info.size = size; t.addfile(info, io.BytesIO(bytes(size)))
        out(b.getvalue())
        """)
        let limited = list(tgz, decompressionLimit: 1 << 20)
        #expect(limited.members.map(\.name) == ["zeros.bin"])
        #expect(limited.error?.contains("limit") == true)
        #expect(list(tgz).members.map(\.name) == ["zeros.bin", "after.txt"])
    }

    @Test func garbageAndZeroBytesAreNoArchive() {
        let garbage = list(Array("this is certainly not an archive, just a line of text\n".utf8))
        #expect(garbage.format == "")
        #expect(garbage.members.isEmpty)
        #expect(garbage.error != nil)
        let empty = list([])
        #expect(empty.members.isEmpty && empty.error != nil)
        #expect(ArchiveLister.list(UnsafeRawBufferPointer(start: nil, count: 0), memberLimit: 10).error != nil)
    }

    @Test func invalidUTF8InANameIsReplaced() throws {
        let zip = try TestSupport.python("""
        b = io.BytesIO()
        with zipfile.ZipFile(b, 'w') as z: z.writestr('aXb.txt', b'x')
        out(b.getvalue().replace(b'aXb.txt', b'a\\xffb.txt'))
        """)
        let name = try #require(list(zip).members.first?.name)
        #expect(name.hasPrefix("a") && name.hasSuffix("b.txt"))
        #expect(name != "a\u{FF}b.txt" || name.unicodeScalars.count == 7)
    }

    @Test func anOOXMLMacroProjectIsFoundByName() {
        #expect(ArchiveLister.containsOOXMLMacroProject(["[Content_Types].xml", "word/vbaProject.bin"]))
        #expect(ArchiveLister.containsOOXMLMacroProject(["/XL/VBAPROJECT.BIN"]))
        #expect(ArchiveLister.containsOOXMLMacroProject(["ppt/vbaProject.bin"]))
        #expect(!ArchiveLister.containsOOXMLMacroProject(["word/document.xml", "vbaProject.bin", "other/vbaProject.bin"]))
        let listing = ArchiveListing(format: "zip", members: [ArchiveMember(name: "xl/vbaProject.bin", size: 1,
                                                                             encrypted: false)],
                                     encrypted: false, truncated: false, error: nil)
        #expect(listing.containsOOXMLMacroProject)
    }

    @Test func mutatedArchivesNeverCrash() throws {
        let seeds: [[UInt8]] = [
            try TestSupport.pythonZip([("'a.txt'", "b'hello' * 50"), ("'b/c.exe'", "b'MZ' * 80")]),
            try TestSupport.uuFixture("test_read_format_rar.rar.uu"),
            try TestSupport.uuFixture("test_read_format_rar5_stored.rar.uu"),
            try TestSupport.uuFixture("test_read_format_cab_1.cab.uu"),
            try TestSupport.python("out(gzip.compress(b'\\0' * 5000))"),
        ]
        var random = TestSupport.SplitMix64(state: 2024)
        for round in 0..<400 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if round % 3 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random))) }
            let listing = list(bytes, memberLimit: 50, decompressionLimit: 4 << 20)
            #expect(listing.members.count <= 50)
        }
    }
}
