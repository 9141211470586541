import Foundation
@testable import SluiceSession
import Testing

/// The user name an AUTH exchange carries is split out on octets, not Characters (the fuzzer found a
/// combining mark after a separator joining it to the separator).
@Suite struct AuthUserTests {
    private func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    @Test func xoauth2UserFollowedByACombiningMark() {
        let response = base64("user=\u{30A}alice@example.com\u{1}auth=Bearer token\u{1}\u{1}")
        #expect(AuthUser.name(mechanism: "XOAUTH2", responses: [response]) == "\u{30A}alice@example.com")
    }

    @Test func cramMD5UserBeforeACombiningMark() {
        #expect(AuthUser.name(mechanism: "CRAM-MD5", responses: [base64("alice\u{600} 1234")]) == "alice\u{600}")
        #expect(AuthUser.name(mechanism: "CRAM-MD5", responses: [base64("bob 0123abcd")]) == "bob")
    }

    @Test func plainAndLogin() {
        #expect(AuthUser.name(mechanism: "PLAIN", responses: [base64("\u{0}carol\u{0}secret")]) == "carol")
        #expect(AuthUser.name(mechanism: "PLAIN", responses: [base64("no separators")]) == nil)
        #expect(AuthUser.name(mechanism: "LOGIN", responses: [base64("dave")]) == "dave")
    }
}
