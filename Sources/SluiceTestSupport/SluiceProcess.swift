import Foundation
import NIOConcurrencyHelpers

/// The real `sluice` binary as an administrator runs it, for signals, exit codes and stderr.
public final class SluiceProcess: Sendable {
    public let process: Process
    private let stderrText: NIOLockedValueBox<String>

    /// The built binary: `.build/debug/sluice` next to the package (make test builds it first).
    public static var binary: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent(".build/debug/sluice").path
    }

    public static func start(_ arguments: [String]) throws -> SluiceProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        let text = NIOLockedValueBox("")
        err.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; return }
            text.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        return SluiceProcess(process: process, stderrText: text)
    }

    private init(process: Process, stderrText: NIOLockedValueBox<String>) {
        self.process = process
        self.stderrText = stderrText
    }

    public var stderr: String { stderrText.withLockedValue { $0 } }

    /// The port of the first "listening on HOST:PORT" log line.
    public func listeningPort(seconds: Double = 20) async -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, process.isRunning {
            if let line = stderr.split(separator: "\n").first(where: { $0.contains("listening on ") }),
               let range = line.range(of: "listening on "),
               let portText = line[range.upperBound...].split(separator: ",").first?.split(separator: ":").last,
               let port = Int(portText) {
                return port
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return nil
    }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the process to exit; returns its status, or nil if it did not exit in time (it is then killed).
    public func waitForExit(seconds: Double = 30) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try? await Task.sleep(nanoseconds: 20_000_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }
}
