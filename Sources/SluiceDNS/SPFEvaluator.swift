import SluicePolicy

/// `check_host()` (RFC 7208 §4) evaluated by Sluice on its own resolver: the DNS limits (10 terms that
/// query DNS, 2 void lookups, 10 MX or PTR names), macros and `exp=`. A pure function of the DNS
/// answers `lookup` gives (the server passes its resolver; the test suite a real DNS server).
public struct SPFEvaluator: Sendable {
    public typealias Lookup = @Sendable (String, RecordType) async -> DNSResult

    let lookup: Lookup
    /// `%{r}`: the receiving host's name.
    public var receiver: String
    /// `%{t}`: seconds since the epoch.
    public var now: @Sendable () -> Int

    public init(receiver: String = "unknown", now: @escaping @Sendable () -> Int, lookup: @escaping Lookup) {
        self.lookup = lookup
        self.receiver = receiver
        self.now = now
    }

    /// The MAIL FROM identity: `sender` (`local@domain`; empty for the null sender, which is then
    /// checked as `postmaster@HELO`).
    public func checkMailFrom(ip: IPAddress, sender: String, helo: String) async -> SPFVerdict {
        guard let at = sender.lastIndex(of: "@") else {
            return await checkHelo(ip: ip, helo: helo)
        }
        let domain = String(sender[sender.index(after: at)...])
        let local = sender[..<at]
        let full = (local.isEmpty ? "postmaster" : String(local)) + "@" + domain
        return await check(ip: ip, domain: domain, sender: full, helo: helo)
    }

    /// The HELO identity (§2.3): `postmaster@HELO`; an address literal or a single label is `none`.
    public func checkHelo(ip: IPAddress, helo: String) async -> SPFVerdict {
        await check(ip: ip, domain: helo, sender: "postmaster@" + helo, helo: helo)
    }

    func check(ip: IPAddress, domain: String, sender: String, helo: String) async -> SPFVerdict {
        let state = SPFCheckState(values: SPFMacroValues(sender: sender, domain: domain, ip: ip, helo: helo, receiver: receiver, now: now()))
        var verdict = await checkHost(domain: domain, state: state)
        verdict.domain = domain
        return verdict
    }

    /// §4.3–4.8 for `domain` (the top check, an `include:` or a `redirect=`).
    func checkHost(domain rawDomain: String, state: SPFCheckState) async -> SPFVerdict {
        let domain = rawDomain.hasSuffix(".") ? String(rawDomain.dropLast()) : rawDomain
        guard Self.isValidDomain(domain) else {
            return SPFVerdict(result: .none, domain: domain, problem: "'\(domain)' is not a domain name")
        }
        let record: SPFRecord
        switch await fetchRecord(domain) {
        case .success(let found): record = found
        case .failure(let verdict): return verdict
        }
        let previousDomain = state.values.domain
        state.values.domain = domain
        defer { state.values.domain = previousDomain }

        for directive in record.directives {
            if directive.mechanism.queriesDNS {
                state.terms += 1
                guard state.terms <= 10 else { return state.permerror("more than 10 DNS-querying terms", domain) }
            }
            switch await matches(directive.mechanism, state: state) {
            case .failure(let verdict):
                return verdict
            case .success(false):
                continue
            case .success(true):
                let result = directive.qualifier.result
                var verdict = SPFVerdict(result: result, domain: domain, mechanism: directive.text)
                if result == .fail, let exp = record.explanation {
                    verdict.explanation = await explanation(exp, state: state)
                }
                return verdict
            }
        }
        if let redirect = record.redirect {
            state.terms += 1
            guard state.terms <= 10 else { return state.permerror("more than 10 DNS-querying terms", domain) }
            let target = await expandDomain(redirect, state: state)
            guard Self.isValidDomain(target) else { return state.permerror("redirect to '\(target)'", domain) }
            var verdict = await checkHost(domain: target, state: state)
            if verdict.result == .none { verdict = state.permerror("redirect to '\(target)' found no SPF record", domain) }
            return verdict
        }
        return SPFVerdict(result: .neutral, domain: domain, mechanism: "default")
    }

