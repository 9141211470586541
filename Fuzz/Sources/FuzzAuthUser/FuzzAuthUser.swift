import Foundation
import FuzzSupport
@testable import SluiceSession

// AuthUser.name(mechanism:responses:): the user name an AUTH exchange names (internal, hence the
// debug build's @testable import).
//
// Input: byte 0 picks the mode and the mechanism; the rest is split at 0xFF into pieces.
// - garbage mode: the pieces are the client's responses as they came (any text, base64 or not).
// - exchange mode: the pieces are the fields of a well-formed exchange of that mechanism, base64
//   encoded the way a client does (PLAIN: authzid, authcid, password; LOGIN: user; CRAM-MD5: user
//   and digest; XOAUTH2: user and token).
//
// Properties:
// - it never traps, whatever the responses.
// - PLAIN names contain no NUL.
// - a well-formed exchange names its user: the authcid, the LOGIN user, the CRAM-MD5 user, the
//   XOAUTH2 user= value.

let mechanisms = ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "plain", "GSSAPI", ""]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var input = FuzzInput(data, count)
    let choice = input.byte()
    let parts = pieces(input.rest(), separator: 0xFF)

    if choice & 0x80 == 0 {
        let mechanism = parts.count > 1 && choice & 0x40 != 0
            ? String(decoding: parts[0], as: UTF8.self) : mechanisms[Int(choice) % mechanisms.count]
        let responses = parts.map { String(decoding: $0, as: UTF8.self) }
        let name = AuthUser.name(mechanism: mechanism, responses: responses)
        if mechanism == "PLAIN", let name {
            check(!name.unicodeScalars.contains("\u{0}"), "PLAIN name with a NUL: \(hex(name.utf8))")
        }
        return 0
    }

    func text(_ index: Int, without forbidden: [UInt8]) -> String {
        let bytes = index < parts.count ? parts[index] : []
        return String(decoding: bytes.filter { !forbidden.contains($0) }, as: UTF8.self)
    }
    func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
    let padding = String(repeating: " ", count: Int(choice >> 4 & 1)) // clients may add a space

    switch choice % 4 {
    case 0:
        let authzid = text(0, without: [0]), authcid = text(1, without: [0]), password = text(2, without: [0])
        let response = base64("\(authzid)\u{0}\(authcid)\u{0}\(password)")
        let name = AuthUser.name(mechanism: "PLAIN", responses: [padding + response])
        check(name == authcid, "PLAIN \(hex(authzid.utf8)) / \(hex(authcid.utf8)) / \(hex(password.utf8)) names \(String(describing: name))")
    case 1:
        let user = text(0, without: []), password = text(1, without: [])
        let name = AuthUser.name(mechanism: "LOGIN", responses: [base64(user) + padding, base64(password)])
        check(name == user, "LOGIN \(hex(user.utf8)) names \(String(describing: name))")
    case 2:
        let user = text(0, without: [0x20]), digest = hex(parts.count > 1 ? parts[1] : [])
        guard !user.isEmpty else { return 0 }
        let name = AuthUser.name(mechanism: "CRAM-MD5", responses: [base64("\(user) \(digest)")])
        check(name == user, "CRAM-MD5 \(hex(user.utf8)) names \(String(describing: name))")
    default:
        let user = text(0, without: [0x01]), token = text(1, without: [0x01])
        let response = base64("user=\(user)\u{1}auth=Bearer \(token)\u{1}\u{1}")
        let name = AuthUser.name(mechanism: "XOAUTH2", responses: [response])
        check(name == user, "XOAUTH2 user \(hex(user.utf8)) names \(String(describing: name))")
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see Fuzz/Package.swift): libFuzzer's driver on `fuzz`.
@_cdecl("FuzzAuthUser_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, count in fuzz(data ?? UnsafePointer(bitPattern: 1)!, count) }
}
