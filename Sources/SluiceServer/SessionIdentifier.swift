import Synchronization

/// Short, unique session ids for logs and trace headers, Postfix queue-id style (`5K2XQ9TD3B7N`):
/// a per-process random seed and a counter, mixed (splitmix64), so ids never repeat within a process
/// and cost no system call.
enum SessionIdentifier {
    private static let alphabet = Array("0123456789BCDFGHJKLMNPQRSTVWXYZ".utf8)
    private static let seed = UInt64.random(in: 0...UInt64.max)
    private static let counter = Atomic<UInt64>(0)

    static func make() -> String {
        var z = seed &+ counter.wrappingAdd(1, ordering: .relaxed).newValue &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        var value = z ^ (z >> 31)
        // Twelve ASCII octets: a small string, written in place (no heap, no append per character).
        return String(unsafeUninitializedCapacity: 12) { buffer in
            for index in 0..<12 {
                buffer[index] = alphabet[Int(value % UInt64(alphabet.count))]
                value /= UInt64(alphabet.count)
            }
            return 12
        }
    }
}