    /// The one SPF record of `domain` (§4.4, §4.5), or the verdict that ends the check.
    private func fetchRecord(_ domain: String) async -> Result<SPFRecord, SPFVerdict> {
        let answer = await lookup(domain, .txt)
        switch answer {
        case .nxdomain, .noData:
            return .failure(SPFVerdict(result: .none, domain: domain, problem: "no SPF record"))
        case .serverFailure, .timedOut, .failed:
            return .failure(SPFVerdict(result: .temperror, domain: domain, problem: "TXT lookup for \(domain) failed"))
        case .answer(let records, _):
            let texts = records.compactMap(RecordData.text).filter(SPFRecord.isVersion1)
            guard !texts.isEmpty else { return .failure(SPFVerdict(result: .none, domain: domain, problem: "no SPF record")) }
            guard texts.count == 1 else {
                return .failure(SPFVerdict(result: .permerror, domain: domain, problem: "\(domain) has more than one SPF record"))
            }
            switch SPFRecordCache.record(texts[0]) {
            case .success(let record): return .success(record)
            case .failure(let error): return .failure(SPFVerdict(result: .permerror, domain: domain, problem: "\(domain): \(error)"))
            }
        }
    }

    private func matches(_ mechanism: SPFRecord.Mechanism, state: SPFCheckState) async -> Result<Bool, SPFVerdict> {
        let domain = state.values.domain
        let ip = state.values.ip
        switch mechanism {
        case .all:
            return .success(true)
        case .ip(let network):
            return .success(network.contains(ip))
        case .include(let spec):
            let target = await expandDomain(spec, state: state)
            let inner = await checkHost(domain: target, state: state)
            switch inner.result {
            case .pass: return .success(true)
            case .fail, .softfail, .neutral: return .success(false)
            case .temperror: return .failure(SPFVerdict(result: .temperror, domain: domain, problem: inner.problem))
            case .permerror, .none:
                return .failure(state.permerror("include:\(target): \(inner.problem ?? inner.result.rawValue)", domain))
            }
        case .a(let spec, let v4, let v6):
            let target = spec == nil ? domain : await expandDomain(spec!, state: state)
            return await addressesMatch(of: target, v4: v4, v6: v6, state: state, countsVoid: true)
        case .mx(let spec, let v4, let v6):
            let target = spec == nil ? domain : await expandDomain(spec!, state: state)
            guard Self.isValidDomain(target) else { return .success(false) }
            let answer = await lookup(target, .mx)
            switch answer {
            case .serverFailure, .timedOut, .failed:
                return .failure(SPFVerdict(result: .temperror, domain: domain, problem: "MX lookup for \(target) failed"))
            case .nxdomain, .noData:
                return state.voidLookup(domain).map { false }
            case .answer(let records, _):
                let hosts = records.compactMap(RecordData.mailExchanger)
                guard hosts.count <= 10 else { return .failure(state.permerror("\(target) has more than 10 MX records", domain)) }
                for host in hosts {
                    switch await addressesMatch(of: host, v4: v4, v6: v6, state: state, countsVoid: false) {
                    case .success(true): return .success(true)
                    case .success(false): continue
                    case .failure(let verdict): return .failure(verdict)
                    }
                }
                return .success(false)
            }
        case .ptr(let spec):
            let target = spec == nil ? domain : await expandDomain(spec!, state: state)
            let names = await validatedNames(state: state)
            let wanted = target.lowercased()
            return .success(names.contains { $0 == wanted || $0.hasSuffix("." + wanted) })
        case .exists(let spec):
            let target = await expandDomain(spec, state: state)
            guard Self.isValidDomain(target) else { return .success(false) }
            switch await lookup(target, .a) {
            case .answer(let records, _) where !records.isEmpty: return .success(true)
            case .answer, .nxdomain, .noData: return state.voidLookup(domain).map { false }
            case .serverFailure, .timedOut, .failed:
                return .failure(SPFVerdict(result: .temperror, domain: domain, problem: "A lookup for \(target) failed"))
            }
        }
    }

    /// Whether one of `target`'s A (IPv4 client) or AAAA (IPv6 client) addresses is within the prefix.
    private func addressesMatch(of target: String, v4: Int, v6: Int, state: SPFCheckState, countsVoid: Bool) async -> Result<Bool, SPFVerdict> {
        let domain = state.values.domain
        guard Self.isValidDomain(target) else { return .success(false) }
        let ip = state.values.ip
        let isV4: Bool
        if case .v4 = ip { isV4 = true } else { isV4 = false }
        switch await lookup(target, isV4 ? .a : .aaaa) {
        case .serverFailure, .timedOut, .failed:
            return .failure(SPFVerdict(result: .temperror, domain: domain, problem: "address lookup for \(target) failed"))
        case .nxdomain, .noData:
            return countsVoid ? state.voidLookup(domain).map { false } : .success(false)
        case .answer(let records, _):
            for record in records {
                guard let address = RecordData.address(record) else { continue }
                if CIDR(address: address, prefix: isV4 ? v4 : v6).contains(ip) { return .success(true) }
            }
            return .success(false)
        }
    }

