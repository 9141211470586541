// A minimal SwiftNIO TCP proxy that only glues bytes both ways: the floor for any NIO-based proxy,
// measured beside Sluice by Benchmarks/run.sh. Usage: GlueBench LISTEN_PORT UPSTREAM_PORT [THREADS]
import NIOCore
import NIOPosix

/// Used only on its channel's event loop (both channels of a pair share one loop).
final class Glue: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    var peer: Channel?
    var pending: [ByteBuffer] = []
    var closed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let peer { peer.write(buffer, promise: nil) } else { pending.append(buffer) }
    }
    func channelReadComplete(context: ChannelHandlerContext) { peer?.flush() }
    func channelInactive(context: ChannelHandlerContext) { peer?.close(promise: nil) }
    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
    func attach(_ channel: Channel) {
        peer = channel
        for buffer in pending { channel.write(buffer, promise: nil) }
        pending = []
        channel.flush()
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let listenPort = Int(arguments[1]), let upstreamPort = Int(arguments[2]) else {
    print("usage: GlueBench LISTEN_PORT UPSTREAM_PORT [THREADS]")
    exit(2)
}
let threads = arguments.count > 3 ? Int(arguments[3]) ?? 1 : 1
let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let upstreamAddress = try SocketAddress(ipAddress: "127.0.0.1", port: upstreamPort)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 4096)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { client in
        let clientGlue = Glue()
        let upstreamGlue = Glue()
        upstreamGlue.peer = client
        return client.pipeline.addHandler(clientGlue).flatMap {
            ClientBootstrap(group: client.eventLoop)
                .channelInitializer { $0.pipeline.addHandler(upstreamGlue) }
                .connect(to: upstreamAddress)
                .map { upstream in
                    clientGlue.attach(upstream)
                }
        }
    }
    .bind(host: "127.0.0.1", port: listenPort).wait()
try server.closeFuture.wait()
