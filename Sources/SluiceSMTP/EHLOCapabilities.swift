/// The EHLO reply's capability list, and the filter that keeps only what Sluice carries end to end.
public enum EHLOCapabilities {
    /// Extensions relayed when the upstream offers them.
    public static let relayed: Set<String> = ["8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"]

    /// The upstream's advertised SIZE: nil when absent, 0 when present without a limit.
    public static func upstreamSize(in reply: SMTPReply) -> Int? {
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ")
            guard let keyword = words.first, keyword.uppercased() == "SIZE" else { continue }
            return words.count > 1 ? Int(words[1]) ?? 0 : 0
        }
        return nil
    }

    /// Rewrites an upstream `250` EHLO reply: the first line names `hostname`, PIPELINING and SIZE are
    /// Sluice's own (SIZE is `messageSize`, already the smaller of both limits), and of the rest only
    /// `relayed` extensions remain.
    /// The upstream's `AUTH` line (mechanisms), if it offers AUTH.
    public static func authMechanisms(in reply: SMTPReply) -> String? {
        reply.lines.dropFirst().first { $0.split(separator: " ").first?.uppercased() == "AUTH" }
    }

    public static func filter(_ reply: SMTPReply, hostname: String, messageSize: Int, offerSTARTTLS: Bool = false,
                              offerAuth: Bool = false) -> SMTPReply {
        var first = reply.lines.first ?? ""
        if let space = first.firstIndex(of: " ") {
            first = hostname + first[space...]
        } else {
            first = hostname
        }
        var lines = [first, "PIPELINING", "SIZE \(messageSize)"]
        if offerSTARTTLS { lines.append("STARTTLS") }
        if offerAuth, let auth = authMechanisms(in: reply) { lines.append(auth) }
        for line in reply.lines.dropFirst() {
            let keyword = line.split(separator: " ").first.map { $0.uppercased() } ?? ""
            if relayed.contains(keyword) { lines.append(line) }
        }
        return SMTPReply(code: reply.code, lines: lines)
    }
}
