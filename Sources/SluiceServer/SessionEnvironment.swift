import Logging
import NIOPosix
import SluiceSession

/// What every session of one server shares.
struct SessionEnvironment: Sendable {
    let configuration: ServerConfiguration
    let sessionConfiguration: SessionConfiguration
    let pool: NIOThreadPool
    let registry: SessionRegistry
    let logger: Logger
}
