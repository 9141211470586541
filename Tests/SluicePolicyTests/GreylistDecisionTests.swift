import SluicePolicy
import SluiceSMTP
import Testing

@Suite struct GreylistDecisionTests {
    let settings = GreylistSettings()

    /// Runs contacts at the given times (seconds after t0) and returns the decisions.
    func decisions(at times: [Int64]) -> [GreylistDecision] {
        var entry: GreylistEntry?
        return times.map { offset in
            let now = 1_000_000 + offset
            let next = Greylist.transition(entry, now: now, settings: settings)
            entry = next
            return Greylist.decision(next, now: now, settings: settings)
        }
    }

    @Test func firstContactIsDeferredWithTheTimeToWait() {
        #expect(decisions(at: [0]) == [.deferred(retryAfter: 300)])
    }

    @Test func retryBeforeTheDelayIsDeferredAgain() {
        #expect(decisions(at: [0, 120]) == [.deferred(retryAfter: 300), .deferred(retryAfter: 180)])
    }

    @Test func retryAfterTheDelayWithinTheWindowPassesAndIsRemembered() {
        #expect(decisions(at: [0, 300, 301 + 86400 * 30]) == [.deferred(retryAfter: 300), .pass, .pass])
    }

    @Test func passedKeyIsForgottenAfterExpireWithoutContact() {
        let expire = settings.expire
        #expect(decisions(at: [0, 400, 400 + expire + 1]) == [.deferred(retryAfter: 300), .pass, .deferred(retryAfter: 300)])
    }

    @Test func eachPassRefreshesTheExpiry() {
        let expire = settings.expire
        #expect(decisions(at: [0, 400, 400 + expire - 10, 400 + 2 * expire - 20]) == [.deferred(retryAfter: 300), .pass, .pass, .pass])
    }

    @Test func keyNotRetriedWithinTheWindowStartsOver() {
        #expect(decisions(at: [0, 48 * 3600 + 1]) == [.deferred(retryAfter: 300), .deferred(retryAfter: 300)])
    }

    @Test func keyUsesTheNetworkNormalisedSenderAndLowerCasedRecipient() throws {
        func key(_ client: String, _ from: String, _ to: String) throws -> GreylistKey {
            guard case .mail(let sender, _) = try CommandParser.parse(Array("MAIL FROM:<\(from)>".utf8)),
                  case .rcpt(let recipient, _) = try CommandParser.parse(Array("RCPT TO:<\(to)>".utf8)) else { throw CommandParser.Error("") }
            return Greylist.key(client: IPAddress(client)!, sender: sender, recipient: recipient, settings: settings)
        }
        #expect(try key("192.0.2.77", "Alice+News@Example.ORG", "Bob@Example.com")
                == GreylistKey(network: "192.0.2.0/24", sender: "alice@example.org", recipient: "bob@example.com"))
        #expect(try key("2001:db8:1:2:aaaa::1", "", "bob@example.com")
                == GreylistKey(network: "2001:db8:1:2::/64", sender: "<>", recipient: "bob@example.com"))
        var keep = settings
        keep.normalizeSubaddress = false
        guard case .mail(let sender, _) = try CommandParser.parse(Array("MAIL FROM:<a+b@x.example>".utf8)),
              case .rcpt(let recipient, _) = try CommandParser.parse(Array("RCPT TO:<c@y.example>".utf8)) else { return }
        #expect(Greylist.key(client: IPAddress("10.0.0.1")!, sender: sender, recipient: recipient, settings: keep).sender == "a+b@x.example")
    }

    @Test func deferralReplySaysWhenToRetry() {
        #expect(Greylist.reply(180, settings: settings) == SMTPReply(code: 451, enhanced: "4.7.1", "Greylisted, please try again in 180 seconds"))
    }
}
