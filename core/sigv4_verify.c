/*
 * sigv4_verify: verifying the SigV4 signatures clients send (see sigv4_verify.h for the contract).
 *
 * The canonical request is sigv4.c's, built from exactly the headers the client listed in
 * SignedHeaders (vectors README, "Pitfalls"); this file adds what only a verifier needs: the
 * Authorization and X-Amz-* parsers, the scope and clock rules, and which of S3's error answers
 * each failure gets (the table and the error bookkeeping are sigv4_error.c; the body checkers
 * sigv4_body.c). Wording of the messages follows what S3 answers, as quoted by the evidence in
 * tests/vectors/sigv4/s3-negative.jsonl; where a message is not from S3 the comment says so.
 * Signatures and tokens are compared with CRYPTO_memcmp; key material is wiped with
 * OPENSSL_cleanse; nothing here logs.
 */
#include "sigv4_verify.h"

#include "uri.h"
#include "xml.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERIFY_ALGORITHM       "AWS4-HMAC-SHA256"
#define VERIFY_CHUNK_ALGORITHM "AWS4-HMAC-SHA256-PAYLOAD"
#define VERIFY_TERMINAL        "aws4_request"
#define VERIFY_EXPIRES_DIGITS  10 /* more digits than this cannot be <= 7 days anyway */

/* ---- error helpers ----------------------------------------------------------------------- */

static enum sigv4_verify_error verify_fail(struct sigv4_error *err, enum sigv4_verify_error kind,
                                           const char *message)
{
    return sigv4_error__set(err, kind, message);
}

static void verify_extra(struct sigv4_error *err, const char *name, const char *value, size_t len)
{
    sigv4_error__extra(err, name, value, len);
}

static void verify_extra_str(struct sigv4_error *err, const char *name, const char *value)
{
    verify_extra(err, name, value, strlen(value));
}

/* ---- small parsers ------------------------------------------------------------------------- */

static char verify_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool verify_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool verify_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool verify_is_hex64(const char *s, size_t len)
{
    if (len != 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!verify_is_hex(s[i]))
            return false;
    return true;
}

/* RFC 7230 tchar: what a header name may be made of. */
static bool verify_is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool verify_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (verify_lower(a[i]) != verify_lower(b[i]))
            return false;
    return true;
}

static void verify_trim(const char **s, size_t *len)
{
    while (*len && verify_is_ows(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && verify_is_ows((*s)[*len - 1]))
        (*len)--;
}

/* First header called lname (lower case) and how many there are. */
static const struct sigv4_header *verify_header(const struct sigv4_verify_request *req,
                                                const char *lname, size_t *count)
{
    const struct sigv4_header *first = NULL;
    size_t n = 0, llen = strlen(lname);
    for (size_t i = 0; i < req->header_count; i++) {
        const struct sigv4_header *h = &req->headers[i];
        if (verify_ieq(h->name, h->name_len, lname, llen)) {
            if (!first)
                first = h;
            n++;
        }
    }
    if (count)
        *count = n;
    return first;
}

/* A header's value without surrounding whitespace; NULL/0 when the header is absent. */
static const char *verify_header_value(const struct sigv4_verify_request *req, const char *lname,
                                       size_t *len, size_t *count)
{
    const struct sigv4_header *h = verify_header(req, lname, count);
    *len = 0;
    if (!h)
        return NULL;
    const char *v = h->value ? h->value : "";
    *len = h->value ? h->value_len : 0;
    verify_trim(&v, len);
    return v;
}

/*
 * Occurrences of the query parameter whose decoded name is exactly name, decoded as the
 * canonicalizer decodes ('+' is a space); the first one's decoded value goes to out (may be NULL).
 * A parameter whose name does not decode is not counted: the canonical request reports it.
 * Returns the count, or -E2BIG when the value passes out's cap, -ENOMEM.
 */
static int verify_query_param(const struct sigv4_verify_request *req, const char *name,
                              struct buf *tmp, struct buf *out)
{
    const char *q = req->query;
    size_t qlen = q ? req->query_len : 0, nlen = strlen(name);
    int count = 0;
    for (size_t start = 0; start < qlen;) {
        const char *seg = q + start;
        const char *amp = memchr(seg, '&', qlen - start);
        size_t seg_len = amp ? (size_t)(amp - seg) : qlen - start;
        start += seg_len + 1;
        const char *eq = memchr(seg, '=', seg_len);
        size_t name_len = eq ? (size_t)(eq - seg) : seg_len;
        if (name_len == 0 || name_len > 3 * nlen)
            continue;
        buf_reset(tmp);
        if (uri_decode(tmp, seg, name_len, true) != 0 || tmp->len != nlen ||
            memcmp(tmp->data, name, nlen) != 0)
            continue;
        if (count++ == 0 && out) {
            buf_reset(out);
            int rc = eq ? uri_decode(out, eq + 1, seg_len - name_len - 1, true) : 0;
            if (rc == -EINVAL)
                return -EINVAL;
            if (rc)
                return rc;
        }
    }
    return count;
}

/* "20130524T000000Z" -> time; false unless it is exactly that form and a real date and time. */
static bool verify_parse_amz_date(const char *s, size_t len, time_t *out)
{
    if (len != 16 || s[8] != 'T' || s[15] != 'Z')
        return false;
    int v[6] = {0};
    static const int at[6] = {0, 4, 6, 9, 11, 13}, width[6] = {4, 2, 2, 2, 2, 2};
    for (int f = 0; f < 6; f++)
        for (int i = 0; i < width[f]; i++) {
            char c = s[at[f] + i];
            if (c < '0' || c > '9')
                return false;
            v[f] = v[f] * 10 + (c - '0');
        }
    struct tm tm = {0};
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];
    if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59)
        return false;
    time_t t = timegm(&tm);
    char back[17];
    sigv4_amz_date(t, back);
    if (memcmp(back, s, 16) != 0) /* Feb 30 and friends normalize to another day */
        return false;
    *out = t;
    return true;
}

