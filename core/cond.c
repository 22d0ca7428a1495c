/*
 * cond: evaluate If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since for a
 * GET/HEAD the way S3 does (see cond.h and ../shared/S3-BEHAVIOUR.md "Conditional requests").
 *
 * The order is RFC 7232 section 6: If-Match (else If-Unmodified-Since) can fail with 412
 * first; then If-None-Match (else If-Modified-Since) can answer 304. AWS documents the two
 * mixed cases in its own words (GetObject API reference, "Request Syntax", If-Match and
 * If-None-Match): "If both of the If-Match and If-Unmodified-Since headers are present ... and
 * If-Match condition evaluates to true, and; If-Unmodified-Since condition evaluates to false;
 * then, S3 returns 200 OK", and "If-None-Match condition evaluates to false, and;
 * If-Modified-Since condition evaluates to true; then, S3 returns 304 Not Modified". In AWS's
 * wording "If-None-Match evaluates to false" means the ETag did match, so both cases are exactly
 * the RFC rule "the If-Match/If-None-Match header wins, the date is ignored" (RFC 7232 3.3 and
 * 3.4: a recipient MUST ignore the date header when the ETag one is present).
 */
#include "cond.h"

#include "http_date.h"

#include <stdbool.h>
#include <string.h>

static bool cond_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Does the entity-tag list in s[0..len) name our etag (opaque-tag without quotes, tag/tag_len)?
 * "*" matches any existing object. With strong set, weak tags (W/"x") never match (RFC 7232
 * 2.3.2 strong comparison, used by If-Match); otherwise W/ is ignored (weak comparison, used by
 * If-None-Match). Tags may come unquoted because S3 accepts `If-Match: abc` for `"abc"`.
 */
static bool cond_etag_matches(const char *s, size_t len, const char *tag, size_t tag_len,
                              bool strong)
{
    size_t i = 0;

    while (i < len) {
        while (i < len && (cond_is_ows(s[i]) || s[i] == ','))
            i++;
        if (i == len)
            break;

        bool weak = false;
        if (len - i >= 2 && s[i] == 'W' && s[i + 1] == '/') {
            weak = true;
            i += 2;
        }
        const char *t;
        size_t n;
        bool valid = true;
        if (i < len && s[i] == '"') {
            /* etagc excludes '"' but includes ',', so the closing quote ends the tag. */
            size_t close = i + 1;
            while (close < len && s[close] != '"')
                close++;
            if (close == len)
                valid = false; /* unterminated: matches nothing */
            t = s + i + 1;
            n = close - i - 1;
            i = close + 1;
            /* Anything between the closing quote and the next comma spoils this element. */
            while (i < len && s[i] != ',') {
                if (!cond_is_ows(s[i]))
                    valid = false;
                i++;
            }
        } else {
            size_t start = i;
            while (i < len && s[i] != ',')
                i++;
            size_t end = i;
            while (end > start && cond_is_ows(s[end - 1]))
                end--;
            t = s + start;
            n = end - start;
            if (!weak && n == 1 && t[0] == '*')
                return true;
        }
        if (!valid || (weak && strong))
            continue;
        if (n == tag_len && memcmp(t, tag, n) == 0)
            return true;
    }
    return false;
}

/* The date header's value, or false when it is absent or not an HTTP-date (then ignored). */
static bool cond_date(const char *s, size_t len, time_t *out)
{
    return s != NULL && http_date_parse(s, len, out) == 0;
}

enum cond_result cond_evaluate(const struct cond_headers *h, const char *etag, time_t last_modified)
{
    /* Compare opaque-tags: strip the quotes from our own ETag if it has them. */
    size_t tag_len = strlen(etag);
    const char *tag = etag;
    if (tag_len >= 2 && tag[0] == '"' && tag[tag_len - 1] == '"') {
        tag++;
        tag_len -= 2;
    }
    time_t date;

    if (h->if_match != NULL) {
        if (!cond_etag_matches(h->if_match, h->if_match_len, tag, tag_len, true))
            return COND_PRECONDITION_FAILED;
    } else if (cond_date(h->if_unmodified_since, h->if_unmodified_since_len, &date)) {
        if (last_modified > date)
            return COND_PRECONDITION_FAILED;
    }

    if (h->if_none_match != NULL) {
        if (cond_etag_matches(h->if_none_match, h->if_none_match_len, tag, tag_len, false))
            return COND_NOT_MODIFIED;
    } else if (cond_date(h->if_modified_since, h->if_modified_since_len, &date)) {
        if (last_modified <= date)
            return COND_NOT_MODIFIED;
    }
    return COND_PROCEED;
}
