import ArgumentParser
import Foundation
import Logging
import SluiceConfig
import SluiceServer
import SluiceStore
import NIOConcurrencyHelpers
import ServiceLifecycle
import SluiceSMTP
import UnixSignals

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
        // Trapped before anything listens: a SIGTERM or SIGHUP that comes as soon as the listening line
        // is out is not lost (the sequences buffer what arrives before the group runs).
        let terminations = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let server: RelayServer
        do {
            server = try await RelayServer.start(configuration: configuration, logger: logger)
        } catch let error as ServerError {
            throw CommandFailure(message: error.description)
        }
        var metrics: MetricsEndpoint?
        if let endpoint = configuration.metricsListen, let registry = server.metricsRegistry {
            do {
                metrics = try await MetricsEndpoint.start(at: endpoint, registry: registry, readiness: { await server.readiness() },
                                                          logger: logger)
            } catch {
                await server.shutdown(grace: 0)
                throw CommandFailure(message: "\(error)")
            }
        }
        let pidFile = configuration.pidFile
        if let pidFile {
            do {
                try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
            } catch {
                await metrics?.close()
                await server.shutdown(grace: 0)
                throw CommandFailure(message: "pid file \(pidFile): cannot write it (\(error.localizedDescription))")
            }
        }
        defer { if let pidFile { try? FileManager.default.removeItem(atPath: pidFile) } }
        if let user = configuration.user {
            do {
                try Privileges.drop(to: user)
            } catch {
                await metrics?.close()
                await server.shutdown(grace: 0)
                throw error
            }
            logger.info("running as \(user) (uid \(getuid()))")
        }

        // One ServiceGroup: stopped in reverse order on SIGTERM or SIGINT (the reloader, the relay as it
        // drains, the metrics endpoint, the greylist store).
        let reloader = ReloadService(signals: hangups, server: server, logger: logger) { [self, overrides] store in
            try compose(overrides, existingStore: store)
        }
        reloader.current.withLockedValue { $0 = configuration }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let store = configuration.greylistStore { services.append(.init(service: GreylistStoreService(store: store), serviceName: "greylist-store")) }
        if let metrics { services.append(.init(service: MetricsService(endpoint: metrics), serviceName: "metrics")) }
        services.append(.init(service: RelayService(server: server), serviceName: "relay"))
        services.append(.init(service: reloader, serviceName: "reloader"))
        let trigger = GroupTrigger()
        services.append(.init(service: ShutdownOnSignal(signals: terminations, trigger: trigger),
                              successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "signals"))
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
        trigger.group.withLockedValue { $0 = group }
        SystemdNotifier.notify("READY=1\nMAINPID=\(getpid())")
        try await group.run()
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
        overrides.pidFile = pidFile
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
