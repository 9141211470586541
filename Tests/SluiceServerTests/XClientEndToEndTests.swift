import Foundation
import SluicePolicy
import SluiceServer
import SluiceTestSupport
import Testing

/// XCLIENT both ways with real peers: swaks sends XCLIENT to Sluice (`xclient from`), and a real
/// Postfix behind Sluice logs the client Sluice introduced with XCLIENT (or XFORWARD).
@Suite struct XClientEndToEndTests {
    static let swaksXCLIENT = ["--xclient-addr", "203.0.113.7", "--xclient-name", "mail.example.net", "--xclient-helo", "real.helo.example",
                               "--xclient-port", "4711"]

    private func withRelay(upstreamPort: Int, rules: String = "", introduce: Bool = false, xclientFrom: [String] = ["127.0.0.0/8"],
                           _ body: (TestServer) async throws -> Void) async throws {
        let sluice = try await TestServer.start(upstreamPort: upstreamPort) { configuration in
            if !rules.isEmpty { try? configuration.apply(rules: rules) }
            configuration.session.xclientFrom = xclientFrom.compactMap(CIDR.init)
            configuration.session.introduceClient = introduce
        }
        try await body(sluice)
        await sluice.stop()
    }

    @Test func swaksXCLIENTReplacesTheClientForRulesAndTheTraceHeader() async throws {
        let upstream = try await ScriptedUpstream.start()
        try await withRelay(upstreamPort: upstream.port,
                            rules: "list banned cidr { 198.51.100.66 }\nstage connect\n  reject client in banned \"554 5.7.1 banned here\"\n") { sluice in
            let result = try await ExternalTool.run("swaks", [
                "--server", "127.0.0.1:\(sluice.port)", "--from", "alice@example.org", "--to", "bob@example.com", "--ehlo", "front.example",
            ] + Self.swaksXCLIENT)
            #expect(result.status == 0, "swaks: \(result.stdout)")
            #expect(result.stdout.contains("XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT"), "offered: \(result.stdout)")
            #expect(result.stdout.contains("<-  220 "), "a new greeting after XCLIENT")
            let message = try #require(upstream.messages.first)
            let trace = String(message.wireData.prefix(200))
            #expect(trace.hasPrefix("Received: from front.example (mail.example.net [203.0.113.7])"), "\(trace)")

            // The connect stage runs for the named client: a banned one is refused after its XCLIENT.
            let banned = try await ExternalTool.run("swaks", [
                "--server", "127.0.0.1:\(sluice.port)", "--from", "alice@example.org", "--to", "bob@example.com",
                "--xclient-addr", "198.51.100.66"])
            #expect(banned.status != 0)
            #expect(banned.stdout.contains("<** 554 5.7.1 banned here"), "\(banned.stdout)")
            #expect(upstream.messages.count == 1)
        }
        await upstream.stop()
    }

    @Test func xclientFromAClientNotListedIs550AndNotOffered() async throws {
        let upstream = try await ScriptedUpstream.start()
        try await withRelay(upstreamPort: upstream.port, xclientFrom: []) { sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nXCLIENT ADDR=203.0.113.7\r\nQUIT\r\n")
            let replies = await client.waitForReplies(4)
            #expect(!client.transcript.contains("XCLIENT"), "\(client.transcript)")
            #expect(replies.count == 4 && replies[2].hasPrefix("550 5.7.0 Error: insufficient authorization"), "\(replies)")
            #expect(!upstream.commands.contains { $0.uppercased().hasPrefix("XCLIENT") }, "never relayed")
        }
        await upstream.stop()
    }

    /// swaks → Sluice → a real Postfix that authorises Sluice for XCLIENT: Postfix logs the real
    /// client (its address, name and HELO), not Sluice's loopback address.
    @Test func postfixBehindSluiceSeesTheRealClientThroughXCLIENT() async throws {
        try #require(getuid() == 0, "a throwaway Postfix needs root (the tests run as root on CI)")
        let postfix = try await ThrowawayPostfix.start()
        defer { Task { await postfix.stop() } }
        try await withRelay(upstreamPort: postfix.port, introduce: true) { sluice in
            for round in 0..<2 { // the second session knows XCLIENT is offered: no probe
                let result = try await ExternalTool.run("swaks", [
                    "--server", "127.0.0.1:\(sluice.port)", "--from", "alice@example.org", "--to", "bob\(round)@example.com",
                    "--ehlo", "real.helo.example"] + Self.swaksXCLIENT)
                #expect(result.status == 0, "swaks: \(result.stdout)")
            }
            #expect(await postfix.waitForLog("to=<bob1@example.com>"), "\(postfix.log)")
            let log = postfix.log
            #expect(log.contains("client=mail.example.net[203.0.113.7]"), "\(log)")
            #expect(log.contains("RCPT from mail.example.net[203.0.113.7]: helo-logged; from=<alice@example.org> to=<bob0@example.com> proto=ESMTP helo=<real.helo.example>"),
                    "\(log)")
            #expect(!log.contains("client=localhost[127.0.0.1]") && !log.contains("client=unknown[127.0.0.1]"))
            #expect(sluice.log.messages.contains { $0.contains("upstream offers XCLIENT") }, "\(sluice.log.messages)")
        }
        await postfix.stop()
    }

    /// A Postfix that authorises only XFORWARD: Sluice sends it before each MAIL, with its session id.
    @Test func postfixWithOnlyXFORWARDLogsTheRealClientAsOrigClient() async throws {
        try #require(getuid() == 0, "a throwaway Postfix needs root (the tests run as root on CI)")
        let postfix = try await ThrowawayPostfix.start(authorizeXCLIENT: false)
        defer { Task { await postfix.stop() } }
        try await withRelay(upstreamPort: postfix.port, introduce: true) { sluice in
            let result = try await ExternalTool.run("swaks", [
                "--server", "127.0.0.1:\(sluice.port)", "--from", "alice@example.org", "--to", "bob@example.com",
                "--ehlo", "real.helo.example"] + Self.swaksXCLIENT)
            #expect(result.status == 0, "swaks: \(result.stdout)")
            #expect(await postfix.waitForLog("orig_client="), "\(postfix.log)")
            #expect(postfix.log.contains("orig_client=mail.example.net[203.0.113.7]"), "\(postfix.log)")
            #expect(postfix.log.range(of: #"orig_queue_id=[0-9B-Z]{12}"#, options: .regularExpression) != nil, "\(postfix.log)")
        }
        await postfix.stop()
    }

    /// `upstream … xclient off`: Postfix sees Sluice.
    @Test func offLeavesPostfixSeeingSluice() async throws {
        try #require(getuid() == 0, "a throwaway Postfix needs root (the tests run as root on CI)")
        let postfix = try await ThrowawayPostfix.start()
        defer { Task { await postfix.stop() } }
        try await withRelay(upstreamPort: postfix.port, introduce: false) { sluice in
            let result = try await ExternalTool.run("swaks", [
                "--server", "127.0.0.1:\(sluice.port)", "--from", "alice@example.org", "--to", "bob@example.com"] + Self.swaksXCLIENT)
            #expect(result.status == 0, "swaks: \(result.stdout)")
            #expect(await postfix.waitForLog("client=unknown[127.0.0.1]"), "\(postfix.log)")
            #expect(!postfix.log.contains("203.0.113.7"))
        }
        await postfix.stop()
    }
}
