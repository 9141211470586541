/// Reads a part's MIME header fields into its description.
enum PartHeaders {
    /// Fills `part` from its `fields`; returns the multipart boundary if there is a usable one.
    /// `defaultType` is text/plain, or message/rfc822 inside multipart/digest.
    static func apply(_ fields: [MIMEField], to part: inout MIMEPart, defaultType: String,
                      notes: inout NoteList) -> [UInt8]? {
        part.headers = fields
        let label = "part \(part.index)"
        var boundary: [UInt8]? = nil
        part.contentType = defaultType
        let types = fields.all(named: "content-type")
        if types.count > 1 { notes.add("\(label): \(types.count) Content-Type fields, the first used") }
        if let field = types.first {
            let parsed = HeaderParameters(HeaderBlock.unfoldedRaw(field.raw))
            part.parameters = parsed.parameters
            if !parsed.duplicates.isEmpty { notes.add("\(label): duplicate Content-Type parameters \(parsed.duplicates)") }
            if isValidType(parsed.value) {
                part.contentType = parsed.value
            } else {
                // RFC 2045 5.2 (and Python): an invalid type is text/plain.
                part.contentType = "text/plain"
                notes.add("\(label): invalid Content-Type \"\(parsed.value.prefix(60))\" read as text/plain")
            }
            if let charset = part.parameters["charset"] {
                let trimmed = String(charset.trimmingWhitespace()).lowercased()
                if !trimmed.isEmpty { part.charset = trimmed }
            }
            if part.contentType.hasPrefix("multipart/") {
                var b = part.parameters["boundary"] ?? ""
                while let last = b.last, last == " " || last == "\t" { b.removeLast() }  // Python rstrips it
                if !b.isEmpty && b.utf8.count <= 1000 { boundary = Array(b.utf8) }
            }
        }
        if let field = fields.first(named: "content-disposition") {
            let parsed = HeaderParameters(HeaderBlock.unfoldedRaw(field.raw))
            if !parsed.value.isEmpty { part.disposition = parsed.value }
            part.dispositionParameters = parsed.parameters
            if !parsed.duplicates.isEmpty { notes.add("\(label): duplicate Content-Disposition parameters \(parsed.duplicates)") }
        }
        let cte = fields.first(named: "content-transfer-encoding")?.value
        part.transferEncoding = TransferEncoding(headerValue: cte)
        if case .other(let name) = part.transferEncoding {
            notes.add("\(label): unknown Content-Transfer-Encoding \"\(name.prefix(60))\" taken as is")
        }
        let rawName = part.dispositionParameters["filename"] ?? part.parameters["name"]
        if let rawName {
            let name = baseName(String(rawName.trimmingWhitespace()))
            if !name.isEmpty { part.filename = name }
            if name != rawName.trimmingWhitespace() { notes.add("\(label): path stripped from filename") }
        }
        part.isAttachment = part.disposition == "attachment" || (part.disposition == nil && part.filename != nil)
        return boundary
    }

    /// `type/subtype` with token characters on both sides.
    static func isValidType(_ value: String) -> Bool {
        let pieces = value.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count == 2 else { return false }
        return pieces.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x22 } }
    }

    /// What follows the last `/` or `\`.
    static func baseName(_ name: String) -> String {
        guard let cut = name.lastIndex(where: { $0 == "/" || $0 == "\\" }) else { return name }
        return String(name[name.index(after: cut)...])
    }
}

/// The parser's repair notes, bounded in count (identical notes kept once).
struct NoteList {
    private(set) var notes: [String] = []
    private var seen = Set<String>()
    static let limit = 200

    mutating func add(_ note: String) {
        guard notes.count < Self.limit, seen.insert(note).inserted else { return }
        notes.append(note)
    }
}