    /// The client's validated names (§5.5): PTR names (at most 10) whose addresses include the client.
    private func validatedNames(state: SPFCheckState) async -> [String] {
        let ip = state.values.ip
        let suffix: String
        if case .v4 = ip { suffix = ".in-addr.arpa" } else { suffix = ".ip6.arpa" }
        guard case .answer(let records, _) = await lookup(ip.reversedLabels + suffix, .ptr) else { return [] }
        var validated: [String] = []
        for name in records.compactMap(RecordData.name).prefix(10) {
            let type: RecordType
            if case .v4 = ip { type = .a } else { type = .aaaa }
            guard case .answer(let addresses, _) = await lookup(name, type) else { continue }
            if addresses.contains(where: { RecordData.address($0) == ip }) { validated.append(name) }
        }
        return validated
    }

    /// A macro-expanded domain-spec, shortened from the left to 253 octets (§7.3).
    private func expandDomain(_ spec: SPFMacroString, state: SPFCheckState) async -> String {
        var name = await expand(spec, state: state)
        if name.hasSuffix(".") { name.removeLast() }
        while name.utf8.count > 253, let dot = name.firstIndex(of: ".") {
            name = String(name[name.index(after: dot)...])
        }
        return name
    }

    private func expand(_ spec: SPFMacroString, state: SPFCheckState) async -> String {
        await spec.expand { letter in
            let values = state.values
            switch letter {
            case "s": return values.sender
            case "l": return values.localPart
            case "o": return values.senderDomain
            case "d": return values.domain
            case "i": return values.dottedIP
            case "v": if case .v4 = values.ip { return "in-addr" } else { return "ip6" }
            case "h": return values.helo
            case "c": return values.ip.description
            case "r": return values.receiver
            case "t": return String(values.now)
            case "p":
                // Looked up once per check, however many %{p} the records hold.
                let names: [String]
                if let known = state.validated { names = known } else {
                    names = await validatedNames(state: state)
                    state.validated = names
                }
                let domain = values.domain.lowercased()
                return names.first { $0 == domain } ?? names.first { $0.hasSuffix("." + domain) } ?? names.first ?? "unknown"
            default: return ""
            }
        }
    }

    /// The `exp=` explanation (§6.2): one TXT record, macro-expanded; any problem gives none.
    private func explanation(_ spec: SPFMacroString, state: SPFCheckState) async -> String? {
        let target = await expandDomain(spec, state: state)
        guard Self.isValidDomain(target), case .answer(let records, _) = await lookup(target, .txt), records.count == 1,
              let text = RecordData.text(records[0]), let string = SPFMacroString(text, explanation: true) else { return nil }
        let expanded = await expand(string, state: state)
        return expanded.unicodeScalars.allSatisfy(\.isASCII) ? expanded : nil
    }

    /// A multi-label name with labels of 1–63 octets (§4.3; a trailing dot already removed).
    static func isValidDomain(_ domain: String) -> Bool {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return !domain.hasPrefix("[") && labels.count >= 2 && domain.utf8.count <= 253 && labels.allSatisfy { !$0.isEmpty && $0.utf8.count <= 63 }
    }
}

/// The state one check carries through its includes and redirects: the macro values and the counts of
/// DNS-querying terms and void lookups (§4.6.4).
final class SPFCheckState {
    var values: SPFMacroValues
    var terms = 0
    var voids = 0
    /// The client's validated names, once `%{p}` asked for them.
    var validated: [String]?

    init(values: SPFMacroValues) {
        self.values = values
    }

    func permerror(_ problem: String, _ domain: String) -> SPFVerdict {
        SPFVerdict(result: .permerror, domain: domain, problem: problem)
    }

    /// Counts an answer with no records; the third is a `permerror`.
    func voidLookup(_ domain: String) -> Result<Void, SPFVerdict> {
        voids += 1
        return voids > 2 ? .failure(permerror("more than 2 void lookups", domain)) : .success(())
    }
}
