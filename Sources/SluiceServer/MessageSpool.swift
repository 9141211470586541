#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#else
import Darwin
#endif
import NIOCore
import NIOPosix

/// Holds one message between the client's final dot and the upstream's reply: in memory up to a
/// threshold, then in a temp file in the spool directory. It only stores and is read back in chunks;
/// it knows no channel. The file is unlinked as soon as it is open,
/// so no message outlives its session on disk, even after `kill -9`. All file work runs on the
/// thread pool, in order, never on the event loop.
final class MessageSpool {
    private let directory: String
    private let threshold: Int
    private let inspectionLimit: Int
    /// The first `inspectionLimit` octets, kept in memory once the message is on disk (for content rules).
    private var head = ByteBuffer()
    private let pool: NIOThreadPool
    private let eventLoop: EventLoop
    private var memory: ByteBuffer
    private let allocator: ByteBufferAllocator
    private var descriptor: CInt?
    private var writeChain: EventLoopFuture<Void>?
    private var fileSize = 0
    private(set) var backlog = 0
    private(set) var failed = false
    private var released = false
    /// Called on the event loop when the file backlog falls below the threshold again. Writes complete
    /// on the thread pool's schedule, possibly after the session is gone: `release()` drops the
    /// closure, so it is never called after its session ended.
    var onDrained: (() -> Void)?
    private let registry: SessionRegistry?
    /// `sluice_spool_bytes{where}`: what this spool added to each gauge, taken back when it is released.
    private let metrics: ServerMetrics?
    private var countedInMemory = 0
    private var countedOnDisk = 0

    init(directory: String, threshold: Int, inspectionLimit: Int, pool: NIOThreadPool, eventLoop: EventLoop,
         allocator: ByteBufferAllocator, registry: SessionRegistry? = nil, metrics: ServerMetrics? = nil) {
        self.registry = registry
        self.metrics = metrics
        registry?.spoolsAlive.add(1, ordering: .relaxed)
        self.directory = directory
        self.threshold = threshold
        self.inspectionLimit = inspectionLimit
        self.pool = pool
        self.eventLoop = eventLoop
        self.memory = allocator.buffer(capacity: 0)
        self.allocator = allocator
    }

    deinit {
        registry?.spoolsAlive.subtract(1, ordering: .relaxed)
    }

    var isOnDisk: Bool { writeChain != nil }
    /// True while more than `threshold` octets wait to be written to disk: stop reading the client.
    var isCongested: Bool { backlog > threshold }

    /// Lets `fill` decode `inputCount` octets of input into content (at most `2 * inputCount + 4` octets:
    /// the DATA decoder's worst case): straight into the memory buffer while the message fits there (no
    /// copy), else into a chunk that is then appended.
    func append<Result>(decoding inputCount: Int, _ fill: (inout ByteBuffer) -> Result) -> Result {
        if writeChain == nil, !failed, !released, memory.readableBytes + 2 * inputCount + 4 <= threshold {
            // Room for this read's content at once: the buffer does not grow (and copy) step by step.
            memory.reserveCapacity(minimumWritableBytes: inputCount)
            let before = memory.readableBytes
            defer { countInMemory(memory.readableBytes - before) }
            return fill(&memory)
        }
        var chunk = allocator.buffer(capacity: inputCount)
        let result = fill(&chunk)
        append(chunk)
        return result
    }

    /// Adds message content (wire form).
    func append(_ chunk: ByteBuffer) {
        guard !failed, !released, chunk.readableBytes > 0 else { return }
        if writeChain == nil {
            if memory.readableBytes + chunk.readableBytes <= threshold {
                var chunk = chunk
                countInMemory(chunk.readableBytes)
                memory.writeBuffer(&chunk)
                return
            }
            startFile()
            let inMemory = memory
            memory = ByteBuffer()
            countInMemory(-countedInMemory)
            keepHead(inMemory)
            enqueueWrite(inMemory)
        }
        keepHead(chunk)
        enqueueWrite(chunk)
    }

    private func keepHead(_ chunk: ByteBuffer) {
        let room = inspectionLimit - head.readableBytes
        guard room > 0 else { return }
        var slice = chunk.getSlice(at: chunk.readerIndex, length: min(room, chunk.readableBytes))!
        head.writeBuffer(&slice)
    }

    /// The start of the message (up to the inspection limit), for header and body rules.
    var inspectionBytes: ByteBuffer {
        guard writeChain == nil else { return head }
        return memory.getSlice(at: memory.readerIndex, length: min(memory.readableBytes, inspectionLimit))!
    }

