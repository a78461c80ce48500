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
import crosslock.GroupMetadataKind
import crosslock.KeyAlgorithm
import crosslock.PlatformKeyStore
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

/** A progress callback that throws on every call, as a buggy app's does. */
class ThrowingProgress : FileProgress {
    val calls = java.util.concurrent.atomic.AtomicInteger()
    override fun progress(stage: FileStage, done: ULong, total: ULong) {
        calls.incrementAndGet()
        throw IllegalStateException("the progress bar is gone")
    }
}

/** A listener that records each event, then throws (any exception, not
 * the declared CallbackException), as a buggy app's does. */
class ThrowingListener : EventListener {
    val events = LinkedBlockingQueue<Event>()
    val stopped = LinkedBlockingQueue<String>()
    override fun onEvent(event: Event) {
        events.add(event)
        throw RuntimeException("the app's UI code failed")
    }
    override fun onStopped(error: CrosslockException?) {
        stopped.add(error?.toString() ?: "clean")
        throw RuntimeException("and failed again on stop")
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

        step("a key store that signs with another key than it reported: refused, typed, before use")
        val otherKeys = JcaKeyStore()
        val liar = object : PlatformKeyStore by keyStore {
            override fun sign(alias: String, message: ByteArray): ByteArray {
                if (otherKeys.runCatching { publicKey(alias) }.isFailure) {
                    otherKeys.generate(alias, KeyAlgorithm.ECDSA_P256)
                }
                return otherKeys.sign(alias, message)
            }
        }
        try {
            CrosslockDevice.create(
                File(work, "liar").path,
                DeviceSetup(third.first, "android", server, caPem),
                DeviceKeys(null, liar),
            ).close()
            fail("a device was made with a key store that signs with another key")
        } catch (e: CrosslockException.KeyStore) {
            ensure(e.reason.contains("does not verify")) { "KeyStore error: ${e.reason}" }
        }

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
        // stop() returns once the thread has ended: onStopped came first.
        val stopped = listener.stopped.poll()
        ensure(stopped == "clean") { "the listener stopped with: $stopped" }

        step("a listener that throws on every event: the device keeps listening, later events arrive")
        val throwing = ThrowingListener()
        phone.start(throwing)
        ios.run("send", "--to", android.first, "first to a broken listener")
        awaitEvent(throwing.events) { it is Event.Text && it.text == "first to a broken listener" }
        ios.run("send", "--to", android.first, "second to a broken listener")
        awaitEvent(throwing.events) { it is Event.Text && it.text == "second to a broken listener" }
        ensure(throwing.stopped.isEmpty()) { "the listener stopped: ${throwing.stopped}" }
        phone.stop()
        ensure(throwing.stopped.poll() == "clean") { "onStopped after stop(): ${throwing.stopped}" }
        // stop() then start() again: one thread at a time, and it works.
        val again = QueueListener()
        phone.start(again)
        ios.run("send", "--to", android.first, "after a restart")
        awaitEvent(again.events) { it is Event.Text && it.text == "after a restart" }
        phone.stop()
        ensure(again.stopped.poll() == "clean") { "the restarted listener stopped with: ${again.stopped}" }

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

        step("the group's subject and icon: Android sets them, the iPhone reads them")
        val icon = File(work, "icon.png")
        val iconBytes = byteArrayOf(0x89.toByte(), 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a) + ByteArray(200) { it.toByte() }
        val subjectSet = phone.setGroupSubject(group.conversation, "Crosslock test group")
        val iconSet = phone.setGroupIcon(group.conversation, iconBytes, "image/png")
        ensure(iconSet.epoch > subjectSet.epoch) { "epochs: $subjectSet then $iconSet" }
        val own = phone.groupMetadata(group.conversation, false)
        ensure(own.subject == "Crosslock test group" && own.icon?.image?.contentEquals(iconBytes) == true) {
            "Android's own view: $own"
        }
        val cliSubject = retryValue {
            ios.run("group", "subject", "--conversation", group.conversation)["subject"] as String?
        }
        ensure(cliSubject == "Crosslock test group") { "the iPhone reads the subject as $cliSubject" }
        val iosIcon = File(work, "iphone-icon.png")
        ios.run("group", "icon", "--conversation", group.conversation, "--save", iosIcon.path)
        ensure(iosIcon.readBytes().contentEquals(iconBytes)) { "the iPhone's copy of the icon differs" }

        step("the iPhone renames the group; Android hears of it and reads the new subject")
        ios.run("group", "subject", "--conversation", group.conversation, "--set", "renamed on the iPhone")
        syncUntil(phone) {
            it is Event.GroupMetadata && it.kind == GroupMetadataKind.SUBJECT && it.error == null &&
                it.conversation == group.conversation
        }
        val renamed = phone.groupMetadata(group.conversation, false)
        ensure(renamed.subject == "renamed on the iPhone" && renamed.missing.isEmpty()) { "after the rename: $renamed" }

        step("Android removes the third phone's device from the group")
        val thirdDevice = phone.securityState(group.conversation).members
            .first { it.number == third.first }.devices.single().deviceId
        phone.removeDevice(group.conversation, third.first, thirdDevice)
        val left = phone.securityState(group.conversation).members.map { it.number }.toSet()
        ensure(left == setOf(android.first, iphone.first)) { "group members after the removal: $left" }
        val removedSelf = retryValue {
            (other.run("recv", "--wait", "2")["received"] as? List<*>).orEmpty()
                .firstOrNull { it.at("type") == "commit" && it.at("removed_self") == true }
        }
        ensure(removedSelf != null) { "the third phone was not told it was removed" }
        phone.sendText(group.conversation, "without the third phone")
        ensure(receiveText(ios, "without the third phone")) { "the iPhone did not get the text after the removal" }

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

        step("a progress callback that throws on every call: the file goes anyway")
        val small = File(work, "small.bin")
        val smallContent = ByteArray(40_000) { (it % 13).toByte() }
        small.writeBytes(smallContent)
        val throwingProgress = ThrowingProgress()
        phone.sendFile(chat.conversation, small.path, "application/octet-stream", throwingProgress)
        ensure(throwingProgress.calls.get() > 1) { "progress was called ${throwingProgress.calls.get()} times" }
        val smallSaved = retry { ios.run("file", "recv", "--out", File(work, "iphone-small").path)["files"] as List<*> }
        ensure(smallSaved.size == 1 && File(smallSaved[0].at("path") as String).readBytes().contentEquals(smallContent)) {
            "the iPhone's copy of the file sent with a throwing progress: $smallSaved"
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
        val androidSaved = phone.saveFiles(File(work, "android-files").path, fileEvent.messageId, receiving)
        ensure(androidSaved.failed.isEmpty()) { "Android could not save: ${androidSaved.failed}" }
        val androidFiles = androidSaved.files
        ensure(androidFiles.size == 1 && androidFiles[0].size == noteContent.size.toULong()) { "Android saved $androidFiles" }
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

    private fun awaitEvent(listener: QueueListener, want: (Event) -> Boolean): Event =
        awaitEvent(listener.events, want)

    private fun awaitEvent(events: LinkedBlockingQueue<Event>, want: (Event) -> Boolean): Event {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
        val seen = mutableListOf<String?>()
        while (System.nanoTime() < deadline) {
            val event = events.poll(1, TimeUnit.SECONDS) ?: continue
            if (want(event)) return event
            seen.add(event::class.simpleName)
        }
        fail("the listener did not deliver the event in 60 s; got $seen")
    }

    /** A value that may need the provider's fan-out (up to ~10 tries). */
    private fun <T> retryValue(call: () -> T?): T? {
        repeat(10) {
            val result = call()
            if (result != null) return result
            Thread.sleep(1000)
        }
        return call()
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
