import SluiceConfig
import SluiceSMTP
import Testing

/// The statements of running Sluice as a service, read from a file: the end-to-end tests set these
/// through the configuration values, so the file forms are checked here.
@Suite struct OperationsSettingsTests {
    @Test func metricsLogFormatUserAndXCLIENTAreRead() throws {
        let configuration = try ConfigurationLoader.load(text: """
            list balancers cidr { 10.1.0.0/16, 2001:db8::/48 }
            upstream     127.0.0.1:25 xclient off
            metrics listen 127.0.0.1:9725
            log format   json
            user         sluice
            pid-file     /run/sluice/sluice.pid
            xclient from balancers
            """, file: "sluice.conf")
        #expect(configuration.metricsListen == Endpoint(host: "127.0.0.1", port: 9725))
        #expect(configuration.logFormat == .json)
        #expect(configuration.user == "sluice")
        #expect(configuration.pidFile == "/run/sluice/sluice.pid")
        #expect(configuration.xclientFrom.map(\.description) == ["10.1.0.0/16", "2001:db8::/48"])
        #expect(configuration.upstreamXCLIENT == false)
    }

    @Test func theDefaultsIntroduceTheClientAndTrustNoXCLIENTSender() throws {
        let configuration = try ConfigurationLoader.load(text: "upstream 127.0.0.1:25\n", file: "sluice.conf")
        #expect(configuration.upstreamXCLIENT)
        #expect(configuration.xclientFrom.isEmpty)
        #expect(configuration.logFormat == nil)
        #expect(configuration.metricsListen == nil)
    }

    @Test func mistakesPointAtTheirToken() {
        do {
            _ = try ConfigurationLoader.load(text: """
                log format yaml
                xclient balancers
                upstream 127.0.0.1:25 xclient maybe
                metrics 127.0.0.1:9725
                pid-file sluice.pid
                """, file: "sluice.conf")
            Issue.record("loaded a configuration with errors")
        } catch {
            let lines = error.diagnostics.map(\.description)
            #expect(lines.count == 5, "\(lines)")
            #expect(lines.contains("sluice.conf:1:12: error: log format is 'text' or 'json', not 'yaml'"), "\(lines)")
            #expect(lines.contains { $0.hasPrefix("sluice.conf:2:1: error: write 'xclient from LIST'") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("sluice.conf:3:") && $0.contains("xclient on") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("sluice.conf:4:1: error: write 'metrics listen HOST:PORT'") }, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("sluice.conf:5:1: error: write 'pid-file FILE' with an absolute path") }, "\(lines)")
        }
    }
}
