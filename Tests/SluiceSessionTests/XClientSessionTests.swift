import NIOCore
import SluiceConfig
import SluicePolicy
import SluiceSMTP
import SluiceSession
import Testing

private let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
private let greeting = SMTPReply(code: 220, lines: ["mx.upstream ESMTP"])
private let ok = SMTPReply(code: 250, lines: ["2.0.0 Ok"])

private func parse(_ line: String) throws -> SMTPCommand { try CommandParser.parse(Array(line.utf8)) }

private func replies(_ actions: [SessionAction]) -> [SMTPReply] {
    actions.compactMap { if case .reply(let reply) = $0 { return reply } else { return nil } }
}

/// A session from `address` past its greeting and EHLO, with XCLIENT allowed from 127.0.0.0/8.
private func greetedSession(from address: String = "127.0.0.1", rules: String = "") throws -> ClientSession {
    var configuration = SessionConfiguration(hostname: "sluice.test")
    configuration.xclientFrom = [CIDR("127.0.0.0/8")!]
    if !rules.isEmpty { configuration.ruleSet = try ConfigurationLoader.load(text: rules, file: "x.conf").ruleSet }
    var session = ClientSession(configuration: configuration, client: ClientIdentity(address: address, port: 40000, sessionID: "S"))
    _ = session.settle(session.start())
    _ = session.upstreamReplied(SMTPReply(code: 220, lines: ["upstream ESMTP"]))
    _ = session.take(try parse("EHLO front.example"))
    _ = session.upstreamReplied(SMTPReply(code: 250, lines: ["upstream", "XCLIENT NAME ADDR", "SIZE 1000000"]))
    return session
}

@Suite struct XClientParsingTests {
    @Test func attributesAreParsedAndXtextDecoded() throws {
        #expect(try parse("xclient addr=203.0.113.7 NAME=mail.example.net HELO=a+20b PORT=4711") == .xclient([
            XClientAttribute("ADDR", "203.0.113.7"), XClientAttribute("NAME", "mail.example.net"),
            XClientAttribute("HELO", "a b"), XClientAttribute("PORT", "4711"),
        ]))
        #expect(try parse("XCLIENT ADDR=IPV6:2001:db8::1 NAME=[TEMPUNAVAIL] LOGIN=[UNAVAILABLE]") == .xclient([
            XClientAttribute("ADDR", "IPV6:2001:db8::1"), XClientAttribute("NAME", "[TEMPUNAVAIL]"), XClientAttribute("LOGIN", "[UNAVAILABLE]"),
        ]))
    }

    @Test func postfixsErrorsForBadAttributes() {
        func detail(_ line: String) -> String? {
            do { _ = try parse(line); return nil } catch { return (error as? CommandParser.Error)?.detail }
        }
        #expect(detail("XCLIENT") == "Syntax: XCLIENT attribute=value...")
        #expect(detail("XCLIENT FOO=bar") == "Bad XCLIENT attribute name: FOO")
        #expect(detail("XCLIENT ADDR=not-an-ip") == "Bad ADDR syntax: not-an-ip")
        #expect(detail("XCLIENT NAME=1.2.3.4") == "Bad NAME syntax: 1.2.3.4")
        #expect(detail("XCLIENT PORT=70000") == "Bad PORT syntax: 70000")
        #expect(detail("XCLIENT HELO=a+2") == "Bad XCLIENT HELO syntax")
    }

    @Test func theWireFormIsXtextEncoded() {
        let command = SMTPCommand.xclient([XClientAttribute("HELO", "a b+c=d"), XClientAttribute("ADDR", "192.0.2.1")])
        #expect(command.wireLine == "XCLIENT HELO=a+20b+2Bc+3Dd ADDR=192.0.2.1")
    }
}

@Suite struct XClientSessionTests {
    @Test func anAuthorisedClientIsOfferedXCLIENTAndOthersAreNot() throws {
        var configuration = SessionConfiguration(hostname: "h")
        configuration.xclientFrom = [CIDR("127.0.0.0/8")!]
        for (address, offered) in [("127.0.0.1", true), ("192.0.2.9", false)] {
            var session = ClientSession(configuration: configuration, client: ClientIdentity(address: address))
            _ = session.settle(session.start())
            _ = session.upstreamReplied(greeting)
            _ = session.take(try parse("EHLO c"))
            let reply = replies(session.upstreamReplied(SMTPReply(code: 250, lines: ["upstream", "XCLIENT NAME ADDR HELO"])))[0]
            #expect(reply.lines.contains(EHLOCapabilities.xclientOffer) == offered, "\(address): \(reply.lines)")
            #expect(!reply.lines.contains("XCLIENT NAME ADDR HELO"), "the upstream's own offer is never relayed")
        }
    }

