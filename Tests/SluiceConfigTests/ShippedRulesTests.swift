import Foundation
import SluiceConfig
import SluicePolicy
import Testing

@Suite struct ShippedRulesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: ["Rules/sluice.conf", "Rules/examples/inbound-antispam.conf", "Rules/examples/outbound-compliance.conf",
                      "Rules/examples/greylisting.conf"])
    func everyShippedFileCompilesWithoutWarnings(_ path: String) throws {
        let configuration = try ConfigurationLoader.load(path: Self.root.appendingPathComponent(path).path)
        #expect(configuration.warnings.isEmpty, "\(configuration.warnings)")
        #expect(!configuration.ruleSet.rules.isEmpty)
    }

    @Test func defaultConfigurationIsNotAnOpenRelay() throws {
        let configuration = try ConfigurationLoader.load(path: Self.root.appendingPathComponent("Rules/sluice.conf").path)
        var outsider = Facts(clientText: "198.51.100.20")
        outsider.recipient = .path(.init(mailbox: .init(localPart: "u", domain: "elsewhere.org")))
        #expect({ if case .reject = configuration.ruleSet.evaluate(.rcpt, outsider).verdict { return true }; return false }())
        outsider.recipient = .path(.init(mailbox: .init(localPart: "u", domain: "example.com")))
        #expect(configuration.ruleSet.evaluate(.rcpt, outsider).verdict == .proceed)
    }
}
