import Foundation
import SluiceConfig
import SluiceSMTP
import Testing

@Suite struct ConfigurationLoaderTests {
    @Test func settingsAreRead() throws {
        let configuration = try ConfigurationLoader.load(text: """
            # a comment
            listen      127.0.0.1:2525
            listen      [::1]:2525     # IPv6
            upstream    127.0.0.1:25
            hostname    "mx1.example.com"
            limit message-size     25M
            limit recipients       1000
            limit idle-timeout     5m
            limit errors           10
            limit line-length      8K
            limit command-time     2m
            limit data-rate        1K
            timeout upstream-connect 10s
            bare-line-endings normalize
            """, file: "sluice.conf")
        #expect(configuration.listen == [Endpoint(host: "127.0.0.1", port: 2525), Endpoint(host: "::1", port: 2525)])
        #expect(configuration.upstream == Endpoint(host: "127.0.0.1", port: 25))
        #expect(configuration.hostname == "mx1.example.com")
        #expect(configuration.limits.messageSize == 25 * 1024 * 1024)
        #expect(configuration.limits.idleTimeout == 300)
        #expect(configuration.limits.dataLineLength == 8192)
        #expect(configuration.limits.commandTime == 120)
        #expect(configuration.limits.minimumDataRate == 1024)
        #expect(configuration.upstreamTimeouts.connect == 10)
        #expect(configuration.bareLineEndings == .normalize)
    }

    @Test func everyErrorIsReportedWithFileLineAndColumnInOnePass() {
        do {
            _ = try ConfigurationLoader.load(text: """
                lisen 127.0.0.1:25
                upstream nohost
                limit mesage-size 10M
                limit errors lots
                """, file: "sluice.conf")
            Issue.record("loaded a configuration with errors")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "sluice.conf:1:1: error: unknown setting 'lisen' (did you mean 'listen'?)",
                "sluice.conf:2:10: error: 'nohost' has no port (write HOST:PORT, or [IPv6]:PORT)",
                "sluice.conf:3:7: error: unknown limit 'mesage-size' (did you mean 'message-size'?)",
                "sluice.conf:4:14: error: 'lots' is not a positive number",
            ])
        }
    }

    @Test func continuationLinesJoinAStatement() throws {
        let configuration = try ConfigurationLoader.load(text: "limit \\\n  recipients 5\nlimit errors\n    3\n", file: "c")
        #expect(configuration.limits.recipients == 5)
        #expect(configuration.limits.errors == 3)
    }

    @Test func includesAreRelativeGlobbedAndSorted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-conf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("rules"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "limit errors 7\n".write(to: directory.appendingPathComponent("rules/b.rules"), atomically: true, encoding: .utf8)
        try "limit errors 3\nlimit recipients 9\n".write(to: directory.appendingPathComponent("rules/a.rules"), atomically: true, encoding: .utf8)
        let main = directory.appendingPathComponent("sluice.conf")
        try "include \"rules/*.rules\"\n".write(to: main, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: main.path)
        #expect(configuration.limits.errors == 7, "b.rules is read after a.rules")
        #expect(configuration.limits.recipients == 9)
        #expect(configuration.files.count == 3)
    }

    @Test func shippedConfigurationLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try ConfigurationLoader.load(path: root.appendingPathComponent("Rules/sluice.conf").path)
        #expect(!configuration.listen.isEmpty)
        #expect(configuration.upstream != nil)
    }
}
