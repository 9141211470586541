// swift-tools-version: 6.0
import PackageDescription

// Layers (see README "Design notes"): 0 C libraries, 1 SluiceSMTP, 2 SluicePolicy/SluiceConfig/SluiceSession,
// 4 SluiceServer, 5 sluice. Lower layers never import higher ones; layers 1-2 import no NIOPosix.
let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        // The pure layers as libraries, for the fuzz package in Fuzz/ (it depends on this one by path).
        .library(name: "SluiceSMTP", targets: ["SluiceSMTP"]),
        .library(name: "SluicePolicy", targets: ["SluicePolicy"]),
        .library(name: "SluiceConfig", targets: ["SluiceConfig"]),
        .library(name: "SluiceSession", targets: ["SluiceSession"]),
        .library(name: "SluiceDNS", targets: ["SluiceDNS"]),
        .library(name: "SluiceMIME", targets: ["SluiceMIME"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Layer 0: the distribution's C libraries.
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite3", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // Its pkg-config file needs .pc files Debian does not install: the module map links it.
        .systemLibrary(name: "CUnbound", providers: [.apt(["libunbound-dev"])]),
        // The Public Suffix List (DMARC's organizational domain): Debian's libpsl with its publicsuffix data.
        .systemLibrary(name: "CLibPSL", pkgConfig: "libpsl", providers: [.apt(["libpsl-dev"])]),
        // Attachment kinds (libmagic, its database from libmagic-mgc) and archive listings (libarchive).
        .systemLibrary(name: "CLibMagic", pkgConfig: "libmagic", providers: [.apt(["libmagic-dev"])]),
        .systemLibrary(name: "CLibArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),

        // Layer 1: the wire protocol as values.
        .target(name: "SluiceSMTP", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        // Layer 2: pure policy, configuration and dialogue state machines.
        .target(name: "SluicePolicy", dependencies: ["SluiceSMTP", "CPCRE2"]),
        .target(name: "SluiceConfig", dependencies: ["SluiceSMTP", "SluicePolicy"]),
        .target(name: "SluiceSession", dependencies: ["SluiceSMTP", "SluicePolicy", .product(name: "NIOCore", package: "swift-nio")]),
        // The streaming MIME parser, transfer decodings, charsets (glibc iconv), HTML to text.
        .target(name: "SluiceMIME"),
        // Layer 3: stores.
        .target(name: "SluiceStore", dependencies: [
            "SluicePolicy", "CSQLite3", "CLibPQ",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .target(name: "SluiceTLS", dependencies: ["COpenSSL", .product(name: "NIOCore", package: "swift-nio")]),
        .target(name: "SluiceAttachments", dependencies: ["CLibMagic", "CLibArchive"]),
        .target(name: "SluiceDNS", dependencies: ["CUnbound", "COpenSSL", "CLibPSL", "SluicePolicy", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        // Layer 4: NIO glue.
        .target(name: "SluiceServer", dependencies: [
            "SluiceSMTP", "SluiceSession", "SluiceConfig", "SluicePolicy", "SluiceStore", "SluiceTLS", "SluiceDNS",
            "SluiceMIME", "SluiceAttachments",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Layer 5: the command-line tool.
        .executableTarget(name: "sluice", dependencies: [
            "SluiceServer", "SluiceConfig", "SluiceStore", "SluicePolicy", "SluiceSMTP",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),

        // Benchmarks (not part of the product): rule evaluation throughput.
        .executableTarget(name: "RuleBench", dependencies: ["SluiceConfig", "SluicePolicy", "SluiceSMTP", "CPCRE2"],
                          path: "Benchmarks/RuleBench"),
        .executableTarget(name: "GreyBench", dependencies: ["SluiceStore", "SluicePolicy"], path: "Benchmarks/GreyBench"),
        // DKIM signing, verification and body hashing rates.
        .executableTarget(name: "DKIMBench", dependencies: ["SluiceDNS"], path: "Benchmarks/DKIMBench"),
        // MIME parse + decode throughput (base64 MB/s on one core).
        .executableTarget(name: "MIMEBench", dependencies: ["SluiceMIME"], path: "Benchmarks/MIMEBench"),
        // The pure per-message work of a session (parsers, state machine, decoder), without sockets.
        .executableTarget(name: "SessionBench", dependencies: [
            "SluiceSMTP", "SluiceSession", .product(name: "NIOCore", package: "swift-nio"),
        ], path: "Benchmarks/SessionBench"),
        // A minimal NIO byte glue: the floor any SwiftNIO proxy stands on.
        .executableTarget(name: "GlueBench", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Benchmarks/GlueBench"),

        // Test support: scripted upstream, external client runner, in-process server.
        .target(name: "CTestSupport"),
        .target(name: "SluiceTestSupport", dependencies: [
            "CTestSupport", "SluiceServer", "SluiceSMTP", "SluicePolicy", "SluiceConfig", "SluiceStore", "SluiceTLS",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "SystemLibraryTests", dependencies: ["CPCRE2", "COpenSSL", "CSQLite3"]),
        .testTarget(name: "SluiceTLSTests", dependencies: [
            "SluiceTLS", "SluiceTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "SluiceStoreTests", dependencies: ["SluiceStore", "SluicePolicy", "SluiceTestSupport"]),
        .testTarget(name: "SluiceSMTPTests", dependencies: [
            "SluiceSMTP", "SluiceTestSupport", .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "SluiceSessionTests", dependencies: [
            "SluiceSession", "SluiceSMTP", "SluicePolicy", "SluiceConfig", .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "SluicePolicyTests", dependencies: ["SluicePolicy", "SluiceSMTP", "SluiceConfig"]),
        .testTarget(name: "SluiceConfigTests", dependencies: ["SluiceConfig", "SluicePolicy", "SluiceSMTP"]),
        .testTarget(name: "SluiceMIMETests", dependencies: ["SluiceMIME"], exclude: ["Corpus", "oracle.py"]),
        .testTarget(name: "SluiceAttachmentsTests", dependencies: ["SluiceAttachments"], exclude: ["Fixtures"]),
        .testTarget(name: "SluiceDNSTests", dependencies: ["SluiceDNS", "SluiceTestSupport", "SluicePolicy", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .testTarget(name: "SluiceServerTests", dependencies: [
            "SluiceServer", "SluiceTestSupport", "SluiceSMTP", "SluicePolicy", "SluiceConfig", "SluiceStore", "SluiceTLS", "SluiceSession", "SluiceDNS",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
        ], exclude: ["Golden", "Scripts"]),
    ],
    swiftLanguageModes: [.v6]
)
