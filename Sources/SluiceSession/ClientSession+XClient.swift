import SluicePolicy
import SluiceSMTP

/// Postfix's XCLIENT from a client listed in `xclient from` (a front-end MTA or proxy that hands over
/// the real client): the named client replaces the connection's, the connect stage runs again for it,
/// and a new greeting follows; the client then says EHLO again.
extension ClientSession {
    /// The client (as it is now) may send XCLIENT.
    var mayUseXCLIENT: Bool {
        guard let ip = client.ip else { return false }
        return configuration.xclientFrom.contains { $0.contains(ip) }
    }

    mutating func xclient(_ attributes: [XClientAttribute], _ phase: Phase) -> [SessionAction] {
        guard mayUseXCLIENT else { return error(.xclientNotAuthorized) }
        if case .transaction = phase { return error(.xclientInTransaction) }
        var next = client
        for attribute in attributes {
            let value = attribute.isUnavailable ? nil : attribute.value
            switch attribute.name {
            case "ADDR":
                guard let value else {
                    next.address = "unknown"
                    next.ip = nil
                    continue
                }
                let text = value.uppercased().hasPrefix("IPV6:") ? String(value.dropFirst(5)) : value
                guard let ip = IPAddress(text) else { return error(.syntaxError("Bad ADDR syntax: \(value.prefix(64))")) }
                next.address = "\(ip)"
                next.ip = ip
            case "NAME":
                next.name = value
                next.vouchedName = value
            case "PORT": next.port = value.flatMap { Int($0) }
            case "HELO": next.xclientHelo = value
            case "PROTO": next.xclientProto = value?.uppercased()
            case "LOGIN": authUser = value
            default: break // DESTADDR, DESTPORT: where the client connected; nothing here depends on it
            }
        }
        next.exempt = next.ip.map { ip in configuration.exempt.contains { $0.contains(ip) } } ?? false
        client = next
        sessionTags = []
        sessionDiscard = false
        return ask(.connect, baseFacts(.fresh), .fresh, .xclient)
    }

    /// The connect stage decided about the client an XCLIENT named: greet it (it must say EHLO again),
    /// or refuse it and close, as for a client that connected.
    mutating func xclientDecided(_ decision: PolicyDecision) -> [SessionAction] {
        switch decision.verdict {
        case .proceed, .discard:
            sessionTags.formUnion(decision.tags)
            sessionDiscard = decision.verdict == .discard
            state = .ready(.fresh)
            return [.reply(greetingReply ?? SMTPReply(code: 220, lines: ["\(hostname) ESMTP"]))]
        case .refuse(let reply), .disconnect(let reply):
            state = .closed
            return [.reply(reply), .close(.policy)]
        }
    }
}
