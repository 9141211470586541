import Foundation
import SluiceServer
import SluiceSession
import SluiceSMTP
import SluiceTLS
import SluiceTestSupport
import Testing

/// STARTTLS and implicit TLS with real clients: swaks, smtplib, openssl s_client.
@Suite struct TLSEndToEndTests {
    func withTLSRelay(implicit: Bool = false, required: Bool = false, rules: String? = nil,
                      _ body: (ScriptedUpstream, TestServer, TestCertificates) async throws -> Void) async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tls = try TLSContext(certificateChain: certificates.certificate, privateKey: certificates.key)
        try await withRelay(configure: { configuration in
            configuration.tls = tls
            if implicit { configuration.implicitTLS = Set(configuration.listen) }
            configuration.tlsRequiredEverywhere = required
            if let rules { try? configuration.apply(rules: rules) }
        }) { upstream, sluice in
            try await body(upstream, sluice, certificates)
        }
    }

    @Test func swaksStartTLSDeliversAndTheTraceHeaderRecordsTLS() async throws {
        try await withTLSRelay { upstream, sluice, _ in
            let result = try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--tls",
                                                              "--from", "a@example.org", "--to", "b@example.com"])
            #expect(result.status == 0, "\(result.stdout)")
            #expect(result.stdout.contains("<-  250-STARTTLS"))
            let data = try #require(upstream.messages.first?.wireData)
            #expect(data.contains("\r\n\t(using TLSv1.3 with cipher TLS_"), "\(data.prefix(300))")
            #expect(data.contains("(Sluice) with ESMTPS id"))
            #expect(sluice.log.messages.contains { $0.contains("TLS established: TLSv1.3") })
        }
    }

    @Test func smtplibStartTLSAndImplicitTLS() async throws {
        let script = """
            import smtplib, ssl, sys
            ctx = ssl.create_default_context(cafile=sys.argv[3])
            if sys.argv[2] == "starttls":
                s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
                s.starttls(context=ctx)
            else:
                s = smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[1]), timeout=20, context=ctx)
            s.ehlo()
            print("starttls offered again:", s.has_extn("starttls"))
            s.sendmail("a@example.org", ["b@example.com"], "Subject: t\\r\\n\\r\\nbody\\r\\n")
            print("sent", s.sock.version())
            s.quit()
            """
        try await withTLSRelay { upstream, sluice, certificates in
            let result = try await ExternalTool.python(script, ["\(sluice.port)", "starttls", certificates.certificate])
            #expect(result.stdout.contains("starttls offered again: False"), "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("sent TLSv1.3"))
            #expect(upstream.messages.count == 1)
        }
        try await withTLSRelay(implicit: true) { upstream, sluice, certificates in
            let result = try await ExternalTool.python(script, ["\(sluice.port)", "implicit", certificates.certificate])
            #expect(result.stdout.contains("sent TLSv1.3"), "\(result.stdout)\(result.stderr)")
            #expect(upstream.messages.count == 1)
        }
    }

    @Test func opensslSClientStartTLSHandshakes() async throws {
        try await withTLSRelay { _, sluice, certificates in
            let result = try await ExternalTool.run("openssl", ["s_client", "-starttls", "smtp", "-connect", "127.0.0.1:\(sluice.port)",
                                                                "-CAfile", certificates.certificate, "-verify_return_error", "-brief", "-ign_eof"],
                                                    stdin: "EHLO check\r\nQUIT\r\n")
            #expect(result.stderr.contains("Verification: OK"), "\(result.stderr)")
            #expect(result.stdout.contains("250") && result.stdout.contains("221"), "\(result.stdout)")
        }
    }

    @Test func commandsPipelinedBehindSTARTTLSAreDiscarded() async throws {
        try await withTLSRelay { upstream, sluice, certificates in
            let result = try await ExternalTool.python("""
                import socket, ssl, sys
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
                f = s.makefile("rb")
                def reply():
                    lines = []
                    while True:
                        line = f.readline().decode()
                        lines.append(line.strip())
                        if line[3:4] != "-": return lines
                reply()
                s.sendall(b"EHLO x\\r\\n"); reply()
                s.sendall(b"STARTTLS\\r\\nRSET\\r\\n")
                print("starttls:", reply()[-1])
                ctx = ssl.create_default_context(cafile=sys.argv[2])
                t = ctx.wrap_socket(s, server_hostname="localhost")
                t.settimeout(1.0)
                try:
                    data = t.recv(1000)
                    print("unsolicited:", data)
                except (socket.timeout, TimeoutError):
                    print("no reply to the injected RSET")
                t.sendall(b"NOOP\\r\\n")
                t.settimeout(10)
                print("noop:", t.recv(1000).decode().strip())
                """, ["\(sluice.port)", certificates.certificate])
            #expect(result.stdout.contains("starttls: 220 2.0.0 Ready to start TLS"), "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("no reply to the injected RSET"))
            #expect(result.stdout.contains("noop: 250"))
            #expect(!upstream.commands.contains("RSET"))
        }
    }

    @Test func tlsRequiredRefusesMailBeforeSTARTTLS() async throws {
        try await withTLSRelay(required: true) { upstream, sluice, certificates in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\n")
            let replies = await client.waitForReplies(3)
            #expect(replies.last == "530 5.7.0 Must issue a STARTTLS command first")
            await client.close()
            let result = try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--tls",
                                                              "--from", "a@example.org", "--to", "b@example.com"])
            #expect(result.status == 0, "\(result.stdout)")
            #expect(upstream.messages.count == 1)
        }
    }

    @Test func theTLSPredicateSeesTheEncryptedSession() async throws {
        let rules = """
            stage rcpt
              defer rcpt = "vip@example.com" and not tls "450 4.7.0 Try again over TLS"
            """
        try await withTLSRelay(rules: rules) { upstream, sluice, _ in
            let plain = try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--from", "a@example.org", "--to", "vip@example.com"])
            #expect(plain.stdout.contains("<** 450 4.7.0 Try again over TLS"))
            let encrypted = try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--tls", "--from", "a@example.org", "--to", "vip@example.com"])
            #expect(encrypted.status == 0, "\(encrypted.stdout)")
            #expect(upstream.messages.count == 1)
        }
    }
}

