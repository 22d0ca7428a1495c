/*
 * range: resolve a client's Range header against an object size the way S3 does, and parse
 * upstream Content-Range headers strictly (see range.h and ../shared/S3-BEHAVIOUR.md "Range").
 *
 * Numbers saturate instead of failing: "bytes=99999999999999999999999-" names a start past any
 * object, so it is unsatisfiable (416), and an oversized end or suffix just means "to the end"
 * (RFC 7233 2.1: a last-byte-pos past the representation is clamped; a suffix longer than it
 * selects all of it). nginx ngx_http_range_filter_module.c also answers 416 to an overflowing
 * start. Content-Range, which we only read from upstream, gets no such slack: overflow fails.
 */
#include "range.h"

#include <stdbool.h>

static bool range_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool range_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/*
 * Read 1+ digits at s[*i..len), saturating at UINT64_MAX. Returns false when there is no digit.
 * *overflow is set when saturation happened.
 */
static bool range_digits(const char *s, size_t len, size_t *i, uint64_t *out, bool *overflow)
{
    uint64_t v = 0;
    size_t start = *i;
    *overflow = false;
    while (*i < len && range_is_digit(s[*i])) {
        unsigned d = (unsigned)(s[*i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            v = UINT64_MAX;
            *overflow = true;
        } else if (!*overflow) {
            v = v * 10 + d;
        }
        (*i)++;
    }
    *out = v;
    return *i > start;
}

/* One parsed byte-range-spec or suffix-byte-range-spec (RFC 7233 2.1). */
struct range_spec {
    bool suffix;    /* "-n" */
    bool has_last;  /* "a-b" rather than "a-" */
    uint64_t first; /* or the suffix length */
    uint64_t last;
};

/* Parse exactly s[0..len) as one spec; false when it is not one. */
static bool range_parse_spec(const char *s, size_t len, struct range_spec *spec)
{
    size_t i = 0;
    bool overflow;

    spec->suffix = false;
    spec->has_last = false;
    spec->first = 0;
    spec->last = 0;
    if (len > 0 && s[0] == '-') {
        i = 1;
        spec->suffix = true;
        if (!range_digits(s, len, &i, &spec->first, &overflow))
            return false;
        return i == len;
    }
    if (!range_digits(s, len, &i, &spec->first, &overflow))
        return false;
    if (i >= len || s[i] != '-')
        return false;
    i++;
    if (i == len)
        return true;
    spec->has_last = true;
    if (!range_digits(s, len, &i, &spec->last, &overflow))
        return false;
    if (i != len)
        return false;
    /* RFC 7233 2.1: last < first makes the spec invalid, and an invalid header is ignored. */
    return spec->last >= spec->first;
}

static bool range_unit_is_bytes(const char *s, size_t len)
{
    static const char unit[] = "bytes";
    if (len != sizeof(unit) - 1)
        return false;
    /* Range units are case-insensitive (RFC 7233 2). */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != unit[i])
            return false;
    }
    return true;
}

enum range_result range_resolve(const char *header, size_t len, uint64_t size,
                                struct byte_range *out)
{
    struct range_spec spec;
    size_t specs = 0;
    size_t i = 0;

    if (header == NULL || len == 0)
        return RANGE_NONE;
    while (i < len && range_is_ows(header[i]))
        i++;
    while (len > i && range_is_ows(header[len - 1]))
        len--;

    size_t eq = i;
    while (eq < len && header[eq] != '=')
        eq++;
    if (eq == len || !range_unit_is_bytes(header + i, eq - i))
        return RANGE_NONE;

    /* byte-range-set is a #list: OWS around commas, and empty elements are ignored (RFC 7230
     * 7). Whitespace inside one spec ("0 - 9") is not allowed, so it makes the header invalid. */
    i = eq + 1;
    while (i <= len) {
        size_t end = i;
        while (end < len && header[end] != ',')
            end++;
        size_t a = i, b = end;
        while (a < b && range_is_ows(header[a]))
            a++;
        while (b > a && range_is_ows(header[b - 1]))
            b--;
        if (b > a) {
            /* S3 answers a multi-range request with the whole object: stop at the second. */
            if (++specs > 1)
                return RANGE_NONE;
            if (!range_parse_spec(header + a, b - a, &spec))
                return RANGE_NONE;
        }
        i = end + 1;
    }
    if (specs == 0)
        return RANGE_NONE;

    /* S3-BEHAVIOUR.md: any range on a 0-byte object is 416, and so is "bytes=-0". */
    if (size == 0)
        return RANGE_UNSATISFIABLE;
    if (spec.suffix) {
        if (spec.first == 0)
            return RANGE_UNSATISFIABLE;
        out->first = spec.first >= size ? 0 : size - spec.first;
        out->last = size - 1;
        return RANGE_PARTIAL;
    }
    if (spec.first >= size)
        return RANGE_UNSATISFIABLE;
    out->first = spec.first;
    out->last = (!spec.has_last || spec.last >= size) ? size - 1 : spec.last;
    return RANGE_PARTIAL;
}

/* Strict digits for Content-Range: at least one, no overflow. */
static int range_cr_number(const char *s, size_t len, size_t *i, uint64_t *out)
{
    bool overflow;
    if (!range_digits(s, len, i, out, &overflow) || overflow)
        return -1;
    return 0;
}

int range_parse_content_range(const char *value, size_t len, uint64_t *first, uint64_t *last,
                              uint64_t *total)
{
    uint64_t a, b, t;
    size_t i = 0;

    if (value == NULL)
        return -1;
    while (i < len && range_is_ows(value[i]))
        i++;
    while (len > i && range_is_ows(value[len - 1]))
        len--;

    /* byte-content-range = bytes-unit SP byte-range-resp (RFC 7233 4.2): one SP exactly. */
    if (len - i < 6 || !range_unit_is_bytes(value + i, 5) || value[i + 5] != ' ')
        return -1;
    i += 6;
    if (range_cr_number(value, len, &i, &a) != 0)
        return -1;
    if (i >= len || value[i] != '-')
        return -1;
    i++;
    if (range_cr_number(value, len, &i, &b) != 0)
        return -1;
    if (i >= len || value[i] != '/')
        return -1;
    i++;
    if (i + 1 == len && value[i] == '*') {
        t = UINT64_MAX;
    } else {
        if (range_cr_number(value, len, &i, &t) != 0 || i != len)
            return -1;
        if (b >= t)
            return -1;
    }
    if (b < a)
        return -1;
    *first = a;
    *last = b;
    *total = t;
    return 0;
}
