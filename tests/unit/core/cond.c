/*
 * Unit tests for core/cond.c: conditional GET/HEAD with RFC 7232 section 6 precedence, the two
 * mixed cases AWS documents for GetObject/HeadObject, and entity-tag list matching.
 */
#include "core/cond.h"

#include <criterion/criterion.h>

#include <string.h>

#define ETAG "\"9b2cf535f27731c974343645a3985328\""
#define TAG  "9b2cf535f27731c974343645a3985328"
#define LM   784111777 /* Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT */

#define DATE_AT_LM     "Sun, 06 Nov 1994 08:49:37 GMT"
#define DATE_BEFORE_LM "Sun, 06 Nov 1994 08:49:36 GMT"
#define DATE_AFTER_LM  "Sun, 06 Nov 1994 08:49:38 GMT"

static void set(const char **p, size_t *len, const char *v)
{
    *p = v;
    *len = v ? strlen(v) : 0;
}

static enum cond_result eval(const char *im, const char *ius, const char *inm, const char *ims)
{
    struct cond_headers h;
    set(&h.if_match, &h.if_match_len, im);
    set(&h.if_unmodified_since, &h.if_unmodified_since_len, ius);
    set(&h.if_none_match, &h.if_none_match_len, inm);
    set(&h.if_modified_since, &h.if_modified_since_len, ims);
    return cond_evaluate(&h, ETAG, LM);
}

Test(cond, no_headers_proceed)
{
    cr_assert_eq(eval(NULL, NULL, NULL, NULL), COND_PROCEED);
}

Test(cond, if_match)
{
    cr_assert_eq(eval(ETAG, NULL, NULL, NULL), COND_PROCEED);
    cr_assert_eq(eval("\"other\"", NULL, NULL, NULL), COND_PRECONDITION_FAILED);
}

Test(cond, if_unmodified_since)
{
    cr_assert_eq(eval(NULL, DATE_AT_LM, NULL, NULL), COND_PROCEED);
    cr_assert_eq(eval(NULL, DATE_AFTER_LM, NULL, NULL), COND_PROCEED);
    cr_assert_eq(eval(NULL, DATE_BEFORE_LM, NULL, NULL), COND_PRECONDITION_FAILED);
}

Test(cond, if_none_match)
{
    cr_assert_eq(eval(NULL, NULL, ETAG, NULL), COND_NOT_MODIFIED);
    cr_assert_eq(eval(NULL, NULL, "\"other\"", NULL), COND_PROCEED);
}

Test(cond, if_modified_since)
{
    cr_assert_eq(eval(NULL, NULL, NULL, DATE_AT_LM), COND_NOT_MODIFIED);
    cr_assert_eq(eval(NULL, NULL, NULL, DATE_AFTER_LM), COND_NOT_MODIFIED);
    cr_assert_eq(eval(NULL, NULL, NULL, DATE_BEFORE_LM), COND_PROCEED);
}

/* AWS GetObject docs: If-Match true + If-Unmodified-Since false -> 200. */
Test(cond, aws_if_match_true_overrides_unmodified_since_false)
{
    cr_assert_eq(eval(ETAG, DATE_BEFORE_LM, NULL, NULL), COND_PROCEED);
}

/* The other way round, If-Match decides alone too. */
Test(cond, if_match_false_fails_even_if_unmodified)
{
    cr_assert_eq(eval("\"other\"", DATE_AFTER_LM, NULL, NULL), COND_PRECONDITION_FAILED);
}

/* AWS GetObject docs: If-None-Match false (the ETag matched) + If-Modified-Since true -> 304. */
Test(cond, aws_if_none_match_false_overrides_modified_since_true)
{
    cr_assert_eq(eval(NULL, NULL, ETAG, DATE_BEFORE_LM), COND_NOT_MODIFIED);
}

/* RFC 7232 3.3: If-Modified-Since is ignored when If-None-Match is present. */
Test(cond, if_none_match_true_overrides_not_modified_since)
{
    cr_assert_eq(eval(NULL, NULL, "\"other\"", DATE_AFTER_LM), COND_PROCEED);
}

