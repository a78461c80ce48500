// A small JSON reader for what `crosslock device --json` prints: the test
// program needs no library beyond the bindings and JNA.
package crosslock.test

/** Parses one JSON value: Map, List, String, Double/Long, Boolean or null. */
fun parseJson(text: String): Any? {
    val parser = JsonParser(text)
    val value = parser.value()
    parser.skipSpace()
    require(parser.done()) { "trailing characters in JSON at ${parser.position}" }
    return value
}

private class JsonParser(private val s: String) {
    var position = 0

    fun done() = position >= s.length

    fun skipSpace() {
        while (position < s.length && s[position].isWhitespace()) position++
    }

    fun value(): Any? {
        skipSpace()
        require(position < s.length) { "unexpected end of JSON" }
        return when (val c = s[position]) {
            '{' -> obj()
            '[' -> array()
            '"' -> string()
            't' -> literal("true", true)
            'f' -> literal("false", false)
            'n' -> literal("null", null)
            else -> if (c == '-' || c.isDigit()) number() else error("unexpected '$c' at $position")
        }
    }

    private fun literal(word: String, value: Any?): Any? {
        require(s.startsWith(word, position)) { "bad literal at $position" }
        position += word.length
        return value
    }

    private fun obj(): Map<String, Any?> {
        val map = LinkedHashMap<String, Any?>()
        position++ // {
        skipSpace()
        if (s[position] == '}') { position++; return map }
        while (true) {
            skipSpace()
            val key = string()
            skipSpace()
            require(s[position] == ':') { "expected ':' at $position" }
            position++
            map[key] = value()
            skipSpace()
            when (s[position++]) {
                ',' -> continue
                '}' -> return map
                else -> error("expected ',' or '}' at ${position - 1}")
            }
        }
    }

    private fun array(): List<Any?> {
        val list = ArrayList<Any?>()
        position++ // [
        skipSpace()
        if (s[position] == ']') { position++; return list }
        while (true) {
            list.add(value())
            skipSpace()
            when (s[position++]) {
                ',' -> continue
                ']' -> return list
                else -> error("expected ',' or ']' at ${position - 1}")
            }
        }
    }

    private fun string(): String {
        require(s[position] == '"') { "expected a string at $position" }
        position++
        val out = StringBuilder()
        while (true) {
            val c = s[position++]
            when (c) {
                '"' -> return out.toString()
                '\\' -> {
                    when (val e = s[position++]) {
                        '"', '\\', '/' -> out.append(e)
                        'b' -> out.append('\b')
                        'f' -> out.append('\u000C')
                        'n' -> out.append('\n')
                        'r' -> out.append('\r')
                        't' -> out.append('\t')
                        'u' -> {
                            out.append(s.substring(position, position + 4).toInt(16).toChar())
                            position += 4
                        }
                        else -> error("bad escape '\\$e' at $position")
                    }
                }
                else -> out.append(c)
            }
        }
    }

    private fun number(): Any {
        val start = position
        while (position < s.length && (s[position].isDigit() || s[position] in "+-.eE")) position++
        val text = s.substring(start, position)
        return text.toLongOrNull() ?: text.toDouble()
    }
}

/** `value["a"]["b"][0]`-style access for the checks. */
@Suppress("UNCHECKED_CAST")
fun Any?.at(vararg path: Any): Any? {
    var v: Any? = this
    for (step in path) {
        v = when (step) {
            is String -> (v as? Map<String, Any?>)?.get(step)
            is Int -> (v as? List<Any?>)?.getOrNull(step)
            else -> null
        }
    }
    return v
}