/* "2024-03-15T12:49:57Z", as S3 writes ServerTime and Expires. */
static void verify_iso_time(time_t t, char out[21])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
        memcpy(out, "1970-01-01T00:00:00Z", 21);
}

/* ---- the parsed request ---------------------------------------------------------------------- */

struct verify_name {
    const char *p; /* into ctx.signed_headers, lower case */
    size_t len;
};

struct verify_ctx {
    const struct sigv4_verify_config *cfg;
    const struct sigv4_verify_request *req;
    struct sigv4_error *err;
    bool presigned;
    char access_key[SIGV4_VERIFY_MAX_ACCESS_KEY_BYTES + 1];
    char date8[9];
    char region[SIGV4_VERIFY_MAX_SCOPE_PART_BYTES + 1];
    char service[SIGV4_VERIFY_MAX_SCOPE_PART_BYTES + 1];
    char terminal[SIGV4_VERIFY_MAX_SCOPE_PART_BYTES + 1];
    char amz_date[17];
    time_t t;
    char expires[VERIFY_EXPIRES_DIGITS + 1];
    long long expires_s;
    struct buf signed_headers; /* the SignedHeaders list, lower-cased */
    struct verify_name names[SIGV4_MAX_HEADERS];
    size_t name_count;
    char signature[SIGV4_VERIFY_MAX_SIGNATURE_BYTES + 1];
    size_t signature_len;
    struct buf token; /* session token the request carries */
    bool has_token;
    struct buf tmp;
};

static bool verify_is_signed(const struct verify_ctx *x, const char *name, size_t len)
{
    for (size_t i = 0; i < x->name_count; i++)
        if (verify_ieq(x->names[i].p, x->names[i].len, name, len))
            return true;
    return false;
}

/* Messages of a bad Credential: the Authorization header and X-Amz-Credential word them alike
 * but start differently and use different codes (S3: AuthorizationHeaderMalformed for the header,
 * AuthorizationQueryParametersError for the query). */
static enum sigv4_verify_error verify_cred_kind(const struct verify_ctx *x)
{
    return x->presigned ? SIGV4_VERIFY_AUTH_QUERY_ERROR : SIGV4_VERIFY_AUTH_HEADER_MALFORMED;
}

static const char *verify_cred_prefix(const struct verify_ctx *x)
{
    return x->presigned ? "Error parsing the X-Amz-Credential parameter; "
                        : "The authorization header is malformed; ";
}

static enum sigv4_verify_error verify_bad_credential(struct verify_ctx *x)
{
    return sigv4_error__setf(x->err, verify_cred_kind(x),
                             "%sthe Credential is mal-formed; expecting "
                             "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
                             verify_cred_prefix(x));
}

/* "AKID/YYYYMMDD/region/service/aws4_request": five non-empty parts, each within its limit. */
static enum sigv4_verify_error verify_parse_credential(struct verify_ctx *x, const char *s,
                                                       size_t len)
{
    struct {
        char *dst;
        size_t max;
    } parts[5] = {
        {x->access_key, SIGV4_VERIFY_MAX_ACCESS_KEY_BYTES},
        {x->date8, 8},
        {x->region, SIGV4_VERIFY_MAX_SCOPE_PART_BYTES},
        {x->service, SIGV4_VERIFY_MAX_SCOPE_PART_BYTES},
        {x->terminal, SIGV4_VERIFY_MAX_SCOPE_PART_BYTES},
    };
    size_t at = 0;
    for (int i = 0; i < 5; i++) {
        const char *slash = memchr(s + at, '/', len - at);
        size_t plen = (i < 4) ? (slash ? (size_t)(slash - (s + at)) : SIZE_MAX) : len - at;
        if (plen == SIZE_MAX || plen == 0 || plen > parts[i].max || (i == 4 && slash))
            return verify_bad_credential(x);
        if (memchr(s + at, '\0', plen))
            return verify_bad_credential(x);
        memcpy(parts[i].dst, s + at, plen);
        parts[i].dst[plen] = '\0';
        at += plen + (i < 4 ? 1 : 0);
    }
    if (strlen(x->date8) != 8)
        return verify_bad_credential(x);
    return SIGV4_VERIFY_OK;
}