/* 412 is decided before 304 (RFC 7232 section 6 steps 1-2 before 3-4). */
Test(cond, precondition_failed_beats_not_modified)
{
    cr_assert_eq(eval("\"other\"", NULL, ETAG, NULL), COND_PRECONDITION_FAILED);
    cr_assert_eq(eval(NULL, DATE_BEFORE_LM, NULL, DATE_AT_LM), COND_PRECONDITION_FAILED);
    cr_assert_eq(eval("\"other\"", NULL, NULL, DATE_AT_LM), COND_PRECONDITION_FAILED);
    cr_assert_eq(eval(NULL, DATE_BEFORE_LM, ETAG, NULL), COND_PRECONDITION_FAILED);
}

Test(cond, if_match_true_then_if_none_match_decides)
{
    cr_assert_eq(eval(ETAG, NULL, ETAG, NULL), COND_NOT_MODIFIED);
    cr_assert_eq(eval(ETAG, NULL, "\"other\"", NULL), COND_PROCEED);
    cr_assert_eq(eval(ETAG, NULL, NULL, DATE_AT_LM), COND_NOT_MODIFIED);
    cr_assert_eq(eval(NULL, DATE_AT_LM, NULL, DATE_AT_LM), COND_NOT_MODIFIED);
}

Test(cond, unparsable_dates_are_ignored)
{
    cr_assert_eq(eval(NULL, "yesterday", NULL, NULL), COND_PROCEED);
    cr_assert_eq(eval(NULL, NULL, NULL, "yesterday"), COND_PROCEED);
    cr_assert_eq(eval(NULL, "", NULL, ""), COND_PROCEED);
    cr_assert_eq(eval(NULL, "1994-11-06T08:49:37Z", NULL, NULL), COND_PROCEED);
}

Test(cond, other_date_forms_accepted)
{
    cr_assert_eq(eval(NULL, NULL, NULL, "Sunday, 06-Nov-94 08:49:37 GMT"), COND_NOT_MODIFIED);
    cr_assert_eq(eval(NULL, NULL, NULL, "Sun Nov  6 08:49:37 1994"), COND_NOT_MODIFIED);
    cr_assert_eq(eval(NULL, "Sun Nov  6 08:49:36 1994", NULL, NULL), COND_PRECONDITION_FAILED);
}

/* Every combination of the four headers against the RFC 7232 section 6 procedure. */
enum cond_case_etag { CE_ABSENT, CE_MATCH, CE_MISMATCH, CE_ETAG_COUNT };
enum cond_case_date { CD_ABSENT, CD_BEFORE, CD_AT, CD_AFTER, CD_BAD, CD_DATE_COUNT };

static const char *etag_value(int e)
{
    static const char *const v[] = {NULL, ETAG, "\"nope\""};
    return v[e];
}

static const char *date_value(int d)
{
    static const char *const v[] = {NULL, DATE_BEFORE_LM, DATE_AT_LM, DATE_AFTER_LM, "garbage"};
    return v[d];
}

Test(cond, all_precedence_combinations)
{
    for (int im = 0; im < CE_ETAG_COUNT; im++) {
        for (int ius = 0; ius < CD_DATE_COUNT; ius++) {
            for (int inm = 0; inm < CE_ETAG_COUNT; inm++) {
                for (int ims = 0; ims < CD_DATE_COUNT; ims++) {
                    enum cond_result want = COND_PROCEED;
                    /* Step 1/2: 412 when If-Match fails, or (without If-Match) when the object
                     * changed after If-Unmodified-Since. */
                    if (im == CE_MISMATCH || (im == CE_ABSENT && ius == CD_BEFORE))
                        want = COND_PRECONDITION_FAILED;
                    /* Step 3/4: 304 when If-None-Match matches, or (without it) when the object
                     * did not change after If-Modified-Since. */
                    else if (inm == CE_MATCH ||
                             (inm == CE_ABSENT && (ims == CD_AT || ims == CD_AFTER)))
                        want = COND_NOT_MODIFIED;
                    enum cond_result got =
                        eval(etag_value(im), date_value(ius), etag_value(inm), date_value(ims));
                    cr_assert_eq(got, want, "im=%d ius=%d inm=%d ims=%d: got %d want %d", im, ius,
                                 inm, ims, got, want);
                }
            }
        }
    }
}

/* ---- entity-tag lists ---- */

Test(cond_etag, star)
{
    cr_assert_eq(eval("*", NULL, NULL, NULL), COND_PROCEED);
    cr_assert_eq(eval(NULL, NULL, "*", NULL), COND_NOT_MODIFIED);
    cr_assert_eq(eval(NULL, NULL, " * ", NULL), COND_NOT_MODIFIED);
}

