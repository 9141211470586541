import SluiceConfig
import SluicePolicy
import SluiceSMTP
import Testing

private func errors(_ text: String) -> [String] {
    do {
        _ = try ConfigurationLoader.load(text: "acknowledge open-relay\n" + text, file: "c.conf")
        return []
    } catch {
        return error.diagnostics.filter { $0.severity == .error }.map(\.description)
    }
}

/// The content vocabulary of the rule language: decoded and raw fields, attachment facts, detectors,
/// `bcc` / `redirect`, and the inspection limits with their overflow settings.
@Suite struct ContentRuleConfigTests {
    @Test func contentFieldsAndDetectorsLoad() throws {
        let configuration = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            detector employee-id pcre /\\bE[0-9]{6}\\b/ validate none
            detector account pcre /\\b[0-9]{10}\\b/ validate luhn
            stage header
              reject header.raw "Subject" ~ /=\\?/ "550 5.7.1 no"
            stage body
              reject part.header "Content-Type" ~ /name=/ "550 5.7.1 no"
              reject body.raw ~ /x/ "550 5.7.1 no"
              reject attachment.name ~ /\\.exe$/i "550 5.7.1 no"
              reject attachment.magic = "executable" "554 5.7.1 no"
              reject attachment.type = "application/zip" and attachment.encrypted "554 5.7.1 no"
              reject attachment.size > 10M or mime.parts > 100 or mime.depth >= 10 "552 5.3.4 no"
              reject body has card-number or attachment has iban "550 5.7.1 no"
              reject count(employee-id) > 3 or count(account) >= 1 "550 5.7.1 no"
            stage eom
              bcc "archive@example.com"
              redirect "quarantine@example.com" tagged suspicious
            """, file: "c.conf")
        #expect(Set(configuration.ruleSet.detectors.map(\.name)) == ["card-number", "iban", "employee-id", "account"])
        #expect(configuration.detectors["account"]?.description == "account pcre /\\b[0-9]{10}\\b/ validate luhn")
        let eom = try #require(configuration.ruleSet.rules[.eom])
        #expect(eom.map(\.action.verb) == ["bcc", "redirect"])
    }

    @Test func contentErrorsPointAtTheirToken() {
        #expect(errors("""
            detector card-number pcre /x/
            detector id pcre /a(b/
            detector id2 pcre /x/ validate crc
            stage rcpt
              reject body has card-number "550 5.7.1 no"
              bcc "archive@example.com"
            stage body
              reject body has cardnumber "550 5.7.1 no"
              reject count(iban) ~ /x/ "550 5.7.1 no"
              reject attachment.size ~ /x/ "550 5.7.1 no"
            stage eom
              redirect "not an address"
            """) == [
            "c.conf:2:10: error: 'card-number' is a built-in detector",
            "c.conf:3:22: error: bad pattern: missing closing parenthesis",
            "c.conf:4:32: error: unknown validation 'crc' (use luhn, mod97 or none)",
            "c.conf:6:10: error: body is not available in stage rcpt",
            "c.conf:7:3: error: 'bcc' is only possible in stage header, body or eom (it is decided with the message)",
            "c.conf:9:19: error: unknown detector 'cardnumber' (did you mean 'card-number'?)",
            "c.conf:10:22: error: expected > < >= <= or = after count(iban), found '~'",
            "c.conf:11:26: error: attachment.size is a number: compare it with > < >= <= =",
            "c.conf:13:12: error: expected a mailbox in double quotes (\"archive@example.com\"), found 'not an address'",
        ])
    }

    @Test func limitsTakeOverflowSettings() throws {
        let configuration = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            limit header-size 2M
            limit body-inspection 512K overflow reject
            limit mime-parts 100 overflow defer
            limit mime-depth 8
            limit attachment-scan 4M
            limit archive-members 50
            """, file: "c.conf")
        let limits = configuration.limits
        #expect(limits.headerWindow == 2 << 20)
        #expect(limits.bodyInspection == 512 << 10 && limits.bodyInspectionOverflow == .reject)
        #expect(limits.mimeParts == 100 && limits.mimePartsOverflow == .defer)
        #expect(limits.mimeDepth == 8 && limits.mimeDepthOverflow == .pass)
        #expect(limits.attachmentScan == 4 << 20 && limits.archiveMembers == 50)
        #expect(errors("limit message-size 10M overflow reject\nlimit mime-parts 10 overflow drop\n") == [
            "c.conf:2:24: error: only body-inspection, mime-parts and mime-depth take 'overflow'",
            "c.conf:3:30: error: overflow is pass, defer or reject, not 'drop'",
        ])
    }

    @Test func defaultsAreWhatAnAdministratorExpects() {
        let limits = Limits()
        #expect(limits.headerWindow == 1 << 20)
        #expect(limits.bodyInspection == 1 << 20 && limits.bodyInspectionOverflow == .pass)
        #expect(limits.mimeParts == 500 && limits.mimeDepth == 20)
    }
}
