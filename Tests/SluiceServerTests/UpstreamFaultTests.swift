import Foundation
import SluiceServer
import SluiceTestSupport
import Testing

/// Every way an upstream can fail, at every stage of the dialogue, against the reply table in README.md:
/// the client gets the 4xx of that stage (or the upstream's own 421, relayed), a message is never
/// acknowledged unless the upstream acknowledged it, replies of any size are bounded, and the session
/// frees everything.
@Suite struct UpstreamFaultTests {
    static let stages = ["GREETING", "EHLO", "MAIL", "RCPT", "DATA", "."]

    /// The reply the client gets at the failing stage (README, "Reply codes").
    static func expected(_ stage: String, _ fault: UpstreamFault) -> String {
        switch fault {
        case .splitReply: return stage == "GREETING" ? "220" : stage == "DATA" ? "354" : "250"
        case .reply421 where stage != "GREETING": return "421 4.3.2" // the upstream's own reply, relayed verbatim
        default: break
        }
        let timeout = fault == .stall || fault == .lateReply
        switch stage {
        case "GREETING": return "421 4.4.0"
        case "EHLO": return "421 4.4.2"
        default: return timeout ? "451 4.4.7" : "451 4.4.2"
        }
    }

    @Test(arguments: stages, UpstreamFault.allCases)
    func upstreamFaultGivesTheStagesReplyAndNoFalseAcknowledgement(_ stage: String, _ fault: UpstreamFault) async throws {
        var script = UpstreamScript()
        script.faults[stage] = fault
        // The timeouts run on a manual clock: where the fault is a timeout, the test moves time past it
        // (the late reply comes 30 real seconds late); elsewhere time stands still, so on a loaded
        // machine a close or a reset is never overtaken by a timer. The client's own limits stay out of
        // reach of the time moved.
        let clock = DeadlineClock.manual()
        let timesOut = fault == .stall || fault == .lateReply
        try await withRelay(script, configure: {
            $0.deadlineClock = clock
            $0.limits.idleTimeout = 1e9
            $0.limits.commandTime = 1e9
        }) { upstream, sluice in
            let client = try await RawClient.connect(port: sluice.port)
            let steps = ["", "EHLO c\r\n", "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<x@y.example>\r\n", "DATA\r\n",
                         "Subject: fault\r\n\r\nbody\r\n.\r\n"]
            // Sluice answers the client's DATA itself (354) and sends DATA upstream after the final dot:
            // an upstream failing at DATA shows in the reply to the final dot.
            let failing = stage == "DATA" && fault != .splitReply ? 5 : Self.stages.firstIndex(of: stage)!
            var replies: [String] = []
            for (index, step) in steps.enumerated() {
                if !step.isEmpty { try? await client.send(step) }
                // Time moves only where the upstream fails to answer: a reply that does come is never overtaken.
                replies = timesOut && index == failing ? await client.waitForReplies(index + 1, advancing: clock, by: .seconds(301))
                                                       : await client.waitForReplies(index + 1, seconds: 10)
                guard replies.count == index + 1, let last = replies.last, last.first == "2" || last.first == "3" else { break }
            }
            #expect(replies.count > failing, "\(stage)/\(fault): no reply at the failing stage; got \(replies)")
            if replies.count > failing {
                #expect(replies[failing].hasPrefix(Self.expected(stage, fault)), "\(stage)/\(fault): got \(replies)")
            }
            let acknowledged = replies.count == steps.count && replies.last?.hasPrefix("250") == true
            #expect(acknowledged == (fault == .splitReply), "\(stage)/\(fault): the message was acknowledged: \(replies)")
            #expect(!acknowledged || upstream.messages.count == 1)
            try? await client.send("QUIT\r\n")
            _ = await client.waitForClose(seconds: 5)
            await client.close()
            let freed = await ClientFaultTests.waitUntil(seconds: 10) {
                sluice.server.sessionHandlersAlive == 0 && sluice.server.upstreamConnectionsAlive == 0
            }
            #expect(freed, "\(stage)/\(fault): handlers \(sluice.server.sessionHandlersAlive), upstream connections \(sluice.server.upstreamConnectionsAlive)")
        }
    }
}
