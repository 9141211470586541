import SluiceConfig
import Testing

private func errors(_ text: String) -> [String] {
    do {
        _ = try ConfigurationLoader.load(text: text, file: "s.conf")
        return []
    } catch {
        return error.diagnostics.filter { $0.severity == .error }.map(\.description)
    }
}

private func warnings(_ text: String) throws -> [String] {
    try ConfigurationLoader.load(text: text, file: "s.conf").warnings.map(\.description)
}

@Suite struct RuleDiagnosticsTests {
    @Test func everyRuleErrorHasItsLocationAndAllComeInOnePass() {
        let found = errors("""
            list local domain { example.com }
            list nets cidr { 10.0.0.0/8, 300.1.1.1 }
            stage rcpt_to
            stage mail
              rejct sender ~ /x/ "550 5.7.1 no"
              reject body ~ /x/ "550 5.7.1 no"
              reject sender ~ /a(b/ "550 5.7.1 no"
              reject sender ~ /a/q "550 5.7.1 no"
              reject sender in nowhere "550 5.7.1 no"
              reject sendr = "x" "550 5.7.1 no"
              reject sender = "x" "450 4.7.1 wrong class"
              defer sender = "x" "550 5.7.1 wrong class"
              reject sender = "x" "550 4.7.1 mismatch"
              reject sender = "x"
            stage header
              add header "X-A"
            """)
        #expect(found == [
            "s.conf:2:30: error: '300.1.1.1' is not an address or network (CIDR)",
            "s.conf:3:7: error: unknown stage 'rcpt_to' (did you mean 'rcpt'?) (stages: connect, helo, mail, rcpt, data, header, body, eom)",
            "s.conf:5:3: error: unknown verb 'rejct' (did you mean 'reject'?)",
            "s.conf:6:10: error: body is not available in stage mail",
            "s.conf:7:23: error: bad pattern: missing closing parenthesis",
            "s.conf:8:22: error: bad pattern: unknown pattern flag 'q' (use imsxu)",
            "s.conf:9:20: error: unknown list 'nowhere'",
            "s.conf:10:10: error: unknown field 'sendr' (did you mean 'sender'?)",
            "s.conf:11:23: error: reject needs a 5xx reply, not 450 (use defer for 4xx)",
            "s.conf:12:22: error: defer needs a 4xx reply, not 550 (use reject for 5xx)",
            "s.conf:13:23: error: enhanced code 4.7.1 does not match the reply class 550",
            "s.conf:14:3: error: 'reject' needs a reply text, e.g. \"550 5.7.1 Not accepted\"",
            "s.conf:16:14: error: expected a header value after 'X-A'",
        ])
    }

    @Test func ruleOutsideAStageIsAnError() {
        #expect(errors("reject sender = \"x\" \"550 5.7.1 no\"\n") == ["s.conf:1:1: error: rule 'reject' outside a stage (write 'stage NAME' first)"])
    }

    @Test func rulesThatCanNeverFireAreWarnedAbout() throws {
        let found = try warnings("""
            acknowledge open-relay
            stage helo
              reject "550 5.7.1 nobody"
              reject helo = "x" "550 5.7.1 never reached"
            """)
        #expect(found == ["s.conf:4:1: warning: this rule can never fire: the unconditional 'reject' at s.conf:3 ends stage helo first"])
    }

    @Test func aConfigurationWithoutRelayControlIsWarnedAboutUnlessAcknowledged() throws {
        let open = try warnings("upstream 127.0.0.1:25\n")
        #expect(open.count == 1)
        #expect(open.first?.contains("no relay control") == true)
        #expect(try warnings("acknowledge open-relay\n").isEmpty)
        #expect(try warnings("""
            list local domain { example.com }
            stage rcpt
              reject rcpt.domain not in local "554 5.7.1 Relay access denied"
            """).isEmpty)
    }

    @Test func continuationByIndentationJoinsARuleButNotAStageBody() throws {
        let configuration = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            stage mail
              reject sender ~ /@spam\\.example$/i
                  "550 5.7.1 Sender not accepted"
              reject sender = "x@y.z" \\
              "550 5.7.1 no"
            """, file: "c.conf")
        #expect(configuration.ruleSet.rules[.mail]?.count == 2)
    }
}
