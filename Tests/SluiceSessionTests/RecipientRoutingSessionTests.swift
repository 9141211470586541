import SluiceConfig
import SluicePolicy
import SluiceSMTP
import SluiceSession
import Testing

private let ok = SMTPReply(code: 250, enhanced: "2.0.0", "Ok")

private func command(_ line: String) -> SMTPCommand {
    (try? CommandParser.parse(Array(line.utf8))) ?? .unknown(verb: "?")
}

private func path(_ address: String) -> ForwardPath {
    guard case .rcpt(let path, _) = command("RCPT TO:<\(address)>") else { fatalError("bad test address") }
    return path
}

/// A session whose message rules decided `routing`: MAIL and one RCPT accepted upstream, DATA done.
private func decided(_ routing: RecipientRouting) -> (ClientSession, [SessionAction]) {
    var session = ClientSession(configuration: SessionConfiguration(hostname: "sluice.test", limits: Limits()))
    _ = session.settle(session.start())
    _ = session.upstreamReplied(SMTPReply(code: 220, lines: ["upstream ESMTP"]))
    _ = session.take(command("EHLO client"))
    _ = session.upstreamReplied(SMTPReply(code: 250, lines: ["upstream"]))
    _ = session.take(command("MAIL FROM:<a@b.c> SIZE=100"))
    _ = session.upstreamReplied(ok)
    _ = session.take(command("RCPT TO:<x@y.z>"))
    _ = session.upstreamReplied(ok)
    _ = session.take(.data)
    let asked = session.dataFinished(size: 10, fault: nil)
    #expect(asked.contains { if case .evaluate = $0 { return true } else { return false } })
    var decision = PolicyDecision(.proceed)
    decision.routing = routing
    let actions = session.policyDecided(decision)
    return (session, actions)
}

@Suite struct RecipientRoutingSessionTests {
    @Test func bccSendsItsRCPTThenDATA() {
        var (session, actions) = decided(RecipientRouting(bcc: [path("archive@b.c")]))
        #expect(actions == [.forward(command("RCPT TO:<archive@b.c>"))])
        #expect(session.upstreamReplied(ok) == [.forward(.data)])
        guard case .sendMessage(let plan) = session.upstreamReplied(SMTPReply(code: 354, lines: ["go"])).first else {
            Issue.record("no message sent"); return
        }
        #expect(plan.recipients == [path("x@y.z"), path("archive@b.c")])
    }

    @Test func redirectResetsAndOpensTheTransactionAgainWithTheSameMAIL() {
        var (session, actions) = decided(RecipientRouting(redirect: [path("quarantine@b.c")]))
        #expect(actions == [.resetUpstream, .forward(command("MAIL FROM:<a@b.c> SIZE=100"))])
        #expect(session.upstreamReplied(ok) == [.forward(command("RCPT TO:<quarantine@b.c>"))])
        #expect(session.upstreamReplied(ok) == [.forward(.data)])
        guard case .sendMessage(let plan) = session.upstreamReplied(SMTPReply(code: 354, lines: ["go"])).first else {
            Issue.record("no message sent"); return
        }
        #expect(plan.recipients == [path("quarantine@b.c")])
    }

    @Test func aRefusalOfARoutedRecipientIsA451AndNothingIsSent() {
        var (session, _) = decided(RecipientRouting(bcc: [path("archive@b.c")]))
        let actions = session.upstreamReplied(SMTPReply(code: 550, enhanced: "5.1.1", "no such user"))
        #expect(actions.first == .reply(.routingRefused))
        #expect(actions.contains(.discardMessage))
        #expect(actions.contains(.resetUpstream))
        #expect(!actions.contains(.forward(.data)))
        #expect(session.inputMode == .command)
    }

    @Test func theUpstreamFailingWhileRoutingIsA451() {
        var (session, _) = decided(RecipientRouting(bcc: [path("archive@b.c")]))
        let actions = session.upstreamFailed(.closed)
        #expect(actions.contains(.reply(.upstreamFailedInTransaction)))
        #expect(actions.contains(.discardMessage))
    }

    @Test func recipientsAreReplacedThenAddedWithoutDuplicates() {
        let routing = RecipientRouting(bcc: [path("a@b.c"), path("j@b.c")], redirect: [path("q@b.c")])
        #expect(routing.recipients(replacing: [path("x@y.z"), path("a@b.c")]) == [path("q@b.c"), path("a@b.c"), path("j@b.c")])
        #expect(RecipientRouting(bcc: [path("x@y.z")]).recipients(replacing: [path("x@y.z")]) == [path("x@y.z")])
    }
}
