import Foundation
import NIOCore
import NIOPosix

/// A real haproxy in TCP mode in front of a port, sending the PROXY header (`send-proxy` or
/// `send-proxy-v2`) on every connection it forwards. Bound to 127.0.0.1 on a port the OS picked.
public final class HAProxy: Sendable {
    public let port: Int
    private let process: ChildProcess
    private let directory: String

    public static func start(backendPort: Int, proxyVersion: Int) async throws -> HAProxy {
        guard let binary = ExternalTool.path(of: "haproxy") else { throw ToolMissing(name: "haproxy") }
        let port = try FreePort.pick()
        let directory = try TemporaryDirectory.make(prefix: "sluice-haproxy")
        let config = """
            global
                maxconn 100
            defaults
                mode tcp
                timeout connect 5s
                timeout client 30s
                timeout server 30s
            frontend in
                bind 127.0.0.1:\(port)
                default_backend sluice
            backend sluice
                server sluice 127.0.0.1:\(backendPort) \(proxyVersion == 2 ? "send-proxy-v2" : "send-proxy")
            """
        try (config + "\n").write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
        let process = try ChildProcess.spawn(binary, ["-db", "-f", directory + "/haproxy.cfg"], captureStdout: false)
        let proxy = HAProxy(port: port, process: process, directory: directory)
        let deadline = Patience.deadline(after: 10)
        while Date() < deadline {
            if (try? await Self.probe(port)) == true { return proxy }
            try await Task.sleep(for: .milliseconds(50))
        }
        let check = try? await ExternalTool.run(binary, ["-c", "-f", directory + "/haproxy.cfg"])
        proxy.stop()
        throw ToolMissing(name: "haproxy (did not listen on \(port); exit status \(process.exitStatus.map(String.init) ?? "none"); "
                                + "check: \(check?.stdout ?? "") \(check?.stderr ?? ""))")
    }

    private init(port: Int, process: ChildProcess, directory: String) {
        self.port = port
        self.process = process
        self.directory = directory
    }

    public func stop() {
        process.signal(SIGTERM)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Whether something accepts connections on the port (a connect that succeeds, then closes).
    static func probe(_ port: Int) async throws -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }
}
