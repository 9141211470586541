import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SluiceDNS
import SluicePolicy
import SluiceSMTP
import SluiceSession
import SluiceStore

/// Every policy check a session's request goes through, in order: the facts that need the world
/// (forward-confirmed reverse DNS through the resolver, at connect, when a rule looks at `client.name`), relay hygiene and the compiled rules
/// (`PolicySteps`, on the event loop for the command stages, on the thread pool for the message), then
/// the greylist store when a rule greylists (each key in turn, a timeout, `on-error`). A new check —
/// DNS lists, SPF, a milter — is a new step here; the session only ever sees one decision.
struct PolicyPipeline: Sendable {
    let ruleSet: RuleSet
    let greylist: GreylistSettings
    let store: (any GreylistStore)?
    /// Octets of the message the content rules see: the header window and the body window.
    let headerWindow: Int
    let bodyInspection: Int
    /// The message decoded for the content rules (MIME, attachments, detectors) and its limits.
    let content: ContentInspection
    /// The DNS (nil: names are not looked up, as in `sluice explain`).
    let resolver: DNSResolver?
    /// How long the client's names may take in all (`limit`'s reverse-DNS budget).
    let reverseDNSTimeout: Double
    /// SPF now; DKIM and DMARC at the message.
    let authentication: AuthenticationStep
    /// Disk and content work.
    let pool: NIOThreadPool
    let metrics: ServerMetrics
    /// Seconds since 1970, for greylisting.
    let now: @Sendable () -> Int64
    /// Keep every rule considered in the decision (`sluice explain`).
    var tracing = false

    /// A decision now (the usual case: no step had to wait), or later, on the session's event loop.
    enum Result {
        case decided(PolicyDecision)
        case pending(EventLoopFuture<PolicyDecision>)
    }

    /// Where a request comes from: what the steps that need the world need to know.
    struct Origin {
        var eventLoop: EventLoop
        /// The message's first octets (header and body windows), for the message point.
        var message: ByteBuffer?
        /// The whole message, for what reads all of it (DKIM's body hash); nil in `sluice explain`.
        var spool: NIOLoopBound<MessageSpool>? = nil
        var logger: Logger
        var sessionID: String
    }

    /// `origin` is built only when a step has to wait.
    func evaluate(_ request: PolicyRequest, from makeOrigin: @autoclosure () -> Origin) -> Result {
        if request.point == .connect, ruleSet.usesClientName || !ruleSet.dnsLists.isEmpty, request.facts.clientName == nil,
           request.facts.dnsLists.isEmpty {
            let origin = makeOrigin()
            let names = ruleSet.usesClientName ? resolveNames(request.facts.client, origin) : origin.eventLoop.makeSucceededFuture(.unknown)
            let lists = DNSListLookup.lookUp(ruleSet.dnsLists, client: request.facts.client, resolver: resolver,
                                             budget: reverseDNSTimeout, on: origin.eventLoop)
            return .pending(names.and(lists).flatMap { names, lists in
                var request = request
                if !lists.isEmpty {
                    request.facts.dnsLists = lists
                    if lists.values.contains(.failed) {
                        request.facts.unavailable.insert(.dnsblScore)
                    } else {
                        request.facts.dnsblScore = self.ruleSet.dnsLists.reduce(0) { $0 + (lists[$1.name] == .listed ? $1.weight : 0) }
                    }
                }
                request.facts.clientName = names.verified
                request.facts.clientNameUnverified = names.unverified
                if names.failed {
                    // Unknown for now: a rule that reads it tempfails (451 4.4.3), none passes or rejects on it.
                    if names.unverified == nil { request.facts.unavailable.insert(.clientNameUnverified) }
                    request.facts.unavailable.insert(.clientName)
                }
                return self.afterFacts(request, origin).map { decision in
                    var decision = decision
                    decision.clientName = names.verified
                    if self.tracing { decision.lookedUp = FactDescriptions.connect(request.facts, lists: self.ruleSet.dnsLists) }
                    return decision
                }
            })
        }
        let lists = domainLookup(request).flatMap { field, domain in ruleSet.domainLists[field].map { (field, domain, $0) } }
        // Without a resolver (`sluice explain` with no `dns server`) the results stay unknown: no value.
        let checkSPF = request.point == .mail && ruleSet.usesSPF && resolver != nil && request.facts.authentication.spf == nil
        if lists != nil || checkSPF {
            let origin = makeOrigin()
            let eventLoop = origin.eventLoop
            let answers = lists.map { field, domain, lists in
                DNSListLookup.lookUp(lists, domain: domain, field: field, resolver: resolver, budget: reverseDNSTimeout, on: eventLoop)
            } ?? eventLoop.makeSucceededFuture([:])
            let spf = checkSPF ? authentication.spf(request.facts, helo: ruleSet.usesSPFHelo, on: eventLoop).map(Optional.some) : eventLoop.makeSucceededFuture(nil)
            return .pending(answers.and(spf).flatMap { answers, spf in
                var request = request
                request.facts.dnsLists.merge(answers) { $1 }
                if let spf { request.facts.learn(spf) }
                return self.afterFacts(request, origin).map { decision in
                    var decision = decision
                    decision.authentication = spf
                    if self.tracing { decision.lookedUp = FactDescriptions.authentication(request.facts, answers: answers) }
                    return decision
                }
            })
        }
        if request.point == .message, ruleSet.usesDKIM && resolver != nil || !request.facts.authentication.isEmpty
            || !authentication.signers.isEmpty {
            return .pending(authenticateMessage(request, makeOrigin()))
        }
        if request.point == .message {
            let traceFields = authentication.traceFields(request.facts)
            guard ruleSet.hasContentRules else {
                var decision = PolicyDecision(.proceed)
                decision.traceFields = traceFields
                return .decided(decision)
            }
            return .pending(inspect(request, makeOrigin()).map { decision in
                var decision = decision
                decision.traceFields = traceFields
                return decision
            })
        }
        return rulesAndStore(request, makeOrigin)
    }

