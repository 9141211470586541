import ArgumentParser
import Foundation
import SluiceConfig
import SluicePolicy
import SluiceServer
import SluiceStore

/// Commands whose body is async (main awaits `execute`).
protocol AsyncExecutable {
    func execute() async throws
}

struct GreylistCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "greylist", abstract: "Inspect and change the greylist store named by a configuration.",
        subcommands: [List.self, Allow.self, Forget.self, Stats.self])

    struct Options: ParsableArguments {
        @Option(help: "Configuration file (its 'greylist store' is used).") var config: String

        func open() throws -> (any GreylistStore, Configuration) {
            let configuration = try ConfigurationLoader.load(path: config)
            do {
                return (try GreylistStores.open(configuration.greylistStore), configuration)
            } catch {
                throw CommandFailure(message: "\(error)")
            }
        }
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    struct List: ParsableCommand, AsyncExecutable {
        static let configuration = CommandConfiguration(abstract: "Show entries, newest first.")
        @OptionGroup var options: Options
        @Option(help: "Only entries whose network, sender or recipient contains this text.") var filter: String?

        func execute() async throws {
            let (store, _) = try options.open()
            let rows = try await store.list(filter: filter, now: GreylistCommand.now)
            let formatter = ISO8601DateFormatter()
            func date(_ seconds: Int64) -> String { formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))) }
            print("STATE    NETWORK              SENDER -> RECIPIENT  (first seen, last seen)")
            for row in rows {
                let state = row.entry.passed ? "passed " : "pending"
                print("\(state)  \(row.key.network.padding(toLength: 19, withPad: " ", startingAt: 0))  \(row.key.sender) -> \(row.key.recipient)  (\(date(row.entry.firstSeen)), \(date(row.entry.lastSeen)))")
            }
            print("\(rows.count) entr\(rows.count == 1 ? "y" : "ies")")
            await store.close()
        }
    }

    struct Allow: ParsableCommand, AsyncExecutable {
        static let configuration = CommandConfiguration(abstract: "Let a client network or a sender domain skip greylisting for good.")
        @OptionGroup var options: Options
        @Option(help: "A client network, e.g. 192.0.2.0/24 (as greylisting keys it: /24 and /64 by default).") var network: String?
        @Option(help: "A sender domain, e.g. bigsender.example.") var domain: String?

        func validate() throws {
            guard (network == nil) != (domain == nil) else { throw ValidationError("give --network or --domain") }
            if let network, CIDR(network) == nil { throw ValidationError("'\(network)' is not a network (CIDR)") }
        }

        func execute() async throws {
            let (store, configuration) = try options.open()
            if let network, let cidr = CIDR(network) {
                // Store the network as greylisting keys it, so the allow entry matches.
                let key = CIDR.network(of: cidr.address, prefix: { if case .v4 = cidr.address { return configuration.greylist.ipv4Prefix } else { return configuration.greylist.ipv6Prefix } }())
                try await store.allow(.network(key))
                print("allowed network \(key)")
            } else if let domain {
                try await store.allow(.senderDomain(Normalize.domain(domain)))
                print("allowed sender domain \(Normalize.domain(domain))")
            }
            await store.close()
        }
    }

    struct Forget: ParsableCommand, AsyncExecutable {
        static let configuration = CommandConfiguration(abstract: "Forget one key (as 'list' shows it).")
        @OptionGroup var options: Options
        @Option(help: "The key's network, e.g. 192.0.2.0/24.") var network: String
        @Option(help: "The key's sender (<> for the null sender).") var sender: String
        @Option(help: "The key's recipient.") var recipient: String

        func execute() async throws {
            let (store, _) = try options.open()
            let existed = try await store.forget(GreylistKey(network: network, sender: sender.lowercased(), recipient: recipient.lowercased()))
            print(existed ? "forgotten" : "no such key")
            await store.close()
            if !existed { throw ExitCode(1) }
        }
    }

    struct Stats: ParsableCommand, AsyncExecutable {
        static let configuration = CommandConfiguration(abstract: "Counts: pending, passed, auto-allowed networks, allow entries.")
        @OptionGroup var options: Options

        func execute() async throws {
            let (store, _) = try options.open()
            let stats = try await store.stats(now: GreylistCommand.now)
            print("pending: \(stats.pending)")
            print("passed: \(stats.passed)")
            print("auto-allowed networks: \(stats.autoAllowedNetworks)")
            print("allow entries: \(stats.allowEntries)")
            await store.close()
        }
    }
}
