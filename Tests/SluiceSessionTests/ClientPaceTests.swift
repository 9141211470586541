import SluiceSession
import Testing

/// The command deadline and the minimum DATA rate, driven with explicit seconds (no clock, no sleep).
@Suite struct ClientPaceTests {
    @Test func aCommandLineMustArriveWithinTheCommandTime() {
        var pace = ClientPace(commandTime: 10, minimumDataRate: 500)
        for _ in 0..<9 { #expect(pace.waited(1) == .inTime) }
        #expect(pace.waited(1.5) == .commandTooSlow)
    }

    @Test func eachLineStartsAFreshDeadline() {
        var pace = ClientPace(commandTime: 10, minimumDataRate: 500)
        for _ in 0..<100 {
            #expect(pace.waited(9) == .inTime)
            pace.lineReceived()
        }
    }

    @Test func dataGetsOneSecondPerMinimumRateOctets() {
        var pace = ClientPace(commandTime: 10, minimumDataRate: 500)
        pace.dataStarted()
        pace.received(dataOctets: 5000) // 10 s more
        #expect(pace.allowance == 20)
        #expect(pace.waited(19.5) == .inTime)
        #expect(pace.waited(1) == .dataTooSlow)
    }

    @Test func aClientSendingAtTheMinimumRateIsNeverCutOff() {
        var pace = ClientPace(commandTime: 10, minimumDataRate: 500)
        pace.dataStarted()
        for _ in 0..<10_000 {
            pace.received(dataOctets: 500)
            #expect(pace.waited(1) == .inTime)
        }
    }

    @Test func theEndOfTheMessageEndsItsAllowance() {
        var pace = ClientPace(commandTime: 10, minimumDataRate: 500)
        pace.dataStarted()
        pace.received(dataOctets: 1_000_000)
        pace.lineReceived()
        #expect(!pace.receivingData && pace.allowance == 10)
        #expect(pace.waited(11) == .commandTooSlow)
    }
}
