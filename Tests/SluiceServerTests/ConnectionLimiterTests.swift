import NIOCore
@testable import SluiceServer
import SluiceSMTP
import SluiceSession
import Testing

@Suite struct ConnectionLimiterTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    func at(_ seconds: Int64) -> NIODeadline { t0 + .seconds(seconds) }
    func client(_ address: String, exempt: Bool = false) -> ClientIdentity {
        var client = ClientIdentity(address: address)
        client.exempt = exempt
        return client
    }

    @Test func aClientAtItsLimitIsRefusedUntilASessionEnds() {
        let limiter = ConnectionLimiter()
        var limits = Limits()
        limits.connectionsPerClient = 2
        let a = client("192.0.2.1")
        #expect(limiter.admit(a, limits: limits, now: t0) == .admitted)
        #expect(limiter.admit(a, limits: limits, now: t0) == .admitted)
        guard case .refused(let limit, _, _) = limiter.admit(a, limits: limits, now: t0) else { Issue.record("admitted a third"); return }
        #expect(limit == "connections-per-client")
        #expect(limiter.admit(client("192.0.2.2"), limits: limits, now: t0) == .admitted, "another client is not affected")
        limiter.release(a, limits: limits)
        #expect(limiter.admit(a, limits: limits, now: t0) == .admitted)
    }

    @Test func clientsCanBeCountedPerNetwork() {
        let limiter = ConnectionLimiter()
        var limits = Limits()
        limits.connectionsPerClient = 1
        limits.groupClientsByNetwork = true
        #expect(limiter.admit(client("192.0.2.1"), limits: limits, now: t0) == .admitted)
        #expect(limiter.admit(client("192.0.2.200"), limits: limits, now: t0) != .admitted, "same /24")
        #expect(limiter.admit(client("198.51.100.1"), limits: limits, now: t0) == .admitted)
        #expect(limiter.admit(client("2001:db8:1:2::1"), limits: limits, now: t0) == .admitted)
        #expect(limiter.admit(client("2001:db8:1:2::ffff"), limits: limits, now: t0) != .admitted, "same /64")
        #expect(limiter.admit(client("2001:db8:1:3::1"), limits: limits, now: t0) == .admitted)
    }

    @Test func theConnectionRateIsPerClientPerMinute() {
        let limiter = ConnectionLimiter()
        var limits = Limits()
        limits.connectionRate = 3
        let a = client("192.0.2.1")
        for second in 0..<3 {
            #expect(limiter.admit(a, limits: limits, now: at(Int64(second))) == .admitted)
            limiter.release(a, limits: limits)
        }
        guard case .refused(let limit, _, _) = limiter.admit(a, limits: limits, now: at(30)) else { Issue.record("a fourth in a minute"); return }
        #expect(limit == "connection-rate")
        #expect(limiter.admit(a, limits: limits, now: at(60)) == .admitted, "the first of the three is a minute old")
    }

    @Test func theTotalLimitAppliesToEveryoneAndExemptClientsSkipThePerClientOnes() {
        let limiter = ConnectionLimiter()
        var limits = Limits()
        limits.connections = 3
        limits.connectionsPerClient = 1
        let trusted = client("127.0.0.1", exempt: true)
        #expect(limiter.admit(trusted, limits: limits, now: t0) == .admitted)
        #expect(limiter.admit(trusted, limits: limits, now: t0) == .admitted, "exempt from the per-client limit")
        #expect(limiter.admit(client("192.0.2.1"), limits: limits, now: t0) == .admitted)
        guard case .refused(let limit, _, _) = limiter.admit(trusted, limits: limits, now: t0) else { Issue.record("over the total"); return }
        #expect(limit == "connections")
        limiter.release(trusted, limits: limits)
        #expect(limiter.admit(trusted, limits: limits, now: t0) == .admitted)
    }

    @Test func refusalsAreLoggedOncePerClientPerMinuteWithTheirCount() {
        let limiter = ConnectionLimiter()
        var limits = Limits()
        limits.connectionsPerClient = 1
        let a = client("192.0.2.1")
        _ = limiter.admit(a, limits: limits, now: t0)
        #expect(limiter.admit(a, limits: limits, now: at(1)) == .refused(limit: "connections-per-client", log: true, refusedSince: 1))
        for second in 2..<10 {
            #expect(limiter.admit(a, limits: limits, now: at(Int64(second))) == .refused(limit: "connections-per-client", log: false,
                                                                                          refusedSince: second - 1))
        }
        #expect(limiter.admit(a, limits: limits, now: at(61)) == .refused(limit: "connections-per-client", log: true, refusedSince: 9))
    }

    @Test func memoryStaysBoundedUnderManyClients() {
        let limiter = ConnectionLimiter()
        var limits = Limits()
        limits.connectionRate = 10
        for index in 0..<5000 {
            let c = client("10.\(index / 65536).\(index / 256 % 256).\(index % 256)")
            _ = limiter.admit(c, limits: limits, now: at(Int64(index / 20))) // 250 s in all
            limiter.release(c, limits: limits)
        }
        #expect(limiter.trackedClients < 3000, "clients not seen for a minute are forgotten")
    }
}
