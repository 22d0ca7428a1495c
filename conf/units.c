/*
 * units: size and duration parsing for config values. See units.h for the grammar and why it
 * follows Alluxio's FormatUtils.
 *
 * Numbers are parsed exactly: integer part and up to 18 fraction digits are kept as integers and
 * multiplied in 128 bits, so "1.5GB" is exactly 1610612736 and "0.1KB" is 102 (Alluxio computes
 * the same through a double plus 0.0001 and a truncating cast) without float rounding surprises.
 */
#include "units.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* More fraction digits than this cannot change a result below 2^64 in a way anyone means. */
#define UNITS_MAX_FRACTION_DIGITS 18

struct units_suffix {
    const char *name; /* lower case; matched case-insensitively */
    uint64_t mult;
};

#define UNITS_KIB (UINT64_C(1) << 10)
#define UNITS_MIB (UINT64_C(1) << 20)
#define UNITS_GIB (UINT64_C(1) << 30)
#define UNITS_TIB (UINT64_C(1) << 40)
#define UNITS_PIB (UINT64_C(1) << 50)

#define UNITS_SECOND_MS UINT64_C(1000)
#define UNITS_MINUTE_MS (60 * UNITS_SECOND_MS)
#define UNITS_HOUR_MS   (60 * UNITS_MINUTE_MS)
#define UNITS_DAY_MS    (24 * UNITS_HOUR_MS)

/* Alluxio's parseSpaceSize knows b, k/kb .. p/pb; the IEC spellings (DESIGN.md: "20MiB") are
 * ours, with the same 1024-based meaning. */
static const struct units_suffix units_sizes[] = {
    {"", 1},           {"b", 1},           {"k", UNITS_KIB},
    {"kb", UNITS_KIB}, {"kib", UNITS_KIB}, {"m", UNITS_MIB},
    {"mb", UNITS_MIB}, {"mib", UNITS_MIB}, {"g", UNITS_GIB},
    {"gb", UNITS_GIB}, {"gib", UNITS_GIB}, {"t", UNITS_TIB},
    {"tb", UNITS_TIB}, {"tib", UNITS_TIB}, {"p", UNITS_PIB},
    {"pb", UNITS_PIB}, {"pib", UNITS_PIB},
};

/* Alluxio's parseTimeSize spellings, plus plurals. */
static const struct units_suffix units_durations[] = {
    {"", 1},
    {"ms", 1},
    {"millisecond", 1},
    {"milliseconds", 1},
    {"s", UNITS_SECOND_MS},
    {"sec", UNITS_SECOND_MS},
    {"second", UNITS_SECOND_MS},
    {"seconds", UNITS_SECOND_MS},
    {"m", UNITS_MINUTE_MS},
    {"min", UNITS_MINUTE_MS},
    {"minute", UNITS_MINUTE_MS},
    {"minutes", UNITS_MINUTE_MS},
    {"h", UNITS_HOUR_MS},
    {"hr", UNITS_HOUR_MS},
    {"hour", UNITS_HOUR_MS},
    {"hours", UNITS_HOUR_MS},
    {"d", UNITS_DAY_MS},
    {"day", UNITS_DAY_MS},
    {"days", UNITS_DAY_MS},
};

/* ASCII-only, so the result does not depend on the locale. */
static bool units_ascii_eq_nocase(const char *a, const char *lower)
{
    for (; *a && *lower; a++, lower++) {
        char ch = *a;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != *lower)
            return false;
    }
    return *a == '\0' && *lower == '\0';
}

static bool units_is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int units_parse(const char *s, const struct units_suffix *table, size_t table_len,
                       uint64_t *out)
{
    if (!s)
        return -EINVAL;

    const char *p = s;
    uint64_t whole = 0;
    bool overflow = false;
    if (!units_is_digit(*p))
        return -EINVAL; /* empty, sign, space, ".5" */
    for (; units_is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (whole > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            whole = whole * 10 + d;
    }

    uint64_t frac = 0;  /* fraction digits as an integer */
    uint64_t scale = 1; /* 10^(number of fraction digits) */
    if (*p == '.') {
        p++;
        if (!units_is_digit(*p))
            return -EINVAL; /* "1." or "1.MB" */
        unsigned ndigits = 0;
        for (; units_is_digit(*p); p++) {
            if (++ndigits > UNITS_MAX_FRACTION_DIGITS)
                return -EINVAL;
            frac = frac * 10 + (uint64_t)(*p - '0');
            scale *= 10;
        }
    }

    const struct units_suffix *unit = NULL;
    for (size_t i = 0; i < table_len; i++) {
        if (units_ascii_eq_nocase(p, table[i].name)) {
            unit = &table[i];
            break;
        }
    }
    if (!unit)
        return -EINVAL;
    if (overflow)
        return -ERANGE;

    if (unit->mult != 0 && whole > UINT64_MAX / unit->mult)
        return -ERANGE;
    uint64_t v = whole * unit->mult;
    /* frac < 10^18 and mult <= 2^50: the product fits easily in 128 bits. */
    uint64_t part = (uint64_t)(((unsigned __int128)frac * unit->mult) / scale);
    if (v > UINT64_MAX - part)
        return -ERANGE;
    *out = v + part;
    return 0;
}

int units_parse_size(const char *s, uint64_t *out)
{
    return units_parse(s, units_sizes, sizeof(units_sizes) / sizeof(units_sizes[0]), out);
}

int units_parse_duration_ms(const char *s, uint64_t *out)
{
    return units_parse(s, units_durations, sizeof(units_durations) / sizeof(units_durations[0]),
                       out);
}

void units_format_size(uint64_t v, char *out, size_t out_size)
{
    static const struct units_suffix steps[] = {
        {"PiB", UNITS_PIB}, {"TiB", UNITS_TIB}, {"GiB", UNITS_GIB},
        {"MiB", UNITS_MIB}, {"KiB", UNITS_KIB},
    };
    for (size_t i = 0; v != 0 && i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (v % steps[i].mult == 0) {
            snprintf(out, out_size, "%llu%s", (unsigned long long)(v / steps[i].mult),
                     steps[i].name);
            return;
        }
    }
    snprintf(out, out_size, "%llu", (unsigned long long)v);
}

void units_format_duration_ms(uint64_t ms, char *out, size_t out_size)
{
    static const struct units_suffix steps[] = {
        {"d", UNITS_DAY_MS},
        {"h", UNITS_HOUR_MS},
        {"m", UNITS_MINUTE_MS},
        {"s", UNITS_SECOND_MS},
    };
    for (size_t i = 0; ms != 0 && i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (ms % steps[i].mult == 0) {
            snprintf(out, out_size, "%llu%s", (unsigned long long)(ms / steps[i].mult),
                     steps[i].name);
            return;
        }
    }
    if (ms == 0)
        snprintf(out, out_size, "0");
    else
        snprintf(out, out_size, "%llums", (unsigned long long)ms);
}