    /// The domain a right-hand-side list looks up at this point: the HELO name at helo (not an address
    /// literal), the sender's domain at mail (not for the null sender).
    private func domainLookup(_ request: PolicyRequest) -> (Field, String)? {
        guard !ruleSet.domainLists.isEmpty else { return nil }
        switch request.point {
        case .helo:
            guard let helo = request.facts.helo, !helo.hasPrefix("["), IPAddress(helo) == nil, helo.contains(".") else { return nil }
            return (.helo, Normalize.domain(helo))
        case .mail:
            guard let mailbox = request.facts.sender?.mailbox else { return nil }
            let domain = Normalize.domain(mailbox.domain)
            guard !domain.isEmpty else { return nil }
            return (.senderDomain, domain)
        default:
            return nil
        }
    }

    /// The rules and, when they greylist, the store: for a request whose facts are complete.
    private func rulesAndStore(_ request: PolicyRequest, _ makeOrigin: () -> Origin) -> Result {
        switch PolicySteps.rules(request, ruleSet, greylist: greylist, tracing: tracing) {
        case .decided(let decision): return .decided(decision)
        case .greylist(let keys, let decision): return .pending(askStore(keys, request.point, decision, makeOrigin()))
        }
    }

    private func afterFacts(_ request: PolicyRequest, _ origin: Origin) -> EventLoopFuture<PolicyDecision> {
        switch rulesAndStore(request, { origin }) {
        case .decided(let decision): return origin.eventLoop.makeSucceededFuture(decision)
        case .pending(let decision): return decision
        }
    }

    /// The client's names through the resolver (off the loop), within the lookup budget: a budget that
    /// runs out is a failure (the names are unknown), never an empty name.
    private func resolveNames(_ client: IPAddress?, _ origin: Origin) -> EventLoopFuture<ClientNames> {
        guard let client, let resolver else { return origin.eventLoop.makeSucceededFuture(.unknown) }
        let promise = origin.eventLoop.makePromise(of: ClientNames.self)
        let answered = NIOLockedValueBox(false)
        let deadline = origin.eventLoop.scheduleTask(in: .nanoseconds(Int64(reverseDNSTimeout * 1e9))) {
            guard !answered.withLockedValue({ done in defer { done = true }; return done }) else { return }
            promise.succeed(ClientNames(verified: nil, unverified: nil, failed: true))
        }
        ClientNameLookup.lookUp(client, resolver: resolver) { names in
            guard !answered.withLockedValue({ done in defer { done = true }; return done }) else { return }
            deadline.cancel()
            promise.succeed(names)
        }
        return promise.futureResult
    }