    private func startFile() {
        let path = directory + "/sluice-\(UInt64.random(in: 0...UInt64.max)).msg"
        writeChain = pool.runIfActive(eventLoop: eventLoop) { () throws -> CInt in
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw IOError(errnoCode: errno, reason: "open \(path)") }
            unlink(path)
            return fd
        }.assumeIsolated().map { fd in
            self.descriptor = fd
            if self.released { self.closeDescriptor() }
        }.nonisolated()
    }

    private func enqueueWrite(_ chunk: ByteBuffer) {
        guard let previous = writeChain else { return }
        let count = chunk.readableBytes
        if let metrics {
            countedOnDisk += count
            metrics.spoolOnDisk(count)
        }
        backlog += count
        let offset = fileSize
        fileSize += count
        let pool = self.pool
        let eventLoop = self.eventLoop
        writeChain = previous.assumeIsolated().flatMap { () -> EventLoopFuture<Void> in
            guard let fd = self.descriptor else { return eventLoop.makeFailedFuture(IOError(errnoCode: EBADF, reason: "spool closed")) }
            return pool.runIfActive(eventLoop: eventLoop) {
                try chunk.withUnsafeReadableBytes { bytes in
                    var written = 0
                    while written < bytes.count {
                        let n = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(offset + written))
                        if n < 0 {
                            if errno == EINTR { continue }
                            throw IOError(errnoCode: errno, reason: "write to spool")
                        }
                        written += n
                    }
                }
            }
        }.always { result in
            self.backlog -= count
            if case .failure = result { self.failed = true }
            if !self.isCongested { self.onDrained?() }
        }.nonisolated()
    }

    /// Succeeds once everything appended so far is on disk (at once for a message in memory); fails
    /// with the first error of the spool file.
    func written() -> EventLoopFuture<Void> {
        guard let writeChain else { return eventLoop.makeSucceededVoidFuture() }
        return writeChain
    }

    /// True when `error` means the spool's file system is full (ENOSPC, EDQUOT).
    static func isDiskFull(_ error: Error) -> Bool {
        guard let error = error as? IOError else { return false }
        return error.errnoCode == ENOSPC || error.errnoCode == EDQUOT
    }

    /// What `read(from:maxLength:)` gives.
    enum Chunk {
        /// The octets at once (a message in memory: all that is left, in one slice).
        case ready(ByteBuffer)
        /// Read from the spool file on the thread pool.
        case pending(EventLoopFuture<ByteBuffer>)
        /// Nothing left.
        case end
    }

    /// Octets written so far.
    var size: Int { writeChain == nil ? memory.readableBytes : fileSize }

    static let chunkSize = 256 * 1024

    /// Reads the message back from octet `offset`, at most `maxLength` octets from the file. A spool that
    /// failed or was released gives a failed read: a message never goes out in part.
    func read(from offset: Int, maxLength: Int = MessageSpool.chunkSize) -> Chunk {
        guard let writeChain else {
            guard !released else { return .pending(eventLoop.makeFailedFuture(IOError(errnoCode: EBADF, reason: "spool released"))) }
            let start = min(offset, memory.readableBytes)
            guard start < memory.readableBytes else { return .end }
            return .ready(memory.getSlice(at: memory.readerIndex + start, length: memory.readableBytes - start)!)
        }
        let total = fileSize
        guard offset < total else { return .end }
        let length = min(maxLength, total - offset)
        let pool = self.pool, eventLoop = self.eventLoop, allocator = self.allocator
        return .pending(writeChain.assumeIsolated().flatMap { () -> EventLoopFuture<ByteBuffer> in
            guard !self.failed, !self.released, let fd = self.descriptor else {
                return eventLoop.makeFailedFuture(IOError(errnoCode: EIO, reason: "spool failed"))
            }
            return pool.runIfActive(eventLoop: eventLoop) { () throws -> ByteBuffer in
                var buffer = allocator.buffer(capacity: length)
                _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
                    var done = 0
                    while done < length {
                        let n = pread(fd, bytes.baseAddress! + done, length - done, off_t(offset + done))
                        if n < 0 {
                            if errno == EINTR { continue }
                            throw IOError(errnoCode: errno, reason: "read from spool")
                        }
                        if n == 0 { throw IOError(errnoCode: EIO, reason: "spool file shorter than written") }
                        done += n
                    }
                    return done
                }
                return buffer
            }
        }.nonisolated())
    }

    /// Drops the message: frees memory and closes (already unlinked) file.
    func release() {
        guard !released else { return }
        released = true
        onDrained = nil
        memory = ByteBuffer()
        countInMemory(-countedInMemory)
        metrics?.spoolOnDisk(-countedOnDisk)
        countedOnDisk = 0
        guard let chain = writeChain else { return }
        chain.assumeIsolated().whenComplete { _ in self.closeDescriptor() }
    }

    private func countInMemory(_ delta: Int) {
        guard let metrics, delta != 0 else { return }
        countedInMemory += delta
        metrics.spoolInMemory(delta)
    }

    private func closeDescriptor() {
        guard let fd = descriptor else { return }
        descriptor = nil
        _ = pool.runIfActive(eventLoop: eventLoop) { close(fd) }
    }
}
