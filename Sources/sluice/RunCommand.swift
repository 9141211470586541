import ArgumentParser
import Foundation
import Logging
import SluiceConfig
import SluiceServer
import SluiceStore
import SluiceSMTP

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Start relaying.")

    @Option(name: .customLong("listen"), help: "Address to accept clients on, HOST:PORT or [IPv6]:PORT (repeatable; default 127.0.0.1:2525).")
    var listen: [String] = []

    @Option(help: "Upstream MTA, HOST:PORT.")
    var upstream: String?

    @Option(help: "Configuration file; flags override its settings.")
    var config: String?

    @Option(help: "Name Sluice gives itself in replies and trace headers (default: this machine's name).")
    var hostname: String?

    @Option(name: .customLong("spool-dir"), help: "Directory for messages larger than the memory spool (default: /tmp).")
    var spoolDir: String?

    @Option(help: "Event loop threads (default 1).")
    var threads: Int?

    @Option(name: .customLong("shutdown-grace"), help: "Seconds open sessions may finish after SIGTERM (default 30).")
    var shutdownGrace: Double?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (default info).")
    var logLevel: String = "info"

    @Option(name: .customLong("pid-file"), help: "Write the process id here once listening; removed at exit.")
    var pidFile: String?

    @Option(name: .customLong("log-format"), help: "text (Postfix-like, default) or json (one object per line).")
    var logFormat: String?

    @Option(help: "Switch to this account once the listeners are bound (overrides 'user' in the configuration).")
    var user: String?

    @Flag(name: .customLong("allow-root"), help: "Run as root without 'user' (refused otherwise).")
    var allowRoot = false

    /// Called by main: the async body of `sluice run`.
    func execute() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CommandFailure(message: "unknown log level '\(logLevel)' (use trace, debug, info, notice, warning, error)")
        }
        let overrides = try commandLineOverrides()
        var (configuration, warnings) = try compose(overrides, existingStore: nil)
        LogWriter.jsonLines.store(configuration.logFormat == .json, ordering: .relaxed)
        LoggingSystem.bootstrap { _ in SluiceLogHandler(level: level) }
        let logger = Logger(label: "sluice")
        for warning in warnings { logger.warning("\(warning)") }
        if let refusal = Privileges.rootRefusal(user: configuration.user, allowRoot: allowRoot) { throw refusal }
        if let user = configuration.user { try Privileges.account(user) }
        OpenFileLimit.raise(logger: logger)

        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let server: RelayServer
        do {
            server = try await RelayServer.start(configuration: configuration, logger: logger)
        } catch let error as ServerError {
            throw CommandFailure(message: error.description)
        }
        if let pidFile {
            do {
                try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
            } catch {
                await server.shutdown(grace: 0)
                throw CommandFailure(message: "--pid-file \(pidFile): cannot write it (\(error.localizedDescription))")
            }
        }
        defer { if let pidFile { try? FileManager.default.removeItem(atPath: pidFile) } }
        if let user = configuration.user {
            do {
                try Privileges.drop(to: user)
            } catch {
                await server.shutdown(grace: 0)
                throw error
            }
            logger.info("running as \(user) (uid \(getuid()))")
        }
        for await number in SignalWaiter.signals() {
            if number != SIGHUP { break }
            // SIGHUP: load the configuration again; one with errors never replaces the running one.
            do {
                (configuration, warnings) = try compose(overrides, existingStore: configuration.greylistStore)
                for warning in warnings { logger.warning("\(warning)") }
                LogWriter.jsonLines.store(configuration.logFormat == .json, ordering: .relaxed)
                try await server.reload(configuration)
            } catch let error as ConfigurationError {
                for diagnostic in error.diagnostics { logger.error("\(diagnostic)") }
                logger.error("reload refused: the configuration has errors; the running one stays")
                server.reloadRefused()
            } catch {
                logger.error("reload refused: \(error)")
                server.reloadRefused()
            }
        }
        await server.shutdown()
        LogWriter.shared.flush()
    }

    /// The flags, parsed (a bad address is one line naming the flag).
    private func commandLineOverrides() throws -> CommandLineOverrides {
        func endpoint(_ text: String, _ flag: String) throws -> Endpoint {
            do { return try Endpoint(parsing: text) } catch { throw CommandFailure(message: "--\(flag): \(error)") }
        }
        var overrides = CommandLineOverrides()
        overrides.listen = try listen.map { try endpoint($0, "listen") }
        overrides.upstream = try upstream.map { try endpoint($0, "upstream") }
        overrides.hostname = hostname
        overrides.spoolDirectory = spoolDir
        overrides.threads = threads
        overrides.shutdownGrace = shutdownGrace
        overrides.user = user
        if let logFormat {
            guard let format = LogFormat(rawValue: logFormat) else { throw CommandFailure(message: "--log-format: use text or json") }
            overrides.logFormat = format
        }
        return overrides
    }

    /// Loads the configuration file (once) and composes the server's configuration from it and the flags.
    private func compose(_ overrides: CommandLineOverrides, existingStore: (any GreylistStore)?) throws
        -> (ServerConfiguration, [Diagnostic])
    {
        let file = try config.map { try ConfigurationLoader.load(path: $0) } ?? Configuration()
        do {
            return (try ServerConfiguration.compose(file: file, overrides: overrides, existingStore: existingStore), file.warnings)
        } catch {
            throw CommandFailure(message: error.description)
        }
    }
}

/// SIGTERM, SIGINT and SIGHUP as an async sequence, without blocking a thread.
enum SignalWaiter {
    /// Kept for the life of the process (a released source stops delivering).
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func signals() -> AsyncStream<Int32> {
        AsyncStream<Int32> { continuation in
            sources = [SIGTERM, SIGINT, SIGHUP].map { number -> DispatchSourceSignal in
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { continuation.yield(number) }
                source.resume()
                return source
            }
        }
    }
}
