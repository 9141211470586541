import SluicePolicy

/// What the pipeline looked up, one line per fact, for `sluice explain`.
enum FactDescriptions {
    static func connect(_ facts: Facts, lists: [DNSList]) -> [String] {
        var lines: [String] = []
        if facts.unavailable.contains(.clientName) {
            lines.append("client.name: lookup failed (a rule reading it defers)")
        } else if facts.clientName != nil || facts.clientNameUnverified != nil {
            lines.append("client.name = \"\(facts.clientName ?? "")\" (PTR: \(facts.clientNameUnverified ?? "none"))")
        }
        for list in lists {
            lines.append("client in \(list.name) (\(list.zone)): \(describe(facts.dnsLists[list.name]))")
        }
        if let score = facts.dnsblScore { lines.append("dnsbl.score = \(score)") }
        return lines
    }

    static func authentication(_ facts: Facts, answers: [String: DNSListResult]) -> [String] {
        var lines = answers.sorted { $0.key < $1.key }.map { "\($0.key): \(describe($0.value))" }
        let authentication = facts.authentication
        for (name, verdict) in [("spf", authentication.spf), ("spf.helo", authentication.spfHelo)] {
            guard let verdict else { continue }
            let detail = verdict.problem ?? verdict.mechanism.map { "matched \($0)" } ?? ""
            lines.append("\(name) = \(verdict.result.rawValue) for \(verdict.domain.isEmpty ? "-" : verdict.domain)\(detail.isEmpty ? "" : " (\(detail))")")
        }
        if let dkim = authentication.dkim {
            if dkim.isEmpty { lines.append("dkim = none (no signature)") }
            for signature in dkim {
                lines.append("dkim = \(signature.result) d=\(signature.domain) s=\(signature.selector) a=\(signature.algorithm)"
                             + (signature.reason.map { " (\($0))" } ?? ""))
            }
        }
        if let dmarc = authentication.dmarc {
            lines.append("dmarc = \(dmarc.result.rawValue) for \(dmarc.fromDomain.isEmpty ? "-" : dmarc.fromDomain)"
                         + (dmarc.policy.map { ", policy \($0.rawValue)" } ?? "") + (dmarc.problem.map { " (\($0))" } ?? ""))
        }
        return lines
    }

    private static func describe(_ result: DNSListResult?) -> String {
        switch result {
        case .listed?: return "listed"
        case .notListed?: return "not listed"
        case .failed?: return "lookup failed"
        case nil: return "not asked"
        }
    }
}
