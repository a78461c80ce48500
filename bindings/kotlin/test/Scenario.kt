// The Android phone (this program, through the bindings) with an iPhone
// and a third phone (command-line devices) on one real provider.
package crosslock.test

import crosslock.CrosslockDevice
import crosslock.CrosslockException
import crosslock.DeviceKeys
import crosslock.DeviceSetup
import crosslock.Event
import crosslock.EventListener
import crosslock.FileProgress
import crosslock.FileStage
import crosslock.Verification
import java.io.File
import java.security.SecureRandom
import java.util.Collections
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

/** Records every progress call, from whichever thread the SDK makes it. */
class RecordedProgress : FileProgress {
    val calls: MutableList<Triple<FileStage, Long, Long>> = Collections.synchronizedList(mutableListOf())
    override fun progress(stage: FileStage, done: ULong, total: ULong) {
        calls.add(Triple(stage, done.toLong(), total.toLong()))
    }

    /** Checks a stage happened, never went back, and ended at `total`. */
    fun checkStage(stage: FileStage, total: Long) {
        val of = synchronized(calls) { calls.filter { it.first == stage } }
        ensure(of.isNotEmpty()) { "no $stage progress" }
        ensure(of.zipWithNext().all { (a, b) -> a.second <= b.second }) { "$stage progress went back: $of" }
        ensure(of.all { it.third == total }) { "$stage progress total is not $total: ${of.last()}" }
        ensure(of.last().second == total) { "$stage progress ended at ${of.last().second}, not $total" }
    }
}

/** Events from `CrosslockDevice.start`, handed over to the test thread. */
class QueueListener : EventListener {
    val events = LinkedBlockingQueue<Event>()
    val stopped = LinkedBlockingQueue<String>()
    override fun onEvent(event: Event) {
        events.add(event)
    }
    override fun onStopped(error: CrosslockException?) {
        stopped.add(error?.toString() ?: "clean")
    }
}

class Scenario(private val options: Options, private val work: File) {
    private val crosslock = options["crosslock"]
    private val server = options["server"]
    private val ca = options["ca"]
    private val caPem = File(ca).readText()

    // numbers and SIM secrets, in the order scripts/test-bindings lists them
    private val subscribers = File(options["subscribers"]).readLines()
        .filter { it.isNotBlank() }
        .map { it.split(" ").let { (n, t) -> n to t } }
    private val android = subscribers[0]
    private val iphone = subscribers[1]
    private val third = subscribers[2]

    private val keyStore = JcaKeyStore()
    private val databaseKey = ByteArray(32).also { SecureRandom().nextBytes(it) }

