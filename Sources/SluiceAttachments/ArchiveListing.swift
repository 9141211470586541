/// One member of an archive, from its header alone (the data is never extracted).
public struct ArchiveMember: Sendable, Hashable {
    /// The path as the archive gives it (directories are not stripped), invalid UTF-8 replaced by U+FFFD.
    public var name: String
    /// The uncompressed size when the header states it (streamed zip entries and lone compressed files may not).
    public var size: Int?
    /// The member's data or metadata is encrypted.
    public var encrypted: Bool

    public init(name: String, size: Int?, encrypted: Bool) {
        self.name = name
        self.size = size
        self.encrypted = encrypted
    }
}

/// What `ArchiveLister.list` found in an attachment.
public struct ArchiveListing: Sendable, Hashable {
    /// A short format name: `zip`, `rar`, `rar5`, `7z`, `tar`, `cab`, `iso9660`; for a lone compressed file its
    /// compression (`gzip`, `bzip2`, `xz`, `lzma`); empty when the bytes are no archive libarchive reads.
    public var format: String
    /// The compression around the archive (`gzip` for a .tar.gz; `gzip` also for a lone .gz), or nil.
    public var compression: String?
    /// The members listed, in archive order, at most `memberLimit` of them.
    public var members: [ArchiveMember]
    /// Some member, or the archive's header (7z `-mhe`, RAR `-hp`), is encrypted.
    public var encrypted: Bool
    /// The archive has more than `memberLimit` members; only the first ones are listed.
    public var truncated: Bool
    /// Why listing stopped early (damaged or cut-off data, work limit reached, not an archive); nil when the
    /// archive was read to its end. The members listed before the problem are kept.
    public var error: String?

    public init(format: String, compression: String? = nil, members: [ArchiveMember], encrypted: Bool,
                truncated: Bool, error: String?) {
        self.format = format
        self.compression = compression
        self.members = members
        self.encrypted = encrypted
        self.truncated = truncated
        self.error = error
    }

    /// The members include an OOXML VBA project (a .docm, .xlsm or .pptm in disguise or not).
    public var containsOOXMLMacroProject: Bool {
        ArchiveLister.containsOOXMLMacroProject(members.lazy.map(\.name))
    }
}

extension ArchiveLister {
    /// The part names under which Word, Excel and PowerPoint store a VBA project in an OOXML package.
    public static let ooxmlMacroProjectNames: Set<String> = ["word/vbaproject.bin", "xl/vbaproject.bin", "ppt/vbaproject.bin"]

    /// Whether `names` (zip member paths) contain an OOXML VBA project: `word/`, `xl/` or `ppt/vbaProject.bin`,
    /// compared without ASCII case and ignoring a leading `/` or `./` (Office itself is case-insensitive there).
    public static func containsOOXMLMacroProject<S: Sequence>(_ names: S) -> Bool where S.Element == String {
        names.contains { ooxmlMacroProjectNames.contains(normalizedPartName($0)) }
    }

    /// An OPC part name lower-cased in ASCII, without a leading `/` or `./`, with `\` read as `/`.
    static func normalizedPartName(_ name: String) -> String {
        var bytes = Array(name.utf8.prefix(256)).map { byte -> UInt8 in
            if byte == UInt8(ascii: "\\") { return UInt8(ascii: "/") }
            return (byte >= 65 && byte <= 90) ? byte + 32 : byte
        }
        if bytes.starts(with: [UInt8(ascii: "."), UInt8(ascii: "/")]) { bytes.removeFirst(2) }
        while bytes.first == UInt8(ascii: "/") { bytes.removeFirst() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
