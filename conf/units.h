/*
 * units: sizes ("64kb", "20MiB", "1.5GB") and durations ("500ms", "5s", "2m") as config values.
 *
 * Why a module of its own: the YAML file, the environment and --set all spell sizes and times
 * the way Alluxio does, and alluxiofs users paste values straight from alluxio-site.properties.
 * The grammar follows Alluxio's FormatUtils.parseSpaceSize / parseTimeSize
 * (core/common/src/main/java/alluxio/util/FormatUtils.java): a decimal number (fraction allowed,
 * "1.5GB") and a case-insensitive unit, every size unit 1024-based (KB == KiB), fractional
 * results truncated toward zero as Alluxio's (long) cast does. Unlike Alluxio we reject signs,
 * exponents and spaces, and report overflow instead of wrapping.
 *
 * Pure functions, no allocation, safe from any thread.
 */
#ifndef CONF_UNITS_H
#define CONF_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define UNITS_WARN_UNUSED __attribute__((warn_unused_result))

/* Longest text the format functions write, NUL included ("18446744073709551615ms"). */
#define UNITS_FORMAT_MAX 24

/*
 * Parse a size in bytes. Units: none or B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB, P/PB/PiB,
 * any case, all powers of 1024. Returns 0, -EINVAL for junk (empty, sign, space, unknown unit,
 * more than 18 fraction digits), or -ERANGE when the value does not fit in 64 bits. *out is
 * written only on success.
 */
int units_parse_size(const char *s, uint64_t *out) UNITS_WARN_UNUSED;

/*
 * Parse a duration in milliseconds. Units: none or ms (a bare number is milliseconds, as in
 * Alluxio), s/sec/second(s), m/min/minute(s), h/hr/hour(s), d/day(s), any case. "0" is zero.
 * Same return values as units_parse_size.
 */
int units_parse_duration_ms(const char *s, uint64_t *out) UNITS_WARN_UNUSED;

/*
 * Write v in the largest unit that divides it exactly ("1MiB", "1536KiB", "100"), a form
 * units_parse_size reads back to the same value. out must hold UNITS_FORMAT_MAX bytes.
 */
void units_format_size(uint64_t v, char *out, size_t out_size);

/* Same for milliseconds: "5s", "2m", "1h", "1d", "1500ms", "0". */
void units_format_duration_ms(uint64_t ms, char *out, size_t out_size);

#endif