    fun run() {
        step("Android: create and enrol through the bindings, P-256 keys in the platform key store")
        val phone = CrosslockDevice.create(
            File(work, "android").path,
            DeviceSetup(android.first, "android", server, caPem),
            DeviceKeys(databaseKey, keyStore),
        )
        val enrolled = phone.enroll(android.second, false)
        ensure(enrolled.credentials == 2u) { "expected a P-256 and an Ed25519 credential, got $enrolled" }
        ensure(keyStore.signatures.get() > 0) { "the SDK never signed with the platform key store" }
        ensure(phone.isEnrolled() && phone.number() == android.first) { "not enrolled as ${android.first}" }

        step("a wrong subscriber token is refused, typed")
        val intruder = CrosslockDevice.create(
            File(work, "intruder").path,
            DeviceSetup(third.first, "android", server, caPem),
            DeviceKeys(null, null),
        )
        try {
            intruder.enroll("guessing-the-sim-secret", false)
            fail("enrolment with a wrong subscriber token succeeded")
        } catch (e: CrosslockException.Refused) {
            // expected
        }
        intruder.close()

        step("iPhone and a third phone: command-line devices (--profile ios / android)")
        val ios = CliDevice(crosslock, File(work, "iphone"), iphone.first)
        ios.init(server, ca, "ios")
        ios.enroll(iphone.second)
        val other = CliDevice(crosslock, File(work, "third"), third.first)
        other.init(server, ca, "android")
        other.enroll(third.second)

        step("1:1 Android -> iPhone")
        val chat = phone.openChat(iphone.first)
        ensure(chat.epoch != null) { "a new chat is committed: $chat" }
        phone.sendText(chat.conversation, "hello from Android")
        ensure(receiveText(ios, "hello from Android")) { "the iPhone did not get Android's text" }

        step("1:1 iPhone -> Android, through the event listener")
        val listener = QueueListener()
        phone.start(listener)
        ios.run("send", "--to", android.first, "hello from iPhone")
        val text = awaitEvent(listener) { it is Event.Text && it.text == "hello from iPhone" } as Event.Text
        ensure(text.from.number == iphone.first && text.conversation == chat.conversation) {
            "the text came from ${text.from} in ${text.conversation}"
        }
        phone.stop()
        val stopped = listener.stopped.poll(30, TimeUnit.SECONDS)
        ensure(stopped == "clean") { "the listener stopped with: $stopped" }

        step("safety numbers: Android's digits equal the iPhone's (crosslock device verify)")
        val safety = phone.safetyNumber(chat.conversation, iphone.first)
        val cliSafety = ios.run("verify", "--with", android.first)["safety_number"]
        ensure(safety.digits.length == 60 && safety.digits == cliSafety) {
            "Android ${safety.digits} != iPhone $cliSafety"
        }
        val state = phone.securityState(chat.conversation)
        // Two Crosslock phones agree on the post-quantum suite (X-Wing,
        // Ed25519 signatures: the key in the encrypted database); the
        // iPhone's keys are proven by the transparency log.
        val peer = state.members.first { it.number == iphone.first }
        ensure(state.encrypted && !state.group && state.suiteCode == 0x004F.toUShort()) {
            "unexpected security state: $state"
        }
        ensure(peer.transparency == "proven" && peer.verification == Verification.UNVERIFIED) {
            "the iPhone in the security state: $peer"
        }

        step("a group: Android creates it with the iPhone and the third phone; a text reaches both")
        val group = phone.createGroup(listOf(iphone.first, third.first))
        phone.sendText(group.conversation, "hello group")
        ensure(receiveText(ios, "hello group")) { "the iPhone did not get the group text" }
        ensure(receiveText(other, "hello group")) { "the third phone did not get the group text" }
        val members = phone.securityState(group.conversation).members.map { it.number }.toSet()
        ensure(members == setOf(android.first, iphone.first, third.first)) { "group members: $members" }

        step("a file Android -> iPhone, with progress, received intact")
        val photo = File(work, "photo.jpg")
        val content = ByteArray(300_000) { (it % 251).toByte() }
        photo.writeBytes(content)
        val sending = RecordedProgress()
        val sent = phone.sendFile(chat.conversation, photo.path, null, sending)
        ensure(sent.size == content.size.toULong()) { "sent ${sent.size} bytes" }
        sending.checkStage(FileStage.ENCRYPTING, content.size.toLong())
        sending.checkStage(FileStage.UPLOADING, sent.uploadedBytes.toLong())
        val iosFiles = File(work, "iphone-files")
        val saved = retry { ios.run("file", "recv", "--out", iosFiles.path)["files"] as List<*> }
        ensure(saved.size == 1) { "the iPhone saved ${saved.size} files" }
        ensure(File(saved[0].at("path") as String).readBytes().contentEquals(content)) {
            "the iPhone's copy differs"
        }

        step("a file iPhone -> Android, downloaded with progress, intact")
        val note = File(work, "note.txt")
        val noteContent = "from the iPhone\n".repeat(5000).toByteArray()
        note.writeBytes(noteContent)
        ios.run("file", "send", "--to", android.first, note.path)
        val fileEvent = syncUntil(phone) { it is Event.File } as Event.File
        ensure(fileEvent.name == "note.txt" && fileEvent.size == noteContent.size.toULong()) {
            "file event: $fileEvent"
        }
        val receiving = RecordedProgress()
        val androidFiles = phone.saveFiles(File(work, "android-files").path, fileEvent.messageId, receiving)
        ensure(androidFiles.size == 1) { "Android saved ${androidFiles.size} files" }
        ensure(File(androidFiles[0].path).readBytes().contentEquals(noteContent)) { "Android's copy differs" }
        ensure(receiving.calls.isNotEmpty() && receiving.calls.last().let { it.first == FileStage.DOWNLOADING && it.second == it.third }) {
            "download progress did not end at its total: ${receiving.calls.lastOrNull()}"
        }

        step("a key change: the iPhone's number enrols a new phone (--replace); Android sees it")
        val ios2 = CliDevice(crosslock, File(work, "iphone-new"), iphone.first)
        ios2.init(server, ca, "ios")
        ios2.enroll(iphone.second, replace = true)
        ios2.run("send", "--to", android.first, "my new iPhone")
        val seen = syncCollect(phone) { events ->
            events.any { it is Event.Text && it.text == "my new iPhone" } && events.any { it is Event.KeyChanged }
        }
        val chat2 = (seen.first { it is Event.Text && it.text == "my new iPhone" } as Event.Text).conversation
        val changed = seen.filterIsInstance<Event.KeyChanged>().firstOrNull { it.conversation == chat2 }
            ?: fail("no key change event for the new iPhone's chat: ${seen.filterIsInstance<Event.KeyChanged>()}")
        ensure(changed.number == iphone.first) { "key change for ${changed.number}" }
        val verification = phone.securityState(changed.conversation).members
            .first { it.number == iphone.first }.verification
        ensure(verification == Verification.KEY_CHANGED) { "verification is $verification" }
        val newSafety = phone.safetyNumber(changed.conversation, iphone.first)
        ensure(newSafety.digits != safety.digits) { "the safety number did not change with the keys" }
        val newCliSafety = ios2.run("verify", "--with", android.first)["safety_number"]
        ensure(newSafety.digits == newCliSafety) { "Android ${newSafety.digits} != new iPhone $newCliSafety" }
        phone.confirmSafetyNumber(changed.conversation, iphone.first, null)
        ensure(phone.securityState(changed.conversation).members.first { it.number == iphone.first }
            .verification == Verification.VERIFIED) { "confirming did not verify" }

        step("the lifecycle jobs run")
        val maintained = phone.maintain()
        ensure(maintained.failed.isEmpty()) { "lifecycle jobs failed: ${maintained.failed}" }

        step("errors arrive typed: a malformed number is an input error")
        try {
            phone.openChat("12345")
            fail("a malformed number was accepted")
        } catch (e: CrosslockException.Input) {
            // expected
        }

        step("the device reopens from its directory with the app's keys")
        val conversations = phone.conversations().toSet()
        phone.close()
        val reopened = CrosslockDevice.open(File(work, "android").path, DeviceKeys(databaseKey, keyStore))
        ensure(reopened.isEnrolled() && reopened.conversations().toSet() == conversations) {
            "the reopened device lost its state"
        }
        // Into the chat with the iPhone's new phone (the old one is revoked:
        // its keys are no longer proven, and sending to it is refused). The
        // new phone's keys may not be in a published transparency epoch yet
        // (the provider closes one a second after a change): until they
        // are, sending is refused (KT-MEMBER-3), and the app retries.
        sendWhenProven(reopened, changed.conversation, "still here")
        val proven = reopened.securityState(changed.conversation).members.first { it.number == iphone.first }
        ensure(proven.transparency == "proven") { "the new iPhone's keys: ${proven.transparency}" }
        ensure(receiveText(ios2, "still here")) { "the new iPhone did not get the reopened device's text" }
        reopened.close()
    }

