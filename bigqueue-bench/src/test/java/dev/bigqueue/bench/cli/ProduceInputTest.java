package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bigqueue.BigQueue;
import dev.bigqueue.Message;
import dev.bigqueue.QueueConfig;
import dev.bigqueue.consumer.Consumer;
import dev.bigqueue.consumer.Consumers;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code produce} makes of its standard input, checked by the messages stored, read back
 * through the library: bytes as given (any encoding), lines split at {@code \n} only, and input
 * that ends inside a record, or claims a length no message can have, as a one-line error naming
 * the record.
 */
class ProduceInputTest {
    @TempDir
    Path tmp;

    record Run(int exitCode, String err) {
    }

    private Path dir() {
        return tmp.resolve("q");
    }

    private Run produce(byte[] stdin, String... options) {
        List<String> args = new ArrayList<>(List.of("produce", dir().toString(), "--arena-size", "64KB", "-q"));
        args.addAll(List.of(options));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        InputStream oldInput = ProduceCommand.input;
        ProduceCommand.input = new ByteArrayInputStream(stdin);
        try {
            int code = Main.run(args.toArray(new String[0]), new PrintWriter(out, true), new PrintWriter(err, true));
            return new Run(code, err.toString());
        } finally {
            ProduceCommand.input = oldInput;
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Every message of the queue, as stored. */
    private List<Message> stored() {
        List<Message> messages = new ArrayList<>();
        try (BigQueue queue = BigQueue.open(dir(), QueueConfig.builder().arenaSize(64 * 1024).build());
             Consumer consumer = Consumers.of(queue).open("check")) {
            for (Message m = consumer.dequeueMessage(); m != null; m = consumer.dequeueMessage()) {
                messages.add(m);
            }
        }
        return messages;
    }

    private List<String> storedValues() {
        return stored().stream().map(m -> new String(m.value(), StandardCharsets.ISO_8859_1)).toList();
    }

    @Test
    void aLineThatIsNotUtf8_isStoredAsItsBytes() {
        Run run = produce(new byte[] {(byte) 0xff, (byte) 0xfe, 'x', '\n', 'y', '\n'});
        assertEquals(0, run.exitCode(), run.err());
        List<Message> messages = stored();
        assertEquals(2, messages.size());
        assertArrayEquals(new byte[] {(byte) 0xff, (byte) 0xfe, 'x'}, messages.get(0).value(),
                "stored " + HexFormat.of().formatHex(messages.get(0).value()));
    }

    @Test
    void linesEndAtNewline_aLoneCarriageReturnIsKept_crlfIsALineEnd() {
        Run run = produce(ascii("a\rb\nc\r\n\r\nd\re\r"));
        assertEquals(0, run.exitCode(), run.err());
        assertEquals(List.of("a\rb", "c", "", "d\re\r"), storedValues());
    }

    @Test
    void keySeparator_splitsTheBytes_keyAndValueStoredAsGiven() {
        Run run = produce(new byte[] {'k', (byte) 0xe9, ':', 'v', (byte) 0xff, ':', 'w', '\n'}, "--key-separator",
                ":");
        assertEquals(0, run.exitCode(), run.err());
        List<Message> messages = stored();
        assertArrayEquals(new byte[] {'k', (byte) 0xe9}, messages.get(0).key());
        assertArrayEquals(new byte[] {'v', (byte) 0xff, ':', 'w'}, messages.get(0).value());
    }

    @Test
    void lengthPrefixed_inputEndingInsideALength_isAnErrorNamingTheRecord() {
        // One whole record ("a"), then two bytes of the next record's 4-byte length: the input was cut short.
        Run run = produce(new byte[] {0, 0, 0, 1, 'a', 0, 0}, "--length-prefixed");
        assertEquals(CliException.FAILED, run.exitCode(), run.err());
        assertTrue(run.err().contains("record 1 on standard input is cut short in its 4-byte length"), run.err());
        assertEquals(List.of("a"), storedValues(), "the records before it were produced");
    }

    /**
     * Empty input creates no queue, as the help says ("once the first message has been read"): a
     * pipe whose producer failed must not leave a queue with a preallocated arena at the path. An
     * existing queue is left as it was. (Before, the queue was created, its arena file included.)
     */
    @Test
    void emptyInput_createsNoQueue_andLeavesAnExistingOneAsItWas() throws Exception {
        for (String[] options : List.of(new String[0], new String[] {"--length-prefixed"})) {
            Run run = produce(new byte[0], options);
            assertEquals(0, run.exitCode(), run.err());
            assertFalse(Files.exists(dir()), "empty input created " + dir() + " (" + String.join(" ", options) + ")");
        }
        Files.createDirectories(dir());
        assertEquals(0, produce(new byte[0]).exitCode());
        try (var entries = Files.list(dir())) {
            assertEquals(List.of(), entries.toList(), "empty input put queue files into an empty directory");
        }
        StringWriter err = new StringWriter();
        InputStream oldInput = ProduceCommand.input;
        ProduceCommand.input = new ByteArrayInputStream(new byte[0]);
        try {
            assertEquals(0, Main.run(new String[] {"produce", dir().toString()}, new PrintWriter(new StringWriter()),
                    new PrintWriter(err, true)));
        } finally {
            ProduceCommand.input = oldInput;
        }
        assertTrue(err.toString().contains("produced 0 messages: standard input was empty, so no queue was created"),
                err.toString());

        assertEquals(0, produce(ascii("a\n")).exitCode());
        assertEquals(0, produce(new byte[0]).exitCode(), "empty input to an existing queue");
        assertEquals(List.of("a"), storedValues());
    }

    @Test
    void lengthPrefixed_aLengthNoMessageCanHave_isRefusedUpFront() {
        Run run = produce(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 'a'}, "--length-prefixed");
        assertEquals(CliException.FAILED, run.exitCode(), run.err());
        assertTrue(run.err().contains("record 0 on standard input has length 4294967295, more than"), run.err());
        assertFalse(Files.exists(dir()), "input wrong from its first record creates no queue");
    }

    @Test
    void lengthPrefixed_aLargeLengthWithLittleInput_isCutShort() {
        // 0x40000000 (1 GiB) claimed, 3 bytes given: the bytes are read as they come, not allocated ahead.
        Run run = produce(new byte[] {0x40, 0, 0, 0, 'a', 'b', 'c'}, "--length-prefixed");
        assertEquals(CliException.FAILED, run.exitCode(), run.err());
        assertTrue(run.err().contains("record 0 on standard input is cut short: its length says 1073741824 bytes,"
                + " the input ended after 3"), run.err());
    }

    /** Text fed to --length-prefixed by mistake: "hell" is a length of 1,751,477,356, in a JVM of 256 MB. */
    @Test
    void lengthPrefixed_textByMistake_isAOneLineError_notAnOutOfMemoryError() throws Exception {
        Path stdin = Files.writeString(tmp.resolve("stdin.txt"), "hello world\n");
        Path stderr = tmp.resolve("produce.err");
        ProcessBuilder builder = CliProcess.builder(List.of(), stderr, "produce", dir().toString(),
                "--length-prefixed", "--arena-size", "64KB");
        builder.redirectInput(stdin.toFile());
        builder.redirectOutput(new File("/dev/null"));
        int code = CliProcess.exitCode(builder.start(), stderr);
        String err = Files.readString(stderr, StandardCharsets.UTF_8);
        assertEquals(CliException.FAILED, code, err);
        assertTrue(err.startsWith("produce: error: record 0 on standard input is cut short: its length says"
                + " 1751477356 bytes"), err);
        assertEquals(1, err.lines().count(), err);
    }

    @Test
    void emptyInput_producesNothing() {
        Run run = produce(new ByteArrayOutputStream().toByteArray());
        assertEquals(0, run.exitCode(), run.err());
        assertEquals(List.of(), storedValues());
    }
}
