import Foundation
import Testing
@testable import SluiceMIME

/// The corpus under Corpus/ (made by Corpus/generate.py) parsed here and by Python's email
/// package (oracle.py, policy=default): the part trees must agree, except where listed.
struct OracleTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let corpus: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("Corpus").path)) ?? [])
        .filter { $0.hasSuffix(".eml") }.sorted()

    /// Files where we deliberately differ from Python, with the reason; they are checked against
    /// our own expectation in `deliberateDifferences…` tests below instead.
    static let differences: [String: String] = [
        // Python keeps the multipart type and makes the body an opaque string payload (no text);
        // a spam filter must read that body, so we read it as text/plain.
        "no_boundary.eml": "multipart without boundary read as text/plain",
    ]

    /// One part as the oracle prints it.
    struct Expected {
        var type: String
        var filename: String?
        var charset: String?
        var container: Bool
        var text: String?
        var size: Int?
    }

    static func oracle(_ file: String) throws -> (subject: String, parts: [Expected]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [directory.appendingPathComponent("oracle.py").path,
                             directory.appendingPathComponent("Corpus").appendingPathComponent(file).path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let parts = (json["parts"] as! [[String: Any]]).map { p in
            Expected(type: p["type"] as! String, filename: p["filename"] as? String, charset: p["charset"] as? String,
                     container: p["container"] as! Bool, text: p["text"] as? String, size: p["size"] as? Int)
        }
        return (json["subject"] as? String ?? "", parts)
    }

    static func load(_ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent("Corpus").appendingPathComponent(file)))
    }

    static func normalized(_ text: String?) -> String? {
        text.map { $0.replacingOccurrences(of: "\r\n", with: "\n") }
    }

    @Test func corpusIsPresent() {
        #expect(Self.corpus.count >= 15)
    }

    @Test(arguments: corpus.filter { differences[$0] == nil })
    func partTreeAgreesWithPython(file: String) throws {
        let bytes = try Self.load(file)
        let expected = try Self.oracle(file)
        let message = Parse.whole(bytes)
        #expect(message == Parse.chunked(bytes, seed: 7), "chunked parse differs for \(file)")
        let parents = Set(message.parts.compactMap(\.parent))
        #expect(message.headers.first(named: "subject")?.value ?? "" == expected.subject, "\(file) subject")
        #expect(message.parts.count == expected.parts.count, "\(file): part count")
        for (part, want) in zip(message.parts, expected.parts) {
            let where_ = "\(file) part \(part.index)"
            #expect(part.contentType == want.type, "\(where_) type")
            #expect(part.filename == want.filename.map(PartHeaders.baseName), "\(where_) filename")
            #expect(part.charset == want.charset, "\(where_) charset")
            #expect(parents.contains(part.index) || part.isMultipart == want.container, "\(where_) container")
            if let text = want.text {
                #expect(Self.normalized(part.text) == Self.normalized(text), "\(where_) text")
            }
            if let size = want.size { #expect(part.decodedSize == size, "\(where_) size") }
        }
    }

    @Test func deliberateDifferenceMultipartWithoutBoundaryIsText() throws {
        let expected = try Self.oracle("no_boundary.eml")
        #expect(expected.parts.map(\.type) == ["multipart/mixed"])
        #expect(expected.parts[0].text == nil)  // Python: no text for it
        let message = Parse.whole(try Self.load("no_boundary.eml"))
        #expect(message.parts.map(\.contentType) == ["text/plain"])
        #expect(Self.normalized(message.parts[0].text) == "just some text\n")
    }
}