    /** Sends, retrying for up to ~15 s while key transparency has not
     * proven a member's new keys yet. */
    private fun sendWhenProven(device: CrosslockDevice, conversation: String, text: String) {
        repeat(15) {
            try {
                device.sendText(conversation, text)
                return
            } catch (e: CrosslockException.Refused) {
                if (!e.reason.contains("key transparency")) throw e
                Thread.sleep(1000)
            }
        }
        device.sendText(conversation, text)
    }

    /** Receives on a command-line device until `text` arrives (up to ~30 s). */
    private fun receiveText(device: CliDevice, text: String): Boolean {
        repeat(10) {
            if (text in device.receiveTexts(waitSecs = 3)) return true
        }
        return false
    }

    /** Syncs the Android device until an event matches (up to ~40 s). */
    private fun syncUntil(phone: CrosslockDevice, want: (Event) -> Boolean): Event =
        syncCollect(phone) { events -> events.any(want) }.first(want)

    /** Syncs until what arrived so far satisfies `done`; returns all of it. */
    private fun syncCollect(phone: CrosslockDevice, done: (List<Event>) -> Boolean): List<Event> {
        val seen = mutableListOf<Event>()
        repeat(20) {
            seen.addAll(phone.sync(2uL))
            if (done(seen)) return seen
        }
        fail("not seen after 20 syncs; got ${seen.map { it::class.simpleName }}")
    }

    private fun awaitEvent(listener: QueueListener, want: (Event) -> Boolean): Event {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
        val seen = mutableListOf<String?>()
        while (System.nanoTime() < deadline) {
            val event = listener.events.poll(1, TimeUnit.SECONDS) ?: continue
            if (want(event)) return event
            seen.add(event::class.simpleName)
        }
        fail("the listener did not deliver the event in 60 s; got $seen")
    }

    /** A command-line call whose result may need the provider's fan-out. */
    private fun <T : Collection<*>> retry(call: () -> T): T {
        repeat(10) {
            val result = call()
            if (result.isNotEmpty()) return result
            Thread.sleep(1000)
        }
        return call()
    }
}