/* SignedHeaders: lower-cased names joined by ';', none empty, none twice. */
static enum sigv4_verify_error verify_parse_signed_headers(struct verify_ctx *x, const char *s,
                                                           size_t len)
{
    enum sigv4_verify_error kind = verify_cred_kind(x);
    const char *msg = x->presigned ? "X-Amz-SignedHeaders is mal-formed." /* not S3's wording */
                                   : "The authorization header is malformed; the SignedHeaders "
                                     "component is mal-formed.";
    buf_reset(&x->signed_headers);
    x->name_count = 0;
    if (len == 0)
        return verify_fail(x->err, kind, msg);
    int rc = buf_append(&x->signed_headers, s, len);
    if (rc == -ENOMEM)
        return verify_fail(x->err, SIGV4_VERIFY_INTERNAL_ERROR, NULL);
    if (rc)
        return verify_fail(x->err, kind, msg);
    char *p = x->signed_headers.data;
    for (size_t i = 0; i < len; i++)
        p[i] = verify_lower(p[i]);
    for (size_t at = 0; at <= len;) {
        const char *semi = memchr(p + at, ';', len - at);
        size_t nlen = semi ? (size_t)(semi - (p + at)) : len - at;
        if (nlen == 0 || x->name_count == SIGV4_MAX_HEADERS)
            return verify_fail(x->err, kind, msg);
        for (size_t i = 0; i < nlen; i++)
            if (!verify_is_tchar(p[at + i]))
                return verify_fail(x->err, kind, msg);
        if (verify_is_signed(x, p + at, nlen))
            return verify_fail(x->err, kind, msg);
        x->names[x->name_count++] = (struct verify_name){p + at, nlen};
        at += nlen + 1;
    }
    return SIGV4_VERIFY_OK;
}

static enum sigv4_verify_error verify_set_signature(struct verify_ctx *x, const char *s, size_t len)
{
    if (len == 0 || len > SIGV4_VERIFY_MAX_SIGNATURE_BYTES || memchr(s, '\0', len))
        return verify_fail(x->err, verify_cred_kind(x),
                           x->presigned ? "X-Amz-Signature is mal-formed." /* not S3's wording */
                                        : "The authorization header is malformed; the Signature "
                                          "component is mal-formed.");
    memcpy(x->signature, s, len);
    x->signature[len] = '\0';
    x->signature_len = len;
    return SIGV4_VERIFY_OK;
}

#define VERIFY_MSG_THREE_COMPONENTS                                                                \
    "The authorization header is malformed; the authorization header requires three components: "  \
    "Credential, SignedHeaders, and Signature."

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." (", " or ","; any order). */
static enum sigv4_verify_error verify_parse_header(struct verify_ctx *x, const char *v, size_t len)
{
    static const char *const keys[3] = {"Credential", "SignedHeaders", "Signature"};
    const char *val[3] = {NULL, NULL, NULL};
    size_t val_len[3] = {0, 0, 0};
    size_t alg = strlen(VERIFY_ALGORITHM);
    if (len > SIGV4_VERIFY_MAX_AUTH_BYTES)
        return verify_fail(x->err, SIGV4_VERIFY_AUTH_HEADER_MALFORMED,
                           "The authorization header is malformed; it is too long.");
    const char *p = v + alg;
    size_t rest = len - alg;
    verify_trim(&p, &rest);
    if (rest == 0)
        return verify_fail(x->err, SIGV4_VERIFY_AUTH_HEADER_MALFORMED, VERIFY_MSG_THREE_COMPONENTS);
    for (size_t at = 0; at <= rest;) {
        const char *comma = memchr(p + at, ',', rest - at);
        const char *part = p + at;
        size_t plen = comma ? (size_t)(comma - part) : rest - at;
        at += plen + 1;
        verify_trim(&part, &plen);
        const char *eq = plen ? memchr(part, '=', plen) : NULL;
        int k = -1;
        for (int i = 0; eq && i < 3; i++)
            if ((size_t)(eq - part) == strlen(keys[i]) &&
                memcmp(part, keys[i], strlen(keys[i])) == 0)
                k = i;
        if (k < 0 || val[k]) {
            /* Not S3's exact words; S3 names the component too. */
            int show = plen > 64 ? 64 : (int)plen;
            return sigv4_error__setf(x->err, SIGV4_VERIFY_AUTH_HEADER_MALFORMED,
                                     "The authorization header is malformed; the authorization "
                                     "component \"%.*s\" is malformed.",
                                     show, part);
        }
        val[k] = eq + 1;
        val_len[k] = plen - (size_t)(eq + 1 - part);
        if (val_len[k] == 0)
            return verify_fail(x->err, SIGV4_VERIFY_AUTH_HEADER_MALFORMED,
                               VERIFY_MSG_THREE_COMPONENTS);
    }
    for (int i = 0; i < 3; i++)
        if (!val[i])
            return verify_fail(x->err, SIGV4_VERIFY_AUTH_HEADER_MALFORMED,
                               VERIFY_MSG_THREE_COMPONENTS);
    enum sigv4_verify_error e = verify_parse_credential(x, val[0], val_len[0]);
    if (e == SIGV4_VERIFY_OK)
        e = verify_parse_signed_headers(x, val[1], val_len[1]);
    if (e == SIGV4_VERIFY_OK)
        e = verify_set_signature(x, val[2], val_len[2]);
    if (e != SIGV4_VERIFY_OK)
        return e;

    size_t dlen, dcount;
    const char *d = verify_header_value(x->req, "x-amz-date", &dlen, &dcount);
    /* S3's answer for a missing or unreadable date (not the X-Amz-Date of a presigned URL). */
    if (!d || dcount != 1 || !verify_parse_amz_date(d, dlen, &x->t))
        return verify_fail(x->err, SIGV4_VERIFY_ACCESS_DENIED,
                           "AWS authentication requires a valid Date or x-amz-date header");
    memcpy(x->amz_date, d, 16);
    x->amz_date[16] = '\0';

