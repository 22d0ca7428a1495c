/*
 * libFuzzer target for the HTTP/1.1 request-head parser and the chunked body decoder
 * (server/http/parse.c): the first bytes a client sends reach them before anything else, so no
 * input may crash, leak, hang or break the contracts of parse.h.
 *
 * Input: three control bytes, then a byte stream as a client would send it on one connection:
 *   bytes 0-1 (little endian) % (head bytes + 1): where the head is split in two (a prefix in
 *              its own buffer of exactly that size, then the whole buffer, as server/http/conn.c
 *              calls the parser when a second recv arrives);
 *   byte 2:    the seed of the piece sizes a chunked body is fed in, and the step of a third
 *              head parse that grows its input by that many bytes per call.
 * Up to FUZZ_HTTP_MAX_REQUESTS pipelined requests are parsed: after a head, a chunked body is
 * decoded, a Content-Length body skipped, and the next head starts where the body ended.
 *
 * Checked on every input (__builtin_trap on a violation):
 *   - the split and byte-stepped parses give the same status, *consumed and head (views compared
 *     as offsets) as one parse of the whole buffer;
 *   - a parsed head: consumed <= len and <= HTTP_MAX_HEADER_BYTES, it ends with its blank line,
 *     every view lies inside the head (the path of "http://host" may be the static "/"), method
 *     and names are tokens, values carry no CR/LF/NUL and no edge spaces, at most
 *     HTTP_MAX_HEADERS fields, never both chunked and Content-Length, chunked only in 1.1,
 *     a 1.1 head has a Host, and each derived flag has the header it came from;
 *   - the chunked decoder: consumed <= len, out_len <= consumed, AGAIN consumes everything, a
 *     finished decoder takes nothing more; the whole body gives the status, stopping point and
 *     data bytes of a one-pass reference decoder written here from RFC 9112 7.1; and feeding it
 *     in pieces (each in a buffer of its own, empty ones too) gives the same as feeding it whole.
 *
 * Build and run: tests/fuzz/run.sh [SECONDS] [http_parse]. The file only defines statics and
 * LLVMFuzzerTestOneInput, so a unit test may include it to replay the corpus.
 */
#include "server/http/parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_HTTP_MAX_REQUESTS 4

#define FUZZ_HTTP_CHECK(cond)                                                                      \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* A copy of exactly len bytes, so ASan sees any read past len (malloc(0) is fine too). */
static char *fuzz_http_dup(const char *p, size_t len)
{
    char *c = malloc(len ? len : 1);
    if (!c)
        abort();
    if (len)
        memcpy(c, p, len);
    return c;
}

static int fuzz_http_is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int fuzz_http_inside(const struct http_view *v, const char *base, size_t len)
{
    return v->p >= base && v->p <= base + len && v->len <= (size_t)(base + len - v->p);
}

/* Where a view points: an offset into base, or (for a view outside) the pointer itself. */
static int fuzz_http_view_eq(const struct http_view *a, const char *abase, size_t alen,
                             const struct http_view *b, const char *bbase, size_t blen)
{
    if (a->len != b->len)
        return 0;
    int ain = fuzz_http_inside(a, abase, alen), bin = fuzz_http_inside(b, bbase, blen);
    if (ain != bin)
        return 0;
    return ain ? a->p - abase == b->p - bbase : a->p == b->p;
}