    @Test func anUnlistedClientGets550AndInATransaction503() throws {
        var stranger = try greetedSession(from: "192.0.2.9")
        #expect(replies(stranger.take(try parse("XCLIENT ADDR=203.0.113.7"))).map(\.code) == [550])
        var session = try greetedSession()
        _ = session.take(try parse("MAIL FROM:<a@b.example>"))
        _ = session.upstreamReplied(ok)
        #expect(replies(session.take(try parse("XCLIENT ADDR=203.0.113.7"))).map(\.code) == [503])
    }

    /// Postfix's semantics: the named client replaces the connection's, the connect stage runs for it,
    /// a new 220 follows, and the client must say EHLO again.
    @Test func theNamedClientReplacesTheConnectionsAndIsGreetedAgain() throws {
        var session = try greetedSession()
        let actions = session.received(try parse("XCLIENT ADDR=203.0.113.7 NAME=mail.example.net PORT=4711 HELO=real.example LOGIN=alice"))
        guard case .evaluate(let request)? = actions.last else { Issue.record("no connect stage: \(actions)"); return }
        #expect(request.point == .connect)
        #expect(request.facts.clientText == "203.0.113.7" && request.facts.clientName == "mail.example.net")
        let greeted = session.settle(actions)
        #expect(replies(greeted).map(\.code) == [220])
        #expect(session.client.address == "203.0.113.7" && session.client.port == 4711 && session.client.name == "mail.example.net")
        #expect(session.client.xclientHelo == "real.example" && session.authUser == "alice")
        #expect(replies(session.take(try parse("MAIL FROM:<a@b.example>"))).map(\.code) == [503], "EHLO again first")
        // The new client is not on the list: no second XCLIENT.
        #expect(replies(session.take(try parse("XCLIENT ADDR=198.51.100.1"))).map(\.code) == [550])
    }

    @Test func theConnectStageCanRefuseTheNamedClient() throws {
        var session = try greetedSession(rules: "list banned cidr { 203.0.113.0/24 }\nstage connect\n  reject client in banned \"554 5.7.1 banned\"\n")
        let actions = session.take(try parse("XCLIENT ADDR=203.0.113.7"))
        #expect(replies(actions).map(\.code) == [554])
        #expect(actions.last == .close(.policy))
    }

    @Test func unavailableValuesClearWhatTheyName() throws {
        var session = try greetedSession()
        _ = session.take(try parse("XCLIENT ADDR=[UNAVAILABLE] NAME=[TEMPUNAVAIL]"))
        #expect(session.client.address == "unknown" && session.client.ip == nil && session.client.name == nil)
    }
}

/// Toward the upstream: Sluice introduces the real client before the client's EHLO (XCLIENT) or
/// before each MAIL (XFORWARD), learning once what the upstream offers.
@Suite struct UpstreamIntroductionTests {
    private let introduction = ClientIntroduction(
        client: { var c = ClientIdentity(address: "203.0.113.7", port: 4711, sessionID: "ABCDEFGHJKLM"); c.name = "mail.example.net"; return c }(),
        greeting: Greeting(name: "real.example", extended: true))

    private func upstream(_ support: IntroductionSupport = IntroductionSupport(), introduce: Bool = true) -> UpstreamSession {
        var session = UpstreamSession(settings: .init(hostname: "sluice.test", introduce: introduce, support: support))
        session.connecting(now: t0)
        session.connected()
        _ = session.received(greeting, now: t0)
        return session
    }

    private var xclient: SMTPCommand {
        .xclient([XClientAttribute("ADDR", "203.0.113.7"), XClientAttribute("NAME", "mail.example.net"), XClientAttribute("PORT", "4711"),
                  XClientAttribute("HELO", "real.example"), XClientAttribute("PROTO", "ESMTP")])
    }

    @Test func unknownSupportIsProbedWithSluicesOwnEhloThenXCLIENTThenTheClientsEhlo() {
        var session = upstream()
        let ehlo = SMTPCommand.ehlo("real.example")
        #expect(session.relay(.greet(ehlo, introduction), now: t0) == [.send(.ehlo("sluice.test"))])
        let offers = SMTPReply(code: 250, lines: ["mx", "XCLIENT NAME ADDR PROTO HELO PORT", "XFORWARD NAME ADDR"])
        #expect(session.received(offers, now: t0) == [.learned(IntroductionSupport(xclient: true, xforward: true)), .send(xclient)])
        #expect(xclient.wireLine == "XCLIENT ADDR=203.0.113.7 NAME=mail.example.net PORT=4711 HELO=real.example PROTO=ESMTP")
        #expect(session.received(SMTPReply(code: 220, lines: ["mx ESMTP"]), now: t0) == [.send(ehlo)], "XCLIENT's 220 is not relayed")
        let reply = SMTPReply(code: 250, lines: ["mx", "SIZE 10"])
        #expect(session.received(reply, now: t0) == [.deliver(reply)], "no learning from the introduced client's EHLO reply")
        // A second EHLO of the same client: no second XCLIENT.
        #expect(session.relay(.greet(ehlo, introduction), now: t0) == [.send(ehlo)])
    }

