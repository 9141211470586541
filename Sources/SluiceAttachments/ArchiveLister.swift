import CLibArchive

/// Lists the members of an archive held in memory with libarchive, from headers only.
///
/// Formats: zip, rar, rar5, 7z, tar, cab, iso9660, also inside gzip, bzip2, xz or lzma compression, and a lone
/// compressed file (libarchive's raw format under a filter: one member, named from the gzip header, else `data`).
/// Only the built-in decompressors are registered (never libarchive's fallback to an external program), nothing is
/// written to disk and nothing is extracted.
///
/// **Cut-off zips.** libarchive registers two zip readers: the seeking one bids when the end-of-central-directory
/// record is present and lists from the central directory; when the data was cut off (only a prefix of a large
/// attachment is retained) that record is missing, so the streaming reader wins the bid and lists every member
/// whose local header is present. Listing then ends with `error` set and the members read before it kept.
///
/// **Bounded work.** Skipping a member is free for uncompressed tar, iso9660 and zip entries of known size. Elsewhere
/// (a compressed tar, solid 7z and RAR, streamed zip entries of unknown size) skipping means decompressing, so the
/// member data is read block by block into libarchive's own buffer, counted against `decompressionLimit`, and
/// discarded; past the limit listing stops with an error. Member names are capped at `nameByteLimit` bytes.
public enum ArchiveLister {
    /// The default cap on bytes decompressed while skipping members (a few MiB of a bomb expand to GiB).
    public static let defaultDecompressionLimit = 64 << 20
    /// The longest member name kept, in UTF-8 bytes.
    public static let nameByteLimit = 4096

