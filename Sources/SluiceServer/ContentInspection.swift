import NIOCore
import NIOPosix
import SluiceAttachments
import SluiceMIME
import SluicePolicy
import SluiceSMTP

/// The content rules' view of a message: the spooled message read once (in memory: in one pool job; on
/// disk: chunk by chunk, each on the pool), dot-stuffing removed, through the streaming MIME parser, so
/// memory stays bounded whatever the message's size; then the facts built (`MessageContentBuilder`) and
/// the limits applied: a header block over `limit header-size` is refused, what lies beyond
/// `body-inspection`, `mime-parts` or `mime-depth` is passed, deferred or refused as each says.
struct ContentInspection: Sendable {
    let limits: Limits
    let builder: MessageContentBuilder
    let pool: NIOThreadPool

    init(limits: Limits, detectors: [Detector], sniffer: AttachmentSniffer?, pool: NIOThreadPool) {
        self.limits = limits
        self.builder = MessageContentBuilder(sniffer: sniffer, archiveMembers: limits.archiveMembers,
                                             textLimit: limits.bodyInspection, detectors: detectors)
        self.pool = pool
    }

    var mimeLimits: MIMELimits {
        var mime = MIMELimits()
        mime.headerSize = limits.headerWindow
        mime.depth = limits.mimeDepth
        mime.parts = limits.mimeParts
        mime.textPerPart = limits.bodyInspection
        mime.retainedContent = limits.attachmentScan
        return mime
    }

    /// What the limits say about a parsed message: a refusal (nil: go on) and what to log.
    struct Verdict: Sendable {
        var refusal: SMTPReply?
        var notes: [String] = []
        /// The limits reached (`sluice_limits_tripped_total{limit}`).
        var tripped: [String] = []
    }

    /// Parses the message: from the spool when there is one, else from `window` (`sluice explain`).
    func parse(spool: NIOLoopBound<MessageSpool>?, window: ByteBuffer?, on eventLoop: EventLoop) -> EventLoopFuture<MIMEMessage> {
        let feeder = MIMEFeeder(limits: mimeLimits)
        // Without a spool the window is the message; a spool in memory gives all of it at once.
        var whole: ByteBuffer? = spool == nil ? window ?? ByteBuffer() : nil
        if let spool, case .ready(let buffer) = spool.value.read(from: 0) { whole = buffer }
        if let whole {
            return pool.runIfActive(eventLoop: eventLoop) {
                feeder.feed(whole)
                return feeder.finish()
            }
        }
        guard let spool else { return eventLoop.makeSucceededFuture(feeder.finish()) }
        return MessageAuthentication.read(spool, from: 0, on: eventLoop) { chunk in
            self.pool.runIfActive(eventLoop: eventLoop) { feeder.feed(chunk) }
        }.flatMap {
            self.pool.runIfActive(eventLoop: eventLoop) { feeder.finish() }
        }
    }

    /// A header block over `limit header-size`: refused.
    var headerTooLarge: Verdict {
        Verdict(refusal: .headerTooLarge, notes: ["header block over limit header-size (\(limits.headerWindow) octets): refused"],
                tripped: ["header-size"])
    }

    /// The limits applied to what the parser found.
    func verdict(for message: MIMEMessage) -> Verdict {
        if message.headerOverflow { return headerTooLarge }
        var verdict = Verdict()
        func overflow(_ what: String, _ limit: String, _ action: OverflowAction, tooBig: Bool) {
            verdict.notes.append("\(what) beyond limit \(limit): overflow \(action.rawValue)")
            verdict.tripped.append(limit)
            guard verdict.refusal == nil else { return }
            switch action {
            case .pass: break
            case .defer: verdict.refusal = .inspectionDeferred(what)
            case .reject: verdict.refusal = .inspectionRefused(what, tooBig: tooBig)
            }
        }
        if message.parts.contains(where: { $0.textTruncated }) {
            overflow("body text", "body-inspection", limits.bodyInspectionOverflow, tooBig: true)
        }
        if message.partsExceeded { overflow("MIME parts", "mime-parts", limits.mimePartsOverflow, tooBig: false) }
        if message.depthExceeded { overflow("MIME nesting", "mime-depth", limits.mimeDepthOverflow, tooBig: false) }
        return verdict
    }
}

/// libmagic's cookies, opened once per process (the database loads on first use, on the pool); nil
/// when libmagic cannot start: attachments are then `data`, and the server logs it at start-up.
enum SharedSniffer {
    static let instance: AttachmentSniffer? = try? AttachmentSniffer()
}

/// The parser while the message is read: one chunk at a time, each after the last (the futures order
/// them), so the state needs no lock.
final class MIMEFeeder: @unchecked Sendable {
    private var parser: MIMEParser
    private var unstuffing = DotUnstuffing()
    private var scratch: [UInt8] = []

    init(limits: MIMELimits) {
        parser = MIMEParser(limits: limits)
    }

    func feed(_ chunk: ByteBuffer) {
        scratch.removeAll(keepingCapacity: true)
        chunk.withUnsafeReadableBytes { unstuffing.unstuff($0, into: &scratch) }
        scratch.withUnsafeBytes { parser.feed($0) }
    }

    func finish() -> MIMEMessage { parser.finish() }
}
