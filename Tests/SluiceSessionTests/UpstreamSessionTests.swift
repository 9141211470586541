import NIOCore
import SluiceSMTP
import SluiceSession
import Testing

private let greeting = SMTPReply(code: 220, lines: ["mx.upstream ESMTP"])
private let ok = SMTPReply(code: 250, lines: ["2.0.0 Ok"])
private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

private func seconds(_ s: Double) -> NIODeadline { t0 + .nanoseconds(Int64(s * 1e9)) }

private func session(_ mode: UpstreamTLSMode = .none) -> UpstreamSession {
    var timeouts = UpstreamTimeouts()
    timeouts.connect = 30
    timeouts.command = 300
    timeouts.endOfData = 600
    var session = UpstreamSession(settings: .init(hostname: "sluice.test", tlsMode: mode, timeouts: timeouts))
    session.connecting(now: t0)
    session.connected()
    return session
}

/// A session past the greeting, relaying.
private func ready() -> UpstreamSession {
    var upstream = session()
    _ = upstream.received(greeting, now: t0)
    return upstream
}

private let plan = MessagePlan(hostname: "sluice.test", client: ClientIdentity(address: "192.0.2.1"),
                               greeting: Greeting(name: "c", extended: true), recipients: [])

@Suite struct UpstreamSessionTests {
    @Test func theGreetingIsDeliveredAsIsWithoutTLS() {
        var upstream = session()
        #expect(upstream.received(greeting, now: t0) == [.deliver(greeting)])
        #expect(upstream.deadline == nil)
    }

    @Test func starttlsIsNegotiatedBeforeTheGreetingReachesTheClient() {
        var upstream = session(.starttls)
        #expect(upstream.received(greeting, now: t0) == [.send(.ehlo("sluice.test"))])
        #expect(upstream.received(SMTPReply(code: 250, lines: ["mx", "PIPELINING", "starttls"]), now: t0) == [.send(.startTLS)])
        #expect(upstream.received(SMTPReply(code: 220, lines: ["2.0.0 Ready"]), now: t0) == [.startTLS])
        #expect(upstream.deadline == seconds(30), "the handshake is bounded by the connect timeout")
        #expect(upstream.handshakeCompleted() == [.deliver(greeting)], "the upstream's own greeting, held until TLS is up")
    }

    @Test func starttlsNotOfferedIsRelayedInPlaintextUnlessRequired() {
        var optional = session(.starttls)
        _ = optional.received(greeting, now: t0)
        #expect(optional.received(SMTPReply(code: 250, lines: ["mx", "STARTTLSX"]), now: t0) == [.deliver(greeting)],
                "STARTTLSX is not STARTTLS")
        var required = session(.starttlsRequired)
        _ = required.received(greeting, now: t0)
        let actions = required.received(SMTPReply(code: 250, lines: ["mx"]), now: t0)
        #expect(actions == [.fail(.protocolError("upstream does not offer STARTTLS")), .close])
        #expect(!required.isUsable)
    }

    @Test func aRefusingGreetingIsDeliveredForTheClientSessionToAnswer() {
        var upstream = session(.starttls)
        let refusal = SMTPReply(code: 554, lines: ["go away"])
        #expect(upstream.received(refusal, now: t0) == [.deliver(refusal)])
    }

    @Test func commandsWaitForTheCommandTimeoutAndTheMessageForTheEndOfDataTimeout() {
        var upstream = ready()
        #expect(upstream.relay(.command(.data), now: t0) == [.send(.data)])
        #expect(upstream.deadline == seconds(300))
        _ = upstream.received(SMTPReply(code: 354, lines: ["go"]), now: seconds(1))
        #expect(upstream.relay(.message(plan), now: seconds(1)) == [.sendMessage(plan)])
        #expect(upstream.deadline == seconds(601))
    }

    @Test func anOverdueReplyIsATimeoutOnce() {
        var upstream = ready()
        _ = upstream.relay(.command(.noop(nil)), now: t0)
        #expect(upstream.tick(now: seconds(299)) == [])
        #expect(upstream.tick(now: seconds(300)) == [.fail(.timedOut), .close])
        #expect(upstream.tick(now: seconds(301)) == [])
    }

    @Test func theGreetingMustComeWithinTheConnectTimeout() {
        var upstream = session()
        #expect(upstream.tick(now: seconds(29)) == [])
        #expect(upstream.tick(now: seconds(30)) == [.fail(.timedOut), .close])
    }

    @Test func itsOwnResetIsAnsweredSilentlyAndWhatFollowsWaitsForIt() {
        var upstream = ready()
        #expect(upstream.relay(.reset, now: t0) == [.send(.rset)])
        let mail = SMTPCommand.mail(.null, ESMTPParameters())
        #expect(upstream.relay(.command(mail), now: t0) == [], "queued behind the RSET")
        #expect(upstream.received(ok, now: t0) == [.send(mail)], "the RSET's reply is not delivered")
        #expect(upstream.received(ok, now: t0) == [.deliver(ok)])
    }

    @Test func closingOwesQuitUnlessTheClientsQuitWentAlready() {
        var idle = ready()
        #expect(idle.close() == [.quit])
        var quitting = ready()
        #expect(quitting.relay(.command(.quit), now: t0) == [.send(.quit)])
        #expect(quitting.close() == [.close])
        var unconnected = UpstreamSession(settings: .init(hostname: "h"))
        unconnected.connecting(now: t0)
        #expect(unconnected.close() == [.close])
    }

    @Test func aLostConnectionIsReportedOnceAndRefusesWhatFollows() {
        var upstream = ready()
        #expect(upstream.connectionLost(.closed) == [.fail(.closed)])
        #expect(upstream.connectionLost(.closed) == [])
        #expect(upstream.relay(.command(.noop(nil)), now: t0) == [.fail(.closed)])
    }

    @Test func anUnsolicitedReplyIsNotDelivered() {
        var upstream = ready()
        #expect(upstream.received(SMTPReply(code: 421, lines: ["bye"]), now: t0) == [])
    }
}
