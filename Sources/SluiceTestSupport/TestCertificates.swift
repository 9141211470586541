import Foundation

/// A self-signed certificate for localhost, made with the openssl CLI at test time (no private key is
/// ever committed).
public struct TestCertificates: Sendable {
    public let directory: String
    public var certificate: String { directory + "/cert.pem" }
    public var key: String { directory + "/key.pem" }

    public static func make(commonName: String = "localhost") async throws -> TestCertificates {
        let directory = try TemporaryDirectory.make(prefix: "sluice-cert")
        let result = try await ExternalTool.run("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem", "-days", "2",
            "-subj", "/CN=\(commonName)", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        guard result.status == 0 else { throw PostgresTestError(message: "openssl req: \(result.stderr)") }
        return TestCertificates(directory: directory)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
