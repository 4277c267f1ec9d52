package dev.bigqueue.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What {@code bigqueue bench} prints about itself, without running a benchmark. */
class BenchCommandTest {

    @Test
    void reportNamesTheCommandOnce() {
        CommandLine commandLine = Main.commandLine(new PrintWriter(new StringWriter()),
                new PrintWriter(new StringWriter()));
        CommandLine.ParseResult parsed = commandLine.parseArgs("bench", "--quick", "--rounds", "3");
        List<String> args = parsed.subcommand().originalArgs();
        assertEquals("bigqueue bench --quick --rounds 3", BenchCommand.commandLine(args));
    }
}
