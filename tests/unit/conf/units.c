/*
 * Unit tests for conf/units.c: every size and duration unit, junk, overflow and decimals, and
 * that the format functions write what the parsers read back.
 */
#include "conf/units.h"

#include <criterion/criterion.h>
#include <errno.h>

static uint64_t size_ok(const char *s)
{
    uint64_t v = 0xdeadbeef;
    int rc = units_parse_size(s, &v);
    cr_assert_eq(rc, 0, "units_parse_size(\"%s\") = %d", s, rc);
    return v;
}

static uint64_t dur_ok(const char *s)
{
    uint64_t v = 0xdeadbeef;
    int rc = units_parse_duration_ms(s, &v);
    cr_assert_eq(rc, 0, "units_parse_duration_ms(\"%s\") = %d", s, rc);
    return v;
}

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)
#define PIB (UINT64_C(1) << 50)

Test(units_size, bare_bytes)
{
    cr_assert_eq(size_ok("0"), 0);
    cr_assert_eq(size_ok("1048576"), MIB);
    cr_assert_eq(size_ok("512B"), 512);
    cr_assert_eq(size_ok("512b"), 512);
    cr_assert_eq(size_ok("18446744073709551615"), UINT64_MAX);
}

Test(units_size, every_unit_is_1024_based)
{
    cr_assert_eq(size_ok("64k"), 64 * KIB);
    cr_assert_eq(size_ok("64kb"), 64 * KIB);
    cr_assert_eq(size_ok("64KB"), 64 * KIB);
    cr_assert_eq(size_ok("64KiB"), 64 * KIB);
    cr_assert_eq(size_ok("1MB"), MIB);
    cr_assert_eq(size_ok("1m"), MIB);
    cr_assert_eq(size_ok("20MiB"), 20 * MIB);
    cr_assert_eq(size_ok("20mib"), 20 * MIB);
    cr_assert_eq(size_ok("1GB"), GIB);
    cr_assert_eq(size_ok("1g"), GIB);
    cr_assert_eq(size_ok("1GiB"), GIB);
    cr_assert_eq(size_ok("2TB"), 2 * TIB);
    cr_assert_eq(size_ok("2t"), 2 * TIB);
    cr_assert_eq(size_ok("2TiB"), 2 * TIB);
    cr_assert_eq(size_ok("3PB"), 3 * PIB);
    cr_assert_eq(size_ok("3p"), 3 * PIB);
    cr_assert_eq(size_ok("3PiB"), 3 * PIB);
}

Test(units_size, decimals_truncate_like_alluxio)
{
    cr_assert_eq(size_ok("1.5MB"), MIB + MIB / 2);
    cr_assert_eq(size_ok("1.5GB"), UINT64_C(1610612736));
    cr_assert_eq(size_ok("0.5k"), 512);
    cr_assert_eq(size_ok("0.1KB"), 102);     /* 102.4 */
    cr_assert_eq(size_ok("1.1MB"), 1153433); /* 1153433.6 */
    cr_assert_eq(size_ok("1.5"), 1);
    cr_assert_eq(size_ok("2.000000000000000000GB"), 2 * GIB); /* 18 fraction digits */
}

Test(units_size, junk)
{
    static const char *const bad[] = {
        "",
        "MB",
        "-1",
        "+1",
        " 1MB",
        "1MB ",
        "1 MB",
        "1.MB",
        ".5MB",
        "1.",
        "1e3",
        "1XB",
        "1kk",
        "1KIBB",
        "1,5MB",
        "0x10",
        "1Mi",
        "1.2.3",
        "1.0000000000000000001",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 7;
        cr_assert_eq(units_parse_size(bad[i], &v), -EINVAL, "\"%s\" accepted", bad[i]);
        cr_assert_eq(v, 7, "output written on failure for \"%s\"", bad[i]);
    }
    uint64_t v;
    cr_assert_eq(units_parse_size(NULL, &v), -EINVAL);
}

Test(units_size, overflow)
{
    uint64_t v = 7;
    cr_assert_eq(units_parse_size("18446744073709551616", &v), -ERANGE);
    cr_assert_eq(units_parse_size("99999999999999999999999", &v), -ERANGE);
    cr_assert_eq(units_parse_size("16384PB", &v), -ERANGE); /* 2^64 */
    cr_assert_eq(units_parse_size("16383.999PiB", &v), 0);  /* just below */
    cr_assert_eq(units_parse_size("17179869184GB", &v), -ERANGE);
    cr_assert_eq(units_parse_size("18446744073709551615.5", &v), 0); /* truncated fraction */
    cr_assert_eq(v, UINT64_MAX);
}

