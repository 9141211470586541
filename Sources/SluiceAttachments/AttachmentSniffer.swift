import CLibMagic

/// Sniffs the kind of an attachment from its decoded bytes with libmagic, refined by cheap checks of its own.
///
/// libmagic's `magic_t` is not thread-safe, so the sniffer keeps a fixed pool of cookies, each loaded once at
/// start-up; a `sniff` borrows one for its two lookups (MIME type, description) and blocks while all are in use.
/// Share one sniffer across the thread pool and size it to the pool's threads.
///
/// libmagic runs with `MAGIC_NO_CHECK_COMPRESS` (it would decompress gzip/bzip2/xz/zstd… content, or start an
/// external decompressor, to look inside) and `MAGIC_NO_CHECK_CDF` (its OLE property-set parser has had memory-safety
/// bugs; `CompoundFile.scan` replaces it), and with `MAGIC_PARAM_BYTES_MAX`, indirection and name-recursion limits
/// lowered; it sees at most `bytesMax` bytes.
///
/// Refinements after libmagic: a zip (or OOXML/ODF) is listed with `ArchiveLister` to tell OOXML and macro-enabled
/// documents from plain archives; an OLE file's directory is scanned for Word/Excel/PowerPoint/MSI and VBA storages;
/// text libmagic calls plain or HTML goes through `ScriptHeuristics`.
public final class AttachmentSniffer: @unchecked Sendable {
    /// Why a sniffer could not start.
    public enum StartError: Error, CustomStringConvertible, Sendable {
        case openFailed
        case databaseLoadFailed(String)

        public var description: String {
            switch self {
            case .openFailed: "libmagic: magic_open failed (out of memory?)"
            case .databaseLoadFailed(let message): "libmagic: cannot load the magic database: \(message)"
            }
        }
    }

    /// The default number of bytes libmagic examines.
    public static let defaultBytesMax = 1 << 20
    /// Members listed when telling an OOXML/ODF document from a zip.
    static let officeMemberLimit = 5000
    /// Decompression allowed while doing so (a zip's entries are normally skipped without any).
    static let officeDecompressionLimit = 1 << 20

    /// The flags for both lookups, besides `MAGIC_MIME_TYPE` for the first.
    static let baseFlags: Int32 = MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_CDF | MAGIC_NO_CHECK_ELF
        | MAGIC_NO_CHECK_APPTYPE

    private let cookies: BlockingPool<OpaquePointer>
    /// The number of bytes handed to libmagic (and its `MAGIC_PARAM_BYTES_MAX`).
    public let bytesMax: Int

    /// Opens `cookies` libmagic cookies (0: one per online processor; at most 256) and loads `database` (nil:
    /// libmagic's default, libmagic-mgc's `magic.mgc`) into each, once. `bytesMax` (at least 4096) caps what
    /// libmagic examines; the zip and OLE refinements look at all of `bytes`.
    /// - Throws: `StartError` when libmagic cannot be opened or the database does not load.
    public init(cookies count: Int = 0, bytesMax: Int = AttachmentSniffer.defaultBytesMax,
                database: String? = nil) throws {
        self.bytesMax = max(4096, bytesMax)
        var opened: [OpaquePointer] = []
        let wanted = count > 0 ? min(count, 256) : onlineProcessorCount()
        do {
            for _ in 0..<wanted { opened.append(try Self.openCookie(database: database, bytesMax: self.bytesMax)) }
        } catch {
            opened.forEach { magic_close($0) }
            throw error
        }
        cookies = BlockingPool(opened)
    }

    deinit {
        cookies.drain().forEach { magic_close($0) }
    }

    private static func openCookie(database: String?, bytesMax: Int) throws -> OpaquePointer {
        guard let cookie = magic_open(baseFlags) else { throw StartError.openFailed }
        guard magic_load(cookie, database) == 0 else {
            let message = magic_error(cookie).map { ArchiveLister.cappedString(UnsafeRawPointer($0)) } ?? "unknown"
            magic_close(cookie)
            throw StartError.databaseLoadFailed(message)
        }
        // Limits on libmagic's own work (unsupported parameters on an older libmagic are simply left as they are).
        let parameters: [(Int32, Int)] = [
            (MAGIC_PARAM_BYTES_MAX, bytesMax), (MAGIC_PARAM_INDIR_MAX, 15), (MAGIC_PARAM_NAME_MAX, 30),
            (MAGIC_PARAM_REGEX_MAX, 8192), (MAGIC_PARAM_ENCODING_MAX, 65536),
        ]
        for (parameter, value) in parameters {
            var limit = value
            _ = magic_setparam(cookie, parameter, &limit)
        }
        return cookie
    }

