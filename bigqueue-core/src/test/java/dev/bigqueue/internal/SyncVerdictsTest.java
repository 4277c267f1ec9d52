package dev.bigqueue.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** When a sync's success may count: only once no sync that overlapped it runs, and never after a failure. */
class SyncVerdictsTest {
    @Test
    void aLoneSuccess_counts() throws IOException {
        SyncVerdicts v = new SyncVerdicts();
        v.begin();
        assertEquals(10, v.succeeded(10));
    }

    @Test
    void overlappingSuccesses_countWhenTheLastEnds_theHighestTarget() throws IOException {
        SyncVerdicts v = new SyncVerdicts();
        v.begin();
        v.begin();
        assertEquals(SyncVerdicts.NONE, v.succeeded(30), "another sync still runs: it may have been told of an error");
        assertEquals(30, v.succeeded(20));
    }

    @Test
    void aSuccessBesideAFailure_neverCounts_andTheFailureIsFinal() throws IOException {
        SyncVerdicts v = new SyncVerdicts();
        v.begin();
        v.begin();
        assertEquals(SyncVerdicts.NONE, v.succeeded(30));
        IOException e = new IOException("refused");
        assertSame(e, v.failed(e));
        IOException later = assertThrows(IOException.class, v::begin);
        assertEquals("refused", later.getMessage());
        assertSame(e, v.failure());
    }

    @Test
    void aFailureWhileAnotherRuns_isSeenByItsEnd() throws IOException {
        SyncVerdicts v = new SyncVerdicts();
        v.begin();
        v.begin();
        v.failed(new IOException("refused"));
        assertEquals(SyncVerdicts.NONE, v.succeeded(30));
        assertEquals(SyncVerdicts.NONE, v.abandoned());
    }

    @Test
    void anAbandonedSync_provesNothing_butMayBeLastOut() throws IOException {
        SyncVerdicts v = new SyncVerdicts();
        v.begin();
        v.begin();
        assertEquals(SyncVerdicts.NONE, v.succeeded(30));
        assertEquals(30, v.abandoned());
        v.begin();
        assertEquals(SyncVerdicts.NONE, v.abandoned());
        assertNull(v.failure());
    }

    /**
     * Random interleavings of begin/end across 8 simulated syncs, against the rule itself: a
     * published target belongs to syncs that all succeeded with no failure anywhere in their overlap.
     */
    @Test
    void randomInterleavings_publishOnlyWhatNoFailureOverlapped() {
        for (int seed = 0; seed < 2000; seed++) {
            Random r = new Random(seed);
            SyncVerdicts v = new SyncVerdicts();
            List<long[]> running = new ArrayList<>(); // {target, tainted}
            long published = 0;
            long trueMax = 0;
            boolean failed = false;
            for (int step = 0; step < 40; step++) {
                if (running.isEmpty() || (running.size() < 8 && r.nextBoolean())) {
                    try {
                        v.begin();
                        running.add(new long[] {1 + r.nextInt(1000), failed ? 1 : 0});
                    } catch (IOException e) {
                        assertTrue(failed, "begin throws only after a failure");
                    }
                    continue;
                }
                long[] s = running.remove(r.nextInt(running.size()));
                if (r.nextInt(10) == 0) {
                    v.failed(new IOException("refused"));
                    failed = true;
                    for (long[] o : running) {
                        o[1] = 1; // everything that overlapped a failure is tainted
                    }
                } else {
                    long p = v.succeeded(s[0]);
                    if (s[1] == 0 && !failed) {
                        trueMax = Math.max(trueMax, s[0]);
                    }
                    if (p != SyncVerdicts.NONE) {
                        assertTrue(running.isEmpty() && !failed, "published only by the last one out, no failure");
                        assertTrue(p <= trueMax, "seed " + seed + ": published " + p + " beyond what was proven");
                        published = Math.max(published, p);
                    }
                }
            }
            assertTrue(published <= trueMax);
        }
    }
}