static int fuzz_http_head_eq(const struct http_request_head *a, const char *abase,
                             const struct http_request_head *b, const char *bbase, size_t len)
{
    if (!fuzz_http_view_eq(&a->method, abase, len, &b->method, bbase, len) ||
        !fuzz_http_view_eq(&a->target, abase, len, &b->target, bbase, len) ||
        !fuzz_http_view_eq(&a->path, abase, len, &b->path, bbase, len) ||
        !fuzz_http_view_eq(&a->query, abase, len, &b->query, bbase, len) ||
        a->minor_version != b->minor_version || a->header_count != b->header_count ||
        a->keep_alive != b->keep_alive || a->expect_continue != b->expect_continue ||
        a->chunked != b->chunked || a->has_content_length != b->has_content_length ||
        a->content_length != b->content_length)
        return 0;
    for (size_t i = 0; i < a->header_count; i++) {
        if (!fuzz_http_view_eq(&a->headers[i].name, abase, len, &b->headers[i].name, bbase, len) ||
            !fuzz_http_view_eq(&a->headers[i].value, abase, len, &b->headers[i].value, bbase, len))
            return 0;
    }
    return 1;
}

static int fuzz_http_ieq(const struct http_view *v, const char *lit)
{
    size_t n = strlen(lit);
    if (v->len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v->p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

/* The contracts of a head parsed from data[0..len) with *consumed == consumed. */
static void fuzz_http_check_head(const struct http_request_head *h, const char *data, size_t len,
                                 size_t consumed)
{
    FUZZ_HTTP_CHECK(consumed >= 2 && consumed <= len && consumed <= HTTP_MAX_HEADER_BYTES);
    FUZZ_HTTP_CHECK(data[consumed - 1] == '\n');
    FUZZ_HTTP_CHECK(data[consumed - 2] == '\n' ||
                    (consumed >= 3 && data[consumed - 2] == '\r' && data[consumed - 3] == '\n'));
    FUZZ_HTTP_CHECK(!memchr(data, '\0', consumed));

    FUZZ_HTTP_CHECK(fuzz_http_inside(&h->method, data, consumed) && h->method.len > 0);
    for (size_t i = 0; i < h->method.len; i++)
        FUZZ_HTTP_CHECK(fuzz_http_is_tchar((unsigned char)h->method.p[i]));
    FUZZ_HTTP_CHECK(fuzz_http_inside(&h->target, data, consumed) && h->target.len > 0);
    FUZZ_HTTP_CHECK(h->target.p > h->method.p + h->method.len);
    for (size_t i = 0; i < h->target.len; i++) {
        unsigned char c = (unsigned char)h->target.p[i];
        FUZZ_HTTP_CHECK(c > 0x20 && c != 0x7f);
    }
    FUZZ_HTTP_CHECK(h->path.len > 0);
    if (fuzz_http_inside(&h->path, h->target.p, h->target.len)) {
        FUZZ_HTTP_CHECK(!memchr(h->path.p, '?', h->path.len));
    } else {
        /* Only the absolute form without a path ("http://host?q") has the static "/". */
        FUZZ_HTTP_CHECK(h->path.len == 1 && h->path.p[0] == '/' && h->target.p[0] != '/');
    }
    FUZZ_HTTP_CHECK(fuzz_http_inside(&h->query, h->target.p, h->target.len));
    if (h->query.len > 0)
        FUZZ_HTTP_CHECK(h->query.p[-1] == '?');
    FUZZ_HTTP_CHECK(h->minor_version == 0 || h->minor_version == 1);

    FUZZ_HTTP_CHECK(h->header_count <= HTTP_MAX_HEADERS);
    const char *prev = h->target.p;
    for (size_t i = 0; i < h->header_count; i++) {
        const struct http_header *f = &h->headers[i];
        FUZZ_HTTP_CHECK(fuzz_http_inside(&f->name, data, consumed) && f->name.len > 0);
        FUZZ_HTTP_CHECK(f->name.p > prev); /* in order, after the request line */
        prev = f->name.p;
        for (size_t j = 0; j < f->name.len; j++)
            FUZZ_HTTP_CHECK(fuzz_http_is_tchar((unsigned char)f->name.p[j]));
        FUZZ_HTTP_CHECK(f->name.p + f->name.len < data + consumed && f->name.p[f->name.len] == ':');
        FUZZ_HTTP_CHECK(fuzz_http_inside(&f->value, data, consumed));
        FUZZ_HTTP_CHECK(f->value.p > f->name.p + f->name.len);
        for (size_t j = 0; j < f->value.len; j++) {
            unsigned char c = (unsigned char)f->value.p[j];
            FUZZ_HTTP_CHECK((c >= 0x20 || c == '\t') && c != 0x7f);
        }
        if (f->value.len > 0) {
            char a = f->value.p[0], z = f->value.p[f->value.len - 1];
            FUZZ_HTTP_CHECK(a != ' ' && a != '\t' && z != ' ' && z != '\t');
        }
    }
    FUZZ_HTTP_CHECK(http_find_header(h, "") == NULL); /* no field has an empty name */

    FUZZ_HTTP_CHECK(!(h->chunked && h->has_content_length));
    FUZZ_HTTP_CHECK(!h->chunked || h->minor_version == 1);
    FUZZ_HTTP_CHECK(!h->expect_continue || h->minor_version == 1);
    if (h->minor_version == 1)
        FUZZ_HTTP_CHECK(http_find_header(h, "Host") != NULL);
    if (h->has_content_length)
        FUZZ_HTTP_CHECK(http_find_header(h, "content-length") != NULL);
    else
        FUZZ_HTTP_CHECK(h->content_length == 0 && !http_find_header(h, "Content-Length"));
    const struct http_header *te = http_find_header(h, "TRANSFER-ENCODING");
    FUZZ_HTTP_CHECK(h->chunked == (te != NULL));
    if (te)
        FUZZ_HTTP_CHECK(fuzz_http_ieq(&te->value, "chunked"));
    if (h->expect_continue)
        FUZZ_HTTP_CHECK(http_find_header(h, "expect") != NULL);
    if (h->keep_alive && h->minor_version == 0)
        FUZZ_HTTP_CHECK(http_find_header(h, "connection") != NULL);
    const struct http_header *found = http_find_header(h, "host");
    if (found)
        FUZZ_HTTP_CHECK(found >= h->headers && found < h->headers + h->header_count &&
                        fuzz_http_ieq(&found->name, "host"));
}

/* One parse of data[0..len) from scratch. */
static enum http_parse_status fuzz_http_parse_whole(const char *data, size_t len,
                                                    struct http_request_head *h, size_t *consumed)
{
    struct http_parser p;
    http_parser_init(&p);
    *consumed = (size_t)-1;
    enum http_parse_status st = http_parse_head(&p, data, len, h, consumed);
    FUZZ_HTTP_CHECK(st == HTTP_PARSE_DONE || st == HTTP_PARSE_AGAIN ||
                    st == HTTP_PARSE_BAD_REQUEST || st == HTTP_PARSE_URI_TOO_LONG ||
                    st == HTTP_PARSE_HEADERS_TOO_LARGE || st == HTTP_PARSE_VERSION);
    FUZZ_HTTP_CHECK(p.scanned <= len);
    if (st == HTTP_PARSE_DONE)
        FUZZ_HTTP_CHECK(p.scanned == *consumed);
    else
        FUZZ_HTTP_CHECK(*consumed == (size_t)-1); /* untouched unless DONE */
    if (st == HTTP_PARSE_AGAIN)
        FUZZ_HTTP_CHECK(len < HTTP_MAX_HEADER_BYTES + 1);
    return st;
}

/* The same bytes in two calls: data[0..split) in a buffer of its own, then all len bytes. */
static void fuzz_http_parse_split(const char *data, size_t len, size_t split,
                                  enum http_parse_status want, const struct http_request_head *wh,
                                  size_t wconsumed)
{
    struct http_parser p;
    struct http_request_head h;
    size_t consumed = (size_t)-1;
    http_parser_init(&p);
    char *prefix = fuzz_http_dup(data, split);
    enum http_parse_status st = http_parse_head(&p, prefix, split, &h, &consumed);
    FUZZ_HTTP_CHECK(p.scanned <= split);
    if (st != HTTP_PARSE_AGAIN) {
        FUZZ_HTTP_CHECK(st == want);
        if (st == HTTP_PARSE_DONE)
            FUZZ_HTTP_CHECK(consumed == wconsumed &&
                            fuzz_http_head_eq(&h, prefix, wh, data, split));
        free(prefix);
        return;
    }
    free(prefix);
    st = http_parse_head(&p, data, len, &h, &consumed);
    FUZZ_HTTP_CHECK(st == want);
    if (st == HTTP_PARSE_DONE)
        FUZZ_HTTP_CHECK(consumed == wconsumed && fuzz_http_head_eq(&h, data, wh, data, len));
}

/* Growing by step bytes per call over one buffer, as a slow client's bytes arrive. */
static void fuzz_http_parse_stepped(const char *data, size_t len, size_t step,
                                    enum http_parse_status want, const struct http_request_head *wh,
                                    size_t wconsumed)
{
    struct http_parser p;
    struct http_request_head h;
    size_t consumed = 0, have = 0;
    enum http_parse_status st = HTTP_PARSE_AGAIN;
    http_parser_init(&p);
    while (st == HTTP_PARSE_AGAIN && have < len) {
        have = len - have > step ? have + step : len;
        st = http_parse_head(&p, data, have, &h, &consumed);
        FUZZ_HTTP_CHECK(p.scanned <= have);
    }
    if (len == 0)
        st = http_parse_head(&p, data, 0, &h, &consumed);
    FUZZ_HTTP_CHECK(st == want);
    if (st == HTTP_PARSE_DONE)
        FUZZ_HTTP_CHECK(consumed == wconsumed && fuzz_http_head_eq(&h, data, wh, data, len));
}

struct fuzz_http_out {
    char *p;
    size_t len;
};

static void fuzz_http_out_add(struct fuzz_http_out *o, const char *p, size_t n)
{
    if (!n)
        return;
    char *q = realloc(o->p, o->len + n);
    if (!q)
        abort();
    memcpy(q + o->len, p, n);
    o->p = q;
    o->len += n;
}

#define FUZZ_HTTP_CHUNK_LINE_MAX 4096 /* parse.c's cap on a size or trailer line, CR excluded */

static int fuzz_http_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int fuzz_http_ctl(char c)
{
    return ((unsigned char)c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * A reference decoder written from RFC 9112 7.1 and parse.h, one pass over the whole body:
 * chunk = 1*HEXDIG (at most 16 significant) BWS [";" ext] CRLF data CRLF; last-chunk "0";
 * trailer lines start with a tchar; CRLF only; each size or trailer line at most 4096 bytes
 * without its CR. *at is where it stopped: after the final LF (DONE), after the offending byte
 * (BAD), len (AGAIN); data bytes go to out.
 */
static enum http_chunked_status fuzz_http_ref_chunked(const char *b, size_t len, size_t *at,
                                                      struct fuzz_http_out *out)
{
    size_t i = 0, line;
#define FUZZ_HTTP_NEED()                                                                           \
    do {                                                                                           \
        if (i == len) {                                                                            \
            *at = len;                                                                             \
            return HTTP_CHUNKED_AGAIN;                                                             \
        }                                                                                          \
    } while (0)
#define FUZZ_HTTP_BAD()                                                                            \
    do {                                                                                           \
        *at = i + 1;                                                                               \
        return HTTP_CHUNKED_BAD;                                                                   \
    } while (0)
#define FUZZ_HTTP_COUNT()                                                                          \
    do {                                                                                           \
        if (++line > FUZZ_HTTP_CHUNK_LINE_MAX)                                                     \
            FUZZ_HTTP_BAD();                                                                       \
    } while (0)
    for (;;) {
        uint64_t size = 0;
        size_t digits = 0;
        line = 0;
        for (;;) {
            FUZZ_HTTP_NEED();
            if (fuzz_http_hex(b[i]) < 0)
                break;
            FUZZ_HTTP_COUNT();
            if (digits > 0 && size > UINT64_MAX >> 4)
                FUZZ_HTTP_BAD();
            size = size << 4 | (uint64_t)fuzz_http_hex(b[i]);
            digits++;
            i++;
        }
        if (digits == 0)
            FUZZ_HTTP_BAD();
        while (b[i] == ' ' || b[i] == '\t') {
            FUZZ_HTTP_COUNT();
            i++;
            FUZZ_HTTP_NEED();
        }
        if (b[i] == ';') {
            for (;;) {
                FUZZ_HTTP_COUNT();
                if (b[i] != ';' && fuzz_http_ctl(b[i]))
                    FUZZ_HTTP_BAD();
                i++;
                FUZZ_HTTP_NEED();
                if (b[i] == '\r')
                    break;
            }
        }
        if (b[i] != '\r')
            FUZZ_HTTP_BAD();
        i++;
        FUZZ_HTTP_NEED();
        if (b[i] != '\n')
            FUZZ_HTTP_BAD();
        i++;
        if (size == 0)
            break;
        if (size > len - i) {
            fuzz_http_out_add(out, b + i, len - i);
            *at = len;
            return HTTP_CHUNKED_AGAIN;
        }
        fuzz_http_out_add(out, b + i, (size_t)size);
        i += (size_t)size;
        FUZZ_HTTP_NEED();
        if (b[i] != '\r')
            FUZZ_HTTP_BAD();
        i++;
        FUZZ_HTTP_NEED();
        if (b[i] != '\n')
            FUZZ_HTTP_BAD();
        i++;
    }
    for (;;) {
        line = 0;
        FUZZ_HTTP_NEED();
        if (b[i] == '\r') {
            i++;
            FUZZ_HTTP_NEED();
            if (b[i] != '\n')
                FUZZ_HTTP_BAD();
            *at = i + 1;
            return HTTP_CHUNKED_DONE;
        }
        FUZZ_HTTP_COUNT();
        if (!fuzz_http_is_tchar((unsigned char)b[i]))
            FUZZ_HTTP_BAD();
        for (;;) {
            i++;
            FUZZ_HTTP_NEED();
            if (b[i] == '\r')
                break;
            FUZZ_HTTP_COUNT();
            if (fuzz_http_ctl(b[i]))
                FUZZ_HTTP_BAD();
        }
        i++;
        FUZZ_HTTP_NEED();
        if (b[i] != '\n')
            FUZZ_HTTP_BAD();
        i++;
    }
#undef FUZZ_HTTP_NEED
#undef FUZZ_HTTP_BAD
#undef FUZZ_HTTP_COUNT
}

/* One decode call with its contracts. */
static enum http_chunked_status fuzz_http_decode(struct http_chunked *c, char *buf, size_t len,
                                                 size_t *consumed, size_t *out_len)
{
    *consumed = *out_len = (size_t)-1;
    enum http_chunked_status st = http_chunked_decode(c, buf, len, consumed, out_len);
    FUZZ_HTTP_CHECK(st == HTTP_CHUNKED_AGAIN || st == HTTP_CHUNKED_DONE || st == HTTP_CHUNKED_BAD);
    FUZZ_HTTP_CHECK(*consumed <= len && *out_len <= *consumed);
    if (st == HTTP_CHUNKED_AGAIN)
        FUZZ_HTTP_CHECK(*consumed == len);
    if (st == HTTP_CHUNKED_BAD)
        FUZZ_HTTP_CHECK(*consumed > 0);
    return st;
}

/* Decode body[0..len) whole and in pieces; returns how much the body took on DONE, or -1. */
static long fuzz_http_chunked(const char *body, size_t len, unsigned seed)
{
    struct http_chunked c;
    size_t consumed, out_len;

    /* Whole. */
    char *whole = fuzz_http_dup(body, len);
    http_chunked_init(&c);
    enum http_chunked_status want = fuzz_http_decode(&c, whole, len, &consumed, &out_len);
    size_t want_consumed = consumed, want_len = out_len;

    /* The reference reads the same body the same way. */
    struct fuzz_http_out ref = {0};
    size_t ref_at;
    FUZZ_HTTP_CHECK(fuzz_http_ref_chunked(body, len, &ref_at, &ref) == want);
    FUZZ_HTTP_CHECK(ref_at == want_consumed && ref.len == want_len);
    FUZZ_HTTP_CHECK(!want_len || memcmp(ref.p, whole, want_len) == 0);
    free(ref.p);
    if (want == HTTP_CHUNKED_DONE) {
        /* Once finished it takes nothing more. */
        size_t c2, o2;
        FUZZ_HTTP_CHECK(fuzz_http_decode(&c, whole + consumed, len - consumed, &c2, &o2) ==
                            HTTP_CHUNKED_DONE &&
                        c2 == 0 && o2 == 0);
    }

    /* In pieces, each in a buffer of its own, their sizes from a small generator. */
    struct fuzz_http_out out = {0};
    uint32_t x = seed * 2654435761u + 1;
    size_t at = 0, total = 0;
    enum http_chunked_status st = HTTP_CHUNKED_AGAIN;
    http_chunked_init(&c);
    while (at < len || (at == 0 && len == 0)) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t n = 1 + x % ((seed & 0x3f) + 1);
        if ((seed & 0x40) && (x & 1))
            n = 0; /* an empty read now and then */
        if (n > len - at)
            n = len - at;
        char *piece = fuzz_http_dup(body + at, n);
        st = fuzz_http_decode(&c, piece, n, &consumed, &out_len);
        fuzz_http_out_add(&out, piece, out_len);
        free(piece);
        total += consumed;
        at += n;
        if (st != HTTP_CHUNKED_AGAIN || len == 0)
            break;
    }
    FUZZ_HTTP_CHECK(st == want && total == want_consumed);
    FUZZ_HTTP_CHECK(out.len == want_len && (!want_len || memcmp(out.p, whole, want_len) == 0));
    free(out.p);
    free(whole);
    return want == HTTP_CHUNKED_DONE ? (long)want_consumed : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t split_sel = (size_t)data[0] | (size_t)data[1] << 8;
    unsigned seed = data[2];
    const char *stream = (const char *)data + 3;
    size_t len = size - 3, at = 0;

    for (int req = 0; req < FUZZ_HTTP_MAX_REQUESTS && at <= len; req++) {
        size_t rlen = len - at;
        char *buf = fuzz_http_dup(stream + at, rlen);
        struct http_request_head h;
        size_t consumed;
        enum http_parse_status st = fuzz_http_parse_whole(buf, rlen, &h, &consumed);
        if (st == HTTP_PARSE_DONE)
            fuzz_http_check_head(&h, buf, rlen, consumed);
        fuzz_http_parse_split(buf, rlen, split_sel % (rlen + 1), st, &h, consumed);
        fuzz_http_parse_stepped(buf, rlen, (seed % 97) + 1, st, &h, consumed);
        if (st != HTTP_PARSE_DONE) {
            free(buf);
            break;
        }
        size_t next;
        if (h.chunked) {
            long took = fuzz_http_chunked(buf + consumed, rlen - consumed, seed);
            next = took < 0 ? rlen + 1 : consumed + (size_t)took;
        } else if (h.has_content_length) {
            next = h.content_length <= rlen - consumed ? consumed + (size_t)h.content_length
                                                       : rlen + 1;
        } else {
            next = consumed;
        }
        free(buf);
        if (next > rlen)
            break;
        at += next;
        if (next == rlen)
            break; /* nothing left for another head */
    }
    return 0;
}
