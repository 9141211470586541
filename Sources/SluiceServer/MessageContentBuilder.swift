import SluiceAttachments
import SluiceMIME
import SluicePolicy

/// Turns the parsed MIME tree into what the rules read (`MessageContent`): the header fields decoded
/// and raw, inner parts' fields, the text of every text part (HTML converted to text), the text of
/// textual attachments, each attachment's name, declared type, sniffed kind, size and archive members,
/// and what each detector the rules use found. Runs on the thread pool, once per message.
struct MessageContentBuilder: Sendable {
    /// libmagic (nil: no attachment is sniffed, each is `data`; only when libmagic cannot start).
    let sniffer: AttachmentSniffer?
    let archiveMembers: Int
    /// Decoded text kept per part (`limit body-inspection`).
    let textLimit: Int
    let detectors: [Detector]

    /// The decoded top-level header fields (for `Facts.headers`) and the rest of the content.
    func build(_ message: MIMEMessage) throws -> (headers: [HeaderField], content: MessageContent) {
        var content = MessageContent()
        let top = message.parts.first?.headers ?? []
        let headers = top.map { HeaderField(name: $0.name, value: $0.value) }
        content.rawHeaders = top.map { HeaderField(name: $0.name, value: Self.unfolded($0.raw)) }
        for part in message.parts.dropFirst() {
            content.partHeaders += part.headers.map { HeaderField(name: $0.name, value: $0.value) }
        }
        for part in message.leaves {
            if part.isAttachment {
                let (facts, text) = attachment(part)
                content.attachments.append(facts)
                if let text { content.attachmentTexts.append(text) }
            } else if let text = readable(part) {
                content.bodyTexts.append(text)
            }
        }
        content.parts = message.parts.count
        content.depth = message.depth
        for detector in detectors {
            var findings = DetectorFindings(body: 0, attachments: 0)
            for text in content.bodyTexts { findings.body += try detector.count(in: text) }
            for text in content.attachmentTexts { findings.attachments += try detector.count(in: text) }
            content.detections[detector.name] = findings
        }
        return (headers, content)
    }

    /// An attachment's facts, and its text when its content is text.
    private func attachment(_ part: MIMEPart) -> (AttachmentFacts, String?) {
        let name = part.filename ?? ""
        var names = name.isEmpty ? [] : [name]
        var magic = "data"
        var encrypted = false
        var text: String?
        if let sniffer, !part.content.isEmpty {
            var kind = sniffer.sniff(part.content).kind
            if kind == .archive || kind == .office {
                let listing = part.content.withUnsafeBytes { ArchiveLister.list($0, memberLimit: archiveMembers) }
                encrypted = listing.encrypted
                if listing.containsOOXMLMacroProject { kind = .officeMacro }
                if kind == .archive {
                    let prefix = name.isEmpty ? "" : name + "/"
                    names += listing.members.map { prefix + Self.lastComponent($0.name) }
                }
            }
            magic = kind.rawValue
            if kind == .text, part.text == nil { text = Self.text(part.content, limit: textLimit) }
        }
        if let decoded = readable(part) {
            magic = sniffer == nil ? "text" : magic
            text = decoded
        }
        return (AttachmentFacts(names: names, declaredType: part.contentType, magic: magic, size: part.decodedSize, encrypted: encrypted), text)
    }

    /// A text part's decoded text as a reader sees it: HTML converted to text.
    private func readable(_ part: MIMEPart) -> String? {
        guard let text = part.text else { return nil }
        return part.contentType == "text/html" ? HTMLText.text(fromHTML: text, limit: textLimit) : text
    }

    /// A field's raw value with its folding removed (CRLF before whitespace), octets that are not UTF-8
    /// shown as U+FFFD.
    static func unfolded(_ raw: [UInt8]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        for byte in raw where byte != 13 && byte != 10 { bytes.append(byte) }
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 32 || bytes[start] == 9 { start += 1 }
        while end > start, bytes[end - 1] == 32 || bytes[end - 1] == 9 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// What follows the last `/` or `\` of an archive member's path.
    static func lastComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(where: { $0 == "/" || $0 == "\\" }) else { return path }
        let rest = path[path.index(after: slash)...]
        return rest.isEmpty ? path : String(rest)
    }

    /// Octets of a textual attachment as text: UTF-8 when they are, else Latin-1.
    static func text(_ bytes: [UInt8], limit: Int) -> String {
        let slice = bytes.prefix(limit)
        if let utf8 = String(validating: slice, as: UTF8.self) { return utf8 }
        return String(String.UnicodeScalarView(slice.map { Unicode.Scalar($0) }))
    }
}
