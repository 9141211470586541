import Logging
import NIOCore
import NIOPosix
import SluiceSession

/// What every session of one server shares.
struct SessionEnvironment: Sendable {
    let configuration: ServerConfiguration
    /// The upstream's address, resolved once at start-up.
    let upstreamAddress: SocketAddress
    let sessionConfiguration: SessionConfiguration
    let pool: NIOThreadPool
    let registry: SessionRegistry
    let logger: Logger
}