    @Test func knownSupportSkipsTheProbe() {
        var session = upstream(IntroductionSupport(xclient: true, xforward: false))
        #expect(session.relay(.greet(.ehlo("real.example"), introduction), now: t0) == [.send(xclient)])
    }

    @Test func aRefusedXCLIENTIsLearnedAndTheEhloGoesOn() {
        var session = upstream(IntroductionSupport(xclient: true, xforward: false))
        _ = session.relay(.greet(.ehlo("real.example"), introduction), now: t0)
        let refused = SMTPReply(code: 550, enhanced: "5.7.0", "Error: insufficient authorization")
        #expect(session.received(refused, now: t0) == [.learned(IntroductionSupport(xclient: false, xforward: false, xclientRefused: true)),
                                                       .send(.ehlo("real.example"))])
        // smtp-sink lists XCLIENT to everyone and answers it 250: later EHLO replies do not turn it back on.
        let reply = SMTPReply(code: 250, lines: ["mx", "XCLIENT NAME HELO", "XFORWARD NAME ADDR"])
        #expect(session.received(reply, now: t0) == [.learned(IntroductionSupport(xclient: false, xforward: true, xclientRefused: true)), .deliver(reply)])
        var next = upstream(IntroductionSupport(xclient: false, xforward: true, xclientRefused: true))
        #expect(next.relay(.greet(.ehlo("real.example"), introduction), now: t0) == [.send(.ehlo("real.example"))])
        #expect(next.received(reply, now: t0) == [.deliver(reply)], "nothing new learned")
    }

    @Test func xforwardOnlyGoesBeforeEachMail() {
        var session = upstream(IntroductionSupport(xclient: false, xforward: true))
        #expect(session.relay(.greet(.ehlo("real.example"), introduction), now: t0) == [.send(.ehlo("real.example"))])
        _ = session.received(SMTPReply(code: 250, lines: ["mx", "XFORWARD NAME ADDR"]), now: t0)
        let mail = SMTPCommand.mail(.null, ESMTPParameters())
        let actions = session.relay(.command(mail), now: t0)
        guard case .send(.xforward(let attributes))? = actions.first else { Issue.record("\(actions)"); return }
        #expect(attributes.contains(XClientAttribute("IDENT", "ABCDEFGHJKLM")) && attributes.contains(XClientAttribute("SOURCE", "REMOTE")))
        #expect(session.received(ok, now: t0) == [.send(mail)], "XFORWARD's 250 is not relayed")
        #expect(session.received(ok, now: t0) == [.deliver(ok)])
    }

    @Test func withPipeliningXforwardGoesInOneWriteWithItsMail() {
        var session = upstream(IntroductionSupport(xclient: false, xforward: true, pipelining: true))
        _ = session.relay(.greet(.ehlo("real.example"), introduction), now: t0)
        _ = session.received(SMTPReply(code: 250, lines: ["mx", "PIPELINING", "XFORWARD NAME ADDR"]), now: t0)
        let mail = SMTPCommand.mail(.null, ESMTPParameters())
        let actions = session.relay(.command(mail), now: t0)
        #expect(actions.count == 2 && actions.last == .send(mail), "\(actions)")
        #expect(session.received(ok, now: t0) == [], "XFORWARD's 250 is absorbed")
        let accepted = SMTPReply(code: 250, lines: ["2.1.0 Ok"])
        #expect(session.received(accepted, now: t0) == [.deliver(accepted)])
    }

    @Test func offTurnsItOff() {
        var session = upstream(IntroductionSupport(xclient: true, xforward: true), introduce: false)
        #expect(session.relay(.greet(.ehlo("real.example"), introduction), now: t0) == [.send(.ehlo("real.example"))])
    }

    @Test func anEhloReplyThatStopsOfferingXCLIENTIsLearned() {
        var session = upstream(IntroductionSupport(xclient: false, xforward: false))
        _ = session.relay(.greet(.ehlo("c"), introduction), now: t0)
        let reply = SMTPReply(code: 250, lines: ["mx", "XCLIENT ADDR"])
        #expect(session.received(reply, now: t0) == [.learned(IntroductionSupport(xclient: true, xforward: false)), .deliver(reply)])
    }
}