/// TLS towards the upstream: STARTTLS when offered, required, verified.
@Suite struct UpstreamTLSTests {
    func relay(mode: UpstreamTLSMode, verifyWith caFile: String?, script: UpstreamScript,
               _ body: (ScriptedUpstream, TestServer) async throws -> Void) async throws {
        let client = try TLSContext(clientVerifying: caFile != nil, caFile: caFile, serverName: "127.0.0.1")
        try await withRelay(script, configure: { configuration in
            configuration.upstreamTLSMode = mode
            configuration.upstreamTLS = client
        }, body)
    }

    @Test func starttlsToAnUpstreamThatOffersItEncryptsTheRelayHop() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        var script = UpstreamScript()
        script.tls = try TLSContext(certificateChain: certificates.certificate, privateKey: certificates.key)
        try await relay(mode: .starttls, verifyWith: certificates.certificate, script: script) { upstream, sluice in
            let result = try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--from", "a@example.org", "--to", "b@example.com"])
            #expect(result.status == 0, "\(result.stdout)")
            #expect(upstream.tlsSessions == 1)
            #expect(upstream.messages.count == 1)
            #expect(upstream.commands.first == "EHLO sluice.test", "Sluice's own EHLO before STARTTLS")
            #expect(sluice.log.messages.contains { $0.contains("upstream TLS established") })
        }
    }

    @Test func swaksImplicitTLSClientThroughSTARTTLSUpstream() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let serverTLS = try TLSContext(certificateChain: certificates.certificate, privateKey: certificates.key)
        var script = UpstreamScript()
        script.tls = serverTLS
        let client = try TLSContext(clientVerifying: true, caFile: certificates.certificate, serverName: "127.0.0.1")
        try await withRelay(script, configure: { configuration in
            configuration.tls = serverTLS
            configuration.implicitTLS = Set(configuration.listen)
            configuration.upstreamTLSMode = .starttls
            configuration.upstreamTLS = client
        }) { upstream, sluice in
            let result = try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--tlsc",
                                                              "--from", "a@example.org", "--to", "b@example.com"])
            #expect(result.status == 0, "\(result.stdout)")
            #expect(upstream.tlsSessions == 1 && upstream.messages.count == 1)
            #expect(upstream.messages.first?.wireData.contains("(using TLSv1.3") == true)
        }
    }

    @Test func starttlsWhenOfferedFallsBackToPlaintextWhenNot() async throws {
        var script = UpstreamScript()
        script.ehloLines.removeAll { $0 == "STARTTLS" }
        try await relay(mode: .starttls, verifyWith: nil, script: script) { upstream, sluice in
            let result = try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--from", "a@example.org", "--to", "b@example.com"])
            #expect(result.status == 0)
            #expect(upstream.tlsSessions == 0 && upstream.messages.count == 1)
        }
    }

    @Test func starttlsRequiredRefusesAnUpstreamWithoutIt() async throws {
        var script = UpstreamScript()
        script.ehloLines.removeAll { $0 == "STARTTLS" }
        try await relay(mode: .starttlsRequired, verifyWith: nil, script: script) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            let replies = await client.waitForReplies(1)
            #expect(replies.first?.hasPrefix("421 4.4.0") == true, "\(replies)")
            #expect(await client.waitForClose())
            #expect(upstream.messages.isEmpty)
        }
    }

    @Test func anUntrustedUpstreamCertificateIsRefused() async throws {
        let certificates = try await TestCertificates.make()
        let other = try await TestCertificates.make()
        defer { certificates.remove(); other.remove() }
        var script = UpstreamScript()
        script.tls = try TLSContext(certificateChain: certificates.certificate, privateKey: certificates.key)
        try await relay(mode: .starttls, verifyWith: other.certificate, script: script) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            let replies = await client.waitForReplies(1)
            #expect(replies.first?.hasPrefix("421") == true, "\(replies)")
            #expect(upstream.messages.isEmpty)
        }
    }
}

