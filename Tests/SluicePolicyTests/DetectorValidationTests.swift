import SluicePolicy
import Testing

@Suite struct DetectorValidationTests {
    @Test func luhnAcceptsValidDigitsIgnoringSpacesAndDashes() {
        for candidate in ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "18", "00", "79927398713"] {
            #expect(DetectorValidation.luhn.accepts(candidate), "\(candidate)")
        }
    }

    @Test func luhnRejectsInvalidShortOrForeignCandidates() {
        for candidate in ["4111111111111112", "79927398710", "0", "", " - ", "4111x111111111111111", "4111.1111.1111.1111", "٤١١١"] {
            #expect(!DetectorValidation.luhn.accepts(candidate), "\(candidate)")
        }
    }

    @Test func mod97AcceptsIBANsInEitherCaseAndFormat() {
        for candidate in ["GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32", "gb82 west 1234 5698 7654 32", "NO93-8601-1117-947"] {
            #expect(DetectorValidation.mod97.accepts(candidate), "\(candidate)")
        }
    }

    @Test func mod97RejectsWrongChecksShortOrForeignCandidates() {
        for candidate in ["GB83WEST12345698765432", "GB82WEST12345698765433", "", "1", "GB82", "GB82/WEST12345698765432", "GB82WEST1234569876543É"] {
            #expect(!DetectorValidation.mod97.accepts(candidate), "\(candidate)")
        }
    }

    @Test func noneAcceptsEverything() {
        for candidate in ["", "anything", "4111111111111112"] {
            #expect(DetectorValidation.none.accepts(candidate))
        }
    }

    @Test func substringsAndBuffersAreAccepted() {
        let text = "card 4111 1111 1111 1111 end"
        #expect(DetectorValidation.luhn.accepts(text.dropFirst(5).dropLast(4)))
        #expect(Array("4111111111111111".utf8).withUnsafeBytes { DetectorValidation.luhn.accepts($0) })
    }

    @Test func validationsAreNamedForTheConfiguration() {
        #expect(DetectorValidation(rawValue: "luhn") == .luhn)
        #expect(DetectorValidation(rawValue: "mod97") == .mod97)
        #expect(DetectorValidation(rawValue: "none") == DetectorValidation.none)
        #expect(DetectorValidation(rawValue: "crc") == nil)
    }
}
