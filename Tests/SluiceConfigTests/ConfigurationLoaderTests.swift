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

    /// Inline pattern lists take the patterns whole: parentheses, commas and `#` inside a pattern are
    /// the pattern's (they were split into symbols once, so `/a(b|c)/` was refused).
    @Test func inlinePatternListsKeepParenthesesAndCommas() throws {
        let text = "list one pcre { /^a(b|c)$/i, /x{2,3}#y/ }\nlist many pcre {\n  /^spam[0-9]+\\.(com|net)$/i,\n  /(?:z)/\n  }\n"
        let configuration = try ConfigurationLoader.load(text: text, file: "c")
        let one = try #require(configuration.lists["one"])
        #expect(try one.contains("AC") && one.contains("xx#y") && !one.contains("ad"))
        let many = try #require(configuration.lists["many"])
        #expect(try many.contains("spam12.net") && many.contains("z") && !many.contains("spam.org"))
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

@Suite struct FloodLimitSettingsTests {
    @Test func floodLimitsAreRead() throws {
        let configuration = try ConfigurationLoader.load(text: """
            list trusted cidr { 10.0.0.0/8, 2001:db8::/32 }
            limit connections            500
            limit connections-per-client 20
            limit connection-rate        30/min
            limit client-grouping        network
            limit messages-per-session   100
            limit greet-delay            2s
            limit exempt                 trusted
            """, file: "sluice.conf")
        #expect(configuration.limits.connections == 500)
        #expect(configuration.limits.connectionsPerClient == 20)
        #expect(configuration.limits.connectionRate == 30)
        #expect(configuration.limits.groupClientsByNetwork)
        #expect(configuration.limits.messagesPerSession == 100)
        #expect(configuration.limits.greetDelay == 2)
        #expect(configuration.exempt?.map(\.description) == ["10.0.0.0/8", "2001:db8::/32"])
    }

    @Test func theDefaultsAreAPort25Servers() throws {
        let configuration = try ConfigurationLoader.load(text: "", file: "sluice.conf")
        #expect(configuration.limits.connections == 1000)
        #expect(configuration.limits.connectionsPerClient == 50)
        #expect(configuration.limits.connectionRate == 0)
        #expect(configuration.limits.greetDelay == 0)
        #expect(configuration.exempt == nil, "nil: loopback, the session's default")
    }

    @Test func badFloodSettingsPointAtTheirValue() {
        do {
            _ = try ConfigurationLoader.load(text: """
                list senders domain { example.com }
                limit connection-rate 30/hour
                limit client-grouping subnet
                limit exempt senders
                limit exempt nosuchlist
                limit connections-per-client many
                """, file: "sluice.conf")
            Issue.record("loaded a configuration with errors")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "sluice.conf:2:23: error: write 'limit connection-rate N/min', not '30/hour'",
                "sluice.conf:3:23: error: limit client-grouping is 'address' or 'network' (/24 for IPv4, /64 for IPv6)",
                "sluice.conf:6:30: error: 'many' is not a positive number",
                "sluice.conf:5:14: error: unknown list 'nosuchlist'",
            ])
        }
        do {
            _ = try ConfigurationLoader.load(text: "list senders domain { example.com }\nlimit exempt senders\n", file: "e.conf")
            Issue.record("a domain list was taken for networks")
        } catch {
            #expect(error.diagnostics.map(\.description) == ["e.conf:2:14: error: limit exempt needs a cidr list; 'senders' is a domain list"])
        }
    }
}

@Suite struct ProxyProtocolSettingsTests {
    @Test func aListenerTakesPROXYHeadersFromTheListedBalancers() throws {
        let configuration = try ConfigurationLoader.load(text: """
            list balancers cidr { 10.1.0.0/16 }
            listen 0.0.0.0:25 proxy-protocol from balancers
            listen 0.0.0.0:587 tls-required
            """, file: "sluice.conf")
        #expect(configuration.proxyProtocol[Endpoint(host: "0.0.0.0", port: 25)]?.map(\.description) == ["10.1.0.0/16"])
        #expect(configuration.proxyProtocol[Endpoint(host: "0.0.0.0", port: 587)] == nil)
    }

    @Test func aProxyListenerNeedsACidrList() {
        do {
            _ = try ConfigurationLoader.load(text: """
                list names domain { example.com }
                listen 0.0.0.0:25 proxy-protocol
                listen 0.0.0.0:26 proxy-protocol from names
                listen 0.0.0.0:27 proxy-protocol from nowhere
                """, file: "p.conf")
            Issue.record("loaded")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "p.conf:2:19: error: write 'proxy-protocol from LIST' (a cidr list of the load balancers)",
                "p.conf:3:39: error: proxy-protocol from needs a cidr list; 'names' is a domain list",
                "p.conf:4:39: error: unknown list 'nowhere'",
            ])
        }
    }
}
