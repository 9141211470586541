import Foundation
import NIOConcurrencyHelpers

/// The real `sluice` binary as an administrator runs it, for signals, exit codes and stderr.
public final class SluiceProcess: Sendable {
    public let process: ChildProcess
    private let stderrText: NIOLockedValueBox<String>

    /// The built binary: `$SLUICE_BINARY`, else `.build/debug/sluice` next to the package (make test
    /// builds it first; `make asan` and `make tsan` point it at their own build).
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SLUICE_BINARY"], !path.isEmpty { return path }
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent(".build/debug/sluice").path
    }

    /// Starts `sluice ARGUMENTS`; with a `launcher` (`["/usr/bin/prlimit", "--nofile=64:64", "--"]`),
    /// through it.
    /// Tests run as root on CI: `sluice run` is told that is intended (`--allow-root`).
    public static func start(_ arguments: [String], launcher: [String] = [], environment: [String: String] = [:]) throws -> SluiceProcess {
        let arguments = arguments.first == "run" && getuid() == 0 && !arguments.contains("--allow-root") ? arguments + ["--allow-root"] : arguments
        let executable = launcher.first ?? binary
        let process = try ChildProcess.spawn(executable, launcher.isEmpty ? arguments : Array(launcher.dropFirst()) + [binary] + arguments,
                                             captureStdout: false, environment: environment)
        let text = NIOLockedValueBox("")
        ChildProcess.drain(process.stderrFD) { data in text.withLockedValue { $0 += String(decoding: data, as: UTF8.self) } }
        return SluiceProcess(process: process, stderrText: text)
    }

    private init(process: ChildProcess, stderrText: NIOLockedValueBox<String>) {
        self.process = process
        self.stderrText = stderrText
    }

    /// A test that failed before stopping its Sluice does not leave it running.
    deinit {
        if process.isRunning { process.signal(SIGKILL) }
    }

    public var stderr: String { stderrText.withLockedValue { $0 } }

    /// The port of the first "listening on HOST:PORT" log line.
    public func listeningPort(seconds: Double = 20) async -> Int? {
        let deadline = Patience.deadline(after: seconds)
        while Date() < deadline, process.isRunning {
            if let line = stderr.split(separator: "\n").first(where: { $0.contains("listening on ") }),
               let range = line.range(of: "listening on "),
               let portText = line[range.upperBound...].split(separator: ",").first?.split(separator: ":").last,
               let port = Int(portText.prefix { $0.isNumber }) {
                return port
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return nil
    }

    public func signal(_ number: Int32) { process.signal(number) }

    /// Open descriptors of the process (from /proc).
    public var openDescriptors: Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process.pid)/fd")) ?? []).count
    }

    /// Resident memory of the process now, in KiB (VmRSS).
    public var residentKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
    }

    /// CPU seconds (user and system) the process has used so far.
    public var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14 and stime 15 (1-based, as in proc(5)).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Waits for the process to exit; returns its status, or nil if it did not exit in time (it is then killed).
    public func waitForExit(seconds: Double = 30) async -> Int32? {
        let deadline = Patience.deadline(after: seconds)
        while process.isRunning, Date() < deadline { try? await Task.sleep(nanoseconds: 20_000_000) }
        if let status = process.exitStatus { return status }
        process.signal(SIGKILL)
        return nil
    }
}
