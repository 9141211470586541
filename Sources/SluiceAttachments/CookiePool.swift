#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of resources handed out to one thread at a time, blocking while all are in use.
///
/// libmagic's `magic_t` is not thread-safe, so each concurrent `sniff` borrows a cookie of its own from this pool and
/// returns it afterwards. The pool never grows: a caller that finds every item in use waits on a condition variable
/// (sniffing is short and CPU-bound, so with one item per core the wait is rare and brief).
final class BlockingPool<Item>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let available = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`.
    private var idle: [Item]

    /// The items are owned by the pool from now on; `drain` hands them back for disposal.
    init(_ items: [Item]) {
        idle = items
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(available, nil)
    }

    deinit {
        pthread_cond_destroy(available)
        pthread_mutex_destroy(mutex)
        available.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` with an item no other thread holds meanwhile.
    func withItem<R>(_ body: (Item) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        while idle.isEmpty { pthread_cond_wait(available, mutex) }
        let item = idle.removeLast()
        pthread_mutex_unlock(mutex)
        defer {
            pthread_mutex_lock(mutex)
            idle.append(item)
            pthread_cond_signal(available)
            pthread_mutex_unlock(mutex)
        }
        return try body(item)
    }

    /// Removes and returns every idle item (for `deinit` of the owner, when no borrower can be left).
    func drain() -> [Item] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        let items = idle
        idle = []
        return items
    }
}

/// The number of online processors (at least 1), the default pool size.
func onlineProcessorCount() -> Int {
    max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}
