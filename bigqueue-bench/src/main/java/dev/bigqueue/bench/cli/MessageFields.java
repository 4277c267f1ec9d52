package dev.bigqueue.bench.cli;

import dev.bigqueue.Header;
import dev.bigqueue.Message;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * The command line's view of a message's timestamp, key and headers: how {@code produce} reads
 * {@code --timestamp}/{@code --from} times and how {@code consume --print-*} prints the fields.
 *
 * <p>Printed line: the requested fields, each followed by a tab, then the value: the timestamp as
 * an ISO-8601 instant in UTC ({@code 2026-12-02T10:00:00.123Z}), then {@code key=K} ({@code -} for
 * a message without a key), then the headers as {@code name=value} joined by {@code ,} ({@code -}
 * when there are none). Keys and header values are printed as their bytes (UTF-8 text as is), so
 * a tab or newline in them, or in the value, makes the line ambiguous unless {@code --escape}
 * ({@link #escape}) writes them as {@code \t} and {@code \n}; a tombstone's value prints as nothing.
 */
final class MessageFields {
    private MessageFields() {
    }

    /**
     * Parses an ISO-8601 instant ({@code 2026-12-02T10:00:00Z}) or epoch milliseconds.
     *
     * @throws CliException (usage) naming {@code flag} and the expected form.
     */
    static Instant parseTime(String flag, String text) {
        String t = text.trim();
        Instant time;
        try {
            if (!t.isEmpty() && t.chars().allMatch(c -> c >= '0' && c <= '9' || c == '-') && t.lastIndexOf('-') <= 0) {
                time = Instant.ofEpochMilli(Long.parseLong(t));
            } else {
                time = Instant.parse(t);
            }
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new CliException(CliException.USAGE, flag + ": '" + text + "' is not a time: give an ISO-8601"
                    + " instant in UTC such as 2026-12-02T10:00:00Z (or 2026-12-02T10:00:00.123Z), or epoch"
                    + " milliseconds such as 1796205600000");
        }
        if (Math.abs(time.getEpochSecond()) > Message.MAX_TIMESTAMP_MILLIS / 1000) {
            throw new CliException(CliException.USAGE, flag + ": " + text + " is out of range: a message's timestamp"
                    + " lies within ±" + Message.MAX_TIMESTAMP_MILLIS + " ms of the epoch");
        }
        return time;
    }

    /** {@code text} quoted for an error message, tabs and line ends shown as \t, \n, \r. */
    static String visible(String text) {
        return "'" + text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r") + "'";
    }

    /**
     * {@code bytes} with a backslash, tab, newline and carriage return written as two characters
     * each ({@code \\}, {@code \t}, {@code \n}, {@code \r}): {@code consume --escape}, for which
     * every message is then one line and its fields split at its tabs.
     */
    static byte[] escape(byte[] bytes) {
        ByteArrayOutputStream out = null;
        for (int i = 0; i < bytes.length; i++) {
            byte b = bytes[i];
            char code = b == '\\' ? '\\' : b == '\t' ? 't' : b == '\n' ? 'n' : b == '\r' ? 'r' : 0;
            if (code != 0 && out == null) {
                // Most values need nothing: copy only once there is something to write differently.
                out = new ByteArrayOutputStream(bytes.length + 16);
                out.write(bytes, 0, i);
            }
            if (out != null) {
                if (code != 0) {
                    out.write('\\');
                    out.write(code);
                } else {
                    out.write(b);
                }
            }
        }
        return out == null ? bytes : out.toByteArray();
    }

    /** The prefix {@code consume} prints before a message's value; empty when no field is asked for. */
    static byte[] prefix(Message m, boolean timestamp, boolean key, boolean headers) {
        return prefix(m, timestamp, key, headers, false);
    }

    /** {@link #prefix}, with the key and header values escaped ({@link #escape}) if {@code escape}. */
    static byte[] prefix(Message m, boolean timestamp, boolean key, boolean headers, boolean escape) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        if (timestamp) {
            out.writeBytes(m.timestamp().toString().getBytes(StandardCharsets.US_ASCII));
            out.write('\t');
        }
        if (key) {
            if (m.key() == null) {
                out.write('-');
            } else {
                out.writeBytes("key=".getBytes(StandardCharsets.US_ASCII));
                out.writeBytes(escape ? escape(m.key()) : m.key());
            }
            out.write('\t');
        }
        if (headers) {
            if (m.headers().isEmpty()) {
                out.write('-');
            }
            boolean first = true;
            for (Header h : m.headers()) {
                if (!first) {
                    out.write(',');
                }
                first = false;
                out.writeBytes(h.name().getBytes(StandardCharsets.UTF_8));
                out.write('=');
                out.writeBytes(escape ? escape(h.value()) : h.value());
            }
            out.write('\t');
        }
        return out.toByteArray();
    }
}
