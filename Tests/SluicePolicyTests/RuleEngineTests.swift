import Foundation
import SluiceConfig
import SluicePolicy
import SluiceSMTP
import Testing

/// The issue's example configuration, with the lists it names.
func exampleRules() throws -> Configuration {
    let directory = NSTemporaryDirectory() + "sluice-rules-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory + "/lists", withIntermediateDirectories: true)
    try "vip@example.com  # the boss\n\n".write(toFile: directory + "/lists/vip.txt", atomically: true, encoding: .utf8)
    try "# senders we refuse\n/^bulk-.*@/i\n".write(toFile: directory + "/lists/bad-senders.pcre", atomically: true, encoding: .utf8)
    let text = """
        upstream    127.0.0.1:25
        list blocked  cidr    { 192.0.2.0/24 }
        list trusted  cidr    { 127.0.0.0/8, ::1/128, 10.0.0.0/8 }
        list local    domain  { example.com, example.net }
        list vip      address file "lists/vip.txt"
        list badfrom  pcre    file "lists/bad-senders.pcre"  # one /regex/flags per line

        stage connect
          reject     client in blocked                                   "554 5.7.1 Your network is blocked"
          accept     client in trusted                                   tag internal

        stage helo
          reject     helo ~ /^(localhost|127\\.)/i                         "550 5.7.1 Bogus HELO"

        stage mail
          reject     sender ~ /@spam\\.example$/i                         "550 5.7.1 Sender not accepted"
          reject     sender in badfrom                                   "550 5.7.1 Sender not accepted"
          reject     size > 10M and not tagged internal                  "552 5.3.4 Too big for us"

        stage rcpt
          accept     tagged internal
          reject     rcpt.domain not in local                            "554 5.7.1 Relay access denied"
          reject     rcpt ~ /^(postmaster|abuse)@/i and sender = ""      "550 5.7.1 No bounces to role accounts"
          defer      rcpt in vip and not tls                             "450 4.7.0 Try again over TLS"

        stage header
          remove     header "X-Internal-*"
          replace    header "X-Mailer" "redacted"
          add        header "X-Sluice-Checked" "yes"
          reject     header "Subject" ~ /\\bwire transfer\\b/i              "550 5.7.1 Content rejected"

        stage body
          reject     body ~ /\\b4[0-9]{12}(?:[0-9]{3})?\\b/                "550 5.7.1 Card number detected"

        stage eom
          discard    tagged sinkhole
        """
    try text.write(toFile: directory + "/sluice.conf", atomically: true, encoding: .utf8)
    return try ConfigurationLoader.load(path: directory + "/sluice.conf")
}

private func facts(client: String = "198.51.100.7", helo: String? = "mx.client.example", sender: String? = nil,
                   rcpt: String? = nil, tags: Set<String> = []) -> Facts {
    var facts = Facts(clientText: client)
    facts.helo = helo
    if let sender {
        facts.sender = sender.isEmpty ? .null : .path(Path(mailbox: Mailbox(localPart: String(sender.split(separator: "@")[0]), domain: String(sender.split(separator: "@")[1]))))
    }
    if let rcpt {
        if case .rcpt(let path, _) = try! CommandParser.parse(Array("RCPT TO:<\(rcpt)>".utf8)) { facts.recipient = path }
    }
    facts.tags = tags
    return facts
}

private func code(_ verdict: Verdict) -> String {
    switch verdict {
    case .reject(let reply), .tempfail(let reply), .disconnect(let reply): return "\(reply.code) \(reply.enhancedCode ?? "")"
    default: return verdict.name
    }
}

@Suite struct RuleEngineTests {
    @Test func connectStageRejectsBlockedNetworksAndTagsTrustedOnes() throws {
        let rules = try exampleRules().ruleSet
        #expect(code(rules.evaluate(.connect, facts(client: "192.0.2.9")).verdict) == "554 5.7.1")
        let trusted = rules.evaluate(.connect, facts(client: "10.1.2.3"))
        #expect(trusted.verdict == .accept)
        #expect(trusted.tags == ["internal"])
        #expect(trusted.decidedBy?.location.line == 10)
        #expect(rules.evaluate(.connect, facts(client: "::1")).verdict == .accept)
        #expect(rules.evaluate(.connect, facts(client: "198.51.100.7")).verdict == .proceed)
    }

