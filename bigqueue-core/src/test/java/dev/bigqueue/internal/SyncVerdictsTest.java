package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * When a sync's success may count: once every sync begun before it ended has ended, none failed;
 * never after a failure.
 */
class SyncVerdictsTest {
    private final List<Long> published = new ArrayList<>();
    private final SyncVerdicts v = new SyncVerdicts(0, published::add);

    @Test
    void aLoneSuccess_counts() throws IOException {
        long t = v.begin();
        v.succeeded(t, 10);
        assertEquals(List.of(10L), published);
        v.awaitProven(10);
    }

    @Test
    void overlappingSuccesses_countWhenBothEnded_theHighestTarget() throws IOException {
        long a = v.begin();
        long b = v.begin();
        v.succeeded(b, 30);
        assertEquals(List.of(), published, "the other sync still runs: it may have been told of an error");
        v.succeeded(a, 20);
        assertEquals(List.of(30L), published);
    }

    @Test
    void syncsBegunAfterASuccessEnded_doNotHoldItUp() throws IOException {
        long a = v.begin();
        long b = v.begin();
        v.succeeded(a, 10);
        long c = v.begin();
        v.succeeded(b, 20);
        assertEquals(List.of(10L), published, "a's overlap (b) has ended; b waits for c, begun before b ended");
        v.succeeded(c, 15);
        assertEquals(List.of(10L, 20L), published);
    }

    @Test
    void aSuccessBesideAFailure_neverCounts_andTheFailureIsFinal() throws IOException {
        long a = v.begin();
        long b = v.begin();
        v.succeeded(b, 30);
        IOException e = new IOException("refused");
        assertSame(e, v.failed(a, e));
        assertEquals(List.of(), published);
        IOException later = assertThrows(IOException.class, v::begin);
        assertEquals("refused", later.getMessage());
        assertThrows(IOException.class, () -> v.awaitProven(30));
        assertSame(e, v.failure());
    }

    @Test
    void aFailureWhileAnotherRuns_isSeenByItsEnd() throws IOException {
        long a = v.begin();
        long b = v.begin();
        v.failed(a, new IOException("refused"));
        v.succeeded(b, 30);
        assertEquals(List.of(), published);
    }

    @Test
    void anAbandonedSync_provesNothing_butReleasesTheOthers() throws IOException {
        long a = v.begin();
        long b = v.begin();
        v.succeeded(b, 30);
        v.abandoned(a);
        assertEquals(List.of(30L), published);
        v.abandoned(v.begin());
        assertEquals(List.of(30L), published);
        assertNull(v.failure());
    }

    /**
     * Random interleavings of up to 8 syncs against the rule itself: a published target is one a
     * sync succeeded with, every sync begun before that one ended has ended, and no failure came
     * before; once all have ended well, the highest target is published.
     */
    @Test
    void randomInterleavings_publishOnlyWhatNothingOverlappingCouldHaveFailed() throws IOException {
        for (int n = 0; n < 3000; n++) {
            final int seed = n;
            Random r = new Random(seed);
            List<long[]> all = new ArrayList<>(); // {ticket, target, endedAtTicketCount (or -1), ok}
            List<Long> seen = new ArrayList<>();
            boolean[] failed = {false};
            SyncVerdicts s = new SyncVerdicts(0, p -> {
                assertFalse(failed[0], "seed " + seed + ": published after a failure");
                long[] source = null;
                for (long[] x : all) {
                    if (x[1] == p && x[3] == 1) {
                        source = x;
                    }
                }
                assertTrue(source != null, "seed " + seed + ": published " + p + ", no sync succeeded with it");
                for (long[] x : all) {
                    if (x[0] < source[2]) {
                        assertTrue(x[2] >= 0 || x == source, "seed " + seed + ": published " + p
                                + " while sync " + x[0] + ", begun before it ended, still ran");
                    }
                }
                seen.add(p);
            });
            List<long[]> running = new ArrayList<>();
            long tickets = 0;
            for (int step = 0; step < 40; step++) {
                if (running.isEmpty() || (running.size() < 8 && r.nextBoolean())) {
                    if (failed[0]) {
                        assertThrows(IOException.class, s::begin);
                        continue;
                    }
                    long[] x = {s.begin(), 1 + r.nextInt(1000) * 100 + tickets, -1, 0}; // targets unique
                    tickets++;
                    running.add(x);
                    all.add(x);
                    continue;
                }
                long[] x = running.remove(r.nextInt(running.size()));
                if (r.nextInt(12) == 0) {
                    failed[0] = true;
                    x[2] = tickets;
                    s.failed(x[0], new IOException("refused"));
                } else {
                    x[2] = tickets;
                    x[3] = 1;
                    s.succeeded(x[0], x[1]);
                }
            }
            for (long[] x : running) {
                x[2] = tickets;
                x[3] = 1;
                s.succeeded(x[0], x[1]);
            }
            if (!failed[0]) {
                long max = all.stream().mapToLong(x -> x[1]).max().orElse(0);
                if (max > 0) {
                    s.awaitProven(max);
                    assertEquals(max, seen.get(seen.size() - 1), "seed " + seed + ": all ended well");
                }
            }
        }
    }
}
