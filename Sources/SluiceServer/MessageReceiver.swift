import NIOCore
import SluiceSMTP
import SluiceSession

/// The message path's receiving end: the DATA decoder and the spool it writes into, owned by the
/// session handler from the 354 to the end of the message.
struct MessageReceiver {
    private(set) var decoder: DataDecoder
    let spool: MessageSpool

    init(limits: MessageLimits, spool: MessageSpool) {
        decoder = DataDecoder(maxLineLength: limits.maxLineLength, maxSize: limits.maxSize, policy: limits.bareLineEndings)
        self.spool = spool
    }

    /// Decodes what `input` holds into the spool; true once the final dot was read.
    mutating func receive(_ input: inout ByteBuffer) -> Bool {
        spool.append(decoding: input.readableBytes) { decoder.decode(&input, into: &$0) }
    }

    var size: Int { decoder.size }
    var fault: DataDecoder.Fault? { decoder.fault }
}