    size_t tlen, tcount;
    const char *tok = verify_header_value(x->req, "x-amz-security-token", &tlen, &tcount);
    if (tcount > 1)
        return verify_fail(x->err, SIGV4_VERIFY_INVALID_TOKEN, NULL);
    if (tok) {
        int rc = buf_append(&x->token, tok, tlen);
        if (rc)
            return verify_fail(
                x->err, rc == -ENOMEM ? SIGV4_VERIFY_INTERNAL_ERROR : SIGV4_VERIFY_INVALID_TOKEN,
                NULL);
        x->has_token = true;
    }
    return SIGV4_VERIFY_OK;
}

#define VERIFY_MSG_QUERY_PARAMS                                                                    \
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "       \
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."

/* One X-Amz-* parameter, decoded into out: exactly once, else the error is set. */
static enum sigv4_verify_error verify_query_one(struct verify_ctx *x, const char *name,
                                                struct buf *out)
{
    int n = verify_query_param(x->req, name, &x->tmp, out);
    if (n == -ENOMEM)
        return verify_fail(x->err, SIGV4_VERIFY_INTERNAL_ERROR, NULL);
    if (n == -EINVAL)
        return verify_fail(x->err, SIGV4_VERIFY_INVALID_URI, NULL);
    if (n < 0)
        return sigv4_error__setf(x->err, SIGV4_VERIFY_AUTH_QUERY_ERROR, "%s is too long.", name);
    if (n == 0)
        return verify_fail(x->err, SIGV4_VERIFY_AUTH_QUERY_ERROR, VERIFY_MSG_QUERY_PARAMS);
    if (n > 1) /* not S3's wording */
        return sigv4_error__setf(x->err, SIGV4_VERIFY_AUTH_QUERY_ERROR,
                                 "%s is given more than once.", name);
    return SIGV4_VERIFY_OK;
}

/* The presigned URL's parameters (S3 API Reference, "Authenticating Requests: Using Query
 * Parameters (AWS Signature Version 4)"). */
static enum sigv4_verify_error verify_parse_query(struct verify_ctx *x)
{
    static const char *const required[] = {"X-Amz-Algorithm",     "X-Amz-Credential",
                                           "X-Amz-Signature",     "X-Amz-Date",
                                           "X-Amz-SignedHeaders", "X-Amz-Expires"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        int n = verify_query_param(x->req, required[i], &x->tmp, NULL);
        if (n == -ENOMEM)
            return verify_fail(x->err, SIGV4_VERIFY_INTERNAL_ERROR, NULL);
        if (n == 0)
            return verify_fail(x->err, SIGV4_VERIFY_AUTH_QUERY_ERROR, VERIFY_MSG_QUERY_PARAMS);
    }
    struct buf v;
    buf_init(&v, SIGV4_VERIFY_MAX_AUTH_BYTES);
    enum sigv4_verify_error e = verify_query_one(x, "X-Amz-Algorithm", &v);
    if (e == SIGV4_VERIFY_OK &&
        (v.len != strlen(VERIFY_ALGORITHM) || memcmp(v.data, VERIFY_ALGORITHM, v.len) != 0))
        e = verify_fail(x->err, SIGV4_VERIFY_AUTH_QUERY_ERROR,
                        "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    if (e == SIGV4_VERIFY_OK)
        e = verify_query_one(x, "X-Amz-Credential", &v);
    if (e == SIGV4_VERIFY_OK)
        e = verify_parse_credential(x, v.data ? v.data : "", v.len);
    if (e == SIGV4_VERIFY_OK)
        e = verify_query_one(x, "X-Amz-SignedHeaders", &v);
    if (e == SIGV4_VERIFY_OK)
        e = verify_parse_signed_headers(x, v.data ? v.data : "", v.len);
    if (e == SIGV4_VERIFY_OK)
        e = verify_query_one(x, "X-Amz-Signature", &v);
    if (e == SIGV4_VERIFY_OK)
        e = verify_set_signature(x, v.data ? v.data : "", v.len);
    if (e == SIGV4_VERIFY_OK)
        e = verify_query_one(x, "X-Amz-Date", &v);
    if (e == SIGV4_VERIFY_OK && !verify_parse_amz_date(v.data ? v.data : "", v.len, &x->t))
        e = verify_fail(x->err, SIGV4_VERIFY_AUTH_QUERY_ERROR,
                        "X-Amz-Date must be in the ISO8601 Long Format "
                        "\"yyyyMMdd'T'HHmmss'Z'\"");
    if (e == SIGV4_VERIFY_OK) {
        memcpy(x->amz_date, v.data, 16);
        x->amz_date[16] = '\0';
        e = verify_query_one(x, "X-Amz-Expires", &v);
    }
    if (e == SIGV4_VERIFY_OK) {
        /* Messages as S3 words them (vector neg-presigned-expires-too-long; aws/aws-cli#5464). */
        const char *s = v.data ? v.data : "";
        bool digits = v.len > 0;
        for (size_t i = 0; i < v.len; i++)
            digits = digits && s[i] >= '0' && s[i] <= '9';
        if (v.len && s[0] == '-')
            e = verify_fail(x->err, SIGV4_VERIFY_AUTH_QUERY_ERROR,
                            "X-Amz-Expires must be non-negative");
        else if (!digits)
            e = verify_fail(x->err, SIGV4_VERIFY_AUTH_QUERY_ERROR,
                            "X-Amz-Expires should be a number");
        else {
            size_t i = 0;
            while (i + 1 < v.len && s[i] == '0')
                i++;
            long long n = 0;
            bool too_long = v.len - i > VERIFY_EXPIRES_DIGITS;
            for (size_t j = i; !too_long && j < v.len; j++)
                n = n * 10 + (s[j] - '0');
            if (too_long || n > SIGV4_VERIFY_MAX_EXPIRES_S)
                e = verify_fail(x->err, SIGV4_VERIFY_AUTH_QUERY_ERROR,
                                "X-Amz-Expires must be less than a week (in seconds); that is, "
                                "the given X-Amz-Expires must be less than 604800 seconds");
            else {
                x->expires_s = n;
                memcpy(x->expires, s + i, v.len - i);
                x->expires[v.len - i] = '\0';
            }
        }
    }
    if (e == SIGV4_VERIFY_OK) {
        int n = verify_query_param(x->req, "X-Amz-Security-Token", &x->tmp, &x->token);
        if (n == -ENOMEM)
            e = verify_fail(x->err, SIGV4_VERIFY_INTERNAL_ERROR, NULL);
        else if (n < 0 || n > 1)
            e = verify_fail(x->err, SIGV4_VERIFY_INVALID_TOKEN, NULL);
        x->has_token = n == 1;
    }
    buf_free(&v);
    return e;
}

/* ---- the checks ------------------------------------------------------------------------------ */

/* Which mechanism the request uses; parses it. Returns OK when x is ready for the checks. */
static enum sigv4_verify_error verify_mechanism(struct verify_ctx *x)
{
    size_t alen, acount;
    const char *a = verify_header_value(x->req, "authorization", &alen, &acount);
    int q_v4 = 0, q_v2 = 0;
    static const char *const v4_params[] = {"X-Amz-Algorithm", "X-Amz-Credential",
                                            "X-Amz-Signature"};
    static const char *const v2_params[] = {"AWSAccessKeyId", "Signature"};
    for (size_t i = 0; i < 3; i++) {
        int n = verify_query_param(x->req, v4_params[i], &x->tmp, NULL);
        if (n == -ENOMEM)
            return verify_fail(x->err, SIGV4_VERIFY_INTERNAL_ERROR, NULL);
        q_v4 += n > 0;
    }
    for (size_t i = 0; i < 2; i++) {
        int n = verify_query_param(x->req, v2_params[i], &x->tmp, NULL);
        if (n == -ENOMEM)
            return verify_fail(x->err, SIGV4_VERIFY_INTERNAL_ERROR, NULL);
        q_v2 += n > 0;
    }

