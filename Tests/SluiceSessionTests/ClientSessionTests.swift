import Foundation
import SluiceConfig
import SluicePolicy
import SluiceSMTP
import SluiceSession
import Testing

extension ClientSession {
    /// `actions` with every command-stage `.evaluate` answered as the pipeline answers it without a
    /// greylist store or DNS: by the pure steps (relay hygiene, the rules).
    mutating func settle(_ actions: [SessionAction]) -> [SessionAction] {
        var result: [SessionAction] = []
        for action in actions {
            guard case .evaluate(let request) = action,
                  case .decided(let decision) = PolicySteps.rules(request, configuration.ruleSet, greylist: configuration.greylist)
            else { result.append(action); continue }
            result += settle(policyDecided(decision))
        }
        return result
    }

    /// A command, with its policy step answered.
    mutating func take(_ command: SMTPCommand) -> [SessionAction] { settle(received(command)) }
}

private let ok = SMTPReply(code: 250, enhanced: "2.0.0", "Ok")

private func command(_ line: String) -> SMTPCommand {
    (try? CommandParser.parse(Array(line.utf8))) ?? .unknown(verb: "?")
}

private func replies(_ actions: [SessionAction]) -> [Int] {
    actions.compactMap { if case .reply(let reply) = $0 { return reply.code } else { return nil } }
}

/// A session past the greeting and EHLO.
private func greetedSession(_ limits: Limits = Limits()) -> ClientSession {
    var session = ClientSession(configuration: SessionConfiguration(hostname: "sluice.test", limits: limits))
    _ = session.settle(session.start())
    _ = session.upstreamReplied(SMTPReply(code: 220, lines: ["upstream ESMTP"]))
    _ = session.take(command("EHLO client"))
    _ = session.upstreamReplied(SMTPReply(code: 250, lines: ["upstream", "SIZE 1000000"]))
    return session
}

/// A greeted session with MAIL FROM:<a@b.c> and RCPT TO:<x@y.z> accepted upstream.
private func sessionWithRecipient(_ limits: Limits = Limits()) -> ClientSession {
    var session = greetedSession(limits)
    _ = session.take(command("MAIL FROM:<a@b.c>"))
    _ = session.upstreamReplied(ok)
    _ = session.take(command("RCPT TO:<x@y.z>"))
    _ = session.upstreamReplied(ok)
    return session
}

/// A session whose message is on its way upstream (the upstream said 354).
private func sessionSendingTheMessage() -> ClientSession {
    var session = sessionWithRecipient()
    _ = session.take(.data)
    _ = session.settle(session.dataFinished(size: 10, fault: nil))
    _ = session.upstreamReplied(SMTPReply(code: 354, lines: ["go"]))
    return session
}

@Suite struct ClientSessionTests {
    @Test func greetingNamesSluice() {
        var session = ClientSession(configuration: SessionConfiguration(hostname: "sluice.test"))
        _ = session.settle(session.start())
        let actions = session.upstreamReplied(SMTPReply(code: 220, lines: ["mx.upstream ESMTP Postfix"]))
        #expect(actions == [.reply(SMTPReply(code: 220, lines: ["sluice.test ESMTP Postfix"]))])
    }

    @Test func upstreamRefusingTheGreetingGives421AndClose() {
        var session = ClientSession(configuration: SessionConfiguration(hostname: "h"))
        _ = session.settle(session.start())
        let actions = session.upstreamReplied(SMTPReply(code: 554, lines: ["go away"]))
        #expect(replies(actions) == [421])
        #expect(actions.last == .close(.upstream))
    }

    @Test func sequenceErrorsAreAnsweredWithoutTheUpstream() {
        var session = ClientSession(configuration: SessionConfiguration(hostname: "h"))
        _ = session.settle(session.start())
        _ = session.upstreamReplied(SMTPReply(code: 220, lines: ["x"]))
        #expect(session.take(command("MAIL FROM:<a@b.c>")) == [.reply(.needHelo)])
        #expect(session.take(command("RCPT TO:<a@b.c>")) == [.reply(.needMail)])
        #expect(session.take(command("DATA")) == [.reply(.needMail)])
        #expect(session.take(command("FOO")) == [.reply(.unknownCommand)])
        #expect(session.take(command("STARTTLS")) == [.reply(.commandNotImplemented)])
    }