    /// The kind of the attachment whose decoded content (or its retained prefix) is `bytes`. Never fails.
    public func sniff(_ bytes: UnsafeRawBufferPointer) -> Sniffed {
        if let known = Self.commonSignature(bytes) { return known }
        var (mimeType, description) = magicLookup(UnsafeRawBufferPointer(rebasing: bytes.prefix(bytesMax)))
        var kind = KindRules.kind(mimeType: mimeType, description: description)
        // libmagic calls any data whose first octet is a jump or a MOV (0xE9, 0xEB, 0xB8) a "DOS
        // executable (COM)": one random blob (an encrypted file, headerless compressed data) in about
        // a hundred. A 16-bit COM file has no header to tell it by, and no 64-bit Windows runs it.
        if description.hasPrefix("DOS executable (COM)") { kind = .data }
        if let facts = CompoundFile.scan(bytes) {
            if let cdfType = facts.mimeType, kind == .data || kind == .office { mimeType = cdfType }
            if facts.isInstaller {
                kind = .executable
            } else if facts.hasVBAProject {
                kind = .officeMacro
            } else if facts.isWord || facts.isExcel || facts.isPowerPoint || facts.isOutlookMessage
                        || facts.isEncryptedPackage {
                kind = .office
            }
        } else if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) && (kind == .archive || kind == .office) {
            kind = Self.refineZip(bytes, kind: kind, mimeType: mimeType)
        } else if kind == .text && ScriptHeuristics.looksLikeScript(bytes) {
            kind = .script
        }
        if description.isEmpty { description = "data" }
        return Sniffed(mimeType: mimeType, description: description, kind: kind)
    }

    /// The most common attachments by their signature alone, without libmagic (whose two passes cost
    /// about 270 µs an attachment, a quarter of a loaded relay's CPU in the content benchmark): PDF,
    /// PNG, JPEG, GIF, and zip (then OOXML/ODF by its members, as after libmagic). Anything else, and
    /// whatever might be an executable or a script, goes to libmagic.
    static func commonSignature(_ bytes: UnsafeRawBufferPointer) -> Sniffed? {
        func starts(_ prefix: [UInt8]) -> Bool { bytes.starts(with: prefix) }
        if starts(Array("%PDF-".utf8)) { return Sniffed(mimeType: "application/pdf", description: "PDF document", kind: .pdf) }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return Sniffed(mimeType: "image/png", description: "PNG image data", kind: .image)
        }
        if starts([0xFF, 0xD8, 0xFF]) { return Sniffed(mimeType: "image/jpeg", description: "JPEG image data", kind: .image) }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) {
            return Sniffed(mimeType: "image/gif", description: "GIF image data", kind: .image)
        }
        if starts([0x50, 0x4B, 0x03, 0x04]) {
            let kind = refineZip(bytes, kind: .archive, mimeType: "application/zip")
            let mimeType = kind == .archive ? "application/zip" : "application/octet-stream"
            return Sniffed(mimeType: mimeType, description: "Zip archive data", kind: kind)
        }
        return nil
    }

    /// Convenience for `sniff(_:)` on an array.
    public func sniff(_ bytes: [UInt8]) -> Sniffed {
        bytes.withUnsafeBytes { sniff($0) }
    }

    /// libmagic's MIME type and description, with a borrowed cookie.
    private func magicLookup(_ bytes: UnsafeRawBufferPointer) -> (String, String) {
        cookies.withItem { cookie in
            withUnsafeTemporaryAllocation(byteCount: 1, alignment: 1) { empty in
                let base = bytes.baseAddress ?? UnsafeRawPointer(empty.baseAddress!)
                func lookup(_ flags: Int32) -> String? {
                    guard magic_setflags(cookie, flags) == 0, let result = magic_buffer(cookie, base, bytes.count)
                    else { return nil }
                    return ArchiveLister.cappedString(UnsafeRawPointer(result), limit: 1024)
                }
                let mime = lookup(Self.baseFlags | MAGIC_MIME_TYPE) ?? "application/octet-stream"
                let text = lookup(Self.baseFlags) ?? "data"
                return (mime, text)
            }
        }
    }

    /// OOXML or ODF by the zip's member names: office, office-macro, or (no document parts) archive.
    static func refineZip(_ bytes: UnsafeRawBufferPointer, kind: AttachmentKind, mimeType: String) -> AttachmentKind {
        let listing = ArchiveLister.list(bytes, memberLimit: officeMemberLimit,
                                         decompressionLimit: officeDecompressionLimit)
        let names = listing.members.map { ArchiveLister.normalizedPartName($0.name) }
        if ArchiveLister.containsOOXMLMacroProject(names) { return .officeMacro }
        let isOOXML = names.contains("[content_types].xml")
            && names.contains { $0.hasPrefix("word/") || $0.hasPrefix("xl/") || $0.hasPrefix("ppt/") }
        let isODF = mimeType.hasPrefix("application/vnd.oasis.opendocument.")
            || (names.contains("mimetype") && names.contains("content.xml"))
        if isODF && names.contains(where: { $0.hasPrefix("basic/") && $0.hasSuffix(".xml") }) { return .officeMacro }
        if isOOXML || isODF { return .office }
        return kind
    }
}
