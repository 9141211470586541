/// The coarse kind of an attachment, from its content: the value of `attachment.magic` in the rules.
public enum AttachmentKind: String, Sendable, Hashable, CaseIterable {
    /// Native code or an installer: PE/MS-DOS (also .NET), ELF, Mach-O, Java class, MSI, Windows shortcut (.lnk).
    case executable
    /// Interpreted code: shell, Python, Perl, Ruby, PHP, JavaScript, VBScript, PowerShell, batch, HTA.
    case script
    /// zip, rar, 7z, tar, gzip, bzip2, xz, cab, iso and other containers or compressed streams.
    case archive
    /// Word, Excel, PowerPoint (OLE and OOXML), OpenDocument, RTF.
    case office
    /// An Office document carrying a macro project (OOXML `vbaProject.bin`, OLE `VBA` storage, ODF `Basic/`).
    case officeMacro = "office-macro"
    case pdf
    case image
    case audio
    case video
    /// Other text (plain, HTML, XML, JSON, source code that is not run as a script).
    case text
    /// Unknown or empty content.
    case data
}

/// What `AttachmentSniffer.sniff` says about an attachment.
public struct Sniffed: Sendable, Hashable {
    /// libmagic's MIME type (`MAGIC_MIME_TYPE`); for an OLE file libmagic's CDF parser is off, so the type found in
    /// its directory (`application/msword`, …) replaces libmagic's bare `application/octet-stream`.
    public var mimeType: String
    /// libmagic's textual description (`PE32 executable (GUI) Intel 80386, for MS Windows`, …).
    public var description: String
    public var kind: AttachmentKind

    public init(mimeType: String, description: String, kind: AttachmentKind) {
        self.mimeType = mimeType
        self.description = description
        self.kind = kind
    }
}

/// Maps libmagic's MIME type and description to an `AttachmentKind` (before the content refinements).
enum KindRules {
    static let executableTypes: Set<String> = [
        "application/x-dosexec", "application/vnd.microsoft.portable-executable", "application/x-msdownload",
        "application/x-executable", "application/x-sharedlib", "application/x-pie-executable", "application/x-elf",
        "application/x-mach-binary", "application/x-object", "application/x-msi", "application/x-ms-installer",
        "application/x-ms-shortcut", "application/x-java-applet", "application/x-ms-ne-executable",
    ]
    static let scriptTypes: Set<String> = [
        "text/x-shellscript", "text/x-sh", "application/x-sh", "application/x-shellscript", "text/x-script.python",
        "text/x-python", "text/x-python3", "text/x-perl", "application/x-perl", "text/x-ruby", "text/x-script.ruby",
        "text/x-php", "application/x-php", "text/x-msdos-batch", "text/x-bat", "application/x-bat",
        "text/x-tcl", "text/x-lua", "text/x-awk", "application/javascript", "text/javascript",
        "application/x-javascript", "text/x-vbscript", "text/vbscript", "application/x-powershell",
        "text/x-powershell", "application/hta",
    ]
    static let archiveTypes: Set<String> = [
        "application/zip", "application/x-zip-compressed", "application/x-rar", "application/vnd.rar",
        "application/x-rar-compressed", "application/x-7z-compressed", "application/x-tar", "application/x-gtar",
        "application/gzip", "application/x-gzip", "application/x-bzip2", "application/x-xz", "application/x-lzma",
        "application/x-lzip", "application/zstd", "application/x-compress", "application/vnd.ms-cab-compressed",
        "application/x-iso9660-image", "application/x-cpio", "application/x-arj", "application/x-lha",
        "application/x-lzh-compressed", "application/x-ace-compressed", "application/java-archive",
        "application/x-archive", "application/x-stuffit", "application/x-xar", "application/x-apple-diskimage",
        "application/x-rpm", "application/vnd.debian.binary-package", "application/x-lz4", "application/x-zstd",
        "application/vnd.android.package-archive",
    ]
    static let officeTypes: Set<String> = [
        "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "application/vnd.ms-office",
        "application/rtf", "text/rtf", "application/cdfv2", "application/x-ole-storage", "application/vnd.ms-outlook",
        "application/vnd.visio", "application/vnd.ms-project",
    ]
    static let textTypes: Set<String> = ["application/json", "application/xml", "application/x-ndjson"]

    /// The kind that libmagic's verdict alone implies.
    static func kind(mimeType: String, description: String) -> AttachmentKind {
        let mime = mimeType.lowercased()
        let text = description.lowercased()
        if mime == "application/x-empty" { return .data }
        if executableTypes.contains(mime) || text.hasPrefix("pe32") || text.hasPrefix("ms-dos executable")
            || text.hasPrefix("elf ") || text.hasPrefix("mach-o") || text.hasPrefix("ms windows shortcut") {
            return .executable
        }
        if scriptTypes.contains(mime) || isScriptDescription(text) { return .script }
        if mime.contains("macroenabled") { return .officeMacro }
        if officeTypes.contains(mime) || mime.hasPrefix("application/vnd.openxmlformats-officedocument.")
            || mime.hasPrefix("application/vnd.oasis.opendocument.") || mime.hasPrefix("application/vnd.ms-word")
            || mime.hasPrefix("application/vnd.ms-excel") || mime.hasPrefix("application/vnd.ms-powerpoint") {
            return .office
        }
        if archiveTypes.contains(mime) || text.contains("archive data") { return .archive }
        if mime == "application/pdf" { return .pdf }
        if mime.hasPrefix("image/") { return .image }
        if mime.hasPrefix("audio/") { return .audio }
        if mime.hasPrefix("video/") { return .video }
        if mime.hasPrefix("text/") || textTypes.contains(mime) { return .text }
        return .data
    }

    /// libmagic names interpreters in descriptions: `Python script`, `a /usr/bin/env node script`, `DOS batch file`.
    private static func isScriptDescription(_ text: String) -> Bool {
        text.contains(" script text") || text.contains(" script, ") || text.hasSuffix(" script")
            || text.contains("dos batch file") || text.contains("javascript") || text.contains("visual basic script")
            || text.contains("powershell")
    }
}
