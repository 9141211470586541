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

    /// The digests a message needs: its verifier (when `verify`; the signatures parsed) and a body
    /// hasher per signer. Built on the pool, with the header.
    func digests(for header: MessageHeader, verify: Bool) -> BodyDigests {
        BodyDigests(verifier: verify ? DKIMVerifier(headers: header.fields.map { DKIMHeaderField(name: $0.name, raw: $0.raw) }) : nil,
                    hashers: step.signers.mapValues { $0.makeBodyHasher() })
    }

    /// Feeds the body from the spool (on disk: chunk by chunk, each on the pool), or, without a spool
    /// (`sluice explain`), from `window`.
    func feedBody(_ digests: BodyDigests, header: MessageHeader, spool: NIOLoopBound<MessageSpool>?, window: ByteBuffer?,
                  on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        guard digests.needsBody else { return eventLoop.makeSucceededVoidFuture() }
        if let spool {
            return Self.read(spool, from: header.length, on: eventLoop) { chunk in
                self.pool.runIfActive(eventLoop: eventLoop) { digests.feed(chunk) }
            }
        }
        let rest = window.flatMap { $0.getSlice(at: $0.readerIndex + header.length, length: max(0, $0.readableBytes - header.length)) }
        digests.feed(rest ?? ByteBuffer())
        return eventLoop.makeSucceededVoidFuture()
    }

    /// The keys looked up and the signatures checked, then DMARC: the facts, and each signer's body hash.
    /// Started at once on the calling thread (the pool's: verifying is public-key work), where it also
    /// ends when the keys and the DMARC record are in the resolver's cache.
    func conclude(_ digests: BodyDigests, facts: Facts, header: MessageHeader, on eventLoop: EventLoop) -> Immediate<Found> {
        let lookup = step.resolver.map { $0.budgeted(step.budget) }
        let from = header.fields.filter { $0.name.lowercased() == "from" }.map(\.value)
        let spf = facts.authentication.spf
        return Immediate.run(on: eventLoop) {
            var authentication = Authentication()
            if digests.headerTooLong {
                let reason = "the header is longer than the header window"
                authentication.dkim = [DKIMOutcome(result: "permerror", domain: "", selector: "", algorithm: "", signaturePrefix: "", reason: reason)]
                authentication.dmarc = DMARCVerdict(result: .permerror, fromDomain: "", problem: reason)
            } else if let verifier = digests.finishedVerifier() {
                let verification = await verifier.finish(now: Date()) { name in
                    guard let lookup else { return .temporaryFailure }
                    switch await lookup(name, .txt) {
                    case .answer(let records, _): return .records(records.compactMap(RecordData.text))
                    case .nxdomain, .noData: return .notFound
                    case .serverFailure, .timedOut, .failed: return .temporaryFailure
                    }
                }
                // A pass whose l= leaves part of the body unsigned is not a pass: text after the signed part
                // would ride on it.
                authentication.dkim = verification.signatures.map {
                    let partial = $0.result == .pass && !$0.bodyFullySigned
                    return DKIMOutcome(result: partial ? "neutral" : $0.result.rawValue, domain: $0.domain, selector: $0.selector,
                                       algorithm: $0.algorithm, signaturePrefix: "",
                                       reason: partial ? "l= leaves part of the body unsigned" : $0.reason)
                }
                if let lookup {
                    authentication.dmarc = await DMARCEvaluator(lookup: lookup).evaluate(from: from, spf: spf, dkimPassing: verification.passingDomains,
                                                                                dkimTemporaryFailure: verification.signatures.contains { $0.result == .temperror })
                } else {
                    authentication.dmarc = DMARCVerdict(result: .temperror, fromDomain: "", problem: "no resolver")
                }
            }
            return Found(authentication: authentication, bodyHashes: digests.finishedHashes())
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

    /// A header too long to know where the body starts.
    private(set) var headerTooLong = false

    init(verifier: DKIMVerifier?, hashers: [String: DKIMBodyHasher]) {
        self.verifier = verifier
        self.hashers = hashers
    }

    static var truncated: BodyDigests {
        let digests = BodyDigests(verifier: nil, hashers: [:])
        digests.headerTooLong = true
        return digests
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
