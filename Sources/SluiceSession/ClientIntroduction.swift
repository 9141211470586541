import SluicePolicy
import SluiceSMTP

/// The real client, as Sluice introduces it to an upstream that offers Postfix's XCLIENT (once per
/// connection, before the client's EHLO) or XFORWARD (before each MAIL): address, name, port, HELO
/// name and protocol; for XFORWARD also Sluice's session id as IDENT.
public struct ClientIntroduction: Hashable, Sendable {
    public var xclient: [XClientAttribute]
    public var xforward: [XClientAttribute]

    public init(client: ClientIdentity, greeting: Greeting) {
        let address: String
        if let ip = client.ip {
            if case .v6 = ip { address = "IPV6:\(ip)" } else { address = "\(ip)" }
        } else {
            address = XClientAttribute.unavailable
        }
        // A name only when it is a host name Postfix takes (else [UNAVAILABLE]: Postfix logs "unknown").
        let name = client.name.flatMap { $0.isEmpty ? nil : $0 }.flatMap { XClientAttribute.isHostName($0) ? $0 : nil }
            ?? XClientAttribute.unavailable
        let port = client.port.map(String.init) ?? XClientAttribute.unavailable
        let helo = String(greeting.name.prefix(255))
        let proto = greeting.extended ? "ESMTP" : "SMTP"
        xclient = [XClientAttribute("ADDR", address), XClientAttribute("NAME", name), XClientAttribute("PORT", port),
                   XClientAttribute("HELO", helo), XClientAttribute("PROTO", proto)]
        xforward = xclient + [XClientAttribute("SOURCE", "REMOTE"), XClientAttribute("IDENT", client.sessionID.isEmpty ? "[UNAVAILABLE]" : client.sessionID)]
    }
}

/// What an upstream was seen to offer (nil: not known yet), shared by the sessions of one server so
/// that only the first connection asks with an EHLO of Sluice's own.
public struct IntroductionSupport: Hashable, Sendable {
    public var xclient: Bool?
    public var xforward: Bool?
    /// The upstream offered XCLIENT but did not take it (smtp-sink answers 250, a server that lists
    /// it for everyone refuses it): it stays off whatever later EHLO replies say.
    public var xclientRefused: Bool
    /// The upstream takes pipelined commands: XFORWARD goes in one write with its MAIL (as Postfix's
    /// own client sends it), costing no round trip.
    public var pipelining: Bool

    public init(xclient: Bool? = nil, xforward: Bool? = nil, xclientRefused: Bool = false, pipelining: Bool = false) {
        self.xclient = xclient
        self.xforward = xforward
        self.xclientRefused = xclientRefused
        self.pipelining = pipelining
    }

    /// What an EHLO reply offers, given what is known (a refused XCLIENT stays refused).
    public init(ehlo reply: SMTPReply, known: IntroductionSupport = IntroductionSupport()) {
        xclientRefused = known.xclientRefused
        xclient = EHLOCapabilities.offersXCLIENT(in: reply) && !known.xclientRefused
        xforward = EHLOCapabilities.offersXFORWARD(in: reply)
        pipelining = EHLOCapabilities.offersPIPELINING(in: reply)
    }

    var isKnown: Bool { xclient == true || (xclient == false && xforward != nil) }
}
