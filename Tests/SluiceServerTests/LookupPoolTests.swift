import Foundation
import SluicePolicy
import SluiceTestSupport
import Testing

/// The client's names come from the resolver, off the event loop: a DNS server that never answers
/// holds only the sessions that wait for it (each within the lookup budget, then `451 4.4.3` for a
/// rule that reads the name), never another session's message.
@Suite struct LookupPoolTests {
    static let zone = """
        ;; silent 2.0.0.127.in-addr.arpa

        """

    @Test func aDeadDNSServerHoldsOnlyTheSessionsThatWaitForIt() async throws {
        let dns = try await TestDNSServer.start(zone: Self.zone)
        defer { dns.stop() }
        // The lookup budget: 4 s, 12 under a sanitizer (see `Patience`), so that a slowed-down run still
        // tells a message that waited for the dead server from one that did not.
        let budget = 4 * Patience.factor
        try await withRelay(configure: { configuration in
            try? configuration.apply(rules: "stage connect\n  reject client.name ~ /^evil\\./ \"554 5.7.1 no\"\n")
            configuration.limits.memorySpoolThreshold = 64 * 1024
            configuration.limits.reverseDNSTimeout = budget
            configuration.dnsServers = [dns.forwarder]
        }) { upstream, sluice in
            // Two sessions from 127.0.0.2, whose PTR lookup gets no answer, held open; meanwhile a
            // session from 127.0.0.1 (localhost, answered at once) spools a 256 KiB message to disk.
            let result = try await ExternalTool.python("""
                import smtplib, socket, sys, time
                port = int(sys.argv[1])
                waiting = [socket.create_connection(("127.0.0.1", port), timeout=60, source_address=("127.0.0.2", 0)) for _ in range(2)]
                time.sleep(0.3)
                started = time.monotonic()
                s = smtplib.SMTP("127.0.0.1", port, timeout=10)
                s.sendmail("a@b.example", ["c@d.example"], "Subject: disk\\r\\n\\r\\n" + ("d" * 1022 + "\\r\\n") * 256)
                s.quit()
                print("sent after %.2f" % (time.monotonic() - started))
                for w in waiting:
                    print("waited", w.makefile("rb").readline().decode().strip(), "after %.2f" % (time.monotonic() - started))
                """, ["\(sluice.port)"])
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(result.stdout)\(result.stderr)")
            let sentAfter = Double(lines.first?.split(separator: " ").last ?? "") ?? 99
            #expect(sentAfter < budget - 1, "the message did not wait for the dead DNS server (\(sentAfter) s)")
            #expect(upstream.messages.count == 1)
            // The waiting sessions get their answer once the budget is over: the name is unknown,
            // so the rule that reads it defers (never a silent pass).
            for line in lines.dropFirst() {
                #expect(line.hasPrefix("waited 451 4.4.3"), "got \(line)")
            }
        }
    }
}
