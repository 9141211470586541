import SluiceServer
import SluiceTestSupport
import Testing

/// The accept path sets no options of its own on client sockets (each one would cost a future per
/// connection): they inherit TCP_NODELAY from the listening socket. If that ever stopped, replies
/// could wait for the client's delayed acknowledgement.
@Suite struct SocketOptionTests {
    @Test func acceptedSessionsHaveNagleOff() async throws {
        try await withRelay { _, sluice in
            let first = try await RawClient.connect(port: sluice.port)
            let second = try await RawClient.connect(port: sluice.port)
            #expect(await first.waitForReplies(1).first?.hasPrefix("220") == true)
            #expect(await second.waitForReplies(1).first?.hasPrefix("220") == true)
            #expect(sluice.server.openSessions == 2)
            #expect(await sluice.server.openSessionsWithNoDelay() == 2)
            await first.close()
            await second.close()
        }
    }
}
