import Foundation
import NIOCore
import NIOPosix
import SluiceDNS
import SluicePolicy
import SluiceSMTP

/// The message's part of email authentication, at the end of DATA: the body read once from the spool
/// (off the event loop, dot-stuffing removed) into the DKIM verifier and the body hashers of the
/// signers a `sign` rule picked; the signatures' keys through the resolver; DMARC from the From field,
/// SPF and the passing signatures. Signing itself comes after the rules (it signs the edited header).
struct MessageAuthentication: Sendable {
    let step: AuthenticationStep
    let pool: NIOThreadPool

    /// What the body pass found: the facts (dkim, dmarc) and each signer's body hash.
    struct Found: Sendable {
        var authentication: Authentication
        var bodyHashes: [String: DKIMBodyHash]
    }

    /// The signers the transaction's `sign` rules picked, by name.
    func signers(for tags: Set<String>) -> [String: DKIMSigner] {
        step.signers.filter { tags.contains(RuleAction.signingTag($0.key)) }
    }

    /// Verifies (when `verify`) and hashes for `signers`, reading the body from `spool` (or, without
    /// one, from `window`: `sluice explain`).
    func examine(_ facts: Facts, header: MessageHeader, verifier: DKIMVerifier?, signers: [String: DKIMSigner],
                 spool: NIOLoopBound<MessageSpool>?, window: ByteBuffer?, on eventLoop: EventLoop) -> EventLoopFuture<Found> {
        let digests = BodyDigests(verifier: verifier, hashers: signers.mapValues { $0.makeBodyHasher() })
        let body: EventLoopFuture<Void>
        if !digests.needsBody {
            body = eventLoop.makeSucceededVoidFuture()
        } else if let spool {
            body = Self.read(spool, from: header.length, on: eventLoop) { chunk in
                self.pool.runIfActive(eventLoop: eventLoop) { digests.feed(chunk) }
            }
        } else {
            let rest = window.flatMap { $0.getSlice(at: $0.readerIndex + header.length, length: max(0, $0.readableBytes - header.length)) }
            digests.feed(rest ?? ByteBuffer())
            body = eventLoop.makeSucceededVoidFuture()
        }
        let lookup = step.resolver.map { $0.budgeted(step.budget) }
        let from = header.fields.filter { $0.name.lowercased() == "from" }.map(\.value)
        let spf = facts.authentication.spf
        return body.flatMap {
            let promise = eventLoop.makePromise(of: Found.self)
            promise.completeWithTask {
                var authentication = Authentication()
                var passing: [String] = []
                if let verifier = digests.finishedVerifier() {
                    let verification = await verifier.finish(now: Date()) { name in
                        guard let lookup else { return .temporaryFailure }
                        switch await lookup(name, .txt) {
                        case .answer(let records, _): return .records(records.compactMap(RecordData.text))
                        case .nxdomain, .noData: return .notFound
                        case .serverFailure, .timedOut, .failed: return .temporaryFailure
                        }
                    }
                    authentication.dkim = verification.signatures.map {
                        DKIMOutcome(result: $0.result.rawValue, domain: $0.domain, selector: $0.selector, algorithm: $0.algorithm,
                                    signaturePrefix: "", reason: $0.reason)
                    }
                    passing = verification.passingDomains
                    if let lookup {
                        let evaluator = DMARCEvaluator(lookup: lookup)
                        authentication.dmarc = await evaluator.evaluate(from: from, spf: spf, dkimPassing: passing)
                    } else {
                        authentication.dmarc = DMARCVerdict(result: .temperror, fromDomain: "", problem: "no resolver")
                    }
                }
                return Found(authentication: authentication, bodyHashes: digests.finishedHashes())
            }
            return promise.futureResult
        }
    }

    /// The `DKIM-Signature` fields for the message as it goes out: `header` with `edits` applied.
    func sign(_ header: MessageHeader, edits: [HeaderEdit], signers: [String: DKIMSigner], hashes: [String: DKIMBodyHash],
              logger: (String) -> Void) -> [HeaderField] {
        guard !signers.isEmpty else { return [] }
        let fields = DKIMHeaderField.split(header.applying(edits)).fields
        var signatures: [HeaderField] = []
        for (name, signer) in signers.sorted(by: { $0.key < $1.key }) {
            guard let hash = hashes[name] else { continue }
            do {
                let field = try signer.sign(headers: fields, bodyHash: hash, now: Date())
                var raw = field.raw
                if raw.suffix(2) == [13, 10] { raw.removeLast(2) }
                let prefix = Array((field.name + ":").utf8)
                var value = raw.starts(with: prefix) ? Array(raw.dropFirst(prefix.count)) : raw
                if value.first == UInt8(ascii: " ") { value.removeFirst() }
                signatures.append(HeaderField(name: field.name, value: String(decoding: value, as: UTF8.self)))
            } catch {
                logger("dkim sign \(name) failed: \(error.reason)")
            }
        }
        return signatures
    }

    /// The verifier for a message's header (its signatures parsed): built on the pool with the header.
    static func verifier(for header: MessageHeader) -> DKIMVerifier {
        DKIMVerifier(headers: header.fields.map { DKIMHeaderField(name: $0.name, raw: $0.raw) })
    }

    /// Reads the spooled message from `offset` to its end, chunk by chunk, each handled before the next is read.
    static func read(_ spool: NIOLoopBound<MessageSpool>, from offset: Int, on eventLoop: EventLoop,
                     _ handle: @escaping @Sendable (ByteBuffer) -> EventLoopFuture<Void>) -> EventLoopFuture<Void> {
        @Sendable func next(_ offset: Int) -> EventLoopFuture<Void> {
            let chunk: EventLoopFuture<ByteBuffer?>
            switch spool.value.read(from: offset) {
            case .end: return eventLoop.makeSucceededVoidFuture()
            case .ready(let buffer): chunk = eventLoop.makeSucceededFuture(buffer)
            case .pending(let future): chunk = future.map(Optional.some)
            }
            return chunk.flatMap { buffer in
                guard let buffer, buffer.readableBytes > 0 else { return eventLoop.makeSucceededVoidFuture() }
                return handle(buffer).flatMap { next(offset + buffer.readableBytes) }
            }
        }
        return next(offset)
    }
}

/// The body's digests while it is read: one chunk at a time, each after the last (the futures order
/// them), so the state needs no lock.
final class BodyDigests: @unchecked Sendable {
    private var verifier: DKIMVerifier?
    private var hashers: [String: DKIMBodyHasher]
    private var unstuffing = DotUnstuffing()
    private var scratch: [UInt8] = []

    init(verifier: DKIMVerifier?, hashers: [String: DKIMBodyHasher]) {
        self.verifier = verifier
        self.hashers = hashers
    }

    var needsBody: Bool { !(verifier?.bodyHashParameters.isEmpty ?? true) || !hashers.isEmpty }

    func feed(_ chunk: ByteBuffer) {
        scratch.removeAll(keepingCapacity: true)
        chunk.withUnsafeReadableBytes { unstuffing.unstuff($0, into: &scratch) }
        scratch.withUnsafeBytes { bytes in
            verifier?.update(body: bytes)
            for name in hashers.keys { hashers[name]!.update(bytes) }
        }
    }

    func finishedVerifier() -> DKIMVerifier? { verifier }
    func finishedHashes() -> [String: DKIMBodyHash] { hashers.mapValues { $0.finish() } }
}
