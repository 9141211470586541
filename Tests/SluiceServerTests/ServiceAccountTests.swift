import Foundation
@testable import SluiceServer
import SluiceTestSupport
import Testing

/// `log format json` and `user NAME`, on the real binary.
@Suite struct ServiceAccountTests {
    private func waitFor(_ condition: () -> Bool) async throws {
        let deadline = Patience.deadline(after: 10)
        while !condition(), Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(condition())
    }

    @Test func jsonStringsEscapeEverythingThatCouldBreakALine() {
        var output: [UInt8] = []
        LogWriter.appendJSONString("a\"b\\c\r\nd\u{1b}é", to: &output)
        #expect(String(decoding: output, as: UTF8.self) == #""a\"b\\c\u000d\u000ad\u001bé""#)
        #expect(LogWriter.sessionPrefix(of: "5K2XQ9TD3B7N: connect from [x]") == "5K2XQ9TD3B7N")
        #expect(LogWriter.sessionPrefix(of: "listening on 127.0.0.1:25") == nil)
    }

    /// One JSON object per line, the session id first, stable keys; a HELO with CR LF stays inside its string.
    @Test func jsonLogLinesParseAndCarryTheTransaction() async throws {
        let upstream = try await ScriptedUpstream.start()
        let sluice = try SluiceProcess.start(["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--log-format", "json", "--shutdown-grace", "0"])
        defer { sluice.signal(SIGTERM) }
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        let client = try await RawClient.connect(port: port)
        try await client.send("EHLO evil\u{1b}x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nDATA\r\n")
        _ = await client.waitForReplies(6)
        try await client.send("Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        _ = await client.waitForClose()
        try await waitFor { sluice.stderr.contains("\"event\":\"disconnect\"") }
        var objects: [[String: Any]] = []
        for line in sluice.stderr.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            if let object { objects.append(object) }
        }
        let transaction = try #require(objects.first { $0["event"] as? String == "transaction" })
        #expect(transaction["client"] as? String == "127.0.0.1")
        #expect(transaction["helo"] as? String == "evil\u{1b}x", "the ESC is escaped on the wire and decodes back")
        #expect(transaction["from"] as? String == "<a@b.example>")
        #expect(transaction["to"] as? [String] == ["<c@d.example>", "<e@d.example>"])
        #expect(transaction["status"] as? String == "delivered")
        #expect(transaction["reply"] as? String == "250")
        #expect((transaction["session"] as? String)?.count == 12)
        #expect(transaction["time"] is String && transaction["level"] as? String == "info")
        let disconnect = try #require(objects.first { $0["event"] as? String == "disconnect" })
        #expect(disconnect["reason"] as? String == "quit" && disconnect["session"] as? String == transaction["session"] as? String)
        let raw = try #require(sluice.stderr.split(separator: "\n").first { $0.contains("\"event\":\"transaction\"") })
        #expect(raw.hasPrefix("{\"session\":"), "the session id comes first")
        #expect(!sluice.stderr.contains("\u{1b}"))
    }

    @Test func rootWithoutUserIsRefusedUnlessAllowed() async throws {
        guard getuid() == 0 else {
            let result = try await ExternalTool.run(SluiceProcess.binary, ["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:25",
                                                                            "--user", "nobody"])
            #expect(result.stderr.contains("cannot switch users"), "\(result.stderr)")
            return
        }
        let result = try await ExternalTool.run(SluiceProcess.binary, ["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:25"])
        #expect(result.status == 2)
        #expect(result.stderr == "sluice: error: refusing to run as root: set 'user NAME' in the configuration (Sluice switches to it once its ports are bound) or pass --allow-root\n")
        let root = try await ExternalTool.run(SluiceProcess.binary, ["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:25",
                                                                      "--user", "root"])
        #expect(root.stderr.contains("user root: that is root"), "\(root.stderr)")
        let missing = try await ExternalTool.run(SluiceProcess.binary, ["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:25",
                                                                         "--user", "no-such-account-here"])
        #expect(missing.stderr.contains("user no-such-account-here: no such account"), "\(missing.stderr)")
    }

    /// Started as root with `user nobody`: the listener was bound as root, the process then runs as
    /// nobody (every uid and gid in /proc), and mail still flows.
    @Test func userDropsPrivilegesAfterBinding() async throws {
        guard getuid() == 0 else { return }
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-user")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod(directory, 0o1777)
        let config = directory + "/sluice.conf"
        try "user nobody\nacknowledge open-relay\nspool-dir \"\(directory)\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        chmod(config, 0o644)
        let sluice = try SluiceProcess.start(["run", "--config", config, "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--shutdown-grace", "0"])
        defer { sluice.signal(SIGTERM) }
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        try await waitFor { sluice.stderr.contains("running as nobody") }
        let status = try String(contentsOfFile: "/proc/\(sluice.process.pid)/status", encoding: .utf8)
        let nobody = try #require(getpwnam("nobody")).pointee
        let uids = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?.split(whereSeparator: \.isWhitespace).dropFirst()
        let gids = status.split(separator: "\n").first { $0.hasPrefix("Gid:") }?.split(whereSeparator: \.isWhitespace).dropFirst()
        #expect(uids.map(Array.init) == Array(repeating: Substring("\(nobody.pw_uid)"), count: 4), "\(status)")
        #expect(gids.map(Array.init) == Array(repeating: Substring("\(nobody.pw_gid)"), count: 4), "\(status)")
        let client = try await RawClient.connect(port: port)
        try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
        _ = await client.waitForReplies(5)
        try await client.send("Subject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        #expect(await client.waitForReplies(7).suffix(2).map { String($0.prefix(3)) } == ["250", "221"])
        #expect(upstream.messages.count == 1)
        await upstream.stop()
    }
}
