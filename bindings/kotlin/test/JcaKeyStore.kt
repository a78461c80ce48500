// The platform key store of the test's "Android phone": java.security
// standing in for Android Keystore.
//
// On Android the same code runs against the hardware store by naming its
// provider: KeyPairGenerator.getInstance("EC", "AndroidKeyStore") initialised
// with KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
// .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
// .setDigests(KeyProperties.DIGEST_SHA256).setIsStrongBoxBacked(true), and
// KeyStore.getInstance("AndroidKeyStore") for lookup and deletion. The
// private key never leaves the hardware; Signature("SHA256withECDSA")
// signs inside it and returns DER, which is what Crosslock expects.
package crosslock.test

import crosslock.KeyAlgorithm
import crosslock.PlatformAttestedKey
import crosslock.PlatformKeyException
import crosslock.PlatformKeyStore
import crosslock.PlatformPublicKey
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.PublicKey
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger

/** P-256 keys in memory; Ed25519 is refused, as Android Keystore and the
 * Secure Enclave refuse it (the SDK keeps those keys in its database). */
class JcaKeyStore : PlatformKeyStore {
    private val keys = ConcurrentHashMap<String, KeyPair>()

    /** Signatures made, for the test's check that the SDK used this store. */
    val signatures = AtomicInteger()

    override fun generate(alias: String, algorithm: KeyAlgorithm): PlatformPublicKey {
        if (algorithm != KeyAlgorithm.ECDSA_P256) {
            throw PlatformKeyException.Unsupported(algorithm)
        }
        val generator = KeyPairGenerator.getInstance("EC")
        generator.initialize(ECGenParameterSpec("secp256r1"))
        val pair = generator.generateKeyPair()
        if (keys.putIfAbsent(alias, pair) != null) {
            throw PlatformKeyException.Backend("alias $alias already holds a key")
        }
        return PlatformPublicKey(KeyAlgorithm.ECDSA_P256, sec1(pair.public))
    }

    override fun publicKey(alias: String): PlatformPublicKey {
        val pair = keys[alias] ?: throw PlatformKeyException.NotFound(alias)
        return PlatformPublicKey(KeyAlgorithm.ECDSA_P256, sec1(pair.public))
    }

    override fun sign(alias: String, message: ByteArray): ByteArray {
        val pair = keys[alias] ?: throw PlatformKeyException.NotFound(alias)
        val signer = Signature.getInstance("SHA256withECDSA")
        signer.initSign(pair.private)
        signer.update(message)
        signatures.incrementAndGet()
        return signer.sign() // DER: SEQUENCE { r INTEGER, s INTEGER }
    }

    override fun delete(alias: String) {
        keys.remove(alias)
    }

    /** java.security has no Key Attestation: nothing to offer (the SDK then
     * asks the enrolment's Attester, if any). On Android, the same
     * KeyGenParameterSpec as `generate` plus .setAttestationChallenge(challenge),
     * then PlatformAttestedKey(key, store.getCertificateChain(alias).map { it.encoded }). */
    override fun generateAttested(alias: String, challenge: ByteArray): PlatformAttestedKey? = null

    companion object {
        /** The DER prefix of every P-256 SubjectPublicKeyInfo (RFC 5480):
         * SEQUENCE, AlgorithmIdentifier { id-ecPublicKey, secp256r1 },
         * BIT STRING of 66 bytes (no unused bits). */
        private val P256_SPKI_PREFIX = byteArrayOf(
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86.toByte(), 0x48, 0xce.toByte(),
            0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86.toByte(), 0x48, 0xce.toByte(), 0x3d,
            0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        )

        /** The uncompressed SEC1 point (04 ‖ x ‖ y, 65 bytes) out of the
         * X.509 SubjectPublicKeyInfo Java encodes public keys as. */
        fun sec1(key: PublicKey): ByteArray {
            val spki = key.encoded
            val prefix = P256_SPKI_PREFIX
            if (spki.size != prefix.size + 65 || !spki.copyOfRange(0, prefix.size).contentEquals(prefix)) {
                throw PlatformKeyException.Backend("not a P-256 SubjectPublicKeyInfo (${spki.size} bytes)")
            }
            return spki.copyOfRange(prefix.size, spki.size)
        }
    }
}
