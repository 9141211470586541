import Foundation

/// A real DNS server on a loopback port the OS picked (Tests/DNS/dns_server.py on Debian's
/// python3-dnslib), serving `zone`: zone-file lines with absolute names, plus `;; servfail NAME` and
/// `;; silent NAME` (no answer at all).
public final class TestDNSServer: Sendable {
    public let port: Int
    private let process: ChildProcess
    private let directory: String

    public static let script: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("Tests/DNS/dns_server.py").path
    }()

    public static func start(zone: String) async throws -> TestDNSServer {
        let directory = try TemporaryDirectory.make(prefix: "sluice-dns")
        try zone.write(toFile: directory + "/zone", atomically: true, encoding: .utf8)
        return try await start(arguments: [script, directory + "/zone", "0"], directory: directory)
    }

    /// A server of another script in Tests/DNS (such as the SPF suite's) that prints "PORT n" too.
    public static func start(script name: String, arguments: [String]) async throws -> TestDNSServer {
        let directory = try TemporaryDirectory.make(prefix: "sluice-dns")
        let path = URL(fileURLWithPath: script).deletingLastPathComponent().appendingPathComponent(name).path
        return try await start(arguments: [path] + arguments, directory: directory)
    }

    /// Debian's python3 (where python3-dnslib is), not a python3 earlier on PATH.
    public static var python: String {
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        return python.hasPrefix("/") ? python : (ExternalTool.path(of: python) ?? python)
    }

    private static func start(arguments: [String], directory: String) async throws -> TestDNSServer {
        let process = try ChildProcess.spawn(python, arguments)
        // The "PORT n" line is read on a thread of its own: a blocking read on Swift's cooperative pool
        // (2 threads here) would starve every other test while Python starts.
        let fd = process.stdoutFD
        let line: Data = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
                var line = Data()
                let deadline = Patience.deadline(after: 20)
                while Date() < deadline, !line.contains(UInt8(ascii: "\n")) {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    line += chunk
                }
                continuation.resume(returning: line)
            }
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let port = text.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            process.signal(SIGKILL)
            throw ToolMissing(name: "dns_server.py (python3-dnslib; said: \(text))")
        }
        return TestDNSServer(port: port, process: process, directory: directory)
    }

    private init(port: Int, process: ChildProcess, directory: String) {
        self.port = port
        self.process = process
        self.directory = directory
    }

    /// `127.0.0.1@PORT`, as libunbound's forwarder setting takes it.
    public var forwarder: String { "127.0.0.1@\(port)" }

    public func stop() {
        process.signal(SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