    @Test func dataWithoutAcceptedRecipientIs503() {
        var session = greetedSession()
        _ = session.take(command("MAIL FROM:<a@b.c>"))
        _ = session.upstreamReplied(ok)
        _ = session.take(command("RCPT TO:<x@y.z>"))
        _ = session.upstreamReplied(SMTPReply(code: 550, lines: ["5.1.1 no such user"]))
        #expect(session.take(command("DATA")) == [.reply(.needRecipient)])
    }

    @Test func messageGoesUpstreamOnlyAfterTheFinalDotAndTheClientGetsTheUpstreamsReply() {
        var session = greetedSession()
        #expect(session.take(command("MAIL FROM:<a@b.c> SIZE=100")) == [.forward(command("MAIL FROM:<a@b.c> SIZE=100"))])
        _ = session.upstreamReplied(ok)
        _ = session.take(command("RCPT TO:<x@y.z>"))
        _ = session.upstreamReplied(ok)
        #expect(session.take(.data) == [.reply(.startMailInput), .receiveMessage(MessageLimits(maxLineLength: 8192, maxSize: 1000000, bareLineEndings: .reject))])
        #expect(session.inputMode == .data)
        #expect(session.settle(session.dataFinished(size: 10, fault: nil)) == [.forward(.data)])
        let afterGoAhead = session.upstreamReplied(SMTPReply(code: 354, lines: ["go"]))
        guard case .sendMessage(let plan) = afterGoAhead.first else { Issue.record("no sendMessage"); return }
        #expect(plan.recipients.map(\.description) == ["<x@y.z>"])
        let final = session.upstreamReplied(SMTPReply(code: 250, lines: ["2.0.0 queued as X"]))
        #expect(final.first == .reply(SMTPReply(code: 250, lines: ["2.0.0 queued as X"])))
        #expect(session.inputMode == .command)
    }

    @Test func upstreamFailureDuringTheTransactionIs451NeverAnAcknowledgement() {
        var session = sessionSendingTheMessage()
        let actions = session.upstreamFailed(.closed)
        #expect(replies(actions) == [451])
        #expect(actions.contains(.discardMessage))
        // The session cannot go on: the next command gets 421, QUIT gets 221.
        var copy = session
        #expect(replies(copy.take(command("MAIL FROM:<a@b.c>"))) == [421])
        #expect(replies(session.take(.quit)) == [221])
    }

    @Test func upstreamTimeoutAtTheFinalDotIs451WithTimeoutCode() {
        var session = sessionSendingTheMessage()
        #expect(session.upstreamFailed(.timedOut).first == .reply(.upstreamTimedOut))
    }

    @Test func refusedContentResetsTheUpstreamTransactionSilently() {
        var session = sessionWithRecipient()
        _ = session.take(.data)
        let actions = session.dataFinished(size: 10, fault: .bareLF)
        #expect(replies(actions) == [554])
        #expect(actions.last == .resetUpstream, "the upstream session resets and answers its own RSET")
        #expect(session.inputMode == .command)
    }

    @Test func declaredSizeOverTheLimitIs552AtMail() {
        var limits = Limits()
        limits.messageSize = 5000
        var session = greetedSession(limits)
        #expect(session.take(command("MAIL FROM:<a@b.c> SIZE=5001")) == [.reply(.declaredSizeTooBig)])
        #expect(session.messageSizeLimit == 5000)
    }

    @Test func recipientLimitIs452() {
        var limits = Limits()
        limits.recipients = 1
        var session = greetedSession(limits)
        _ = session.take(command("MAIL FROM:<a@b.c>"))
        _ = session.upstreamReplied(ok)
        _ = session.take(command("RCPT TO:<x@y.z>"))
        _ = session.upstreamReplied(ok)
        #expect(session.take(command("RCPT TO:<w@y.z>")) == [.reply(.tooManyRecipients)])
    }

