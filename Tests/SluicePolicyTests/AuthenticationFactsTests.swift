import SluiceConfig
import SluicePolicy
import SluiceSMTP
import Testing

/// The authentication results as rule facts: a `temperror` defers a rule that reads the field, unless
/// the rule tests `= temperror` itself; and the `Authentication-Results` value.
@Suite struct AuthenticationFactsTests {
    private func facts(spf result: SPFResult) -> Facts {
        var facts = Facts(clientText: "192.0.2.1", client: IPAddress("192.0.2.1"))
        facts.sender = .path(Path(mailbox: Mailbox(localPart: "a", domain: "example.test")))
        facts.authentication.spf = SPFVerdict(result: result, domain: "example.test")
        if result == .temperror { facts.unavailable.insert(.spf) }
        return facts
    }

    @Test func aTemperrorDefersUnlessTheRuleTestsIt() throws {
        let configuration = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            stage mail
              reject spf != pass and not spf = temperror "550 5.7.23 must pass"
              tag unknown spf = temperror
              reject spf = fail "550 5.7.23 fail"

            """, file: "a.conf")
        let ruleSet = configuration.ruleSet
        #expect(ruleSet.usesSPF)
        let unknown = ruleSet.evaluate(.mail, facts(spf: .temperror))
        #expect(unknown.verdict == .tempfail(RuleSet.lookupFailed), "the third rule reads spf without testing temperror")
        #expect(unknown.tags == ["unknown"] && unknown.decidedBy?.location.line == 5)
        #expect(ruleSet.evaluate(.mail, facts(spf: .softfail)).verdict == .reject(SMTPReply(code: 550, enhanced: "5.7.23", "must pass")))
        #expect(ruleSet.evaluate(.mail, facts(spf: .pass)).verdict == .proceed)
    }

    @Test func dkimDomainHoldsWhenAnyPassingSignatureHasIt() throws {
        let configuration = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            list ours domain { example.test }
            stage eom
              tag second dkim.domain = "list.example"
              tag ours dkim.domain in ours
              tag third dkim.domain = "failed.example"

            """, file: "d.conf")
        var facts = facts(spf: .pass)
        facts.authentication.dkim = [
            DKIMOutcome(result: "pass", domain: "Example.TEST", selector: "a", algorithm: "rsa-sha256", signaturePrefix: ""),
            DKIMOutcome(result: "fail", domain: "failed.example", selector: "b", algorithm: "rsa-sha256", signaturePrefix: ""),
            DKIMOutcome(result: "pass", domain: "list.example", selector: "c", algorithm: "ed25519-sha256", signaturePrefix: ""),
        ]
        let outcome = configuration.ruleSet.evaluate(.eom, facts)
        #expect(Set(outcome.tags) == ["second", "ours"], "a failed signature's domain does not count")
        #expect(facts.authentication.dkimResult == "pass")
    }

    @Test func aFailedResultStaysUnknownAtLaterStagesAndTheOrderOfDKIMResults() throws {
        let configuration = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            stage rcpt
              reject spf != pass "550 5.7.23 must pass"

            """, file: "l.conf")
        // As the session builds the facts of a later stage: only the results, copied from the transaction.
        var facts = Facts(clientText: "192.0.2.1", client: IPAddress("192.0.2.1"))
        facts.authentication = Authentication(spf: SPFVerdict(result: .temperror, domain: "example.test"))
        #expect(configuration.ruleSet.evaluate(.rcpt, facts).verdict == .tempfail(RuleSet.lookupFailed))
        var signed = Authentication()
        signed.dkim = [DKIMOutcome(result: "fail", domain: "a.test", selector: "s", algorithm: "rsa-sha256", signaturePrefix: ""),
                       DKIMOutcome(result: "temperror", domain: "b.test", selector: "s", algorithm: "rsa-sha256", signaturePrefix: "")]
        #expect(signed.dkimResult == "temperror", "a retry may pass: not fail")
        #expect(signed.failedFields == [.dkim, .dkimDomain])
    }

    @Test func aQuotedAuthservIDIsRecognised() {
        #expect(MessageHeader.authservID(of: "\"Sluice.Test\"; dkim=pass") == "sluice.test")
        #expect(MessageHeader.authservID(of: " (comment) sluice.test; spf=pass") == "sluice.test")
        let header = MessageHeader(wire: Array("Authentication-Results: \"sluice.test\"; dkim=pass\r\nAuthentication-Results: other.test; spf=pass\r\n\r\n".utf8))
        let kept = String(decoding: header.applying([.removeAuthenticationResults(authservID: "sluice.test")]), as: UTF8.self)
        #expect(kept == "Authentication-Results: other.test; spf=pass\r\n\r\n")
    }

    @Test func authenticationResultsNameEveryMethod() {
        var authentication = Authentication(spf: SPFVerdict(result: .pass, domain: "example.test"))
        authentication.dkim = [DKIMOutcome(result: "fail", domain: "example.test", selector: "s1", algorithm: "rsa-sha256",
                                           signaturePrefix: "", reason: "body hash (mismatch)")]
        authentication.dmarc = DMARCVerdict(result: .fail, fromDomain: "example.test", policy: .reject)
        #expect(authentication.resultsValue(authservID: "mx.example.net", sender: "a@example.test", helo: "h.example.test")
                == "mx.example.net;\r\n\tspf=pass smtp.mailfrom=\"a@example.test\";\r\n\tdkim=fail (body hash mismatch) header.d=example.test header.s=s1 header.a=rsa-sha256;\r\n\tdmarc=fail (p=reject) header.from=example.test policy.dmarc=reject")
        #expect(Authentication().resultsValue(authservID: "x", sender: nil, helo: nil) == nil)
    }

    /// Which message rules make the message step parse the message: those that read its content
    /// (header fields, body, attachments, MIME structure, detectors), not those that read the envelope
    /// or the authentication results, or only edit the header.
    @Test func onlyRulesThatReadTheContentNeedTheMessageParsed() throws {
        func readsContent(_ rules: String) throws -> Bool {
            try ConfigurationLoader.load(text: "acknowledge open-relay\n" + rules + "\n", file: "c.conf").ruleSet.readsContent
        }
        #expect(try !readsContent("stage eom\n  reject dmarc = fail \"550 5.7.1 DMARC\"\n  tag signed dkim = pass"))
        #expect(try !readsContent("stage header\n  add header \"X-Seen\" \"yes\"\n  remove header \"X-Internal-*\""))
        #expect(try !readsContent("stage eom\n  reject size > 10M and sender.domain = \"a.test\" \"552 5.3.4 big\""))
        #expect(try readsContent("stage header\n  reject header \"Subject\" ~ /win/ \"550 5.7.1 no\""))
        #expect(try readsContent("stage eom\n  tag signed dkim = pass or body ~ /x/"))
        #expect(try readsContent("stage body\n  reject attachment.name ~ /\\.exe$/ \"554 5.7.1 no\""))
        #expect(try readsContent("stage eom\n  reject mime.parts > 100 \"554 5.6.0 no\""))
        #expect(try readsContent("stage body\n  reject body has card-number \"550 5.7.1 no\""))
    }
}