    /// The message with email authentication: DKIM verified and DMARC evaluated before the content rules
    /// (they read `dkim`, `dmarc`), then, for a message that goes on, the forged `Authentication-Results`
    /// of Sluice's authserv-id removed, the `sign` rules' signatures over the edited header, and the
    /// trace fields.
    private func authenticateMessage(_ request: PolicyRequest, _ origin: Origin) -> EventLoopFuture<PolicyDecision> {
        // Every signer's body hash is taken in the one body pass; which sign is known once the rules ran.
        let message = MessageAuthentication(step: authentication, pool: pool)
        let verify = ruleSet.usesDKIM && resolver != nil, window = origin.message ?? ByteBuffer(), headerWindow = self.headerWindow
        let eventLoop = origin.eventLoop, logger = origin.logger, sessionID = origin.sessionID
        let hasContentRules = ruleSet.hasContentRules, step = authentication
        // A message in memory (most are) is parsed, its signatures read, its body hashed and (with the
        // keys and the DMARC record in the resolver's cache) its signatures checked in one pool job; one
        // on disk is read back chunk by chunk, then checked in a pool job of its own.
        var whole: ByteBuffer?
        if let spool = origin.spool, case .ready(let buffer) = spool.value.read(from: 0) { whole = buffer }
        let facts = request.facts
        return pool.runIfActive(eventLoop: eventLoop) { () -> (MessageHeader, BodyDigests, Immediate<MessageAuthentication.Found>?) in
            let wire = window.getBytes(at: window.readerIndex, length: window.readableBytes) ?? []
            let header = MessageHeader(wire: wire, limit: headerWindow)
            // A header block longer than the window has no known end: no signature is checked or made
            // over it (what follows the window would be taken for the body).
            let truncated = header.runsPast(limit: headerWindow, of: wire)
            let digests = truncated ? BodyDigests.truncated : message.digests(for: header, verify: verify)
            if digests.needsBody {
                guard let whole else { return (header, digests, nil) }
                digests.feed(whole.getSlice(at: whole.readerIndex + header.length, length: max(0, whole.readableBytes - header.length)) ?? ByteBuffer())
            }
            return (header, digests, message.conclude(digests, facts: facts, header: header, on: eventLoop))
        }.flatMap { header, digests, concluded in
            let found = concluded.map { eventLoop.makeSucceededFuture($0) }
                ?? message.feedBody(digests, header: header, spool: origin.spool, window: window, on: eventLoop).flatMap {
                    pool.runIfActive(eventLoop: eventLoop) { message.conclude(digests, facts: facts, header: header, on: eventLoop) }
                }
            return found.flatMap { $0.future(on: eventLoop) }.map { (header, digests.headerTooLong, $0) }
        }.flatMap { header, truncated, found in
            var request = request
            request.facts.learn(found.authentication)
            let decided = hasContentRules ? self.inspect(request, origin, parsed: (header, truncated)) : eventLoop.makeSucceededFuture(PolicyDecision(.proceed))
            let facts = request.facts, pool = self.pool, tracing = self.tracing
            return decided.flatMap { decision in
                var decision = decision
                if tracing { decision.lookedUp = FactDescriptions.authentication(facts, answers: [:]).filter { !$0.hasPrefix("spf") } }
                guard decision.verdict == .proceed else { return eventLoop.makeSucceededFuture(decision) }
                let parsed = decision.header ?? header
                decision.header = parsed
                decision.headerEdits.append(.removeAuthenticationResults(authservID: step.hostname))
                let picked = message.signers(for: facts.tags.union(decision.tags))
                guard !picked.isEmpty else {
                    decision.traceFields = step.traceFields(facts)
                    return eventLoop.makeSucceededFuture(decision)
                }
                // Signing is public-key work (an RSA-2048 signature is about half a millisecond): the pool's.
                let edits = decision.headerEdits
                return pool.runIfActive(eventLoop: eventLoop) {
                    message.sign(parsed, edits: edits, signers: picked, hashes: found.bodyHashes) { logger.warning("\(sessionID): \($0)") }
                }.map { signatures in
                    decision.traceFields = signatures + step.traceFields(facts)
                    return decision
                }
            }
        }.flatMapErrorWithEventLoop { error, eventLoop in
            logger.warning("\(sessionID): message authentication failed: \(error)")
            return eventLoop.makeSucceededFuture(PolicyDecision(.refuse(RuleSet.inspectionFailed)))
        }
    }