    @Test func tooManyErrorsCloseTheSessionWith421() {
        var limits = Limits()
        limits.errors = 2
        var session = greetedSession(limits)
        _ = session.take(command("FOO"))
        _ = session.take(command("FOO"))
        let actions = session.take(command("FOO"))
        #expect(replies(actions) == [500, 421])
        #expect(actions.last == .close(.errors))
    }

    @Test func shutdownWaitsForAPendingUpstreamReplyThenSays421() {
        var session = greetedSession()
        _ = session.take(command("MAIL FROM:<a@b.c>"))
        #expect(session.shutdownRequested() == [])
        let actions = session.upstreamReplied(ok)
        #expect(replies(actions) == [250, 421])
        #expect(actions.last == .close(.shutdown))
        var idle = greetedSession()
        #expect(replies(idle.shutdownRequested()) == [421])
    }

    @Test func rsetAndANewEhloDropTheTransaction() {
        var session = greetedSession()
        _ = session.take(command("MAIL FROM:<a@b.c>"))
        _ = session.upstreamReplied(ok)
        #expect(session.take(.rset) == [.forward(.rset)])
        _ = session.upstreamReplied(ok)
        #expect(session.take(command("RCPT TO:<x@y.z>")) == [.reply(.needMail)])
        _ = session.take(command("MAIL FROM:<a@b.c>"))
        _ = session.upstreamReplied(ok)
        _ = session.take(command("EHLO again"))
        _ = session.upstreamReplied(SMTPReply(code: 250, lines: ["up"]))
        #expect(session.take(command("RCPT TO:<x@y.z>")) == [.reply(.needMail)])
    }

    /// The upstream may go away while the content rules run on the thread pool: the client still gets
    /// an answer for its message (never silence), and nothing more is sent upstream.
    @Test(arguments: [("", 451, TransactionOutcome.Status.failed),
                      ("reject body ~ /forbidden/ \"550 5.7.1 No\"", 550, .refused),
                      ("discard body ~ /forbidden/", 250, .discarded)])
    func upstreamLostDuringContentInspectionIsAnswered(rule: String, code: Int, status: TransactionOutcome.Status) throws {
        let rules = try ConfigurationLoader.load(text: """
            stage body
              \(rule.isEmpty ? "log \"seen\" body ~ /forbidden/" : rule)
            """, file: "t.conf").ruleSet
        var session = ClientSession(configuration: SessionConfiguration(hostname: "h", ruleSet: rules))
        _ = session.settle(session.start())
        _ = session.upstreamReplied(SMTPReply(code: 220, lines: ["upstream ESMTP"]))
        _ = session.take(command("EHLO client"))
        _ = session.upstreamReplied(SMTPReply(code: 250, lines: ["upstream"]))
        _ = session.take(command("MAIL FROM:<a@b.c>"))
        _ = session.upstreamReplied(ok)
        _ = session.take(command("RCPT TO:<x@y.z>"))
        _ = session.upstreamReplied(ok)
        _ = session.take(.data)
        let finished = session.dataFinished(size: 40, fault: nil)
        guard case .evaluate(let request)? = finished.first, request.point == .message else {
            Issue.record("expected the message rules to be asked: \(finished)")
            return
        }
        #expect(session.upstreamFailed(.closed).isEmpty, "answered when the decision is in")
        var content = request
        content.facts.addMessage(wire: Array("Subject: t\r\n\r\nforbidden\r\n".utf8), bodyLimit: 1 << 20)
        guard case .decided(let decision) = PolicySteps.rules(content, rules, greylist: GreylistSettings()) else {
            Issue.record("no decision")
            return
        }
        let actions = session.policyDecided(decision)
        #expect(replies(actions) == [code])
        #expect(actions.contains(.discardMessage))
        #expect(!actions.contains { if case .forward = $0 { return true } else { return false } }, "nothing goes upstream")
        #expect(actions.contains { if case .outcome(let outcome) = $0 { return outcome.status == status } else { return false } })
        #expect(session.take(command("MAIL FROM:<a@b.c>")).contains(.close(.upstream)), "the session cannot go on without its upstream")
    }