    if ((a && (q_v4 || q_v2)) || (q_v4 && q_v2)) {
        verify_fail(x->err, SIGV4_VERIFY_INVALID_ARGUMENT,
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                    "Signature query string parameter or the Authorization header should be "
                    "specified");
        verify_extra_str(x->err, "ArgumentName", "Authorization");
        return x->err->kind;
    }
    if (a) {
        size_t alg = strlen(VERIFY_ALGORITHM);
        if (acount > 1) /* not S3's wording */
            return verify_fail(x->err, SIGV4_VERIFY_AUTH_HEADER_MALFORMED,
                               "The authorization header is malformed; more than one "
                               "Authorization header.");
        if (alen >= alg && memcmp(a, VERIFY_ALGORITHM, alg) == 0 &&
            (alen == alg || verify_is_ows(a[alg])))
            return verify_parse_header(x, a, alen);
        if (alen >= 4 && memcmp(a, "AWS ", 4) == 0)
            return verify_fail(x->err, SIGV4_VERIFY_INVALID_REQUEST,
                               "The authorization mechanism you have provided is not supported. "
                               "Please use AWS4-HMAC-SHA256.");
        /* S3 answers InvalidArgument "Unsupported Authorization Type" and echoes the value as
         * ArgumentValue (versity/versitygw#1512); the value is credential material, so only
         * ArgumentName is sent back. */
        verify_fail(x->err, SIGV4_VERIFY_INVALID_ARGUMENT, "Unsupported Authorization Type");
        verify_extra_str(x->err, "ArgumentName", "Authorization");
        return x->err->kind;
    }
    if (q_v4) {
        x->presigned = true;
        return verify_parse_query(x);
    }
    if (q_v2)
        return verify_fail(x->err, SIGV4_VERIFY_INVALID_REQUEST,
                           "The authorization mechanism you have provided is not supported. "
                           "Please use AWS4-HMAC-SHA256.");
    return verify_fail(x->err, SIGV4_VERIFY_ACCESS_DENIED, NULL);
}

/* The credential scope against the request date and our region and service. */
static enum sigv4_verify_error verify_scope(struct verify_ctx *x)
{
    const char *pre = verify_cred_prefix(x);
    enum sigv4_verify_error kind = verify_cred_kind(x);
    if (memcmp(x->date8, x->amz_date, 8) != 0)
        return sigv4_error__setf(
            x->err, kind, "%sInvalid credential date. Date is not the same as X-Amz-Date.", pre);
    if (strcmp(x->region, x->cfg->region) != 0) {
        /* Vector neg-wrong-region; the Region element names the region to use. */
        sigv4_error__setf(x->err, kind, "%sthe region '%s' is wrong; expecting '%s'", pre,
                          x->region, x->cfg->region);
        verify_extra_str(x->err, "Region", x->cfg->region);
        return kind;
    }
    if (strcmp(x->service, x->cfg->service) != 0)
        return sigv4_error__setf(x->err, kind,
                                 "%sincorrect service \"%s\". This endpoint belongs to \"%s\".",
                                 pre, x->service, x->cfg->service);
    if (strcmp(x->terminal, VERIFY_TERMINAL) != 0)
        return sigv4_error__setf(
            x->err, kind, "%sincorrect terminal \"%s\". This endpoint uses \"aws4_request\".", pre,
            x->terminal);
    return SIGV4_VERIFY_OK;
}

/* host must be signed, and so must every x-amz-* header that is present (S3-BEHAVIOUR.md;
 * vectors neg-host-not-signed and neg-unsigned-amz-header). */
static enum sigv4_verify_error verify_headers_signed(struct verify_ctx *x)
{
    struct buf list;
    buf_init(&list, SIGV4_VERIFY_MAX_AUTH_BYTES);
    int rc = 0;
    if (!verify_is_signed(x, "host", 4))
        rc = buf_append_str(&list, "host");
    for (size_t i = 0; i < x->req->header_count && rc == 0; i++) {
        const struct sigv4_header *h = &x->req->headers[i];
        if (h->name_len < 6 || !verify_ieq(h->name, 6, "x-amz-", 6) ||
            verify_is_signed(x, h->name, h->name_len))
            continue;
        bool seen = false; /* each name once, however often it is repeated */
        for (size_t j = 0; j < i && !seen; j++)
            seen = verify_ieq(x->req->headers[j].name, x->req->headers[j].name_len, h->name,
                              h->name_len);
        if (seen)
            continue;
        if (list.len)
            rc = buf_append(&list, ", ", 2);
        size_t at = list.len;
        if (rc == 0)
            rc = buf_append(&list, h->name, h->name_len);
        for (size_t k = at; rc == 0 && k < list.len; k++)
            list.data[k] = verify_lower(list.data[k]);
    }
    enum sigv4_verify_error e = SIGV4_VERIFY_OK;
    if (rc == -ENOMEM)
        e = verify_fail(x->err, SIGV4_VERIFY_INTERNAL_ERROR, NULL);
    else if (rc || list.len) {
        e = verify_fail(x->err, SIGV4_VERIFY_ACCESS_DENIED,
                        "There were headers present in the request which were not signed");
        if (list.len)
            verify_extra(x->err, "HeadersNotSigned", list.data, list.len);
    }
    buf_free(&list);
    return e;
}

/* Header auth: within SIGV4_VERIFY_MAX_SKEW_S of our clock either way. Presigned: from
 * X-Amz-Date to X-Amz-Date + X-Amz-Expires (inclusive), the skew rule not applying (vector
 * presign-get-max-expiry). A presigned X-Amz-Date ahead of our clock is tolerated up to the same
 * skew, so a signer whose clock runs a little fast still works (MinIO does the same); past that it
 * is "not yet valid" (vector neg-presigned-not-yet-valid, one hour ahead). */
static enum sigv4_verify_error verify_time(struct verify_ctx *x, time_t now)
{
    char server[21];
    verify_iso_time(now, server);
    if (!x->presigned) {
        long long d = (long long)now - (long long)x->t;
        if (d > SIGV4_VERIFY_MAX_SKEW_S || d < -SIGV4_VERIFY_MAX_SKEW_S) {
            verify_fail(x->err, SIGV4_VERIFY_REQUEST_TIME_TOO_SKEWED, NULL);
            verify_extra_str(x->err, "RequestTime", x->amz_date);
            verify_extra_str(x->err, "ServerTime", server);
            verify_extra_str(x->err, "MaxAllowedSkewMilliseconds", "900000");
            return x->err->kind;
        }
        return SIGV4_VERIFY_OK;
    }
    if ((long long)x->t - (long long)now > SIGV4_VERIFY_MAX_SKEW_S)
        return verify_fail(x->err, SIGV4_VERIFY_ACCESS_DENIED, "Request is not yet valid");
    long long expires_at = (long long)x->t + x->expires_s;
    if ((long long)now > expires_at) {
        char exp[21];
        verify_iso_time((time_t)expires_at, exp);
        verify_fail(x->err, SIGV4_VERIFY_ACCESS_DENIED, "Request has expired");
        verify_extra_str(x->err, "X-Amz-Expires", x->expires);
        verify_extra_str(x->err, "Expires", exp);
        verify_extra_str(x->err, "ServerTime", server);
        return x->err->kind;
    }
    return SIGV4_VERIFY_OK;
}

/* The request's token against the key's. A key with a token needs it, a key without refuses one
 * (S3 cannot tell a temporary key from its token alone either). */
static enum sigv4_verify_error verify_token(struct verify_ctx *x,
                                            const struct sigv4_verify_secret *s)
{
    if (!s->session_token && !x->has_token)
        return SIGV4_VERIFY_OK;
    if (!s->session_token || !x->has_token)
        return verify_fail(x->err, SIGV4_VERIFY_INVALID_TOKEN, NULL);
    size_t want = strlen(s->session_token);
    if (want != x->token.len || CRYPTO_memcmp(s->session_token, x->token.data, want) != 0)
        return verify_fail(x->err, SIGV4_VERIFY_INVALID_TOKEN, NULL);
    return SIGV4_VERIFY_OK;
}

static bool verify_has_body(const struct sigv4_verify_request *req)
{
    size_t len, count;
    if (verify_header(req, "transfer-encoding", NULL))
        return true;
    const char *cl = verify_header_value(req, "content-length", &len, &count);
    for (size_t i = 0; cl && i < len; i++)
        if (cl[i] != '0')
            return true;
    return false;
}

/* The last line of the canonical request and what the body is held to. */
static enum sigv4_verify_error verify_payload(struct verify_ctx *x, struct sigv4_auth *auth,
                                              char payload[65])
{
    static const struct {
        const char *value;
        enum sigv4_payload_mode mode;
    } modes[] = {
        {SIGV4_UNSIGNED_PAYLOAD, SIGV4_PAYLOAD_UNSIGNED},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", SIGV4_PAYLOAD_STREAMING_SIGNED},
        {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", SIGV4_PAYLOAD_STREAMING_SIGNED_TRAILER},
        {"STREAMING-UNSIGNED-PAYLOAD-TRAILER", SIGV4_PAYLOAD_STREAMING_UNSIGNED_TRAILER},
    };
    auth->decoded_content_length = UINT64_MAX;
    if (x->presigned) { /* always, whatever headers came along (vectors README) */
        memcpy(payload, SIGV4_UNSIGNED_PAYLOAD, sizeof(SIGV4_UNSIGNED_PAYLOAD));
        auth->payload_mode = SIGV4_PAYLOAD_UNSIGNED;
        return SIGV4_VERIFY_OK;
    }
    size_t len, count;
    const char *v = verify_header_value(x->req, "x-amz-content-sha256", &len, &count);
    if (!v) {
        if (x->cfg->require_content_sha256 || verify_has_body(x->req))
            return verify_fail(x->err, SIGV4_VERIFY_INVALID_REQUEST,
                               "Missing required header for this request: x-amz-content-sha256");
        memcpy(payload, SIGV4_EMPTY_SHA256, 65);
        memcpy(auth->payload_hash, SIGV4_EMPTY_SHA256, 65);
        auth->payload_mode = SIGV4_PAYLOAD_SHA256;
        auth->payload_hash_assumed = true;
        return SIGV4_VERIFY_OK;
    }
    bool known = false;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]) && !known; i++)
        if (len == strlen(modes[i].value) && memcmp(v, modes[i].value, len) == 0) {
            auth->payload_mode = modes[i].mode;
            memcpy(payload, v, len);
            payload[len] = '\0';
            known = true;
        }
    if (!known && verify_is_hex64(v, len)) {
        auth->payload_mode = SIGV4_PAYLOAD_SHA256;
        memcpy(payload, v, 64);
        payload[64] = '\0';
        for (size_t i = 0; i < 64; i++)
            auth->payload_hash[i] = verify_lower(v[i]);
        auth->payload_hash[64] = '\0';
        known = true;
    }
    if (!known || count != 1) { /* not S3's exact list: S3 also names the SigV4a forms */
        verify_fail(x->err, SIGV4_VERIFY_INVALID_ARGUMENT,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
                    "STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.");
        verify_extra_str(x->err, "ArgumentName", "x-amz-content-sha256");
        return x->err->kind;
    }
    size_t dlen, dcount;
    const char *d = verify_header_value(x->req, "x-amz-decoded-content-length", &dlen, &dcount);
    if (d) {
        uint64_t n = 0;
        bool ok = dcount == 1 && dlen > 0 && dlen <= 19;
        for (size_t i = 0; ok && i < dlen; i++) {
            ok = d[i] >= '0' && d[i] <= '9';
            n = n * 10 + (uint64_t)(d[i] - '0');
        }
        if (!ok) {
            verify_fail(x->err, SIGV4_VERIFY_INVALID_ARGUMENT,
                        "x-amz-decoded-content-length must be a number"); /* not S3's wording */
            verify_extra_str(x->err, "ArgumentName", "x-amz-decoded-content-length");
            return x->err->kind;
        }
        auth->decoded_content_length = n;
    }
    return SIGV4_VERIFY_OK;
}

