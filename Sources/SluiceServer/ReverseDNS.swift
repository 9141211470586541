#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import NIOCore

/// The PTR name of an address, through the system resolver. Blocking: call it off the event loop.
enum ReverseDNS {
    static func name(of address: SocketAddress) -> String? {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let result = address.withSockAddr { pointer, length in
            getnameinfo(pointer, socklen_t(length), &host, socklen_t(host.count), nil, 0, NI_NAMEREQD)
        }
        guard result == 0 else { return nil }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
