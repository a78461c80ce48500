// swift-tools-version:5.9
// Crosslock for Swift: the UniFFI bindings of crates/ffi.
//
// scripts/test-bindings lays this package out in target/bindings/swift with
// the generated sources (Sources/Crosslock/Crosslock.swift,
// Sources/CrosslockFFI/{CrosslockFFI.h,module.modulemap}); this directory
// holds only what is written by hand. On a Mac with the Rust library built
// for the host (`cargo build -p crosslock-ffi`):
//
//   swift build -Xlinker -L<target>/debug
//
// For iOS, build the library for aarch64-apple-ios (and the simulator),
// wrap it with its header in an XCFramework and replace the CrosslockFFI
// system library below with a binaryTarget (docs/embedding.md).
import PackageDescription

let package = Package(
    name: "Crosslock",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Crosslock", targets: ["Crosslock"]),
    ],
    targets: [
        // The C interface of libcrosslock_ffi: header and module map
        // (which links crosslock_ffi).
        .systemLibrary(name: "CrosslockFFI", path: "Sources/CrosslockFFI"),
        // The generated Swift API over it.
        .target(name: "Crosslock", dependencies: ["CrosslockFFI"], path: "Sources/Crosslock"),
        .executableTarget(
            name: "crosslock-swift-check",
            dependencies: ["Crosslock"],
            path: "Sources/crosslock-swift-check"
        ),
    ]
)