    /// Lists at most `memberLimit` members of the archive in `bytes`; never fails, never traps.
    public static func list(_ bytes: UnsafeRawBufferPointer, memberLimit: Int,
                            decompressionLimit: Int = defaultDecompressionLimit) -> ArchiveListing {
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            return ArchiveListing(format: "", members: [], encrypted: false, truncated: false, error: "empty input")
        }
        guard let archive = archive_read_new() else {
            return ArchiveListing(format: "", members: [], encrypted: false, truncated: false, error: "out of memory")
        }
        defer { archive_read_free(archive) }
        registerReaders(archive)
        guard archive_read_open_memory(archive, base, bytes.count) == ARCHIVE_OK else {
            let message = errorMessage(archive, fallback: "unrecognized archive format")
            return ArchiveListing(format: signatureFormat(bytes), members: [], encrypted: mentionsEncryption(message),
                                  truncated: false, error: message)
        }
        var reader = Reader(archive: archive, memberLimit: max(0, memberLimit), budget: max(0, decompressionLimit),
                            nonSolidRAR: isNonSolidRAR(bytes))
        reader.run()
        let compression = compressionName(archive)
        var format = formatName(archive, compression: compression)
        if format.isEmpty { format = signatureFormat(bytes) }
        if format == "raw" {
            // The raw reader accepts anything: without a decompressor in front it is no archive at all.
            return ArchiveListing(format: "", members: [], encrypted: false, truncated: false, error: "not an archive")
        }
        let encrypted = reader.encrypted || archive_read_has_encrypted_entries(archive) > 0
        return ArchiveListing(format: format, compression: compression, members: reader.members, encrypted: encrypted,
                              truncated: reader.truncated, error: reader.error)
    }

    /// The readers to try. Decompressors only when libarchive was linked against their library, because otherwise it
    /// would run an external `gzip -d`/`bzip2 -d`/`xz -d` program.
    private static func registerReaders(_ archive: OpaquePointer) {
        if archive_zlib_version() != nil { archive_read_support_filter_gzip(archive) }
        if archive_bzlib_version() != nil { archive_read_support_filter_bzip2(archive) }
        if archive_liblzma_version() != nil {
            archive_read_support_filter_xz(archive)
            archive_read_support_filter_lzma(archive)
        }
        archive_read_support_format_zip(archive)  // both the seeking and the streaming reader
        archive_read_support_format_rar(archive)
        archive_read_support_format_rar5(archive)
        archive_read_support_format_7zip(archive)
        archive_read_support_format_tar(archive)
        archive_read_support_format_cab(archive)
        archive_read_support_format_iso9660(archive)
        archive_read_support_format_raw(archive)  // bids last and lowest: a lone compressed file
    }

    /// The header loop: one member per `archive_read_next_header`, its data skipped or drained within the budget.
    private struct Reader {
        let archive: OpaquePointer
        let memberLimit: Int
        var budget: Int
        var members: [ArchiveMember] = []
        var encrypted = false
        var truncated = false
        var error: String?

        /// A RAR whose main header says it is not solid: skipping a member then never runs the decompressor.
        let nonSolidRAR: Bool

        init(archive: OpaquePointer, memberLimit: Int, budget: Int, nonSolidRAR: Bool) {
            self.archive = archive
            self.memberLimit = memberLimit
            self.budget = budget
            self.nonSolidRAR = nonSolidRAR
        }

        mutating func run() {
            var retries = 0
            while true {
                var entry: OpaquePointer?
                let status = archive_read_next_header(archive, &entry)
                if status == ARCHIVE_EOF { return }
                if status == ARCHIVE_RETRY {
                    retries += 1
                    if retries > 8 { fail("archive header unreadable (retries exhausted)"); return }
                    continue
                }
                guard status >= ARCHIVE_WARN, let entry else { fail(nil); return }
                if members.count >= memberLimit { truncated = true; return }
                let isEncrypted = archive_entry_is_encrypted(entry) != 0
                let size = archive_entry_size_is_set(entry) != 0 ? Int(exactly: archive_entry_size(entry)) : nil
                members.append(ArchiveMember(name: ArchiveLister.name(of: entry), size: size.map { max(0, $0) },
                                             encrypted: isEncrypted))
                if isEncrypted { encrypted = true }
                guard consumeData(of: entry, encrypted: isEncrypted) else { return }
            }
        }

        /// Moves past the current member's data; false (with `error` set) when listing must stop.
        private mutating func consumeData(of entry: OpaquePointer, encrypted isEncrypted: Bool) -> Bool {
            let base = archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK
            let plain = archive_filter_count(archive) <= 1
            let cheapFormat = base == ARCHIVE_FORMAT_TAR || base == ARCHIVE_FORMAT_ISO9660 || base == ARCHIVE_FORMAT_ZIP
            let cheapRAR = nonSolidRAR && (base == ARCHIVE_FORMAT_RAR || base == ARCHIVE_FORMAT_RAR_V5)
            if isEncrypted || cheapRAR || (plain && cheapFormat && archive_entry_size_is_set(entry) != 0) {
                if archive_read_data_skip(archive) < ARCHIVE_WARN { fail(nil); return false }
                return true
            }
            var block: UnsafeRawPointer?
            var length = 0
            var offset: la_int64_t = 0
            while true {
                let status = archive_read_data_block(archive, &block, &length, &offset)
                if status == ARCHIVE_EOF { return true }
                if status == ARCHIVE_FATAL { fail(nil); return false }
                if status < ARCHIVE_WARN {
                    // This member's data is unreadable (unsupported method, damage): the next header may still be.
                    if archive_read_data_skip(archive) < ARCHIVE_WARN { fail(nil); return false }
                    return true
                }
                budget -= max(length, 512)  // count empty blocks too, so the loop is bounded regardless
                if budget < 0 { fail("decompression limit reached while skipping member data"); return false }
            }
        }

        private mutating func fail(_ message: String?) {
            let text = message ?? ArchiveLister.errorMessage(archive, fallback: "damaged or cut-off archive data")
            error = text
            if ArchiveLister.mentionsEncryption(text) { encrypted = true }
        }
    }

    /// libarchive's way of saying it met encryption it cannot read (7z `-mhe`, RAR `-hp`, missing passphrase).
    static func mentionsEncryption(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return lowered.contains("encrypt") || lowered.contains("passphrase")
    }

    /// libarchive's message for the last error, or `fallback`.
    static func errorMessage(_ archive: OpaquePointer, fallback: String) -> String {
        guard let message = archive_error_string(archive) else { return fallback }
        return cappedString(UnsafeRawPointer(message))
    }

    /// The member's path: UTF-8 when libarchive can convert it, else its raw bytes or wide form, decoded leniently.
    static func name(of entry: OpaquePointer) -> String {
        if let utf8 = archive_entry_pathname_utf8(entry) { return cappedString(UnsafeRawPointer(utf8)) }
        if let raw = archive_entry_pathname(entry) { return cappedString(UnsafeRawPointer(raw)) }
        if let wide = archive_entry_pathname_w(entry) {
            var scalars = String.UnicodeScalarView()
            var index = 0
            while wide[index] != 0 && index < nameByteLimit {
                scalars.append(Unicode.Scalar(UInt32(truncatingIfNeeded: wide[index])) ?? "\u{FFFD}")
                index += 1
            }
            return String(scalars)
        }
        return ""
    }

    /// A NUL-terminated C string, at most `limit` bytes of it, invalid UTF-8 replaced.
    static func cappedString(_ pointer: UnsafeRawPointer, limit: Int = nameByteLimit) -> String {
        let bytes = pointer.assumingMemoryBound(to: UInt8.self)
        var count = 0
        while count < limit && bytes[count] != 0 { count += 1 }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The compression filter in front of the format, by its stable short name.
    private static func compressionName(_ archive: OpaquePointer) -> String? {
        guard archive_filter_count(archive) > 1 else { return nil }
        switch archive_filter_code(archive, 0) {
        case ARCHIVE_FILTER_GZIP: return "gzip"
        case ARCHIVE_FILTER_BZIP2: return "bzip2"
        case ARCHIVE_FILTER_XZ: return "xz"
        case ARCHIVE_FILTER_LZMA: return "lzma"
        case ARCHIVE_FILTER_NONE: return nil
        default: return archive_filter_name(archive, 0).map { cappedString(UnsafeRawPointer($0)) }
        }
    }

    /// The format's short name once a header was read; empty before (see `signatureFormat`).
    private static func formatName(_ archive: OpaquePointer, compression: String?) -> String {
        switch archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK {
        case ARCHIVE_FORMAT_ZIP: return "zip"
        case ARCHIVE_FORMAT_RAR: return "rar"
        case ARCHIVE_FORMAT_RAR_V5: return "rar5"
        case ARCHIVE_FORMAT_7ZIP: return "7z"
        case ARCHIVE_FORMAT_TAR: return "tar"
        case ARCHIVE_FORMAT_CAB: return "cab"
        case ARCHIVE_FORMAT_ISO9660: return "iso9660"
        case ARCHIVE_FORMAT_RAW: return compression ?? "raw"
        default: return ""
        }
    }

    /// Whether `bytes` start with a RAR 4 or RAR 5 main header without the solid flag (false when unsure, e.g. for
    /// a self-extracting RAR, so its members are then drained within the budget instead).
    static func isNonSolidRAR(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.starts(with: [0x52, 0x61, 0x72, 0x21, 0x1A, 0x07, 0x00]) {
            // RAR 4: MAIN_HEAD after the 7-byte marker: HEAD_CRC(2) HEAD_TYPE(1) = 0x73, HEAD_FLAGS(2); MHD_SOLID = 8.
            guard bytes.count >= 12, bytes[9] == 0x73 else { return false }
            return bytes[10] & 0x08 == 0
        }
        guard bytes.starts(with: [0x52, 0x61, 0x72, 0x21, 0x1A, 0x07, 0x01, 0x00]) else { return false }
        // RAR 5: CRC32(4), then vints: header size, type (1 = main), flags [, extra size] [, data size], archive flags.
        var offset = 12
        func vint() -> UInt64? {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 70, by: 7) {
                guard offset < bytes.count else { return nil }
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << UInt64(shift)
                if byte & 0x80 == 0 { return value }
            }
            return nil
        }
        guard vint() != nil, vint() == 1, let flags = vint() else { return false }
        if flags & 0x01 != 0 { guard vint() != nil else { return false } }
        if flags & 0x02 != 0 { guard vint() != nil else { return false } }
        guard let archiveFlags = vint() else { return false }
        return archiveFlags & 0x04 == 0
    }

    /// The format by its leading signature, for archives whose first header already failed (an encrypted 7z header).
    static func signatureFormat(_ bytes: UnsafeRawBufferPointer) -> String {
        let signatures: [(String, [UInt8])] = [
            ("7z", [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]),
            ("rar5", [0x52, 0x61, 0x72, 0x21, 0x1A, 0x07, 0x01, 0x00]),
            ("rar", [0x52, 0x61, 0x72, 0x21, 0x1A, 0x07, 0x00]),
            ("zip", [0x50, 0x4B, 0x03, 0x04]),
            ("cab", [0x4D, 0x53, 0x43, 0x46]),
        ]
        for (name, signature) in signatures where bytes.starts(with: signature) { return name }
        return ""
    }
}