Test(units_duration, every_unit)
{
    cr_assert_eq(dur_ok("0"), 0);
    cr_assert_eq(dur_ok("250"), 250); /* bare number = milliseconds, as Alluxio */
    cr_assert_eq(dur_ok("500ms"), 500);
    cr_assert_eq(dur_ok("500MS"), 500);
    cr_assert_eq(dur_ok("7millisecond"), 7);
    cr_assert_eq(dur_ok("7milliseconds"), 7);
    cr_assert_eq(dur_ok("5s"), 5000);
    cr_assert_eq(dur_ok("5sec"), 5000);
    cr_assert_eq(dur_ok("5second"), 5000);
    cr_assert_eq(dur_ok("5seconds"), 5000);
    cr_assert_eq(dur_ok("2m"), 120000);
    cr_assert_eq(dur_ok("2min"), 120000);
    cr_assert_eq(dur_ok("2minute"), 120000);
    cr_assert_eq(dur_ok("2minutes"), 120000);
    cr_assert_eq(dur_ok("1h"), 3600000);
    cr_assert_eq(dur_ok("1hr"), 3600000);
    cr_assert_eq(dur_ok("1hour"), 3600000);
    cr_assert_eq(dur_ok("1hours"), 3600000);
    cr_assert_eq(dur_ok("1d"), 86400000);
    cr_assert_eq(dur_ok("1day"), 86400000);
    cr_assert_eq(dur_ok("2days"), 2 * 86400000);
}

Test(units_duration, decimals)
{
    cr_assert_eq(dur_ok("1.5s"), 1500);
    cr_assert_eq(dur_ok("0.25h"), 900000);
    cr_assert_eq(dur_ok("1.5"), 1);
    cr_assert_eq(dur_ok("0.0001s"), 0);
}

Test(units_duration, junk_and_overflow)
{
    static const char *const bad[] = {"", "s", "-5s", "5 s", "5x", "5mss", "5sm", "1.s", "5S "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 7;
        cr_assert_eq(units_parse_duration_ms(bad[i], &v), -EINVAL, "\"%s\" accepted", bad[i]);
        cr_assert_eq(v, 7);
    }
    uint64_t v;
    cr_assert_eq(units_parse_duration_ms("18446744073709551616", &v), -ERANGE);
    cr_assert_eq(units_parse_duration_ms("213503982335d", &v), -ERANGE);
    cr_assert_eq(units_parse_duration_ms("18446744073709551615ms", &v), 0);
    cr_assert_eq(v, UINT64_MAX);
}

Test(units_format, sizes_round_trip)
{
    static const uint64_t vals[] = {0,       1,       1023,    KIB,     1536,       MIB,
                                    3 * MIB, GIB + 1, 5 * TIB, PIB * 7, UINT64_MAX, 1536 * KIB};
    static const char *const want[] = {"0",
                                       "1",
                                       "1023",
                                       "1KiB",
                                       "1536",
                                       "1MiB",
                                       "3MiB",
                                       "1073741825",
                                       "5TiB",
                                       "7PiB",
                                       "18446744073709551615",
                                       "1536KiB"};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char out[UNITS_FORMAT_MAX];
        units_format_size(vals[i], out, sizeof(out));
        cr_assert_str_eq(out, want[i]);
        uint64_t back;
        cr_assert_eq(units_parse_size(out, &back), 0);
        cr_assert_eq(back, vals[i]);
    }
}

Test(units_format, durations_round_trip)
{
    static const uint64_t vals[] = {0,       1,        1500,     5000,      120000,
                                    3600000, 86400000, 90000000, UINT64_MAX};
    static const char *const want[] = {
        "0", "1ms", "1500ms", "5s", "2m", "1h", "1d", "25h", "18446744073709551615ms"};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char out[UNITS_FORMAT_MAX];
        units_format_duration_ms(vals[i], out, sizeof(out));
        cr_assert_str_eq(out, want[i]);
        uint64_t back;
        cr_assert_eq(units_parse_duration_ms(out, &back), 0);
        cr_assert_eq(back, vals[i]);
    }
}