Test(cond_etag, lists)
{
    cr_assert_eq(eval("\"a\", " ETAG, NULL, NULL, NULL), COND_PROCEED);
    cr_assert_eq(eval("\"a\"," ETAG ",\"b\"", NULL, NULL, NULL), COND_PROCEED);
    cr_assert_eq(eval("\"a\", \"b\"", NULL, NULL, NULL), COND_PRECONDITION_FAILED);
    cr_assert_eq(eval(NULL, NULL, "\"a\" , " ETAG, NULL), COND_NOT_MODIFIED);
    cr_assert_eq(eval(NULL, NULL, ", ,\"a\",,", NULL), COND_PROCEED);
}

Test(cond_etag, unquoted_as_s3_accepts)
{
    cr_assert_eq(eval(TAG, NULL, NULL, NULL), COND_PROCEED);
    cr_assert_eq(eval(NULL, NULL, TAG, NULL), COND_NOT_MODIFIED);
    cr_assert_eq(eval("a, " TAG, NULL, NULL, NULL), COND_PROCEED);
    cr_assert_eq(eval(NULL, NULL, " " TAG " ", NULL), COND_NOT_MODIFIED);
}

Test(cond_etag, weak_tags)
{
    /* If-Match uses the strong comparison: a weak tag never matches (RFC 7232 2.3.2). */
    cr_assert_eq(eval("W/" ETAG, NULL, NULL, NULL), COND_PRECONDITION_FAILED);
    /* If-None-Match uses the weak comparison. */
    cr_assert_eq(eval(NULL, NULL, "W/" ETAG, NULL), COND_NOT_MODIFIED);
    cr_assert_eq(eval(NULL, NULL, "\"x\", W/" ETAG, NULL), COND_NOT_MODIFIED);
}

Test(cond_etag, quotes_are_not_part_of_the_tag)
{
    cr_assert_eq(eval("\"" TAG "x\"", NULL, NULL, NULL), COND_PRECONDITION_FAILED);
    cr_assert_eq(eval("\"\"", NULL, NULL, NULL), COND_PRECONDITION_FAILED);
    /* A comma inside quotes belongs to the tag. */
    cr_assert_eq(eval("\"a," TAG "\"", NULL, NULL, NULL), COND_PRECONDITION_FAILED);
}

Test(cond_etag, malformed_elements_match_nothing)
{
    cr_assert_eq(eval("\"" TAG, NULL, NULL, NULL), COND_PRECONDITION_FAILED);
    cr_assert_eq(eval(ETAG "x", NULL, NULL, NULL), COND_PRECONDITION_FAILED);
    cr_assert_eq(eval(NULL, NULL, ETAG "junk", NULL), COND_PROCEED);
    cr_assert_eq(eval("", NULL, NULL, NULL), COND_PRECONDITION_FAILED);
    cr_assert_eq(eval(NULL, NULL, "", NULL), COND_PROCEED);
    /* ...but the rest of the list still counts. */
    cr_assert_eq(eval("\"x\"y, " ETAG, NULL, NULL, NULL), COND_PROCEED);
}

Test(cond_etag, object_etag_may_be_unquoted)
{
    struct cond_headers h = {0};
    set(&h.if_match, &h.if_match_len, ETAG);
    cr_assert_eq(cond_evaluate(&h, TAG, LM), COND_PROCEED);
    set(&h.if_match, &h.if_match_len, TAG);
    cr_assert_eq(cond_evaluate(&h, TAG, LM), COND_PROCEED);
}

Test(cond_etag, multipart_etag)
{
    struct cond_headers h = {0};
    set(&h.if_none_match, &h.if_none_match_len, "\"d41d8cd98f00b204e9800998ecf8427e-3\"");
    cr_assert_eq(cond_evaluate(&h, "\"d41d8cd98f00b204e9800998ecf8427e-3\"", LM),
                 COND_NOT_MODIFIED);
    cr_assert_eq(cond_evaluate(&h, "\"d41d8cd98f00b204e9800998ecf8427e-4\"", LM), COND_PROCEED);
}

Test(cond, values_are_not_nul_terminated)
{
    /* Views into a recv buffer: only len bytes count. */
    struct cond_headers h = {0};
    h.if_match = ETAG "garbage";
    h.if_match_len = strlen(ETAG);
    h.if_modified_since = DATE_AT_LM "x";
    h.if_modified_since_len = strlen(DATE_AT_LM);
    cr_assert_eq(cond_evaluate(&h, ETAG, LM), COND_NOT_MODIFIED);
}
