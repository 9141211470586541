#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import Logging
import NIOCore

/// Every session costs two descriptors (client and upstream) and a spooled message a third: the
/// distribution's default soft limit (1024) is reached by a few hundred sessions. At start Sluice raises
/// its soft limit to the hard limit, as Postfix's master does, and says so.
public enum OpenFileLimit {
    /// Raises the soft limit to the hard one; returns (before, after).
    @discardableResult
    public static func raise(logger: Logger) -> (Int, Int)? {
        var limits = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limits) == 0 else { return nil }
        let before = Int(clamping: limits.rlim_cur)
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            raised.rlim_cur = limits.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
        }
        let after = Int(clamping: limits.rlim_cur)
        if after > before {
            logger.info("open files: soft limit raised from \(before) to \(after) (the hard limit)")
        } else {
            logger.info("open files: limit \(after)")
        }
        return (before, after)
    }
}

/// On a listener: an accept that fails (EMFILE, ENFILE, ENOBUFS, ENOMEM) is logged and accepting
/// stops for a second (so at most one line a second). NIO's own `AcceptBackoffHandler` cannot do this when the
/// very first accept of a wake-up fails: the channel then never asks to read again (its read stays
/// pending), the descriptor stays registered, and the event loop retries the failing accept in a tight
/// loop (a whole core, measured). Turning `autoRead` off unregisters the listener for a second.
final class AcceptBackoff: ChannelInboundHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel
    private let logger: Logger
    private let endpoint: String
    private var paused = false
    static let pause = TimeAmount.seconds(1)

    init(logger: Logger, endpoint: String) {
        self.logger = logger
        self.endpoint = endpoint
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard error is IOError else { return context.fireErrorCaught(error) }
        guard !paused, let options = context.channel.syncOptions else { return }
        logger.warning("listener \(endpoint): cannot accept a connection: \(error); pausing new connections for 1s")
        paused = true
        try? options.setOption(.autoRead, value: false)
        let channel = context.channel
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.pause) {
            self.paused = false
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
    }
}
