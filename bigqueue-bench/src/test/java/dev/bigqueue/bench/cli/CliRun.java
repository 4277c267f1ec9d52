package dev.bigqueue.bench.cli;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * One run of the command line in this JVM: {@code stdin} as produce's input, and what it printed
 * (picocli's out and err, and consume's binary stdout). Tests that use it run one at a time in a
 * class (it swaps the commands' static streams for the run).
 */
record CliRun(int exitCode, String out, String err, String stdout) {
    static CliRun run(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        InputStream oldInput = ProduceCommand.input;
        WritableByteChannel oldOutput = ConsumeCommand.output;
        ProduceCommand.input = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        ConsumeCommand.output = Channels.newChannel(stdout);
        try {
            int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
            return new CliRun(code, out.toString(), err.toString(), stdout.toString(StandardCharsets.UTF_8));
        } finally {
            ProduceCommand.input = oldInput;
            ConsumeCommand.output = oldOutput;
        }
    }
}