/* The headers the canonical request is made of: every received header named in SignedHeaders, in
 * arrival order (repeats are joined by sigv4.c), and an empty one for a listed name that did not
 * arrive, so the signature simply fails to match. *out is malloc'd. */
static int verify_signed_header_list(const struct verify_ctx *x, struct sigv4_header **out,
                                     size_t *n)
{
    size_t cap = x->req->header_count + x->name_count;
    struct sigv4_header *h = malloc((cap ? cap : 1) * sizeof(*h));
    *out = h;
    *n = 0;
    if (!h)
        return -ENOMEM;
    for (size_t i = 0; i < x->req->header_count; i++) {
        const struct sigv4_header *r = &x->req->headers[i];
        if (verify_is_signed(x, r->name, r->name_len))
            h[(*n)++] = *r;
    }
    for (size_t j = 0; j < x->name_count; j++) {
        bool present = false;
        for (size_t i = 0; i < x->req->header_count && !present; i++)
            present = verify_ieq(x->req->headers[i].name, x->req->headers[i].name_len,
                                 x->names[j].p, x->names[j].len);
        if (!present)
            h[(*n)++] = (struct sigv4_header){x->names[j].p, x->names[j].len, "", 0};
    }
    return 0;
}

static enum sigv4_verify_error verify_signature(struct verify_ctx *x, const char *secret,
                                                const char *payload, struct sigv4_auth *auth)
{
    struct buf creq, sts;
    buf_init(&creq, SIGV4_MAX_CANONICAL_BYTES);
    buf_init(&sts, SIGV4_MAX_CANONICAL_BYTES);
    struct sigv4_header *headers = NULL;
    size_t header_count = 0;
    uint8_t key[32];
    char computed[65];
    enum sigv4_verify_error e = SIGV4_VERIFY_INTERNAL_ERROR;

    int rc = verify_signed_header_list(x, &headers, &header_count);
    if (rc == 0) {
        struct sigv4_request r = {
            .method = x->req->method ? x->req->method : "",
            .path = x->req->path,
            .path_len = x->req->path ? x->req->path_len : 0,
            .query = x->req->query,
            .query_len = x->req->query ? x->req->query_len : 0,
            .headers = headers,
            .header_count = header_count,
            .payload_hash = payload,
        };
        rc = sigv4_canonical_request_omit(&r, x->presigned ? "X-Amz-Signature" : NULL, &creq);
    }
    if (rc == 0)
        rc = sigv4_string_to_sign(x->amz_date, x->region, x->service, creq.data ? creq.data : "",
                                  creq.len, &sts);
    if (rc == -EINVAL) {
        e = verify_fail(x->err, SIGV4_VERIFY_INVALID_URI, NULL);
        goto out;
    }
    if (rc == -E2BIG) { /* not S3's wording; our caps (sigv4.h) are far above what SDKs send */
        e = verify_fail(x->err, SIGV4_VERIFY_INVALID_REQUEST,
                        "The request is too large to authenticate.");
        goto out;
    }
    if (rc) {
        e = verify_fail(x->err, SIGV4_VERIFY_INTERNAL_ERROR, NULL);
        goto out;
    }

    sigv4_key_cache_get(x->cfg->key_cache, x->access_key, secret, x->date8, x->region, x->service,
                        key);
    sigv4_signature(key, sts.data, sts.len, computed);
    if (x->signature_len != 64 || CRYPTO_memcmp(computed, x->signature, 64) != 0) {
        /* The elements S3 sends with it (S3 API Reference, error responses; botocore and the
         * AWS CLI print them), so a client can compare its own canonical request. */
        e = verify_fail(x->err, SIGV4_VERIFY_SIGNATURE_DOES_NOT_MATCH, NULL);
        verify_extra_str(x->err, "AWSAccessKeyId", x->access_key);
        verify_extra(x->err, "StringToSign", sts.data, sts.len);
        verify_extra(x->err, "SignatureProvided", x->signature, x->signature_len);
        sigv4_error__extra_bytes(x->err, "StringToSignBytes", sts.data, sts.len);
        verify_extra(x->err, "CanonicalRequest", creq.data ? creq.data : "", creq.len);
        sigv4_error__extra_bytes(x->err, "CanonicalRequestBytes", creq.data, creq.len);
        goto out;
    }

    memcpy(auth->seed_signature, computed, 65);
    if (auth->payload_mode == SIGV4_PAYLOAD_STREAMING_SIGNED ||
        auth->payload_mode == SIGV4_PAYLOAD_STREAMING_SIGNED_TRAILER)
        memcpy(auth->signing_key, key, 32);
    e = SIGV4_VERIFY_OK;
out:
    OPENSSL_cleanse(key, sizeof(key));
    free(headers);
    buf_free(&creq);
    buf_free(&sts);
    return e;
}

