import Foundation
import SluicePolicy
import SluiceSMTP
import SluiceServer
import SluiceTestSupport
import Testing

/// `listen … proxy-protocol from LIST` with real peers: haproxy (`send-proxy`, `send-proxy-v2`) and
/// swaks (`--proxy-version 1|2`) in front of Sluice, and byte-exact headers from a raw client.
@Suite struct ProxyProtocolTests {
    static func behindBalancer<T>(from networks: [String] = ["127.0.0.0/8"],
                                  _ body: (ScriptedUpstream, TestServer) async throws -> T) async throws -> T {
        try await withRelay(configure: { configuration in
            configuration.proxyProtocol[configuration.listen[0]] = networks.map { CIDR($0)! }
        }, body)
    }

    /// The address the upstream's trace header names for the message it received.
    static func tracedClient(_ upstream: ScriptedUpstream) -> String? {
        guard let message = upstream.messages.last?.wireData, let start = message.range(of: "(["),
              let end = message[start.upperBound...].firstIndex(of: "]") else { return nil }
        return String(message[start.upperBound..<end])
    }

    @Test(arguments: [1, 2])
    func haproxysHeaderGivesTheRealClient(version: Int) async throws {
        try await Self.behindBalancer { upstream, sluice in
            let haproxy = try await HAProxy.start(backendPort: sluice.port, proxyVersion: version)
            defer { haproxy.stop() }
            let result = try await SMTPLibSender.send(port: haproxy.port)
            #expect(result == "OK", "\(result)")
            #expect(upstream.messages.count == 1)
            #expect(Self.tracedClient(upstream) == "127.0.0.1")
            #expect(!sluice.log.messages.contains { $0.contains("refused connection on a proxy-protocol listener") && $0.contains("expected") },
                    "haproxy's connections were taken")
        }
    }

    @Test(arguments: [("1", "TCP4"), ("2", "AF_INET")])
    func swaksHeaderNamesTheClientInRulesLogsAndTrace(version: String, family: String) async throws {
        try await Self.behindBalancer { upstream, sluice in
            let result = try await ExternalTool.run("swaks", [
                "--server", "127.0.0.1:\(sluice.port)", "--from", "a@example.org", "--to", "b@example.com",
                "--proxy-version", version, "--proxy-family", family, "--proxy-source", "203.0.113.9", "--proxy-source-port", "40000",
                "--proxy-dest", "192.0.2.25", "--proxy-dest-port", "25"])
            #expect(result.status == 0, "swaks: \(result.stdout)")
            #expect(Self.tracedClient(upstream) == "203.0.113.9")
            #expect(sluice.log.messages.contains { $0.contains("connect from [203.0.113.9]:40000") })
        }
    }

    /// The rules judge the client the balancer named, not the balancer: a rule on 203.0.113.0/24 refuses
    /// swaks's named client although every connection comes from 127.0.0.1.
    @Test func rulesJudgeTheClientTheBalancerNamed() async throws {
        try await withRelay(configure: { configuration in
            configuration.proxyProtocol[configuration.listen[0]] = [CIDR("127.0.0.0/8")!]
            do {
                try configuration.apply(rules: """
                    list balanced cidr { 203.0.113.0/24 }
                    stage connect
                      reject client in balanced "554 5.7.1 named client refused"
                    """)
            } catch {
                Issue.record("rules: \(error)")
            }
        }) { upstream, sluice in
            func swaks(_ source: String) async throws -> ExternalTool.Result {
                try await ExternalTool.run("swaks", [
                    "--server", "127.0.0.1:\(sluice.port)", "--from", "a@example.org", "--to", "b@example.com",
                    "--proxy-version", "2", "--proxy-family", "AF_INET", "--proxy-source", source, "--proxy-source-port", "40000",
                    "--proxy-dest", "192.0.2.25", "--proxy-dest-port", "25"])
            }
            let listed = try await swaks("203.0.113.9")
            #expect(listed.status != 0 && listed.stdout.contains("554 5.7.1 named client refused"), "swaks: \(listed.stdout)")
            let other = try await swaks("198.51.100.7")
            #expect(other.status == 0, "swaks: \(other.stdout)")
            #expect(upstream.messages.count == 1)
            #expect(Self.tracedClient(upstream) == "198.51.100.7")
        }
    }

    @Test func aVersionTwoHeaderSplitAcrossReadsIsTaken() async throws {
        try await Self.behindBalancer { upstream, sluice in
            let header: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0, 12,
                                   198, 51, 100, 23, 192, 0, 2, 25, 0x9C, 0x40, 0, 25]
            // Under ASan with every suite running (and once without, on an overloaded host), this task
            // was not scheduled again for over the 10 s header timeout between two 20 ms sleeps, and the
            // server rightly closed, while sending or before the greeting: such an attempt (the server
            // logs why) is made again, up to three times.
            var sent: RawClient?
            var greeting: String?
            for attempt in 1...3 where sent == nil {
                let client = try await RawClient.connect(port: sluice.port)
                var failure: (any Error)?
                do {
                    for part in [header[..<5], header[5..<14], header[14...]] {
                        try await client.send(bytes: Array(part))
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    greeting = await client.waitForReplies(1).first
                    if greeting != nil { sent = client; break }
                } catch {
                    failure = error
                }
                await client.close()
                let timedOut = sluice.log.messages.filter { $0.contains("no PROXY header within") }.count == attempt
                guard timedOut, attempt < 3 else {
                    Issue.record("the split header was not taken (\(String(describing: failure))); received \(client.transcript.debugDescription); log: \(sluice.log.messages)")
                    return
                }
            }
            guard let client = sent else { return }
            #expect(greeting?.hasPrefix("220") == true, "\(String(describing: greeting)); log: \(sluice.log.messages)")
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
            _ = await client.waitForReplies(5)
            try await client.send("Subject: split\r\n\r\nbody\r\n.\r\n")
            #expect(await client.waitForReplies(6).last?.hasPrefix("250") == true)
            #expect(Self.tracedClient(upstream) == "198.51.100.23")
            await client.close()
        }
    }

    @Test func aMissingOrMalformedHeaderIsRefusedBeforeTheGreeting() async throws {
        try await Self.behindBalancer { upstream, sluice in
            for opening in ["EHLO client.example\r\n", "PROXY TCP4 999.1.1.1 192.0.2.1 1 25\r\n"] {
                let client = try await RawClient.connect(port: sluice.port)
                try? await client.send(opening)
                #expect(await client.waitForClose())
                #expect(client.replies.isEmpty, "no greeting: got \(client.replies)")
            }
            #expect(upstream.connections == 0)
            #expect(sluice.log.messages.filter { $0.contains("refused connection on a proxy-protocol listener") }.count == 2)
        }
    }

    @Test func aHeaderFromASourceNotListedIsRefused() async throws {
        try await Self.behindBalancer(from: ["192.0.2.0/24"]) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            try? await client.send("PROXY TCP4 203.0.113.9 192.0.2.25 40000 25\r\n") // closed at once: the source is not listed
            #expect(await client.waitForClose())
            #expect(client.replies.isEmpty)
            #expect(upstream.connections == 0)
            #expect(sluice.log.messages.contains { $0.contains("PROXY header expected from a listed balancer, connection from [127.0.0.1]") })
        }
    }
}
