import NIOConcurrencyHelpers
import NIOCore
import SluicePolicy
import SluiceSMTP
import SluiceSession

/// Admission before the dialogue (Postfix's anvil): open sessions in all and per client, and new
/// connections per client per minute. Shared by every event loop of the server; a refusal costs no
/// upstream connection. Memory stays bounded: a client's entries go when it has no session open and
/// no connection within the last minute.
final class ConnectionLimiter: Sendable {
    enum Admission: Equatable {
        case admitted
        /// Refused by the limit of this name; `log` is true once per client per minute (with how many
        /// were refused since the last line).
        case refused(limit: String, log: Bool, refusedSince: Int)
    }

    private struct ClientState {
        var open = 0
        /// When the connections of the last minute were admitted (at most `connectionRate` kept).
        var recent: [NIODeadline] = []
        var lastLogged: NIODeadline?
        var refusedSinceLog = 0
    }

    private struct State {
        var open = 0
        var clients: [IPAddress: ClientState] = [:]
        var admittedSinceSweep = 0
    }

    private let state = NIOLockedValueBox(State())
    private static let minute = TimeAmount.seconds(60)

    /// The key a client is counted under: its address, or its /24 (IPv4) or /64 (IPv6).
    static func key(_ address: IPAddress, byNetwork: Bool) -> IPAddress {
        guard byNetwork else { return address }
        switch address {
        case .v4(let value): return .v4(value & 0xFFFF_FF00)
        case .v6(let high, _): return .v6(high, 0)
        }
    }

    func admit(_ client: ClientIdentity, limits: Limits, now: NIODeadline) -> Admission {
        let key = client.ip.map { Self.key($0, byNetwork: limits.groupClientsByNetwork) }
        return state.withLockedValue { state in
            var refused: String?
            if limits.connections > 0, state.open >= limits.connections {
                refused = "connections"
            } else if let key, !client.exempt {
                let entry = state.clients[key, default: ClientState()]
                let recent = entry.recent.filter { now - $0 < Self.minute }
                if limits.connectionsPerClient > 0, entry.open >= limits.connectionsPerClient {
                    refused = "connections-per-client"
                } else if limits.connectionRate > 0, recent.count >= limits.connectionRate {
                    refused = "connection-rate"
                }
                state.clients[key, default: ClientState()].recent = recent
            }
            if let refused {
                guard let key else { return .refused(limit: refused, log: true, refusedSince: 1) }
                var entry = state.clients[key, default: ClientState()]
                entry.refusedSinceLog += 1
                let log = entry.lastLogged.map { now - $0 >= Self.minute } ?? true
                let count = entry.refusedSinceLog
                if log {
                    entry.lastLogged = now
                    entry.refusedSinceLog = 0
                }
                state.clients[key] = entry
                return .refused(limit: refused, log: log, refusedSince: count)
            }
            state.open += 1
            if let key {
                state.clients[key, default: ClientState()].open += 1
                if limits.connectionRate > 0 { state.clients[key, default: ClientState()].recent.append(now) }
            }
            state.admittedSinceSweep += 1
            if state.admittedSinceSweep >= 1000 {
                state.admittedSinceSweep = 0
                state.clients = state.clients.filter { _, entry in
                    entry.open > 0 || entry.recent.contains { now - $0 < Self.minute }
                        || entry.lastLogged.map { now - $0 < Self.minute } ?? false
                }
            }
            return .admitted
        }
    }

    /// An admitted session ended.
    func release(_ client: ClientIdentity, limits: Limits) {
        let key = client.exempt ? nil : client.ip.map { Self.key($0, byNetwork: limits.groupClientsByNetwork) }
        state.withLockedValue { state in
            state.open -= 1
            guard let key, var entry = state.clients[key] else { return }
            entry.open -= 1
            if entry.open <= 0, entry.recent.isEmpty, entry.lastLogged == nil {
                state.clients[key] = nil
            } else {
                state.clients[key] = entry
            }
        }
    }

    /// Clients with an entry (for the bounded-memory test).
    var trackedClients: Int { state.withLockedValue { $0.clients.count } }
}