/// AUTH relayed to an upstream that checks it, and used by rules.
@Suite struct AuthRelayTests {
    static let rules = """
        list local domain { example.com }
        stage rcpt
          accept auth
          reject rcpt.domain not in local "554 5.7.1 Relay access denied"
        """

    func withAuthRelay(users: [String: String] = ["alice": "s3cret"], rules: String = Self.rules,
                       _ body: (ScriptedUpstream, TestServer) async throws -> Void) async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tls = try TLSContext(certificateChain: certificates.certificate, privateKey: certificates.key)
        var script = UpstreamScript()
        script.authUsers = users
        try await withRelay(script, configure: { configuration in
            configuration.tls = tls
            try? configuration.apply(rules: rules)
        }, body)
    }

    @Test(arguments: ["PLAIN", "LOGIN"])
    func authIsRelayedAndAuthenticatedUsersMayRelay(_ mechanism: String) async throws {
        try await withAuthRelay { upstream, sluice in
            let result = try await ExternalTool.run("swaks", [
                "--server", "127.0.0.1:\(sluice.port)", "--tls", "--auth", mechanism, "--auth-user", "alice", "--auth-password", "s3cret",
                "--from", "alice@example.com", "--to", "friend@elsewhere.org"])
            #expect(result.status == 0, "\(result.stdout)")
            #expect(result.stdout.contains("235 2.7.0 Authentication successful"))
            #expect(upstream.authenticated == ["alice"])
            #expect(upstream.messages.map(\.recipients) == [["friend@elsewhere.org"]])
            #expect(!sluice.log.messages.contains { $0.contains("s3cret") || $0.contains("YWxpY2") }, "AUTH data is never logged")
        }
    }

    @Test func wrongPasswordIsRefusedAndTheClientMayNotRelay() async throws {
        try await withAuthRelay { upstream, sluice in
            let result = try await ExternalTool.run("swaks", [
                "--server", "127.0.0.1:\(sluice.port)", "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wrong",
                "--from", "alice@example.com", "--to", "friend@elsewhere.org"])
            #expect(result.stdout.contains("535 5.7.8"), "\(result.stdout)")
            #expect(upstream.messages.isEmpty)
            let anonymous = try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--tls",
                                                                 "--from", "x@example.com", "--to", "friend@elsewhere.org"])
            #expect(anonymous.stdout.contains("554 5.7.1 Relay access denied"), "\(anonymous.stdout)")
        }
    }

    @Test func theSenderDomainMustMatchTheAuthenticatedUsersDomain() async throws {
        try await withAuthRelay(users: ["alice@example.com": "pw"], rules: """
            stage mail
              reject auth and sender.domain != auth.domain "553 5.7.1 Sender address must match your login"
            """) { upstream, sluice in
            func send(from: String) async throws -> String {
                try await ExternalTool.run("swaks", ["--server", "127.0.0.1:\(sluice.port)", "--tls", "--auth", "PLAIN",
                                                     "--auth-user", "alice@example.com", "--auth-password", "pw",
                                                     "--from", from, "--to", "x@example.net"]).stdout
            }
            let foreign = try await send(from: "boss@other.example")
            #expect(foreign.contains("553 5.7.1 Sender address must match your login"))
            let own = try await send(from: "alice@Example.COM")
            #expect(own.contains("250 2.0.0 Ok: queued"))
            #expect(upstream.messages.count == 1)
        }
    }

    @Test func authIsNotOfferedWithoutTLS() async throws {
        try await withAuthRelay { _, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try await client.send("EHLO c\r\nAUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n")
            let replies = await client.waitForReplies(3)
            #expect(!client.replyLines.contains { $0.contains("AUTH") && $0.hasPrefix("250") })
            #expect(replies.last?.hasPrefix("538 5.7.11") == true, "\(replies)")
            await client.close()
        }
    }
}