void sigv4_auth_clear(struct sigv4_auth *auth)
{
    OPENSSL_cleanse(auth, sizeof(*auth));
    auth->decoded_content_length = UINT64_MAX;
}

enum sigv4_verify_error sigv4_verify(const struct sigv4_verify_config *cfg,
                                     const struct sigv4_verify_request *req, time_t now,
                                     struct sigv4_auth *auth, struct sigv4_error *err)
{
    struct verify_ctx x;
    memset(&x, 0, sizeof(x));
    x.cfg = cfg;
    x.req = req;
    x.err = err;
    buf_init(&x.signed_headers, SIGV4_VERIFY_MAX_AUTH_BYTES);
    buf_init(&x.token, SIGV4_VERIFY_MAX_AUTH_BYTES);
    buf_init(&x.tmp, SIGV4_VERIFY_MAX_AUTH_BYTES);
    sigv4_error__reset(err);
    sigv4_auth_clear(auth);
    struct sigv4_verify_secret secret = {NULL, NULL};
    char payload[65];

    enum sigv4_verify_error e = verify_mechanism(&x);
    if (e == SIGV4_VERIFY_OK)
        e = verify_scope(&x);
    if (e == SIGV4_VERIFY_OK)
        e = verify_headers_signed(&x);
    if (e == SIGV4_VERIFY_OK)
        e = verify_time(&x, now);
    if (e == SIGV4_VERIFY_OK &&
        (!cfg->lookup || cfg->lookup(cfg->lookup_arg, x.access_key, &secret) != 0 ||
         !secret.secret_key)) {
        e = verify_fail(err, SIGV4_VERIFY_INVALID_ACCESS_KEY_ID, NULL);
        verify_extra_str(err, "AWSAccessKeyId", x.access_key);
    }
    if (e == SIGV4_VERIFY_OK)
        e = verify_token(&x, &secret);
    if (e == SIGV4_VERIFY_OK)
        e = verify_payload(&x, auth, payload);
    if (e == SIGV4_VERIFY_OK)
        e = verify_signature(&x, secret.secret_key, payload, auth);

    if (e == SIGV4_VERIFY_OK) {
        memcpy(auth->access_key, x.access_key, sizeof(auth->access_key));
        auth->presigned = x.presigned;
        memcpy(auth->amz_date, x.amz_date, sizeof(auth->amz_date));
        snprintf(auth->scope, sizeof(auth->scope), "%s/%s/%s/%s", x.date8, x.region, x.service,
                 x.terminal);
    } else {
        sigv4_auth_clear(auth);
    }
    if (x.token.data)
        OPENSSL_cleanse(x.token.data, x.token.len);
    buf_free(&x.signed_headers);
    buf_free(&x.token);
    buf_free(&x.tmp);
    return e;
}
