import Foundation
import NIOConcurrencyHelpers
import SluiceTestSupport
import Testing

/// Reverse DNS blocks a thread for as long as the resolver takes. Two slow lookups must not stall every
/// spool write: lookups have a thread pool of their own.
@Suite struct LookupPoolTests {
    @Test func slowReverseLookupsDoNotHoldUpSpoolWrites() async throws {
        let calls = NIOLockedValueBox(0)
        let slowDone = NIOLockedValueBox(0)
        // The two slow lookups hold their threads until the test lets them go (or 20 s pass): with a
        // shared pool the message below could not be spooled until then.
        let gate = DispatchSemaphore(value: 0)
        try await withRelay(configure: { configuration in
            try? configuration.apply(rules: "stage connect\n  reject client.name ~ /^evil\\./ \"554 5.7.1 no\"\n")
            configuration.limits.memorySpoolThreshold = 64 * 1024
            configuration.reverseDNS = { _ in
                let call = calls.withLockedValue { $0 += 1; return $0 }
                guard call <= 2 else { return nil } // later lookups answer at once
                _ = gate.wait(timeout: .now() + 20)
                slowDone.withLockedValue { $0 += 1 }
                return nil
            }
        }) { upstream, sluice in
            let slow = try await [RawClient.connect(port: sluice.port), RawClient.connect(port: sluice.port)]
            while calls.withLockedValue({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
            // Both slow lookups are running. A third session spools a 256 KiB message to disk.
            let client = try await RawClient.connect(port: sluice.port)
            try await client.startTransaction()
            try await client.send("Subject: disk\r\n\r\n" + String(repeating: String(repeating: "d", count: 1022) + "\r\n", count: 256) + ".\r\n")
            let reply = await client.waitForReplies(6, seconds: 10).last ?? ""
            #expect(reply.hasPrefix("250"), "got \(reply)")
            #expect(slowDone.withLockedValue { $0 } == 0, "the message waited for the slow lookups")
            #expect(upstream.messages.count == 1)
            await client.close()
            gate.signal()
            gate.signal()
            for client in slow { await client.close() }
        }
    }
}
