// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for Sluice's parsers (ARCHITECTURE.md rule 19). Not part of the product: build and
// run them with `Fuzz/run.sh` (see Fuzz/README.md). Every target is an executable whose only entry point
// is `LLVMFuzzerTestOneInput`; libFuzzer's `main` comes from `-sanitize=fuzzer`, so the package only
// builds with
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// (debug, so that `@testable import` reaches internal parsers such as `AuthUser`).

/// Fuzz target name -> the Sluice libraries it exercises.
let fuzzTargets: [(String, [String])] = [
    ("FuzzCommandParser", ["SluiceSMTP"]),
    ("FuzzReplyParser", ["SluiceSMTP"]),
    ("FuzzLineFramer", ["SluiceSMTP"]),
    ("FuzzDataDecoder", ["SluiceSMTP"]),
    ("FuzzMessageHeader", ["SluiceSMTP"]),
    ("FuzzAuthUser", ["SluiceSession"]),
    ("FuzzEHLOCapabilities", ["SluiceSMTP"]),
    ("FuzzConfiguration", ["SluiceConfig", "SluicePolicy"]),
    ("FuzzPattern", ["SluicePolicy"]),
    ("FuzzProxyHeader", ["SluiceSMTP"]),
    ("FuzzRecordData", ["SluiceDNS"]),
    ("FuzzDKIMSignature", ["SluiceDNS"]),
    ("FuzzMIMEParser", ["SluiceMIME"]),
    ("FuzzHTMLText", ["SluiceMIME"]),
    ("FuzzDetectors", ["SluicePolicy"]),
]

let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")

let package = Package(
    name: "SluiceFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Sluice", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // libFuzzer's driver entry, for the `<Target>_main` functions.
        .target(name: "CLibFuzzer"),
        // Input splitting, chunkings, the property check and the entry point shared by every target.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", nioCore]),
    ] + fuzzTargets.map { name, libraries in
        .executableTarget(
            name: name,
            dependencies: ["FuzzSupport", nioCore] + libraries.map { .product(name: $0, package: "Sluice") },
            path: "Sources/\(name)")
    },
    swiftLanguageModes: [.v6]
)
