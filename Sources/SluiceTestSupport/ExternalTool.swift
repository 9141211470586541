import Foundation

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

    public static func run(_ name: String, _ arguments: [String], stdin: String? = nil, timeout: Double = 120) async throws -> Result {
        guard let executable = name.hasPrefix("/") ? name : path(of: name) else {
            throw ToolMissing(name: name)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty tool never blocks on a full pipe.
        async let stdoutData = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
        async let stderrData = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline { process.terminate() }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return Result(status: process.terminationStatus, stdout: String(decoding: await stdoutData, as: UTF8.self),
                      stderr: String(decoding: await stderrData, as: UTF8.self))
    }

    /// Runs a Python 3 script given as text.
    public static func python(_ script: String, _ arguments: [String] = [], stdin: String? = nil, timeout: Double = 120) async throws -> Result {
        try await run("python3", ["-c", script] + arguments, stdin: stdin, timeout: timeout)
    }
}

public struct ToolMissing: Error, CustomStringConvertible {
    public var name: String
    public var description: String { "\(name) is not installed (make test installs it)" }
}
