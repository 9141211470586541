/// What a bounded scan of an OLE compound file's (CFB, [MS-CFB]) directory entries reveals.
struct CompoundFileFacts: Sendable, Hashable {
    /// A `VBA` or `_VBA_PROJECT_CUR` storage or a `_VBA_PROJECT` stream: a VBA macro project ([MS-OVBA] 2.2).
    var hasVBAProject = false
    var isWord = false
    var isExcel = false
    var isPowerPoint = false
    /// The root entry's class is that of a Windows Installer package or patch.
    var isInstaller = false
    /// An Outlook item (.msg).
    var isOutlookMessage = false
    /// An encrypted OOXML document (`EncryptedPackage` stream).
    var isEncryptedPackage = false

    /// The MIME type libmagic's CDF parser would have named, if any.
    var mimeType: String? {
        if isInstaller { return "application/x-msi" }
        if isWord { return "application/msword" }
        if isExcel { return "application/vnd.ms-excel" }
        if isPowerPoint { return "application/vnd.ms-powerpoint" }
        if isOutlookMessage { return "application/vnd.ms-outlook" }
        return nil
    }
}

/// A heuristic reader of OLE compound files that needs neither the FAT nor complete data.
///
/// Directory sectors are sector-aligned and sectors are multiples of 128 bytes, so every directory entry starts at a
/// multiple of 128 from the start of the file. The scan visits each such slot after the 512-byte header and accepts
/// it as an entry when its name-length field matches a NUL-terminated UTF-16LE name and its type is storage, stream
/// or root. Names are compared without ASCII case, as CFB does. It works on a cut-off prefix too (it then finds what
/// lies inside the prefix) and costs one pass of `count / 128` steps, capped at `scanLimit` bytes.
enum CompoundFile {
    static let signature: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]
    static let scanLimit = 32 << 20
    /// {000C1084-…-000000000046} (MSI) and {000C1086-…} (MSP) in their on-disk byte order, without the first byte.
    static let installerClassTail: [UInt8] = [0x10, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00,
                                              0x00, 0x00, 0x46]

    /// The facts of the compound file in `bytes`, or nil when it does not start with the CFB signature.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> CompoundFileFacts? {
        guard bytes.starts(with: signature) else { return nil }
        var facts = CompoundFileFacts()
        let end = min(bytes.count, scanLimit)
        var offset = 512
        while offset + 128 <= end {
            if let (name, type) = entry(bytes, at: offset) {
                switch (name, type) {
                case ("vba", 1), ("_vba_project_cur", 1), ("_vba_project", 2): facts.hasVBAProject = true
                case ("worddocument", 2): facts.isWord = true
                case ("workbook", 2), ("book", 2): facts.isExcel = true
                case ("powerpoint document", 2): facts.isPowerPoint = true
                case ("__properties_version1.0", 2): facts.isOutlookMessage = true
                case ("encryptedpackage", 2): facts.isEncryptedPackage = true
                case (_, 5):
                    let classID = offset + 80
                    if bytes[classID] == 0x84 || bytes[classID] == 0x86,
                       (0..<installerClassTail.count).allSatisfy({ bytes[classID + 1 + $0] == installerClassTail[$0] }) {
                        facts.isInstaller = true
                    }
                default: break
                }
            }
            offset += 128
        }
        return facts
    }

    /// The lower-cased ASCII name and the type of a plausible directory entry at `offset`, else nil.
    private static func entry(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> (String, UInt8)? {
        let nameLength = Int(bytes[offset + 64]) | Int(bytes[offset + 65]) << 8
        let type = bytes[offset + 66]
        guard nameLength >= 4, nameLength <= 64, nameLength % 2 == 0, type == 1 || type == 2 || type == 5 else {
            return nil
        }
        let characters = nameLength / 2 - 1
        guard bytes[offset + characters * 2] == 0, bytes[offset + characters * 2 + 1] == 0 else { return nil }
        var name: [UInt8] = []
        name.reserveCapacity(characters)
        for index in 0..<characters {
            let low = bytes[offset + index * 2], high = bytes[offset + index * 2 + 1]
            // Names of interest are ASCII; anything else (MSI's encoded stream names) cannot match them.
            guard high == 0, low >= 0x20, low < 0x7F else { return ("", type) }
            name.append(low >= 65 && low <= 90 ? low + 32 : low)
        }
        return (String(decoding: name, as: UTF8.self), type)
    }
}
