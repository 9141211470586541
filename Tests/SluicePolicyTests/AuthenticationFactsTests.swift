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
}
