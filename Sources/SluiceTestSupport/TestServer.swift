import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SluiceServer
import SluiceSMTP
import SluiceConfig

/// Sluice in-process on an OS-chosen port, in front of a given upstream, with its own spool directory.
public struct TestServer: Sendable {
    public let server: RelayServer
    public let port: Int
    public let spoolDirectory: String
    public let log: LogCapture

    public static func start(upstreamPort: Int, listenHost: String = "127.0.0.1",
                             configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> TestServer {
        let spool = try TemporaryDirectory.make(prefix: "sluice-spool")
        var configuration = ServerConfiguration(
            listen: [Endpoint(host: listenHost, port: 0)], upstream: Endpoint(host: "127.0.0.1", port: upstreamPort),
            hostname: "sluice.test", spoolDirectory: spool)
        configuration.upstreamTimeouts.connect = 5
        configuration.upstreamTimeouts.command = 10
        configuration.upstreamTimeouts.endOfData = 10
        // The upstream hears exactly what the client's session relays (XCLIENT tests turn this back on).
        configuration.session.introduceClient = false
        configure(&configuration)
        let log = LogCapture()
        let logger = Logger(label: "sluice-test", factory: { _ in log.handler() })
        let server = try await RelayServer.start(configuration: configuration, logger: logger)
        return TestServer(server: server, port: server.boundAddresses[0].port!, spoolDirectory: spool, log: log)
    }

    public func stop() async {
        await server.shutdown(grace: 0)
        try? FileManager.default.removeItem(atPath: spoolDirectory)
    }

    /// Files left in the spool directory.
    public var spoolFiles: [String] { (try? FileManager.default.contentsOfDirectory(atPath: spoolDirectory)) ?? [] }
}

/// Runs `body` with a scripted upstream and Sluice in front of it, and stops both afterwards.
public func withRelay<T>(_ script: UpstreamScript = UpstreamScript(), configure: (inout ServerConfiguration) -> Void = { _ in },
                         _ body: (ScriptedUpstream, TestServer) async throws -> T) async throws -> T {
    let upstream = try await ScriptedUpstream.start(script)
    let sluice: TestServer
    do {
        sluice = try await TestServer.start(upstreamPort: upstream.port, configure: configure)
    } catch {
        await upstream.stop()
        throw error
    }
    do {
        let result = try await body(upstream, sluice)
        await sluice.stop()
        await upstream.stop()
        return result
    } catch {
        await sluice.stop()
        await upstream.stop()
        throw error
    }
}

/// Collects log lines so tests can check what an administrator would read.
public final class LogCapture: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])

    public init() {}

    public var messages: [String] { lines.withLockedValue { $0 } }

    func handler() -> some LogHandler { CapturingHandler(capture: self) }

    fileprivate func append(_ line: String) { lines.withLockedValue { $0.append(line) } }
}

private struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        capture.append("\(event.level) \(event.message)")
    }
}

public enum TemporaryDirectory {
    public static func make(prefix: String) throws -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

extension ServerConfiguration {
    /// Loads rules (and limits) from configuration text, as `--config` would.
    public mutating func apply(rules text: String) throws {
        let file = try ConfigurationLoader.load(text: "acknowledge open-relay\n" + text, file: "test.conf")
        ruleSet = file.ruleSet
        limits = file.limits
        if let exempt = file.exempt { session.exempt = exempt }
        for (name, signing) in file.dkimSigners { dkimSigners[name] = try DKIMSignerLoader.load(signing) }
    }
}

/// Runs `body` with a scripted upstream and Sluice with these rules in front of it.
public func withRules<T>(_ rules: String, _ script: UpstreamScript = UpstreamScript(),
                         _ body: (ScriptedUpstream, TestServer) async throws -> T) async throws -> T {
    var failure: Error?
    let result = try await withRelay(script, configure: { configuration in
        do { try configuration.apply(rules: rules) } catch { failure = error }
    }, body)
    if let failure { throw failure }
    return result
}
