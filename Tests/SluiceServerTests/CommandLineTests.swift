import Foundation
import SluicePolicy
import SluiceStore
import SluiceTestSupport
import Testing

/// The `sluice` binary: flags, exit codes, signals.
@Suite struct CommandLineTests {
    @Test func badFlagIsOneLineOnStderrAndExitStatus2() async throws {
        let result = try await ExternalTool.run(SluiceProcess.binary, ["run", "--upstream", "127.0.0.1:25", "--bogus"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("sluice: error: "), "got: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        let badAddress = try await ExternalTool.run(SluiceProcess.binary, ["run", "--upstream", "nohost"])
        #expect(badAddress.status == 2)
        #expect(badAddress.stderr == "sluice: error: --upstream: 'nohost' has no port (write HOST:PORT, or [IPv6]:PORT)\n")
    }

    @Test func addressThatCannotBeBoundIsOneLineAndExitStatus2() async throws {
        let upstream = try await ScriptedUpstream.start()
        defer { Task { await upstream.stop() } }
        let result = try await ExternalTool.run(SluiceProcess.binary, [
            "run", "--listen", "127.0.0.1:\(upstream.port)", "--upstream", "127.0.0.1:\(upstream.port)"] + (getuid() == 0 ? ["--allow-root"] : []))
        #expect(result.status == 2)
        #expect(result.stderr.contains("sluice: error: cannot listen on 127.0.0.1:\(upstream.port): "), "got: \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"))
    }

    @Test func configurationErrorsArePrintedWithLocationsAndRefuseToStart() async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.conf"
        try "upstream 127.0.0.1:25\nlimt errors 3\nlimit recipients -1\n".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await ExternalTool.run(SluiceProcess.binary, ["run", "--config", path])
        #expect(result.status == 2)
        #expect(result.stderr == "\(path):2:1: error: unknown setting 'limt' (did you mean 'limit'?)\n\(path):3:18: error: '-1' is not a positive number\n")
        let check = try await ExternalTool.run(SluiceProcess.binary, ["check", "--config", path])
        #expect(check.status == 1)
    }

    static let root = URL(fileURLWithPath: SluiceProcess.binary).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func checkAcceptsTheShippedFilesAndWarnsAboutAnOpenRelay() async throws {
        let good = try await ExternalTool.run(SluiceProcess.binary, ["check", "--config", Self.root.path + "/Rules/sluice.conf"])
        #expect(good.status == 0)
        #expect(good.stdout.hasSuffix("OK (1 file(s))\n"), "\(good.stdout)")
        let directory = try TemporaryDirectory.make(prefix: "sluice-check")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "upstream 127.0.0.1:25\n".write(toFile: directory + "/open.conf", atomically: true, encoding: .utf8)
        let open = try await ExternalTool.run(SluiceProcess.binary, ["check", "--config", directory + "/open.conf"])
        #expect(open.status == 0)
        #expect(open.stdout.contains("open.conf:1:1: warning: no relay control"))
    }

    @Test func explainShowsEachStageRuleAndVerdict() async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-explain")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "Subject: Please send a Wire Transfer\nX-Internal-Id: 7\n\nhello\n".write(toFile: directory + "/m.eml", atomically: true, encoding: .utf8)
        let config = Self.root.path + "/Rules/examples/inbound-antispam.conf"
        let result = try await ExternalTool.run(SluiceProcess.binary, [
            "explain", "--config", config, "--client", "198.51.100.4", "--helo", "mail.sender.example",
            "--from", "alice@sender.example", "--to", "bob@example.com", "--to", "eve@elsewhere.org", directory + "/m.eml"])
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("stage connect  (client 198.51.100.4)"))
        #expect(out.contains("inbound-antispam.conf:39  no match  reject rcpt.domain not in local \"554 5.7.1 Relay access denied\""), "\(out)")
        #expect(out.contains("inbound-antispam.conf:39  MATCH     reject rcpt.domain not in local"))
        #expect(out.contains("=> reject: 554 5.7.1 Relay access denied"))
        #expect(out.contains("stage header"))
        #expect(out.contains("=> reject: 550 5.7.1 Content rejected"))
        #expect(out.contains("result: refused"))
    }

    @Test func sighupReloadsRulesAndABrokenFileNeverReplacesAGoodOne() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-reload")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sluice.conf"
        let head = "listen 127.0.0.1:0\nupstream 127.0.0.1:\(upstream.port)\nacknowledge open-relay\n"
        try (head + "stage mail\n  reject sender = \"a@b.example\" \"550 5.7.1 Not you\"\n").write(toFile: path, atomically: true, encoding: .utf8)
        let sluice = try SluiceProcess.start(["run", "--config", path, "--shutdown-grace", "0"])
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        func mailReply() async throws -> String {
            let client = try await RawClient.connect(port: port)
            try await client.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n")
            let replies = await client.waitForReplies(4)
            await client.close()
            return replies.count > 2 ? String(replies[2].prefix(9)) : "\(replies)"
        }
        func waitForLog(_ text: String) async -> Bool {
            let deadline = Patience.deadline(after: 10)
            while !sluice.stderr.contains(text), Date() < deadline { try? await Task.sleep(nanoseconds: 20_000_000) }
            return sluice.stderr.contains(text)
        }
        #expect(try await mailReply() == "550 5.7.1")

        try head.write(toFile: path, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        #expect(await waitForLog("reloaded: 0 rule(s)"))
        #expect(try await mailReply() == "250 2.1.0")

        try (head + "stage mail\n  rejct sender = \"a@b.example\" \"550 5.7.1 Not you\"\n").write(toFile: path, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        #expect(await waitForLog("reload refused"))
        #expect(sluice.stderr.contains("sluice.conf:5:3: error: unknown verb 'rejct' (did you mean 'reject'?)"))
        #expect(try await mailReply() == "250 2.1.0", "the running configuration stayed")

        sluice.signal(SIGTERM)
        #expect(await sluice.waitForExit() == 0)
        await upstream.stop()
    }

    @Test func aBadCertificateIsAClearErrorAtStart() async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-badcert")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "not a certificate\n".write(toFile: directory + "/cert.pem", atomically: true, encoding: .utf8)
        try "not a key\n".write(toFile: directory + "/key.pem", atomically: true, encoding: .utf8)
        try "upstream 127.0.0.1:25\nacknowledge open-relay\ntls certificate cert.pem key missing.pem\n".write(toFile: directory + "/a.conf", atomically: true, encoding: .utf8)
        let missing = try await ExternalTool.run(SluiceProcess.binary, ["run", "--config", directory + "/a.conf", "--listen", "127.0.0.1:0"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "\(directory)/a.conf:3:30: error: cannot read '\(directory)/missing.pem'\n")
        try "upstream 127.0.0.1:25\nacknowledge open-relay\ntls certificate cert.pem key key.pem\n".write(toFile: directory + "/b.conf", atomically: true, encoding: .utf8)
        let garbage = try await ExternalTool.run(SluiceProcess.binary, ["run", "--config", directory + "/b.conf", "--listen", "127.0.0.1:0"])
        #expect(garbage.status == 2)
        #expect(garbage.stderr.hasPrefix("sluice: error: tls: certificate \(directory)/cert.pem: "), "\(garbage.stderr)")
        #expect(garbage.stderr.split(separator: "\n").count == 1)
    }

    @Test func sighupReloadsCertificatesAndABadOneKeepsTheOld() async throws {
        let first = try await TestCertificates.make(commonName: "first.test")
        let second = try await TestCertificates.make(commonName: "second.test")
        defer { first.remove(); second.remove() }
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-certreload")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/sluice.conf"
        func write(_ certificates: TestCertificates) throws {
            try "listen 127.0.0.1:0\nupstream 127.0.0.1:\(upstream.port)\nacknowledge open-relay\ntls certificate \"\(certificates.certificate)\" key \"\(certificates.key)\"\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write(first)
        let sluice = try SluiceProcess.start(["run", "--config", path, "--shutdown-grace", "0"])
        let port = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        func subject() async throws -> String {
            let result = try await ExternalTool.run("openssl", ["s_client", "-starttls", "smtp", "-connect", "127.0.0.1:\(port)", "-brief"],
                                                    stdin: "QUIT\r\n")
            return result.stderr.split(separator: "\n").first { $0.contains("Peer certificate") }.map(String.init) ?? result.stderr
        }
        func waitForLog(_ text: String) async -> Bool {
            let deadline = Patience.deadline(after: 10)
            while !sluice.stderr.contains(text), Date() < deadline { try? await Task.sleep(nanoseconds: 20_000_000) }
            return sluice.stderr.contains(text)
        }
        #expect(try await subject().contains("CN = first.test"))
        try write(second)
        sluice.signal(SIGHUP)
        #expect(await waitForLog("reloaded"))
        #expect(try await subject().contains("CN = second.test"))
        try "garbage\n".write(toFile: second.certificate, atomically: true, encoding: .utf8)
        sluice.signal(SIGHUP)
        #expect(await waitForLog("reload refused"))
        #expect(try await subject().contains("CN = second.test"), "the running certificate stays")
        sluice.signal(SIGTERM)
        #expect(await sluice.waitForExit() == 0)
        await upstream.stop()
    }

    @Test func greylistAdministration() async throws {
        let directory = try TemporaryDirectory.make(prefix: "sluice-greyadmin")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/sluice.conf"
        try "acknowledge open-relay\ngreylist store sqlite \"grey.db\"\nstage rcpt\n  greylist\n".write(toFile: config, atomically: true, encoding: .utf8)
        let store = try SQLiteGreylistStore(path: directory + "/grey.db")
        _ = try await store.decide(GreylistKey(network: "192.0.2.0/24", sender: "a@b.example", recipient: "c@d.example"),
                                   now: 1_800_000_000, settings: GreylistSettings())
        func sluice(_ arguments: [String]) async throws -> ExternalTool.Result {
            try await ExternalTool.run(SluiceProcess.binary, ["greylist"] + arguments + ["--config", config])
        }
        let list = try await sluice(["list", "--filter", "b.example"])
        #expect(list.stdout.contains("pending  192.0.2.0/24") && list.stdout.contains("a@b.example -> c@d.example"), "\(list.stdout)\(list.stderr)")
        #expect(try await sluice(["allow", "--network", "198.51.100.9"]).stdout == "allowed network 198.51.100.0/24\n")
        #expect(try await sluice(["allow", "--domain", "BigSender.Example."]).stdout == "allowed sender domain bigsender.example\n")
        #expect(try await sluice(["forget", "--network", "192.0.2.0/24", "--sender", "a@b.example", "--recipient", "c@d.example"]).stdout == "forgotten\n")
        let stats = try await sluice(["stats"])
        #expect(stats.stdout == "pending: 0\npassed: 0\nauto-allowed networks: 0\nallow entries: 2\n")
        let bad = try await sluice(["allow"])
        #expect(bad.status == 2 && bad.stderr == "sluice: error: give --network or --domain\n")
    }

    @Test func sigtermDrainsOpenSessionsThenSays421AndExitsZero() async throws {
        let upstream = try await ScriptedUpstream.start()
        let sluice = try SluiceProcess.start(["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--hostname", "sluice.test", "--shutdown-grace", "8"])
        let port = try #require(await sluice.listeningPort(), "no listening line: \(sluice.stderr)")

        // A session in the middle of a message, and an idle one.
        let busy = try await RawClient.connect(port: port)
        try await busy.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nSubject: drain\r\n\r\nfirst half\r\n")
        await busy.waitForReplies(5)
        let idle = try await RawClient.connect(port: port)
        try await idle.send("EHLO c\r\n")
        await idle.waitForReplies(2)

        sluice.signal(SIGTERM)
        // Wait for the listeners to close (not a fixed sleep: under a sanitizer on a loaded machine the
        // grace period could run out before the busy session is given its second half).
        let stopping = Patience.deadline(after: 10)
        while !sluice.stderr.contains("stopping:"), Date() < stopping { try? await Task.sleep(nanoseconds: 20_000_000) }
        // No new connections once stopping.
        await #expect(throws: (any Error).self) { _ = try await RawClient.connect(port: port) }
        // The busy session finishes its message within the grace period.
        try await busy.send("second half\r\n.\r\nQUIT\r\n")
        let busyReplies = await busy.waitForReplies(7)
        #expect(busyReplies.suffix(2).map { String($0.prefix(3)) } == ["250", "221"])
        #expect(upstream.messages.count == 1)
        #expect(upstream.messages.first?.wireData.hasSuffix("first half\r\nsecond half\r\n") == true)
        // The idle one is told 421 4.3.2 when the grace period ends.
        #expect(await idle.waitForClose(seconds: 20))
        #expect(idle.replies.last?.hasPrefix("421 4.3.2") == true, "got \(idle.replies)")
        #expect(await sluice.waitForExit() == 0)
        await upstream.stop()
    }
}

/// Running as a service: the pid file, systemd's notify protocol, and the systemd unit in contrib/.
@Suite struct ServiceTests {
    /// A datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
    final class NotifySocket: Sendable {
        let fd: Int32
        let path: String

        init(path: String) throws {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        }

        deinit { close(fd); unlink(path) }

        /// The next datagram (nil after 10 s).
        func next() async -> String? {
            let fd = self.fd
            return await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    let n = recv(fd, &buffer, buffer.count, 0)
                    continuation.resume(returning: n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil)
                }
            }
        }
    }

    @Test func systemdHearsReadyReloadingAndStopping() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-notify")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notify = try NotifySocket(path: directory + "/notify")
        let sluice = try SluiceProcess.start(["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)", "--shutdown-grace", "0"],
                                             environment: ["NOTIFY_SOCKET": notify.path])
        #expect(await notify.next() == "READY=1\nMAINPID=\(sluice.process.pid)")
        #expect(await sluice.listeningPort() != nil, "ready only once listening")
        sluice.signal(SIGHUP)
        #expect(await notify.next()?.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") == true)
        #expect(await notify.next() == "READY=1")
        sluice.signal(SIGTERM)
        #expect(await notify.next() == "STOPPING=1")
        #expect(await sluice.waitForExit() == 0)
        await upstream.stop()
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func thePidFileHoldsTheProcessIdAndGoesAtExit() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-pid")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pidFile = directory + "/sluice.pid"
        let sluice = try SluiceProcess.start(["run", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:\(upstream.port)",
                                              "--shutdown-grace", "0", "--pid-file", pidFile])
        _ = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        let written = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int32(written) != nil && Int32(written)! > 0)
        #expect(kill(Int32(written)!, 0) == 0, "the pid names a running process")
        sluice.signal(SIGTERM)
        #expect(await sluice.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: pidFile))
    }

    @Test func thePidFileCanBeNamedInTheConfiguration() async throws {
        let upstream = try await ScriptedUpstream.start()
        let directory = try TemporaryDirectory.make(prefix: "sluice-pid")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pidFile = directory + "/from-config.pid"
        try "listen 127.0.0.1:0\nupstream 127.0.0.1:\(upstream.port)\nacknowledge open-relay\npid-file \(pidFile)\n"
            .write(toFile: directory + "/sluice.conf", atomically: true, encoding: .utf8)
        let sluice = try SluiceProcess.start(["run", "--config", directory + "/sluice.conf", "--shutdown-grace", "0"])
        _ = try #require(await sluice.listeningPort(), "\(sluice.stderr)")
        let written = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int32(written).map { kill($0, 0) == 0 } == true, "the pid names a running process: \(written)")
        sluice.signal(SIGTERM)
        #expect(await sluice.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: pidFile))
    }

    /// `systemd-analyze verify` on the shipped unit, its ExecStart pointed at the binary under test.
    @Test func theSystemdUnitVerifies() async throws {
        let unit = try String(contentsOf: Self.root.appendingPathComponent("contrib/sluice.service"), encoding: .utf8)
        let binary = URL(fileURLWithPath: SluiceProcess.binary).standardizedFileURL.path
        let directory = try TemporaryDirectory.make(prefix: "sluice-unit")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try unit.replacingOccurrences(of: "/usr/local/bin/sluice", with: binary)
            .write(toFile: directory + "/sluice.service", atomically: true, encoding: .utf8)
        let result = try await ExternalTool.run("systemd-analyze", ["verify", directory + "/sluice.service"])
        #expect(result.status == 0, "systemd-analyze: \(result.stdout) \(result.stderr)")
        #expect(unit.contains("ExecReload=/bin/kill -HUP $MAINPID") && unit.contains("NoNewPrivileges=yes")
                && unit.contains("ProtectSystem=strict") && unit.contains("AmbientCapabilities=CAP_NET_BIND_SERVICE"))
    }
}
