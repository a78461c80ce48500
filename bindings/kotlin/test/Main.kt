// The Android phone of scripts/test-bindings: the Kotlin bindings of
// crates/ffi, a java.security key store standing in for Android Keystore,
// against a real `crosslock serve` on loopback, with command-line devices
// (`crosslock device --profile ios`) as the other phones.
//
// Exits 0 when every check passes, 1 with a "FAIL: ..." line at the first
// that does not.
package crosslock.test

import crosslock.KeyAlgorithm
import crosslock.PlatformKeyException
import crosslock.PlatformKeyStore
import crosslock.PlatformPublicKey
import crosslock.checkPlatformKeyStore
import crosslock.crosslockVersion
import java.io.File
import kotlin.system.exitProcess

fun fail(message: String): Nothing {
    System.err.println("FAIL: $message")
    System.err.flush()
    exitProcess(1)
}

fun ensure(condition: Boolean, message: () -> String) {
    if (!condition) fail(message())
}

fun step(name: String) = println("== $name")

/** What scripts/test-bindings passes: `--name value` pairs. */
class Options(args: Array<String>) {
    private val values = args.toList().chunked(2).associate { (k, v) -> k.removePrefix("--") to v }
    operator fun get(name: String): String = values[name] ?: fail("missing --$name")
}

fun main(args: Array<String>) {
    val options = Options(args)
    val work = File(options["work"])

    step("the library loads and is the version the bindings were made for")
    ensure(crosslockVersion() == options["version"]) {
        "library version ${crosslockVersion()}, expected ${options["version"]}"
    }

    try {
        keyStoreChecks()
        Scenario(options, work).run()
    } catch (e: Exception) {
        e.printStackTrace()
        fail("unexpected exception: $e")
    }

    println("all checks passed")
}

/** The platform key store across the FFI boundary, both ways. */
fun keyStoreChecks() {
    step("a java.security P-256 key store passes the client core's check")
    val store = JcaKeyStore()
    checkPlatformKeyStore(store, KeyAlgorithm.ECDSA_P256)
    ensure(store.signatures.get() == 1) { "expected one signature, saw ${store.signatures.get()}" }

    step("Ed25519 is refused by the store, and the refusal arrives typed")
    expectKeyError("Unsupported") { checkPlatformKeyStore(store, KeyAlgorithm.ED25519) }

    step("a store that answers in the wrong encoding is refused where it is plugged in")
    // Raw SPKI instead of the SEC1 point.
    expectKeyError("Backend", "not a valid key") {
        checkPlatformKeyStore(object : PlatformKeyStore by store {
            override fun generate(alias: String, algorithm: KeyAlgorithm): PlatformPublicKey {
                val key = store.generate(alias, algorithm)
                return PlatformPublicKey(key.algorithm, byteArrayOf(0x30) + key.bytes)
            }
        }, KeyAlgorithm.ECDSA_P256)
    }
    // A signature over something else (as a store that hashes twice would).
    expectKeyError("Backend", "does not verify") {
        checkPlatformKeyStore(object : PlatformKeyStore by store {
            override fun sign(alias: String, message: ByteArray): ByteArray =
                store.sign(alias, message + 0)
        }, KeyAlgorithm.ECDSA_P256)
    }

    step("an unexpected exception in the Kotlin store becomes a typed error, not a crash")
    expectKeyError("Backend", "unexpected") {
        checkPlatformKeyStore(object : PlatformKeyStore by store {
            override fun sign(alias: String, message: ByteArray): ByteArray =
                throw IllegalStateException("keystore locked")
        }, KeyAlgorithm.ECDSA_P256)
    }
}

fun expectKeyError(variant: String, containing: String = "", block: () -> Unit) {
    try {
        block()
    } catch (e: PlatformKeyException) {
        ensure(e::class.simpleName == variant) { "expected PlatformKeyException.$variant, got $e" }
        ensure(e.message.orEmpty().contains(containing)) { "expected \"$containing\" in: ${e.message}" }
        return
    }
    fail("expected PlatformKeyException.$variant, nothing was thrown")
}
