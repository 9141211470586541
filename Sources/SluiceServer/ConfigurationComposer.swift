import Foundation
import SluiceConfig
import SluiceDNS
import SluicePolicy
import SluiceSMTP
import SluiceSession
import SluiceStore
import SluiceTLS

/// What `sluice run`'s flags say; each one overrides the configuration file's setting.
public struct CommandLineOverrides: Sendable {
    public var listen: [Endpoint] = []
    public var upstream: Endpoint?
    public var hostname: String?
    public var spoolDirectory: String?
    public var threads: Int?
    public var shutdownGrace: Double?
    public var metricsListen: Endpoint?
    public var user: String?
    public var pidFile: String?
    public var logFormat: LogFormat?

    public init() {}
}

extension ServerConfiguration {
    /// The server's configuration: the file's settings, flags on top, defaults under both; TLS contexts
    /// built and, when a rule greylists, the greylist store opened (or `existingStore` kept: a reload
    /// never changes the store). Every failure is one sentence.
    public static func compose(file: Configuration, overrides: CommandLineOverrides,
                               existingStore: (any GreylistStore)? = nil) throws(ServerError) -> ServerConfiguration {
        let listen = overrides.listen.isEmpty ? file.listen : overrides.listen
        guard let upstream = overrides.upstream ?? file.upstream else {
            throw .configuration("no upstream: give --upstream HOST:PORT or 'upstream' in the configuration file")
        }
        var configuration = ServerConfiguration(
            listen: listen.isEmpty ? [Endpoint(host: "127.0.0.1", port: 2525)] : listen,
            upstream: upstream,
            hostname: overrides.hostname ?? file.hostname ?? ProcessInfo.processInfo.hostName,
            spoolDirectory: overrides.spoolDirectory ?? file.spoolDirectory ?? NSTemporaryDirectory())
        // The dialogue's settings, as the file has them (the hostname may come from a flag).
        var session = SessionConfiguration(hostname: configuration.hostname, limits: file.limits, ruleSet: file.ruleSet, greylist: file.greylist)
        session.upstreamTimeouts = file.upstreamTimeouts
        session.bareLineEndings = file.bareLineEndings
        session.allowPlaintextAuth = file.allowPlaintextAuth
        if let exempt = file.exempt { session.exempt = exempt }
        session.xclientFrom = file.xclientFrom
        configuration.dnsServers = file.dnsServers.map { "\($0.host)@\($0.port)" }
        if let timeout = file.dnsTimeout { configuration.dnsTimeout = timeout }
        if let budget = file.dnsBudget { configuration.dnsBudget = budget }
        session.introduceClient = file.upstreamXCLIENT
        configuration.session = session
        configuration.implicitTLS = file.implicitTLS
        configuration.tlsRequiredOn = file.tlsRequiredOn
        configuration.proxyProtocol = file.proxyProtocol
        configuration.metricsListen = overrides.metricsListen ?? file.metricsListen
        configuration.user = overrides.user ?? file.user
        configuration.pidFile = overrides.pidFile ?? file.pidFile
        configuration.logFormat = overrides.logFormat ?? file.logFormat ?? .text
        configuration.tlsRequiredEverywhere = file.tlsRequiredEverywhere
        configuration.threads = overrides.threads ?? file.threads ?? 1
        configuration.shutdownGrace = overrides.shutdownGrace ?? file.shutdownGrace ?? 30
        guard (1...256).contains(configuration.threads) else { throw .configuration("--threads must be 1 to 256") }
        guard configuration.shutdownGrace >= 0 else { throw .configuration("--shutdown-grace must not be negative") }
        if let mode = UpstreamTLSMode(rawValue: file.upstreamTLS.mode), mode != .none {
            configuration.upstreamTLSMode = mode
            do {
                configuration.upstreamTLS = try TLSContext(clientVerifying: file.upstreamTLS.verify, caFile: file.upstreamTLS.caFile,
                                                           serverName: file.upstreamTLS.serverName ?? upstream.host)
            } catch {
                throw .configuration("upstream tls: \(error)")
            }
        }
        if let tls = file.tls {
            do {
                configuration.tls = try TLSContext(certificateChain: tls.certificate, privateKey: tls.key, ciphers: tls.ciphers)
            } catch {
                throw .configuration("tls: \(error)")
            }
        }
        for (name, signing) in file.dkimSigners { configuration.dkimSigners[name] = try DKIMSignerLoader.load(signing) }
        if configuration.ruleSet.usesGreylisting {
            if let existingStore {
                configuration.greylistStore = existingStore
            } else {
                do { configuration.greylistStore = try GreylistStores.open(file.greylistStore) } catch { throw .configuration("\(error)") }
            }
        }
        return configuration
    }
}

/// A `dkim sign` statement's signer, its key read and checked once, at start (or reload): a key that
/// is not a usable RSA (≥ 1024 bits) or Ed25519 private key is an error with the statement's place.
public enum DKIMSignerLoader {
    public static func load(_ signing: DKIMSigning) throws(ServerError) -> DKIMSigner {
        do throws(DKIMError) {
            let key = try DKIMPrivateKey(contentsOfFile: signing.keyFile)
            if let algorithm = signing.algorithm, algorithm != key.algorithm.rawValue {
                throw DKIMError("the key in \(signing.keyFile) is for \(key.algorithm.rawValue), not \(algorithm)")
            }
            return try DKIMSigner(key: key, domain: signing.domain, selector: signing.selector,
                                  signedHeaders: signing.headers ?? DKIMSigner.defaultSignedHeaders)
        } catch {
            throw .configuration("\(signing.location): dkim sign \(signing.name): \(error.reason)")
        }
    }
}