    @Test func clientNameComesFromThePipelineWithTheConnectDecision() throws {
        let rules = try ConfigurationLoader.load(text: """
            acknowledge open-relay
            stage connect
              reject client.name ~ /\\.dynamic\\./ "554 5.7.1 Dynamic address"
            """, file: "t.conf").ruleSet
        var session = ClientSession(configuration: SessionConfiguration(hostname: "h", ruleSet: rules), clientAddress: "198.51.100.9")
        guard case .evaluate(let request)? = session.start().first else { Issue.record("no connect request"); return }
        // The pipeline looks the name up (the rules use it) and reports it with the decision.
        var named = request
        named.facts.clientName = "host-9.dynamic.isp.example"
        guard case .decided(var decision) = PolicySteps.rules(named, rules, greylist: GreylistSettings()) else { return }
        decision.clientName = "host-9.dynamic.isp.example"
        #expect(replies(session.policyDecided(decision)) == [554])
        var unnamed = ClientSession(configuration: SessionConfiguration(hostname: "h", ruleSet: rules), clientAddress: "198.51.100.9")
        #expect(unnamed.settle(unnamed.start()) == [.connectUpstream])
        #expect(rules.usesClientName, "the pipeline's reverse DNS step runs only when a rule uses client.name")
        #expect(!RuleSet.empty.usesClientName)
    }

    @Test(arguments: [
        ("CRAM-MD5", "", "alice 3f1b2c", "alice"),
        ("XOAUTH2", "dXNlcj1ib2JAZXhhbXBsZS5jb20BYXV0aD1CZWFyZXIgeHl6AQE=", "", "bob@example.com"),
        ("LOGIN", "", "carol", "carol"),
    ])
    func authExchangesAreRelayedAndNameTheUser(_ mechanism: String, _ initial: String, _ response: String, _ user: String) {
        var session = ClientSession(configuration: SessionConfiguration(hostname: "s"), tlsActive: true)
        _ = session.settle(session.start())
        _ = session.upstreamReplied(SMTPReply(code: 220, lines: ["x"]))
        _ = session.take(command("EHLO c"))
        let ehlo = session.upstreamReplied(SMTPReply(code: 250, lines: ["up", "AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2"]))
        #expect(ehlo.first.map { if case .reply(let r) = $0 { return r.lines.contains("AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2") } else { return false } } == true)
        let auth = command(initial.isEmpty ? "AUTH \(mechanism)" : "AUTH \(mechanism) \(initial)")
        #expect(session.take(auth) == [.forward(auth)])
        if !response.isEmpty {
            #expect(session.upstreamReplied(SMTPReply(code: 334, lines: ["PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+"])).count == 1)
            #expect(session.inputMode == .authResponse)
            let encoded = Data(response.utf8).base64EncodedString()
            #expect(session.receivedAuthResponse(encoded) == [.forwardAuthResponse(encoded)])
        }
        _ = session.upstreamReplied(SMTPReply(code: 235, lines: ["2.7.0 ok"]))
        #expect(session.authUser == user)
        #expect(session.take(auth) == [.reply(.alreadyAuthenticated)])
    }

    @Test func idleTimeoutIs421() {
        var session = greetedSession()
        let actions = session.clientTimedOut()
        #expect(actions == [.reply(.idleTimeout("sluice.test")), .close(.timeout)])
    }

    @Test func ehloReplyAdvertisesTheSmallerSize() {
        var limits = Limits()
        limits.messageSize = 2_000_000
        var session = ClientSession(configuration: SessionConfiguration(hostname: "s", limits: limits))
        _ = session.settle(session.start())
        _ = session.upstreamReplied(SMTPReply(code: 220, lines: ["x"]))
        _ = session.take(command("EHLO c"))
        let actions = session.upstreamReplied(SMTPReply(code: 250, lines: ["up", "SIZE 1000000", "STARTTLS"]))
        #expect(actions == [.reply(SMTPReply(code: 250, lines: ["s", "PIPELINING", "SIZE 1000000"]))])
    }
}
