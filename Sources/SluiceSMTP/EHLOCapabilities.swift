/// The EHLO reply's capability list, and the filter that keeps only what Sluice carries end to end.
public enum EHLOCapabilities {
    /// Extensions relayed when the upstream offers them.
    public static let relayed: Set<String> = ["8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"]

    /// The upstream's advertised SIZE: nil when absent, 0 when present without a limit.
    public static func upstreamSize(in reply: SMTPReply) -> Int? {
        for line in reply.lines.dropFirst() where hasKeyword(line, "SIZE") {
            let words = line.split(separator: " ")
            return words.count > 1 ? Int(words[1]) ?? 0 : 0
        }
        return nil
    }

    /// Rewrites an upstream `250` EHLO reply: the first line names `hostname`, PIPELINING and SIZE are
    /// Sluice's own (SIZE is `messageSize`, already the smaller of both limits), and of the rest only
    /// `relayed` extensions remain.
    /// The upstream's `AUTH` line (mechanisms), if it offers AUTH.
    public static func authMechanisms(in reply: SMTPReply) -> String? {
        reply.lines.dropFirst().first { hasKeyword($0, "AUTH") }
    }

    /// Whether a positive EHLO reply offers STARTTLS (RFC 3207).
    public static func offersSTARTTLS(in reply: SMTPReply) -> Bool {
        reply.isPositiveCompletion && reply.lines.dropFirst().contains { hasKeyword($0, "STARTTLS") }
    }

    /// True when the line's first word is `keyword` (upper case), in any case (ASCII, no allocation).
    static func hasKeyword(_ line: String, _ keyword: String) -> Bool {
        var bytes = line.utf8.makeIterator()
        for expected in keyword.utf8 {
            guard let byte = bytes.next(), (byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte) == expected else { return false }
        }
        let next = bytes.next()
        return next == nil || next == UInt8(ascii: " ")
    }

    public static func filter(_ reply: SMTPReply, hostname: String, messageSize: Int, offerSTARTTLS: Bool = false,
                              offerAuth: Bool = false, offerXCLIENT: Bool = false) -> SMTPReply {
        var first = reply.lines.first ?? ""
        if let space = first.firstIndex(of: " ") {
            first = hostname + first[space...]
        } else {
            first = hostname
        }
        var lines = [first, "PIPELINING", "SIZE \(messageSize)"]
        if offerSTARTTLS { lines.append("STARTTLS") }
        if offerAuth, let auth = authMechanisms(in: reply) { lines.append(auth) }
        if offerXCLIENT { lines.append(xclientOffer) }
        for line in reply.lines.dropFirst() {
            if relayed.contains(where: { hasKeyword(line, $0) }) { lines.append(line) }
        }
        return SMTPReply(code: reply.code, lines: lines)
    }
}
