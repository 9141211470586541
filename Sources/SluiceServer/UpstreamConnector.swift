import NIOCore
import NIOPosix
import SluiceTLS

/// How an `UpstreamConnection` gets its channel: a TCP connection to the upstream's address, or (in
/// handler tests) an `EmbeddedChannel`.
protocol UpstreamConnector: Sendable {
    /// Puts `connection` (and the TLS handler, for implicit TLS) in a new channel's pipeline and reports
    /// the outcome to it (`opened`, `openFailed`) on `eventLoop`.
    func open(_ connection: UpstreamConnection, implicitTLS: TLSContext?, timeout: Double, on eventLoop: EventLoop)
}

/// A TCP connection to the upstream's address, resolved once at start-up.
struct SocketUpstreamConnector: UpstreamConnector {
    let address: SocketAddress

    func open(_ connection: UpstreamConnection, implicitTLS: TLSContext?, timeout: Double, on eventLoop: EventLoop) {
        let bound = NIOLoopBound(connection, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            // ClientBootstrap sets TCP_NODELAY itself (`.tcpOption`; `.socketOption(.tcp_nodelay)` would be SO_DEBUG).
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicitTLS { try channel.pipeline.syncOperations.addHandler(TLSHandler(context: implicitTLS)) }
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(to: address)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel): bound.value.opened(channel)
                case .failure(let error): bound.value.openFailed(error)
                }
            }
    }
}
