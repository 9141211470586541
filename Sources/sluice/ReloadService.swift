import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import SluiceConfig
import SluiceServer
import SluiceStore
import UnixSignals

/// SIGHUP: the configuration is loaded again; one with errors never replaces the running one (it is
/// logged with file:line and counted as a refused reload).
struct ReloadService: Service {
    typealias Compose = @Sendable ((any GreylistStore)?) throws -> (ServerConfiguration, [Diagnostic])

    let signals: UnixSignalsSequence
    let server: RelayServer
    let logger: Logger
    let compose: Compose
    /// The configuration in force (the greylist store is kept across reloads).
    let current = NIOLockedValueBox<ServerConfiguration?>(nil)

    init(signals: UnixSignalsSequence, server: RelayServer, logger: Logger, compose: @escaping Compose) {
        self.signals = signals
        self.server = server
        self.logger = logger
        self.compose = compose
    }

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            await reload()
        }
    }

    private func reload() async {
        SystemdNotifier.notify("RELOADING=1\nMONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds)")
        defer { SystemdNotifier.notify("READY=1") }
        do {
            let store = current.withLockedValue { $0?.greylistStore }
            let (configuration, warnings) = try compose(store)
            for warning in warnings { logger.warning("\(warning)") }
            LogWriter.jsonLines.store(configuration.logFormat == .json, ordering: .relaxed)
            try await server.reload(configuration)
            current.withLockedValue { $0 = configuration }
        } catch let error as ConfigurationError {
            for diagnostic in error.diagnostics { logger.error("\(diagnostic)") }
            logger.error("reload refused: the configuration has errors; the running one stays")
            server.reloadRefused()
        } catch {
            logger.error("reload refused: \(error)")
            server.reloadRefused()
        }
    }
}

/// SIGTERM or SIGINT: the group's graceful shutdown (trapped before the listeners opened, so one that
/// comes at once is not lost).
struct ShutdownOnSignal: Service {
    let signals: UnixSignalsSequence
    let trigger: GroupTrigger

    func run() async throws {
        // The sequence ends once the shutdown reaches this service (the first one stopped).
        for await _ in signals.cancelOnGracefulShutdown() {
            SystemdNotifier.notify("STOPPING=1")
            await trigger.group.withLockedValue { $0 }?.triggerGracefulShutdown()
        }
    }
}

/// The group, once made (the signal service is one of its services).
final class GroupTrigger: Sendable {
    let group = NIOLockedValueBox<ServiceGroup?>(nil)
}
