import NIOCore

/// Input that arrives read by read and is parsed in place (the client's commands and DATA, the
/// upstream's replies).
extension ByteBuffer {
    /// Adds a read. When nothing is waiting, the read buffer itself is taken: no copy.
    mutating func appendRead(_ read: inout ByteBuffer) {
        if readableBytes == 0 {
            self = read
        } else {
            writeBuffer(&read)
        }
    }

    /// After parsing: an empty buffer lets the read buffer go back to NIO's pool; a short partial line
    /// left in a large read buffer moves to a buffer of its own (a slow peer holding half a line must
    /// not pin a read buffer); a mostly consumed buffer is compacted.
    mutating func settleAfterParsing(allocator: ByteBufferAllocator) {
        if readableBytes == 0 {
            self = ByteBuffer() // NIO's shared empty buffer
        } else if capacity > 4096 && readableBytes <= 1024 {
            var rest = allocator.buffer(capacity: readableBytes)
            rest.writeBuffer(&self)
            self = rest
        } else if readerIndex > 4096 {
            discardReadBytes()
        }
    }
}
