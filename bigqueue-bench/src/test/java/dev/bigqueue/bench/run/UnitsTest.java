package dev.bigqueue.bench.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** One way to write each kind of number. */
class UnitsTest {

    @Test
    void sizesUseBinaryUnitsWithTheirIecNames() {
        assertEquals("128 B", Units.bytes(128));
        assertEquals("4 KiB", Units.bytes(4096));
        assertEquals("128 MiB", Units.bytes(128L << 20));
        assertEquals("1 GiB", Units.bytes(1L << 30));
        assertEquals("4,097 B", Units.bytes(4097));
        assertEquals("1.5 GiB", Units.bytesApprox(3L << 29));
        assertEquals("17 B", Units.bytesApprox(17));
    }

    @Test
    void typedSizesAcceptEitherName() {
        assertEquals(4096, Units.parseBytes("4KB"));
        assertEquals(4096, Units.parseBytes("4 KiB"));
        assertEquals(128L << 20, Units.parseBytes("128m"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseBytes("12Q"));
    }

    @Test
    void measuredValuesKeepThreeSignificantFigures() {
        assertEquals("7,340,054", Units.decimal(7_340_053.7));
        assertEquals("123", Units.decimal(123.456));
        assertEquals("12.3", Units.decimal(12.345));
        assertEquals("1.23", Units.decimal(1.2345));
        assertEquals("0.123", Units.decimal(0.12345));
        assertEquals("0.00123", Units.decimal(0.0012345));
        assertEquals("0", Units.decimal(0));
        assertEquals("-", Units.decimal(Double.NaN));
    }

    @Test
    void countsAndTimes() {
        assertEquals("1,000,000", Units.count(1_000_000));
        assertEquals("12.5 s", Units.seconds(12_500_000_000L));
    }
}
