import Foundation
import SluiceTestSupport
import Testing

/// `metrics listen`: the real binary's /metrics, scraped after scripted sessions and parsed by
/// prometheus_client's text parser, with exact counter values; /healthz and /readyz.
@Suite struct MetricsEndpointTests {
    struct Sample: Decodable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    static let scraper = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/scrape_metrics.py").path

    static func scrape(_ port: Int) async throws -> [Sample] {
        // Debian's python3 (where python3-prometheus-client is installed), not a python3 earlier on PATH.
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        let result = try await ExternalTool.run(python, [scraper, "http://127.0.0.1:\(port)/metrics"])
        #expect(result.status == 0, "\(result.stderr)")
        return try result.stdout.split(separator: "\n").map { try JSONDecoder().decode(Sample.self, from: Data($0.utf8)) }
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
        return matching.isEmpty ? nil : matching.map(\.value).reduce(0, +)
    }

    /// A plain HTTP GET: the status code and body.
    static func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        let client = try await RawClient.connect(port: port)
        try await client.send("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        _ = await client.waitForClose(seconds: 10)
        let text = client.transcript
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }

    static func metricsPort(_ sluice: SluiceProcess) async -> Int? {
        let deadline = Patience.deadline(after: 20)
        while Date() < deadline {
            if let line = sluice.stderr.split(separator: "\n").first(where: { $0.contains("metrics on http://") }),
               let port = line.split(separator: ":").last?.split(separator: "/").first.flatMap({ Int($0) }) {
                return port
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return nil
    }

    @Test func countersAfterScriptedSessionsAreExact() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-metrics")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.conf"
        let rules = """
            metrics listen 127.0.0.1:0
            acknowledge open-relay
            stage rcpt
              reject rcpt.domain = "example.org" "550 5.7.1 Not here"

            """
        try rules.write(toFile: config, atomically: true, encoding: .utf8)
        let sluice = try SluiceProcess.start(["run", "--config", config, "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--hostname", "sluice.test", "--shutdown-grace", "0"])
        defer { sluice.signal(SIGTERM) }
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        let metricsPort = try #require(await Self.metricsPort(sluice), "\(sluice.stderr)")

        // One message delivered: 220 250 250 250 354 250 221.
        let first = try await RawClient.connect(port: port)
        try await first.send("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n")
        _ = await first.waitForReplies(5)
        try await first.send("Subject: m\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        #expect(await first.waitForClose(seconds: 10))
        // One recipient refused by the rule: 220 250 250 550 221.
        let second = try await RawClient.connect(port: port)
        try await second.send("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<blocked@example.org>\r\nQUIT\r\n")
        #expect(await second.waitForClose(seconds: 10))
        #expect(second.replies.map { String($0.prefix(3)) } == ["220", "250", "250", "550", "221"], "\(second.replies)")

        let deadline = Patience.deadline(after: 10)
        var samples: [Sample] = []
        repeat {
            samples = try await Self.scrape(metricsPort)
            if Self.value(samples, "sluice_sessions_closed_total", ["reason": "quit"]) == 2 { break }
            try await Task.sleep(for: .milliseconds(50))
        } while Date() < deadline
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? { Self.value(samples, name, labels) }
        #expect(value("sluice_sessions_opened_total", ["listener": "127.0.0.1:0"]) == 2)
        #expect(value("sluice_sessions_closed_total", ["reason": "quit"]) == 2)
        #expect(value("sluice_sessions_closed_total", ["reason": "timeout"]) == 0)
        #expect(value("sluice_sessions_active") == 0)
        #expect(value("sluice_transactions_total", ["status": "delivered"]) == 1)
        #expect(value("sluice_replies_total", ["class": "2xx"]) == 10)
        #expect(value("sluice_replies_total", ["class": "3xx"]) == 1)
        #expect(value("sluice_replies_total", ["class": "4xx"]) == 0)
        #expect(value("sluice_replies_total", ["class": "5xx"]) == 1)
        let hits = samples.filter { $0.name == "sluice_rule_matches_total" }
        #expect(hits.count == 1 && hits[0].value == 1 && hits[0].labels["stage"] == "rcpt" && hits[0].labels["verdict"] == "reject"
                    && hits[0].labels["mode"] == "enforce" && hits[0].labels["rule"]?.hasSuffix("sluice.conf:4") == true, "\(hits)")
        #expect(value("sluice_decision_seconds_count", ["stage": "rcpt"]) == 2)
        #expect(value("sluice_decision_seconds_count", ["stage": "message"]) == 1)
        // Both upstream dialogues: greeting, EHLO, MAIL, RCPT (and DATA, the dot) and QUIT replies timed.
        #expect((value("sluice_upstream_reply_seconds_count") ?? 0) >= 8)
        #expect(value("sluice_upstream_connect_errors_total") == 0)
        #expect(value("sluice_spool_bytes", ["where": "memory"]) == 0, "released once sent")
        #expect(value("sluice_limits_tripped_total", ["limit": "connections-per-client"]) == 0)

        // Reloads by outcome: one refused (a syntax error), one that applies.
        try (rules + "bogus-setting 1\n").write(toFile: config, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        try await waitFor { sluice.stderr.contains("reload refused") }
        try rules.write(toFile: config, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        try await waitFor { sluice.stderr.contains("reloaded:") }
        samples = try await Self.scrape(metricsPort)
        #expect(value("sluice_reloads_total", ["outcome": "refused"]) == 1)
        #expect(value("sluice_reloads_total", ["outcome": "ok"]) == 1)
        await upstream.stop()
    }

    /// The real binary with `configuration` (a metrics listener included) in front of a scripted
    /// upstream; `body` gets the upstream, the process, its SMTP port and its metrics port.
    static func withMetricsSluice(_ configuration: String, prefix: String,
                                  _ body: (ScriptedUpstream, SluiceProcess, Int, Int) async throws -> Void) async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: prefix)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.conf"
        try ("metrics listen 127.0.0.1:0\nacknowledge open-relay\n" + configuration).write(toFile: config, atomically: true, encoding: .utf8)
        let sluice = try SluiceProcess.start(["run", "--config", config, "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--hostname", "sluice.test", "--shutdown-grace", "0"])
        defer { sluice.signal(SIGTERM) }
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        let metricsPort = try #require(await Self.metricsPort(sluice), "\(sluice.stderr)")
        try await body(upstream, sluice, port, metricsPort)
        await upstream.stop()
    }

    /// A tripped limit is counted by its name: the second connection of a client allowed one.
    @Test func aTrippedLimitIsCountedByName() async throws {
        try await Self.withMetricsSluice("limit exempt none\nlimit connections-per-client 1\n", prefix: "sluice-tripped") { upstream, _, port, metricsPort in
            let first = try await RawClient.connect(port: port)
            #expect(await first.waitForReplies(1).first?.hasPrefix("220") == true)
            let second = try await RawClient.connect(port: port)
            #expect(await second.waitForClose())
            #expect(second.replies.first?.hasPrefix("421 4.7.0") == true, "\(second.replies)")
            let samples = try await Self.scrape(metricsPort)
            #expect(Self.value(samples, "sluice_limits_tripped_total", ["limit": "connections-per-client"]) == 1)
            #expect(Self.value(samples, "sluice_limits_tripped_total", ["limit": "connections"]) == 0)
            #expect(upstream.connections == 1, "the refused client cost no upstream connection")
            await first.close()
        }
    }

    /// Client-side TLS handshakes by result: one with openssl s_client, one a client breaks off with
    /// garbage where its ClientHello should be.
    @Test func tlsHandshakesAreCountedByResult() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tls = "tls certificate \"\(certificates.certificate)\" key \"\(certificates.key)\"\n"
        try await Self.withMetricsSluice(tls, prefix: "sluice-tlsmetrics") { _, _, port, metricsPort in
            let good = try await ExternalTool.run("openssl", ["s_client", "-starttls", "smtp", "-connect", "127.0.0.1:\(port)", "-brief"],
                                                  stdin: "QUIT\r\n")
            #expect(good.stderr.contains("CONNECTION ESTABLISHED"), "\(good.stderr)")
            let bad = try await RawClient.connect(port: port)
            try await bad.send("EHLO c.example\r\nSTARTTLS\r\n")
            _ = await bad.waitForReplies(3)
            try await bad.send("this is not a ClientHello\r\n\r\n")
            #expect(await bad.waitForClose())
            var samples: [Sample] = []
            let deadline = Patience.deadline(after: 10)
            repeat {
                samples = try await Self.scrape(metricsPort)
                if Self.value(samples, "sluice_tls_handshakes_total", ["side": "client", "result": "failed"]) == 1 { break }
                try await Task.sleep(for: .milliseconds(50))
            } while Date() < deadline
            #expect(Self.value(samples, "sluice_tls_handshakes_total", ["side": "client", "result": "ok"]) == 1)
            #expect(Self.value(samples, "sluice_tls_handshakes_total", ["side": "client", "result": "failed"]) == 1)
            #expect(Self.value(samples, "sluice_tls_handshakes_total", ["side": "upstream", "result": "ok"]) == 0)
        }
    }

