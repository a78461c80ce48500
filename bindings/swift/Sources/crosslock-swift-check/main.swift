// The Swift counterpart of scripts/test-bindings' first Kotlin checks: the
// library loads, and a CryptoKit P-256 key store passes the client core's
// check. Not run by scripts/test-bindings (no Swift toolchain on the Linux
// CI machines): `swift run -Xlinker -L<target>/debug crosslock-swift-check`
// on a Mac.
import Crosslock
import CryptoKit
import Foundation

/// P-256 keys in memory. On an iPhone, use SecureEnclave.P256.Signing
/// .PrivateKey (same API) and keep each key's dataRepresentation in the
/// Keychain under the alias; the Secure Enclave holds P-256 only, so
/// Ed25519 is refused and the SDK keeps those keys in its database.
final class CryptoKitKeyStore: PlatformKeyStore, @unchecked Sendable {
    private var keys: [String: P256.Signing.PrivateKey] = [:]
    private let lock = NSLock()

    func generate(alias: String, algorithm: KeyAlgorithm) throws -> PlatformPublicKey {
        guard algorithm == .ecdsaP256 else {
            throw PlatformKeyError.Unsupported(algorithm: algorithm)
        }
        let key = P256.Signing.PrivateKey()
        lock.lock()
        defer { lock.unlock() }
        if keys[alias] != nil {
            throw PlatformKeyError.Backend(reason: "alias \(alias) already holds a key")
        }
        keys[alias] = key
        // x963Representation: 04 ‖ x ‖ y, the 65-byte SEC1 point.
        return PlatformPublicKey(algorithm: .ecdsaP256, bytes: key.publicKey.x963Representation)
    }

    func publicKey(alias: String) throws -> PlatformPublicKey {
        let key = try find(alias)
        return PlatformPublicKey(algorithm: .ecdsaP256, bytes: key.publicKey.x963Representation)
    }

    func sign(alias: String, message: Data) throws -> Data {
        // ECDSA over SHA-256 of the message, DER-encoded.
        try find(alias).signature(for: message).derRepresentation
    }

    func delete(alias: String) throws {
        lock.lock()
        defer { lock.unlock() }
        keys.removeValue(forKey: alias)
    }

    // The Secure Enclave has no Key Attestation: App Attest attests its own
    // keys, through the enrolment's Attester.
    func generateAttested(alias: String, challenge: Data) throws -> PlatformAttestedKey? {
        nil
    }

    private func find(_ alias: String) throws -> P256.Signing.PrivateKey {
        lock.lock()
        defer { lock.unlock() }
        guard let key = keys[alias] else {
            throw PlatformKeyError.NotFound(alias: alias)
        }
        return key
    }
}

print("Crosslock \(crosslockVersion())")
try checkPlatformKeyStore(store: CryptoKitKeyStore(), algorithm: .ecdsaP256)
print("the CryptoKit key store passes")
