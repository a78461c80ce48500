// A `crosslock device` driven as a process: the test's iPhone (and the
// group's third member) are command-line devices with `--profile ios`.
package crosslock.test

import java.io.File
import java.util.concurrent.TimeUnit

class CliDevice(
    private val crosslock: String,
    val dir: File,
    val number: String,
) {
    /** Runs `crosslock device --device-dir DIR --json ARGS`; fails the test
     * unless it succeeds. Returns its JSON object. */
    fun run(vararg args: String): Map<String, Any?> {
        val (ok, json) = attempt(*args)
        if (!ok) fail("crosslock device ${args.joinToString(" ")} ($number) failed: $json")
        return json
    }

    /** Runs it and returns whether it succeeded, with its JSON object. */
    @Suppress("UNCHECKED_CAST")
    fun attempt(vararg args: String): Pair<Boolean, Map<String, Any?>> {
        val command = listOf(crosslock, "device", "--device-dir", dir.path, "--json") + args
        val process = ProcessBuilder(command)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start()
        val stdout = process.inputStream.bufferedReader().readText()
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            fail("crosslock device ${args.joinToString(" ")} did not finish in 120 s")
        }
        val json = try {
            parseJson(stdout.trim()) as Map<String, Any?>
        } catch (e: Exception) {
            fail("crosslock device ${args.joinToString(" ")}: not JSON (${e.message}): $stdout")
        }
        val ok = process.exitValue() == 0
        if (json["ok"] != ok) fail("exit status ${process.exitValue()} but ok=${json["ok"]}: $stdout")
        return ok to json
    }

    fun init(server: String, ca: String, profile: String = "ios") =
        run("init", "--number", number, "--profile", profile, "--server", server, "--ca", ca)

    fun enroll(token: String, replace: Boolean = false) =
        if (replace) run("enroll", "--subscriber-token", token, "--replace")
        else run("enroll", "--subscriber-token", token)

    /** Receives (waiting up to `waitSecs`) and returns the texts that arrived. */
    fun receiveTexts(waitSecs: Int = 0): List<String> =
        (run("recv", "--wait", waitSecs.toString())["received"] as? List<*>).orEmpty()
            .filter { it.at("type") == "text" }
            .map { it.at("text") as String }
}
