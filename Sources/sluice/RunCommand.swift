import ArgumentParser
import Foundation
import Logging
import SluiceConfig
import SluiceServer
import SluiceSession
import SluiceStore
import SluiceTLS
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

    /// Called by main: the async body of `sluice run`.
    func execute() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw CommandFailure(message: "unknown log level '\(logLevel)' (use trace, debug, info, notice, warning, error)")
        }
        var spec: GreylistStoreSpec?
        let configuration = try withGreylistStore(try resolvedConfiguration(greylistSpec: &spec), spec: spec, existing: nil)
        LoggingSystem.bootstrap { _ in SluiceLogHandler(level: level) }
        let logger = Logger(label: "sluice")
        for warning in try config.map({ try ConfigurationLoader.load(path: $0).warnings }) ?? [] {
            logger.warning("\(warning)")
        }

        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let server: SluiceServer
        do {
            server = try await SluiceServer.start(configuration: configuration, logger: logger)
        } catch let error as ServerError {
            throw CommandFailure(message: error.description)
        }
        for await number in SignalWaiter.signals() {
            if number != SIGHUP { break }
            // SIGHUP: load the configuration again; one with errors never replaces the running one.
            do {
                var nextSpec: GreylistStoreSpec?
                let next = try withGreylistStore(try resolvedConfiguration(greylistSpec: &nextSpec), spec: nextSpec,
                                                 existing: configuration.greylistStore)
                for warning in try config.map({ try ConfigurationLoader.load(path: $0).warnings }) ?? [] {
                    logger.warning("\(warning)")
                }
                server.reload(next)
            } catch let error as ConfigurationError {
                for diagnostic in error.diagnostics { logger.error("\(diagnostic)") }
                logger.error("reload refused: the configuration has errors; the running one stays")
            } catch {
                logger.error("reload refused: \(error)")
            }
        }
        await server.shutdown()
    }

    /// The configuration file's settings, with flags on top and defaults under both.
    private func resolvedConfiguration() throws -> ServerConfiguration {
        var spec: GreylistStoreSpec?
        return try resolvedConfiguration(greylistSpec: &spec)
    }

    /// Opens the greylist store when a rule greylists (once: a reload keeps the store it has).
    private func withGreylistStore(_ configuration: ServerConfiguration, spec: GreylistStoreSpec?,
                                   existing: (any GreylistStore)?) throws -> ServerConfiguration {
        var configuration = configuration
        guard configuration.ruleSet.usesGreylisting else { return configuration }
        if let existing {
            configuration.greylistStore = existing
        } else if let spec {
            do { configuration.greylistStore = try GreylistStores.open(spec) } catch { throw CommandFailure(message: "\(error)") }
        }
        return configuration
    }

    private func resolvedConfiguration(greylistSpec: inout GreylistStoreSpec?) throws -> ServerConfiguration {
        var file = Configuration()
        if let config { file = try ConfigurationLoader.load(path: config) }
        func endpoint(_ text: String, _ flag: String) throws -> Endpoint {
            do { return try Endpoint(parsing: text) } catch { throw CommandFailure(message: "--\(flag): \(error)") }
        }
        let listen = listen.isEmpty ? file.listen : try listen.map { try endpoint($0, "listen") }
        guard let upstream = try upstream.map({ try endpoint($0, "upstream") }) ?? file.upstream else {
            throw CommandFailure(message: "no upstream: give --upstream HOST:PORT or 'upstream' in the configuration file")
        }
        var configuration = ServerConfiguration(
            listen: listen.isEmpty ? [Endpoint(host: "127.0.0.1", port: 2525)] : listen,
            upstream: upstream,
            hostname: hostname ?? file.hostname ?? ProcessInfo.processInfo.hostName,
            spoolDirectory: spoolDir ?? file.spoolDirectory ?? NSTemporaryDirectory())
        configuration.limits = file.limits
        configuration.upstreamTimeouts = file.upstreamTimeouts
        configuration.bareLineEndings = file.bareLineEndings
        configuration.ruleSet = file.ruleSet
        configuration.bodyInspection = file.bodyInspection
        configuration.greylist = file.greylist
        configuration.implicitTLS = file.implicitTLS
        configuration.allowPlaintextAuth = file.allowPlaintextAuth
        configuration.tlsRequiredOn = file.tlsRequiredOn
        configuration.tlsRequiredEverywhere = file.tlsRequiredEverywhere
        if let mode = UpstreamTLSMode(rawValue: file.upstreamTLS.mode), mode != .none {
            configuration.upstreamTLSMode = mode
            do {
                configuration.upstreamTLS = try TLSContext(clientVerifying: file.upstreamTLS.verify, caFile: file.upstreamTLS.caFile,
                                                           serverName: file.upstreamTLS.serverName ?? upstream.host)
            } catch {
                throw CommandFailure(message: "upstream tls: \(error)")
            }
        }
        if let tls = file.tls {
            do {
                configuration.tls = try TLSContext(certificateChain: tls.certificate, privateKey: tls.key, ciphers: tls.ciphers)
            } catch {
                throw CommandFailure(message: "tls: \(error)")
            }
        }
        greylistSpec = file.greylistStore
        configuration.threads = threads ?? file.threads ?? 1
        configuration.shutdownGrace = shutdownGrace ?? file.shutdownGrace ?? 30
        guard (1...256).contains(configuration.threads) else { throw CommandFailure(message: "--threads must be 1 to 256") }
        guard configuration.shutdownGrace >= 0 else { throw CommandFailure(message: "--shutdown-grace must not be negative") }
        return configuration
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
