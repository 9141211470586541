import Foundation
import NIOConcurrencyHelpers

/// Runs a real program (swaks, python3, smtp-source, the sluice binary) and collects its output.
public struct ExternalTool {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Finds `name` on PATH or in the usual sbin folders (postfix's tools live in /usr/sbin).
    public static func path(of name: String) -> String? {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/lib/postfix/sbin"]
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a program that leaves a daemon behind (pg_ctl start) with posix_spawn and waitpid: its
    /// output goes to /dev/null, so the daemon holds no pipe of ours. (Foundation's Process did not
    /// notice such a child's exit here.) Returns the exit status.
    public static func runDetached(_ name: String, _ arguments: [String], timeout: Double = 120) async throws -> Int32 {
        guard let executable = name.hasPrefix("/") ? name : path(of: name) else { throw ToolMissing(name: name) }
        let spawn: @Sendable () throws -> Int32 = {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
            let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var pid = pid_t()
            let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
            guard spawned == 0 else { throw ToolMissing(name: "\(name) (spawn failed: \(spawned))") }
            var status: Int32 = 0
            let deadline = Date().addingTimeInterval(timeout)
            while waitpid(pid, &status, WNOHANG) == 0 {
                if Date() > deadline { kill(pid, SIGKILL) }
                usleep(10_000)
            }
            return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Swift.Result { try spawn() }) }
        }
    }

    public static func run(_ name: String, _ arguments: [String], stdin: String? = nil, timeout: Double = 120) async throws -> Result {
        guard let executable = name.hasPrefix("/") ? name : path(of: name) else {
            throw ToolMissing(name: name)
        }
        let child = try ChildProcess.spawn(executable, arguments, stdin: Data((stdin ?? "").utf8))
        async let stdoutData = readToEnd(child.stdoutFD)
        async let stderrData = readToEnd(child.stderrFD)
        let deadline = Date().addingTimeInterval(timeout)
        var status = child.exitStatus
        while status == nil {
            if Date() > deadline { child.signal(SIGKILL) }
            try await Task.sleep(nanoseconds: 10_000_000)
            status = child.exitStatus
        }
        return Result(status: status ?? -1, stdout: String(decoding: await stdoutData, as: UTF8.self),
                      stderr: String(decoding: await stderrData, as: UTF8.self))
    }

    /// Everything the child writes to `fd`, read on a thread of its own: a blocking read on Swift's
    /// cooperative pool (2 threads here) would starve the server under test.
    private static func readToEnd(_ fd: Int32) async -> Data {
        await withCheckedContinuation { continuation in
            let collected = NIOLockedValueBox(Data())
            ChildProcess.drain(fd, { chunk in collected.withLockedValue { $0.append(chunk) } },
                               done: { continuation.resume(returning: collected.withLockedValue { $0 }) })
        }
    }

    /// Runs a Python 3 script given as text.
    public static func python(_ script: String, _ arguments: [String] = [], stdin: String? = nil, timeout: Double = 120) async throws -> Result {
        try await run("python3", ["-c", script] + arguments, stdin: stdin, timeout: timeout)
    }
}

public struct ToolMissing: Error, CustomStringConvertible {
    public var name: String
    public var description: String { "\(name) is not installed (make test installs it)" }
    public init(name: String) { self.name = name }
}
