import Foundation
import SluiceDNS
import SluicePolicy
import SluiceTestSupport
import Testing

/// The RFC 7208 test suite (openspf.org 2014.04, Debian's python3-spf ships it): every scenario's
/// zone is served by a real DNS server on loopback (Tests/DNS/spf_suite.py on python3-dnslib), and
/// Sluice's evaluator, on its libunbound resolver, must give one of the results each test allows, and
/// the explanation where the test names one.
/// One scenario at a time, four of its tests at once: run all 203 together (each with its resolver and
/// libunbound's thread) and the load starved other tests' tasks for seconds.
@Suite(.serialized) struct SPFSuiteTests {
    static let suite = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"

    struct Case: Decodable, Sendable {
        let name: String
        let helo: String
        let host: String
        let mailfrom: String
        let spec: String
        let results: [String]
        let explanation: String?
    }

    struct Scenario: Decodable, Sendable {
        let index: Int
        let description: String
        let tests: [Case]
    }

    /// Listed once for every test of the suite (the YAML takes Python a while to read).
    static let listed = Task { try await scenarios() }

    static func scenarios() async throws -> [Scenario] {
        let script = URL(fileURLWithPath: TestDNSServer.script).deletingLastPathComponent().appendingPathComponent("spf_suite.py").path
        let listed = try await ExternalTool.run(TestDNSServer.python, [script, "list", suite])
        guard listed.status == 0 else { throw ToolMissing(name: "spf_suite.py (python3-spf, python3-yaml): \(listed.stderr)") }
        return try JSONDecoder().decode([Scenario].self, from: Data(listed.stdout.utf8))
    }

    @Test func theSuiteHasItsSixteenScenarios() async throws {
        let all = try await Self.listed.value
        #expect(all.count == 16)
        #expect(all.reduce(0) { $0 + $1.tests.count } == 203)
    }

    @Test(arguments: 0..<16)
    func scenario(_ index: Int) async throws {
        let scenario = try await Self.listed.value[index]
        let server = try await TestDNSServer.start(script: "spf_suite.py", arguments: ["serve", Self.suite, String(index)])
        defer { server.stop() }
        for start in stride(from: 0, to: scenario.tests.count, by: 4) {
            await withTaskGroup(of: Void.self) { group in
                for test in scenario.tests[start..<min(start + 4, scenario.tests.count)] {
                    group.addTask { await Self.run(test, in: scenario, server: server) }
                }
            }
        }
    }

    static func run(_ test: Case, in scenario: Scenario, server: TestDNSServer) async {
        // A resolver per test: no cache or server state carried from one test to the next.
        guard let resolver = try? DNSResolver(configuration: .init(servers: [server.forwarder], timeout: 3)),
              let ip = IPAddress(test.host) else {
            Issue.record("\(test.name): no resolver or bad host \(test.host)")
            return
        }
        let evaluator = SPFEvaluator(receiver: "receiver.example", now: { 1_700_000_000 }) { name, type in
            await resolver.lookup(name, type)
        }
        let verdict = await evaluator.checkMailFrom(ip: ip, sender: test.mailfrom, helo: test.helo)
        await resolver.stop()
        #expect(test.results.contains(verdict.result.rawValue),
                "\(scenario.description) / \(test.name) (\(test.spec)): \(verdict.result) (\(verdict.problem ?? verdict.mechanism ?? "")), want \(test.results)")
        if let explanation = test.explanation, explanation != "DEFAULT", verdict.result == .fail {
            // Compared without case: the suite expects upper-case IPv6 nibbles from %{ir} (its host is
            // written CAFE:BABE::1), which the RFC leaves open and DNS does not see.
            #expect(verdict.explanation?.lowercased() == explanation.lowercased(), "\(test.name): explanation")
        }
    }
}