    @Test func heloAndMailStages() throws {
        let rules = try exampleRules().ruleSet
        #expect(code(rules.evaluate(.helo, facts(helo: "LOCALHOST")).verdict) == "550 5.7.1")
        #expect(code(rules.evaluate(.mail, facts(sender: "x@SPAM.example")).verdict) == "550 5.7.1")
        #expect(code(rules.evaluate(.mail, facts(sender: "Bulk-news@lists.example")).verdict) == "550 5.7.1")
        var big = facts(sender: "a@b.example")
        big.size = 11 * 1024 * 1024
        #expect(code(rules.evaluate(.mail, big).verdict) == "552 5.3.4")
        big.tags = ["internal"]
        #expect(rules.evaluate(.mail, big).verdict == .proceed)
    }

    @Test func rcptStageControlsRelayAndRoleAccounts() throws {
        let rules = try exampleRules().ruleSet
        #expect(code(rules.evaluate(.rcpt, facts(sender: "a@b.example", rcpt: "u@elsewhere.org")).verdict) == "554 5.7.1")
        #expect(rules.evaluate(.rcpt, facts(sender: "a@b.example", rcpt: "u@Example.COM.")).verdict == .proceed,
                "domains compare lower-cased and without a trailing dot")
        #expect(rules.evaluate(.rcpt, facts(sender: "a@b.example", rcpt: "u@elsewhere.org", tags: ["internal"])).verdict == .accept)
        #expect(code(rules.evaluate(.rcpt, facts(sender: "", rcpt: "Postmaster@example.com")).verdict) == "550 5.7.1")
        #expect(rules.evaluate(.rcpt, facts(sender: "a@b.example", rcpt: "postmaster@example.com")).verdict == .proceed)
        #expect(code(rules.evaluate(.rcpt, facts(sender: "a@b.example", rcpt: "VIP@example.com")).verdict) == "450 4.7.0")
        var overTLS = facts(sender: "a@b.example", rcpt: "vip@example.com")
        overTLS.tls = true
        #expect(rules.evaluate(.rcpt, overTLS).verdict == .proceed)
    }

    @Test(arguments: ["a%b@example.com", "a!b@example.com", "\"a@b\"@example.com", "a@b@example.com"])
    func relayHygieneRefusesRoutingCharactersBeforeAnyRule(_ address: String) throws {
        let rules = try exampleRules().ruleSet
        let refusal = rules.relayHygieneRefusal(facts(sender: "a@b.example", rcpt: address, tags: ["internal"]))
        #expect(refusal.map { code(.reject($0)) } == "550 5.7.1")
    }

    @Test func sourceRouteIsIgnoredAndTheFinalMailboxDecides() throws {
        let rules = try exampleRules().ruleSet
        #expect(rules.evaluate(.rcpt, facts(sender: "a@b.example", rcpt: "@relay.example:u@example.com")).verdict == .proceed)
        #expect(code(rules.evaluate(.rcpt, facts(sender: "a@b.example", rcpt: "@example.com:u@evil.example")).verdict) == "554 5.7.1")
    }

    @Test func headerStageCollectsEditsAndRejectsContent() throws {
        let rules = try exampleRules().ruleSet
        var message = facts(sender: "a@b.example")
        message.headers = [HeaderField(name: "Subject", value: "Hello"), HeaderField(name: "X-Internal-Id", value: "1")]
        let clean = rules.evaluateContent(message)
        #expect(clean.verdict == .proceed)
        #expect(clean.headerEdits == [.remove(glob: "X-Internal-*"), .replace(name: "X-Mailer", value: "redacted"),
                                      .add(name: "X-Sluice-Checked", value: "yes")])
        message.headers.append(HeaderField(name: "subject", value: "Urgent WIRE TRANSFER now"))
        let bad = rules.evaluateContent(message)
        #expect(code(bad.verdict) == "550 5.7.1")
        #expect(bad.headerEdits.isEmpty, "a reject discards the edits")
    }

    @Test func bodyStageFindsCardNumbersAndEomDiscards() throws {
        let rules = try exampleRules().ruleSet
        var message = facts(sender: "a@b.example")
        // `body` is the decoded text of the text parts (the message step fills it in).
        message.content.bodyTexts = ["Please charge 4111111111111111 today\r\n"]
        #expect(code(rules.evaluateContent(message).verdict) == "550 5.7.1")
        message.content.bodyTexts = ["nothing to see\r\n"]
        #expect(rules.evaluateContent(message).verdict == .proceed)
        message.tags = ["sinkhole"]
        #expect(rules.evaluateContent(message).verdict == .discard)
    }

    @Test func observeModeLogsButDoesNotDecide() throws {
        let configuration = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            stage mail
              reject sender ~ /@example\\.com$/ "550 5.7.1 No" mode=observe
              log "seen a sender"
            """, file: "t.conf")
        let outcome = configuration.ruleSet.evaluate(.mail, facts(sender: "a@example.com"))
        #expect(outcome.verdict == .proceed)
        #expect(outcome.observed.count == 1)
        #expect(outcome.observed.first?.1 == .reject(SMTPReply(code: 550, enhanced: "5.7.1", "No")))
        #expect(outcome.logs.map(\.1) == ["seen a sender"])
    }

    @Test func matchLimitIsATempfailNamingTheRuleNeverAPass() throws {
        let configuration = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            stage helo
              reject helo ~ /^(a+)+$/ "550 5.7.1 never"
            """, file: "limit.conf")
        let outcome = configuration.ruleSet.evaluate(.helo, facts(helo: String(repeating: "a", count: 40) + "b"))
        #expect(code(outcome.verdict) == "451 4.7.0")
        #expect(outcome.limitExceeded?.0.location.description == "limit.conf:3")
    }

    @Test func replyWithoutEnhancedCodeGetsOne() throws {
        let configuration = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            stage mail
              reject sender = "a@b.c" "550 go away"
              defer sender = "d@e.f" "451 later"
              reject size > 1K "552 too big"
            """, file: "t.conf")
        let rules = configuration.ruleSet.rules[.mail] ?? []
        let replies = rules.compactMap { rule -> String? in
            switch rule.action {
            case .reject(let r), .tempfail(let r): return r.lines[0]
            default: return nil
            }
        }
        #expect(replies == ["5.7.1 go away", "4.7.1 later", "5.3.4 too big"])
    }

    @Test func patternsAreCompiledWithJIT() throws {
        let pattern = try Pattern("\\bwire transfer\\b", flags: "i")
        #expect(pattern.isJIT)
        #expect(try pattern.matches("A Wire Transfer"))
        #expect(throws: Pattern.CompileError.self) { try Pattern("x", flags: "q") }
    }

    @Test func cidrListsMatchBothFamilies() {
        let v4 = CIDR("10.0.0.0/8")!, v6 = CIDR("2001:db8::/32")!
        #expect(v4.contains(IPAddress("10.200.1.1")!))
        #expect(!v4.contains(IPAddress("11.0.0.1")!))
        #expect(v4.contains(IPAddress("::ffff:10.0.0.1")!), "IPv4-mapped addresses are IPv4")
        #expect(v6.contains(IPAddress("2001:db8:1::5")!))
        #expect(!v6.contains(IPAddress("2001:db9::5")!))
        #expect(CIDR("::1/129") == nil)
    }
}

@Suite struct DomainNormalizationTests {
    @Test func idnDomainsCompareInTheirALabelForm() throws {
        #expect(Punycode.aLabels("bücher.example") == "xn--bcher-kva.example")
        #expect(Punycode.aLabels("MÜNCHEN.de") == "xn--mnchen-3ya.de")
        #expect(Punycode.aLabels("例え.テスト") == "xn--r8jz45g.xn--zckzah")
        #expect(Normalize.domain("Bücher.Example.") == "xn--bcher-kva.example")
        let list = NamedList(name: "local", items: .domain(exact: ["xn--bcher-kva.example"], suffixes: []))
        #expect(try list.contains("BÜCHER.example"))
    }
}
