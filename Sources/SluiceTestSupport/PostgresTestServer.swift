import Foundation

/// A throwaway PostgreSQL cluster for the tests: initdb into a temp dir, run as the postgres user, on a
/// free loopback port. `make test` installs the server (Debian's postgresql package).
public final class PostgresTestServer: Sendable {
    public let port: Int
    public let directory: String
    private let bin: String

    public var url: String { "postgresql://postgres@127.0.0.1:\(port)/sluice" }

    public static func start() async throws -> PostgresTestServer {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }).last else {
            throw ToolMissing(name: "PostgreSQL server (apt-get install postgresql)")
        }
        let bin = "/usr/lib/postgresql/\(version)/bin"
        let directory = try TemporaryDirectory.make(prefix: "sluice-pg")
        _ = try await ExternalTool.run("chown", ["-R", "postgres:postgres", directory])
        let port = try FreePort.pick()
        let server = PostgresTestServer(port: port, directory: directory, bin: bin)
        let initdb = try await server.asPostgres("\(bin)/initdb", ["-D", directory + "/data", "-A", "trust", "-U", "postgres", "--no-sync"])
        guard initdb.status == 0 else { throw PostgresTestError(message: "initdb: \(initdb.stderr)") }
        try await server.startServer()
        let create = try await server.asPostgres("\(bin)/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "sluice"])
        guard create.status == 0 else { throw PostgresTestError(message: "createdb: \(create.stderr)") }
        return server
    }

    private init(port: Int, directory: String, bin: String) {
        self.port = port
        self.directory = directory
        self.bin = bin
    }

    private func asPostgres(_ program: String, _ arguments: [String]) async throws -> ExternalTool.Result {
        try await ExternalTool.run("runuser", ["-u", "postgres", "--", program] + arguments, timeout: 60)
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    public func startServer() async throws {
        let options = "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        let status = try await ExternalTool.runDetached("runuser", ["-u", "postgres", "--", "\(bin)/pg_ctl", "-D", directory + "/data",
                                                                    "-o", options, "-l", directory + "/log", "-w", "start"], timeout: 60)
        guard status == 0 else {
            let log = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
            throw PostgresTestError(message: "pg_ctl start failed: \(log.suffix(500))")
        }
    }

    public func stopServer() async {
        _ = try? await ExternalTool.runDetached("runuser", ["-u", "postgres", "--", "\(bin)/pg_ctl", "-D", directory + "/data", "-m", "fast", "-w", "stop"])
    }

    public func stop() async {
        await stopServer()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

public struct PostgresTestError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A loopback port nobody listens on right now.
/// A loopback port bound and never listening, for as long as the value lives: connecting to it is
/// refused, and no other test can take it meanwhile (a stopped server's port could be reused).
public final class RefusingPort: @unchecked Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = descriptor
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { close(descriptor); throw ToolMissing(name: "a loopback port (bind failed)") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

public enum FreePort {
    public static func pick() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw PostgresTestError(message: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
