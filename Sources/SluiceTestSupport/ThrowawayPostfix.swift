import Foundation

/// A real Postfix (smtpd, cleanup, qmgr, discard) on a loopback port, in a directory of its own, for
/// tests that need Postfix's own view of a session: XCLIENT and XFORWARD are authorised for 127.0.0.1,
/// every recipient is accepted and discarded, and the log goes to a file the test reads
/// (`maillog_file`). The HELO name shows in a `NOQUEUE: info: RCPT … helo=<…>` line per recipient.
///
/// Postfix must start as root (`postfix` refuses otherwise; its daemons then run as `postfix`).
/// `start-fg` keeps the harness the owner; `stop()` runs `postfix stop` (a SIGTERM to start-fg would
/// leave master running) and waits until no daemon of the instance is left.
public final class ThrowawayPostfix: Sendable {
    public let port: Int
    public let directory: String
    private let process: ChildProcess

    /// `authorizeXCLIENT: false`: only XFORWARD is offered to 127.0.0.1.
    public static func start(authorizeXCLIENT: Bool = true) async throws -> ThrowawayPostfix {
        // The port is picked free, but a test running beside this one can take it before master binds
        // it (master then exits: "bind … Address already in use"): try again on another.
        var lastError: Error?
        for _ in 0..<5 {
            do { return try await startOnce(authorizeXCLIENT: authorizeXCLIENT) } catch { lastError = error }
        }
        throw lastError ?? ToolMissing(name: "postfix")
    }

    private static func startOnce(authorizeXCLIENT: Bool) async throws -> ThrowawayPostfix {
        guard ExternalTool.path(of: "postfix") != nil || FileManager.default.isExecutableFile(atPath: "/usr/sbin/postfix") else {
            throw ToolMissing(name: "postfix")
        }
        let binary = ExternalTool.path(of: "postfix") ?? "/usr/sbin/postfix"
        let port = try FreePort.pick()
        let directory = try TemporaryDirectory.make(prefix: "sluice-postfix")
        let fm = FileManager.default
        for sub in ["conf", "queue", "data"] { try fm.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true) }
        chmod(directory, 0o755)
        chmod(directory + "/queue", 0o755)
        if let owner = getpwnam("postfix") {
            chown(directory + "/data", owner.pointee.pw_uid, owner.pointee.pw_gid)
            chmod(directory + "/data", 0o700)
        }
        let main = """
            compatibility_level = 3.6
            config_directory = \(directory)/conf
            queue_directory = \(directory)/queue
            data_directory = \(directory)/data
            mail_owner = postfix
            setgid_group = postdrop
            maillog_file = \(directory)/postfix.log
            maillog_file_prefixes = \(directory)
            syslog_name = postfix-test-\(port)
            myhostname = postfix-test.localdomain
            mydomain = localdomain
            myorigin = $myhostname
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            mydestination =
            local_recipient_maps =
            relay_domains = static:ALL
            relay_recipient_maps =
            alias_maps =
            alias_database =
            biff = no
            smtp_dns_support_level = disabled
            lmtp_dns_support_level = disabled
            smtpd_peername_lookup = no
            default_transport = discard
            local_transport = discard
            relay_transport = discard
            virtual_transport = discard
            smtpd_client_restrictions =
            smtpd_sender_restrictions =
            smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
            smtpd_recipient_restrictions =
            smtpd_data_restrictions =
            smtpd_helo_required = yes
            smtpd_helo_restrictions = check_helo_access static:{INFO helo-logged}
            smtpd_authorized_xclient_hosts = \(authorizeXCLIENT ? "127.0.0.1" : "")
            smtpd_authorized_xforward_hosts = 127.0.0.1
            smtpd_client_connection_count_limit = 0
            smtpd_client_connection_rate_limit = 0
            smtputf8_enable = no

            """
        let master = """
            127.0.0.1:\(port) inet n - n - - smtpd
            cleanup   unix  n - n - 0 cleanup
            qmgr      unix  n - n 300 1 qmgr
            rewrite   unix  - - n - - trivial-rewrite
            bounce    unix  - - n - 0 bounce
            defer     unix  - - n - 0 bounce
            trace     unix  - - n - 0 bounce
            verify    unix  - - n - 1 verify
            flush     unix  n - n 1000? 0 flush
            proxymap  unix  - - n - - proxymap
            showq     unix  n - n - - showq
            error     unix  - - n - - error
            retry     unix  - - n - - error
            discard   unix  - - n - - discard
            anvil     unix  - - n - 1 anvil
            scache    unix  - - n - 1 scache
            postlog   unix-dgram n - n - 1 postlogd

            """
        try main.write(toFile: directory + "/conf/main.cf", atomically: true, encoding: .utf8)
        try master.write(toFile: directory + "/conf/master.cf", atomically: true, encoding: .utf8)
        let process = try ChildProcess.spawn(binary, ["-c", directory + "/conf", "start-fg"], captureStdout: false)
        let postfix = ThrowawayPostfix(port: port, directory: directory, process: process)
        // Ready when smtpd greets (master opens the port before any smtpd runs).
        let deadline = Patience.deadline(after: 60)
        while Date() < deadline, process.isRunning {
            if let client = try? await RawClient.connect(port: port) {
                let greeting = await client.waitForReplies(1, seconds: 5).first ?? ""
                try? await client.send("QUIT\r\n")
                _ = await client.waitForClose(seconds: 5)
                // Postfix's own greeting: another test's server may hold the port.
                if greeting.hasPrefix("220 postfix-test.localdomain") { return postfix }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let log = postfix.log
        await postfix.stop()
        throw ToolMissing(name: "postfix (no 220 on \(port); exit status \(process.exitStatus.map(String.init) ?? "none"); log: \(log.suffix(2000)))")
    }

    private init(port: Int, directory: String, process: ChildProcess) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Postfix's log so far.
    public var log: String { (try? String(contentsOfFile: directory + "/postfix.log", encoding: .utf8)) ?? "" }

    /// Waits until the log contains `text`.
    public func waitForLog(_ text: String, seconds: Double = 20) async -> Bool {
        let deadline = Patience.deadline(after: seconds)
        while Date() < deadline {
            if log.contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return log.contains(text)
    }

    public func stop() async {
        let binary = ExternalTool.path(of: "postfix") ?? "/usr/sbin/postfix"
        _ = try? await ExternalTool.run(binary, ["-c", directory + "/conf", "stop"], timeout: 30)
        let deadline = Patience.deadline(after: 20)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        // Every daemon works in the queue directory: any still there is killed.
        for pid in Self.processes(workingIn: directory + "/queue") { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func processes(workingIn path: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry),
                  let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/cwd"),
                  cwd.hasPrefix(path) else { return nil }
            return pid
        }
    }
}