    @Test func healthAndReadiness() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-ready")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.conf"
        try "metrics listen 127.0.0.1:0\nacknowledge open-relay\n".write(toFile: config, atomically: true, encoding: .utf8)
        let sluice = try SluiceProcess.start(["run", "--config", config, "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--shutdown-grace", "0"])
        defer { sluice.signal(SIGTERM) }
        let metricsPort = try #require(await Self.metricsPort(sluice), "\(sluice.stderr)")
        #expect(try await Self.get(metricsPort, "/healthz") == (200, "ok\n"))
        #expect(try await Self.get(metricsPort, "/readyz") == (200, "ready\n"))
        #expect(try await Self.get(metricsPort, "/nothing").0 == 404)
        await upstream.stop()
        // An upstream that refuses: a port bound and never listening (a stopped server's port could be
        // taken by a test running beside this one).
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} } // bound until the test ends
        let dead = try SluiceProcess.start(["run", "--config", config, "--listen", "127.0.0.1:0",
                                            "--upstream", "127.0.0.1:\(refusing.port)", "--shutdown-grace", "0"])
        defer { dead.signal(SIGTERM) }
        let deadMetrics = try #require(await Self.metricsPort(dead), "\(dead.stderr)")
        let (status, body) = try await Self.get(deadMetrics, "/readyz")
        #expect(status == 503)
        #expect(body.hasPrefix("not ready: upstream") && body.contains("unreachable"), "\(body)")
        #expect(try await Self.get(deadMetrics, "/healthz").0 == 200, "the process is still up")
    }

    /// The services stop in order: while the relay drains after SIGTERM, the metrics endpoint still
    /// answers, and /readyz says the server is stopping; then everything stops and the exit is 0.
    @Test func whileTheRelayDrainsReadyzSaysStopping() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-drain-ready")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.conf"
        try "metrics listen 127.0.0.1:0\nacknowledge open-relay\n".write(toFile: config, atomically: true, encoding: .utf8)
        let sluice = try SluiceProcess.start(["run", "--config", config, "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--shutdown-grace", "20"])
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        let metricsPort = try #require(await Self.metricsPort(sluice), "\(sluice.stderr)")
        let busy = try await RawClient.connect(port: port)
        try await busy.send("EHLO c\r\n")
        _ = await busy.waitForReplies(2)
        sluice.signal(SIGTERM)
        try await waitFor { sluice.stderr.contains("stopping:") }
        #expect(try await Self.get(metricsPort, "/readyz") == (503, "not ready: stopping\n"))
        #expect(try await Self.get(metricsPort, "/healthz").0 == 200)
        try await busy.send("QUIT\r\n")
        #expect(await busy.waitForClose(seconds: 10))
        #expect(await sluice.waitForExit() == 0)
        await upstream.stop()
    }

    private func waitFor(_ condition: () -> Bool) async throws {
        let deadline = Patience.deadline(after: 10)
        while !condition(), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(condition())
    }
}