    /// The header, body and eom rules on the thread pool: a large body scan never blocks the loop.
    /// When no rule reads the content (`RuleSet.readsContent`), the message is not parsed: the rules
    /// run with the header block alone (`parsed`, when the caller has it, else parsed here on the pool).
    private func inspect(_ request: PolicyRequest, _ origin: Origin,
                         parsed: (header: MessageHeader, truncated: Bool)? = nil) -> EventLoopFuture<PolicyDecision> {
        let bytes = origin.message ?? ByteBuffer()
        let ruleSet = self.ruleSet, greylist = self.greylist, tracing = self.tracing
        let headerWindow = self.headerWindow, bodyLimit = self.bodyInspection, content = self.content, pool = self.pool
        let logger = origin.logger, sessionID = origin.sessionID, metrics = self.metrics
        guard ruleSet.readsContent else {
            @Sendable func decide(_ header: MessageHeader, truncated: Bool) -> PolicyDecision {
                guard !truncated else {
                    let verdict = content.headerTooLarge
                    for note in verdict.notes { logger.info("\(sessionID): \(note)") }
                    for limit in verdict.tripped { metrics.limitTripped(limit) }
                    return PolicyDecision(.refuse(verdict.refusal!))
                }
                guard case .decided(var decision) = PolicySteps.rules(request, ruleSet, greylist: greylist, tracing: tracing) else { return .proceed }
                decision.header = header
                return decision
            }
            if let parsed { return origin.eventLoop.makeSucceededFuture(decide(parsed.header, truncated: parsed.truncated)) }
            return pool.runIfActive(eventLoop: origin.eventLoop) {
                let wire = bytes.getBytes(at: bytes.readerIndex, length: min(bytes.readableBytes, headerWindow + 1)) ?? []
                let header = MessageHeader(wire: wire, limit: headerWindow)
                return decide(header, truncated: header.runsPast(limit: headerWindow, of: wire))
            }
        }
        return content.parse(spool: origin.spool, window: origin.message, on: origin.eventLoop).flatMap { message in
            pool.runIfActive(eventLoop: origin.eventLoop) { () throws -> PolicyDecision in
                let limits = content.verdict(for: message)
                for note in limits.notes { logger.info("\(sessionID): \(note)") }
                for limit in limits.tripped { metrics.limitTripped(limit) }
                if let refusal = limits.refusal { return PolicyDecision(.refuse(refusal)) }
                var request = request
                // The header block for the edits; the raw body window only when a rule reads `body.raw`
                // (the decoded content below is what `body` reads).
                let raw = ruleSet.readsRawBody
                let wire = bytes.getBytes(at: bytes.readerIndex, length: raw ? bytes.readableBytes : min(bytes.readableBytes, headerWindow)) ?? []
                let header = request.facts.addMessage(wire: wire, headerLimit: headerWindow, bodyLimit: raw ? bodyLimit : 0)
                let built = try content.builder.build(message)
                request.facts.headers = built.headers
                request.facts.content = built.content
                guard case .decided(var decision) = PolicySteps.rules(request, ruleSet, greylist: greylist, tracing: tracing) else {
                    return .proceed
                }
                decision.header = header
                return decision
            }
        }.flatMapErrorWithEventLoop { error, eventLoop in
            logger.warning("\(sessionID): content inspection failed: \(error)")
            return eventLoop.makeSucceededFuture(PolicyDecision(.refuse(RuleSet.inspectionFailed)))
        }
    }

    /// Asks the greylist store (off the event loop) about every key; a store that fails or answers
    /// later than `greylist timeout` leaves the decision to `greylist on-error`.
    private func askStore(_ keys: [GreylistKey], _ point: PolicyPoint, _ decision: PolicyDecision,
                          _ origin: Origin) -> EventLoopFuture<PolicyDecision> {
        let settings = greylist, metrics = self.metrics
        let logger = origin.logger, sessionID = origin.sessionID
        let eventLoop = origin.eventLoop
        let promise = eventLoop.makePromise(of: GreylistResult.self)
        let answered = NIOLoopBoundBox(false, eventLoop: eventLoop)
        @Sendable func finish(_ result: GreylistResult) {
            guard !answered.value else { return }
            answered.value = true
            promise.succeed(result)
        }
        guard let store else {
            logger.warning("\(sessionID): greylist rule fired but no greylist store is open: on-error \(settings.onError.rawValue)")
            finish(.storeFailed)
            return promise.futureResult.map { PolicySteps.greylisted($0, at: point, settings: settings, decision) }
        }
        let timeout = eventLoop.scheduleTask(in: .nanoseconds(Int64(settings.storeTimeout * 1e9))) {
            guard !answered.value else { return }
            logger.warning("\(sessionID): greylist store did not answer within \(settings.storeTimeout)s: on-error \(settings.onError.rawValue)")
            finish(.storeFailed)
        }
        let now = self.now()
        // Each key in turn, through the store's callback; the answer hops back onto the event loop.
        @Sendable func ask(_ index: Int, _ longest: Int64?) {
            guard index < keys.count else {
                let result: GreylistResult = longest.map { .deferred(retryAfter: $0) } ?? .pass
                eventLoop.execute { timeout.cancel(); finish(result) }
                return
            }
            store.decide(keys[index], now: now, settings: settings) { outcome in
                switch outcome {
                case .success(.pass): ask(index + 1, longest)
                case .success(.deferred(let seconds)): ask(index + 1, max(longest ?? 0, seconds))
                case .failure(let error):
                    eventLoop.execute {
                        timeout.cancel()
                        if !answered.value {
                            logger.warning("\(sessionID): greylist store failed: \(error): on-error \(settings.onError.rawValue)")
                        }
                        finish(.storeFailed)
                    }
                }
            }
        }
        ask(0, nil)
        return promise.futureResult.map { result in
            metrics.greylistDecided(result)
            return PolicySteps.greylisted(result, at: point, settings: settings, decision)
        }
    }
}
