import Foundation
import SluiceDNS
import SluiceTestSupport
import Testing

/// What Sluice signs, OpenDKIM verifies: Debian's opendkim milter (libopendkim 2.11, built with
/// libunbound) in its test mode (`opendkim -x CONF -t FILE`), which runs one message through the
/// milter's verifying path and prints the Authentication-Results field it would add. The key is
/// fetched over real DNS: `ResolverConfiguration` hands libunbound a configuration file forwarding
/// every query to the test's DNS server on a loopback port (opendkim's own `Nameservers` takes no
/// port). A changed body or header must fail, so a pass means the signature was checked.
///
/// Simple header canonicalisation gets a message with one space after each colon: opendkim sees the
/// fields as the milter protocol hands them over (name, value without its leading blanks) and puts
/// back a single space, so `Subject:  Lunch` fails under simple/simple whoever signed it (dkimpy's
/// signatures too); folding and runs of blanks inside a value are kept and stay in the message.
@Suite struct DKIMOpenDKIMTests {
    static let canonicalizations: [(DKIMCanonicalization, DKIMCanonicalization)] = [(.relaxed, .relaxed), (.simple, .simple)]

    static func message(for header: DKIMCanonicalization) -> String {
        header == .relaxed ? DKIMInteropTests.message
            : DKIMInteropTests.message.replacingOccurrences(of: "Subject:  Lunch", with: "Subject: Lunch")
    }

    /// A TXT record as zone-file character-strings (at most 255 octets each).
    static func txt(_ text: String) -> String {
        var rest = Substring(text), strings: [String] = []
        while !rest.isEmpty {
            strings.append("\"\(rest.prefix(200))\"")
            rest = rest.dropFirst(200)
        }
        return strings.joined(separator: " ")
    }

    /// Runs opendkim's test mode on `message`; returns everything it printed.
    static func opendkim(_ message: String, config: String, in directory: String, name: String) async throws -> String {
        let path = directory + "/" + name
        try message.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await ExternalTool.run("opendkim", ["-x", config, "-vv", "-t", path], timeout: 60)
        try #require(result.status == 0, "opendkim -t: \(result.status) \(result.stderr)")
        return result.stdout
    }

    @Test(arguments: ["rsa2048", "ed25519"])
    func whatSluiceSignsOpenDKIMVerifies(_ kind: String) async throws {
        try await DKIMInteropTests.withDirectory { directory in
            let key = try await DKIMInteropTests.makeKey(kind, in: directory)
            let privateKey = try DKIMPrivateKey(contentsOfFile: key.path)
            // The record openssl derived (not Sluice's), so a wrong key record cannot pass.
            let dns = try await TestDNSServer.start(zone: "sel._domainkey.example.org. 300 IN TXT \(Self.txt(key.record))\n")
            defer { dns.stop() }
            let unbound = directory + "/unbound.conf"
            try """
                server:
                  do-not-query-localhost: no
                forward-zone:
                  name: "."
                  forward-addr: \(dns.forwarder)

                """.write(toFile: unbound, atomically: true, encoding: .utf8)
            let config = directory + "/opendkim.conf"
            try """
                Mode v
                Syslog no
                ResolverConfiguration \(unbound)
                TemporaryDirectory \(directory)
                DNSTimeout 10

                """.write(toFile: config, atomically: true, encoding: .utf8)

            for (header, body) in Self.canonicalizations {
                let label = "\(kind) \(header.rawValue)/\(body.rawValue)"
                let signed = try Self.sign(Self.message(for: header), key: privateKey, selector: "sel", header: header, body: body)
                let verdict = try await Self.opendkim(signed, config: config, in: directory, name: "signed.eml")
                #expect(verdict.contains("dkim=pass") && verdict.contains("header.a=\(key.algorithm)")
                        && verdict.contains("header.d=example.org") && verdict.contains("header.s=sel"),
                        "opendkim on \(label):\n\(verdict)\n\(signed)")
                #expect(verdict.contains("verification (s=sel, d=example.org") && verdict.contains("succeeded"), "\(label): \(verdict)")

                for (old, new) in [("lunch at noon?", "lunch at one?"), ("Lunch   on", "Dinner   on")] {
                    let changed = try await Self.opendkim(DKIMInteropTests.tamper(signed, old, new), config: config, in: directory,
                                                          name: "tampered.eml")
                    #expect(changed.contains("dkim=fail") && !changed.contains("dkim=pass"), "\(label), \(old) -> \(new):\n\(changed)")
                }
            }

            // A selector the DNS server does not know: no key, no pass (the key above came from DNS).
            let orphan = try Self.sign(DKIMInteropTests.message, key: privateKey, selector: "absent", header: .relaxed, body: .relaxed)
            let missing = try await Self.opendkim(orphan, config: config, in: directory, name: "orphan.eml")
            #expect(!missing.contains("dkim=pass") && missing.contains("s=absent"), "\(missing)")
        }
    }

    static func sign(_ message: String, key: DKIMPrivateKey, selector: String, header: DKIMCanonicalization,
                     body: DKIMCanonicalization) throws -> String {
        let signer = try DKIMSigner(key: key, domain: "example.org", selector: selector,
                                    signedHeaders: DKIMSigner.defaultSignedHeaders + ["x-a"],
                                    headerCanonicalization: header, bodyCanonicalization: body, lifetime: 3600)
        let bytes = Array(message.utf8)
        let (fields, bodyOffset) = DKIMHeaderField.split(bytes)
        var hasher = signer.makeBodyHasher()
        hasher.update(Array(bytes[bodyOffset...]))
        let field = try signer.sign(headers: fields, bodyHash: hasher.finish(), now: Date())
        return String(decoding: field.raw, as: UTF8.self) + message
    }
}
