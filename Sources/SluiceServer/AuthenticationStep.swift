import Foundation
import NIOCore
import SluiceDNS
import SluicePolicy
import SluiceSMTP

/// The email-authentication checks of the policy pipeline: SPF at MAIL (the MAIL FROM identity and the
/// HELO identity, at the same time, within the DNS budget), and the trace fields the message gets.
/// The evaluators are pure functions of DNS answers (SluiceDNS); this is where they meet the resolver
/// and the session's event loop.
struct AuthenticationStep: Sendable {
    let resolver: DNSResolver?
    /// `dns budget`: all the lookups of one check together.
    let budget: Double
    /// Sluice's own name: SPF's `%{r}`, the receiver in `Received-SPF`, the authserv-id of its
    /// `Authentication-Results`.
    let hostname: String
    /// `dkim sign NAME …`, keys loaded.
    var signers: [String: DKIMSigner] = [:]

    /// SPF for the transaction's sender and (`helo`: when a rule reads `spf.helo`) the HELO name.
    func spf(_ facts: Facts, helo checkHelo: Bool, on eventLoop: EventLoop) -> EventLoopFuture<Authentication> {
        guard let resolver, let client = facts.client else {
            let unknown = SPFVerdict(result: resolver == nil ? .temperror : .none, domain: "", problem: "no resolver or client address")
            return eventLoop.makeSucceededFuture(Authentication(spf: unknown, spfHelo: unknown))
        }
        let evaluator = SPFEvaluator(receiver: hostname, now: { Int(Date().timeIntervalSince1970) },
                                     lookup: resolver.budgeted(budget))
        let sender = facts.sender?.mailbox.map { "\($0.localPart)@\($0.domain)" } ?? ""
        let helo = facts.helo ?? ""
        // At once on the event loop: with the records in the resolver's cache, nothing waits.
        return Immediate.run(on: eventLoop) {
            guard checkHelo else { return Authentication(spf: await evaluator.checkMailFrom(ip: client, sender: sender, helo: helo)) }
            async let mailFrom = evaluator.checkMailFrom(ip: client, sender: sender, helo: helo)
            async let heloIdentity = evaluator.checkHelo(ip: client, helo: helo)
            return Authentication(spf: await mailFrom, spfHelo: await heloIdentity)
        }.future(on: eventLoop)
    }

    /// The trace fields for the message, top down: `Authentication-Results` for every check made, and
    /// `Received-SPF` for the MAIL FROM identity when SPF was checked.
    func traceFields(_ facts: Facts) -> [HeaderField] {
        let sender = facts.sender?.mailbox.map { "\($0.localPart)@\($0.domain)" }
        var fields: [HeaderField] = []
        if let results = facts.authentication.resultsValue(authservID: hostname, sender: sender, helo: facts.helo) {
            fields.append(HeaderField(name: "Authentication-Results", value: results))
        }
        if let spf = facts.authentication.spf {
            let value = spf.receivedSPF(receiver: hostname, clientIP: facts.clientText, envelopeFrom: sender ?? "postmaster@\(facts.helo ?? "")",
                                        helo: facts.helo, identity: sender == nil ? "helo" : "mailfrom")
            fields.append(HeaderField(name: "Received-SPF", value: value))
        }
        return fields
    }
}

extension Facts {
    /// Takes what SPF found: a `temperror` makes the field unknown for now (a rule that reads it
    /// defers with 451 4.4.3, unless it tests `spf = temperror` itself).
    mutating func learn(_ authentication: Authentication) {
        var merged = self.authentication
        if let spf = authentication.spf { merged.spf = spf }
        if let helo = authentication.spfHelo { merged.spfHelo = helo }
        if let dkim = authentication.dkim { merged.dkim = dkim }
        if let dmarc = authentication.dmarc { merged.dmarc = dmarc }
        // (Setting it marks the results that failed for now as unknown.)
        self.authentication = merged
    }
}
