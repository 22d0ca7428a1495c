/*
 * Unit tests for server/http/parse.c: the resumable request-head parser and the chunked body
 * decoder. The parser must give the same answer however the bytes are split across recvs, so
 * most tests replay one stream at every split point (and one byte at a time) through a small
 * connection simulator and compare with a parse of the whole.
 */
#include "server/http/parse.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_MAX_REQS 4
#define SIM_FIELD    128

/* What one request in a simulated connection turned out to be, copied out of the buffer. */
struct sim_req {
    char method[SIM_FIELD];
    char path[SIM_FIELD];
    char query[SIM_FIELD];
    char host[SIM_FIELD];
    size_t header_count;
    bool keep_alive;
    bool chunked;
    char body[SIM_FIELD];
    size_t body_len;
};

static void copy_view(char *dst, struct http_view v)
{
    cr_assert_lt(v.len, SIM_FIELD);
    memcpy(dst, v.p, v.len);
    dst[v.len] = '\0';
}

enum sim_phase { SIM_HEAD, SIM_BODY_LENGTH, SIM_BODY_CHUNKED };

/*
 * Run stream through parser and decoder, delivering it in pieces that end at cuts[] (the last
 * piece ends at len). Returns how many requests completed; every status must be AGAIN or DONE.
 */
static size_t sim_run(const char *stream, size_t len, const size_t *cuts, size_t ncuts,
                      struct sim_req *out)
{
    char *buf = malloc(len + 1);
    cr_assert_not_null(buf);
    memcpy(buf, stream, len);

    struct http_parser p;
    struct http_chunked ch;
    struct http_request_head head;
    enum sim_phase phase = SIM_HEAD;
    uint64_t body_left = 0;
    size_t pos = 0, nreq = 0;

    http_parser_init(&p);
    memset(out, 0, sizeof(*out) * SIM_MAX_REQS);
    for (size_t piece = 0; piece <= ncuts; piece++) {
        size_t have = piece < ncuts ? cuts[piece] : len;
        for (;;) {
            struct sim_req *r = &out[nreq];
            if (phase == SIM_HEAD) {
                size_t consumed = 0;
                enum http_parse_status st =
                    http_parse_head(&p, buf + pos, have - pos, &head, &consumed);
                if (st == HTTP_PARSE_AGAIN)
                    break;
                cr_assert_eq(st, HTTP_PARSE_DONE, "status %d at request %zu", st, nreq);
                cr_assert_lt(nreq, SIM_MAX_REQS);
                copy_view(r->method, head.method);
                copy_view(r->path, head.path);
                copy_view(r->query, head.query);
                const struct http_header *host = http_find_header(&head, "Host");
                if (host)
                    copy_view(r->host, host->value);
                r->header_count = head.header_count;
                r->keep_alive = head.keep_alive;
                r->chunked = head.chunked;
                pos += consumed;
                if (head.chunked) {
                    http_chunked_init(&ch);
                    phase = SIM_BODY_CHUNKED;
                } else if (head.content_length > 0) {
                    body_left = head.content_length;
                    phase = SIM_BODY_LENGTH;
                } else {
                    nreq++;
                    http_parser_init(&p);
                }
            } else if (phase == SIM_BODY_LENGTH) {
                size_t n = have - pos;
                if (n == 0)
                    break;
                if (n > body_left)
                    n = (size_t)body_left;
                cr_assert_lt(r->body_len + n, SIM_FIELD);
                memcpy(r->body + r->body_len, buf + pos, n);
                r->body_len += n;
                pos += n;
                body_left -= n;
                if (body_left == 0) {
                    nreq++;
                    http_parser_init(&p);
                    phase = SIM_HEAD;
                }
            } else {
                if (have == pos)
                    break;
                size_t consumed = 0, out_len = 0;
                enum http_chunked_status st =
                    http_chunked_decode(&ch, buf + pos, have - pos, &consumed, &out_len);
                cr_assert_neq(st, HTTP_CHUNKED_BAD);
                cr_assert_leq(out_len, consumed);
                cr_assert_lt(r->body_len + out_len, SIM_FIELD);
                memcpy(r->body + r->body_len, buf + pos, out_len);
                r->body_len += out_len;
                pos += consumed;
                if (st == HTTP_CHUNKED_AGAIN) {
                    cr_assert_eq(pos, have);
                    break;
                }
                nreq++;
                http_parser_init(&p);
                phase = SIM_HEAD;
            }
        }
    }
    cr_assert_eq(pos, len, "stream not fully consumed: %zu of %zu", pos, len);
    free(buf);
    return nreq;
}

static void sim_assert_same(const struct sim_req *a, const struct sim_req *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(a[i].method, b[i].method);
        cr_assert_str_eq(a[i].path, b[i].path);
        cr_assert_str_eq(a[i].query, b[i].query);
        cr_assert_str_eq(a[i].host, b[i].host);
        cr_assert_eq(a[i].header_count, b[i].header_count);
        cr_assert_eq(a[i].keep_alive, b[i].keep_alive);
        cr_assert_eq(a[i].chunked, b[i].chunked);
        cr_assert_eq(a[i].body_len, b[i].body_len);
        cr_assert_eq(memcmp(a[i].body, b[i].body, a[i].body_len), 0);
    }
}

/* Three pipelined requests: plain GET, PUT with Content-Length, chunked PUT (bare-LF head). */
static const char pipeline[] = "GET /bucket/key?versionId=3 HTTP/1.1\r\n"
                               "Host: s3.local\r\n"
                               "Range: bytes=0-9\r\n"
                               "\r\n"
                               "PUT /bucket/obj HTTP/1.1\r\n"
                               "Host: s3.local\r\n"
                               "Content-Length: 5\r\n"
                               "Expect: 100-continue\r\n"
                               "\r\n"
                               "hello"
                               "PUT /b/c HTTP/1.1\n"
                               "Host: s3.local\n"
                               "Transfer-Encoding: chunked\n"
                               "Connection: close\n"
                               "\n"
                               "4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n";

static void pipeline_check(const struct sim_req *r)
{
    cr_assert_str_eq(r[0].method, "GET");
    cr_assert_str_eq(r[0].path, "/bucket/key");
    cr_assert_str_eq(r[0].query, "versionId=3");
    cr_assert_str_eq(r[0].host, "s3.local");
    cr_assert_eq(r[0].header_count, 2);
    cr_assert(r[0].keep_alive);
    cr_assert_str_eq(r[1].method, "PUT");
    cr_assert_eq(r[1].body_len, 5);
    cr_assert_eq(memcmp(r[1].body, "hello", 5), 0);
    cr_assert_str_eq(r[2].path, "/b/c");
    cr_assert(r[2].chunked);
    cr_assert_not(r[2].keep_alive);
    cr_assert_eq(r[2].body_len, 9);
    cr_assert_eq(memcmp(r[2].body, "Wikipedia", 9), 0);
}

Test(http_parse, pipeline_whole)
{
    struct sim_req r[SIM_MAX_REQS];
    cr_assert_eq(sim_run(pipeline, sizeof(pipeline) - 1, NULL, 0, r), 3);
    pipeline_check(r);
}

Test(http_parse, pipeline_every_split_point)
{
    size_t len = sizeof(pipeline) - 1;
    struct sim_req whole[SIM_MAX_REQS], r[SIM_MAX_REQS];
    cr_assert_eq(sim_run(pipeline, len, NULL, 0, whole), 3);
    for (size_t k = 0; k <= len; k++) {
        cr_assert_eq(sim_run(pipeline, len, &k, 1, r), 3, "split at %zu", k);
        sim_assert_same(whole, r, 3);
    }
}

Test(http_parse, pipeline_every_pair_of_split_points)
{
    /* The first two requests only, to keep the O(n^2) loop quick. */
    size_t len = strstr(pipeline, "PUT /b/c") - pipeline;
    struct sim_req whole[SIM_MAX_REQS], r[SIM_MAX_REQS];
    cr_assert_eq(sim_run(pipeline, len, NULL, 0, whole), 2);
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            size_t cuts[2] = {a, b};
            cr_assert_eq(sim_run(pipeline, len, cuts, 2, r), 2, "split at %zu,%zu", a, b);
            sim_assert_same(whole, r, 2);
        }
    }
}

Test(http_parse, pipeline_one_byte_at_a_time)
{
    size_t len = sizeof(pipeline) - 1;
    size_t *cuts = malloc(len * sizeof(*cuts));
    cr_assert_not_null(cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    struct sim_req r[SIM_MAX_REQS];
    cr_assert_eq(sim_run(pipeline, len, cuts, len, r), 3);
    pipeline_check(r);
    free(cuts);
}

/* Parse all of s in one call with a fresh parser. */
static enum http_parse_status parse_str(const char *s, struct http_request_head *h,
                                        size_t *consumed)
{
    struct http_parser p;
    http_parser_init(&p);
    return http_parse_head(&p, s, strlen(s), h, consumed);
}

Test(http_parse, simple_get_fields)
{
    static struct http_request_head h;
    size_t consumed = 0;
    const char *s = "GET /b/k HTTP/1.1\r\nHost: x\r\nX-Amz-Date:   20261124T101500Z \t\r\n\r\nrest";
    cr_assert_eq(parse_str(s, &h, &consumed), HTTP_PARSE_DONE);
    cr_assert_eq(consumed, strlen(s) - 4);
    cr_assert_eq(h.minor_version, 1);
    cr_assert_eq(h.target.len, 4);
    cr_assert_eq(memcmp(h.target.p, "/b/k", 4), 0);
    cr_assert_eq(h.query.len, 0);
    const struct http_header *d = http_find_header(&h, "x-amz-date");
    cr_assert_not_null(d);
    cr_assert_eq(d->value.len, 16);
    cr_assert_eq(memcmp(d->value.p, "20261124T101500Z", 16), 0);
    cr_assert_eq(d->name.len, 10);
    cr_assert_null(http_find_header(&h, "x-amz-dat"));
    cr_assert_not(h.has_content_length);
    cr_assert_not(h.chunked);
}

Test(http_parse, one_byte_at_a_time_scans_each_byte_once)
{
    static struct http_request_head h;
    const char *s = "PUT /a?b=c&d HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n";
    size_t len = strlen(s), consumed = 0, prev = 0;
    struct http_parser p;
    http_parser_init(&p);
    for (size_t n = 1; n < len; n++) {
        cr_assert_eq(http_parse_head(&p, s, n, &h, &consumed), HTTP_PARSE_AGAIN, "at %zu", n);
        cr_assert_geq(p.scanned, prev);
        cr_assert_leq(p.scanned, n);
        cr_assert_geq(p.scanned + 1, n); /* only a trailing CR may be left for next time */
        prev = p.scanned;
    }
    cr_assert_eq(http_parse_head(&p, s, len, &h, &consumed), HTTP_PARSE_DONE);
    cr_assert_eq(consumed, len);
    cr_assert_eq(h.content_length, 12);
    cr_assert_eq(h.query.len, 5);
    cr_assert_eq(memcmp(h.query.p, "b=c&d", 5), 0);
}

Test(http_parse, cr_at_end_of_buffer_waits_for_lf)
{
    static struct http_request_head h;
    const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    struct http_parser p;
    size_t consumed;
    http_parser_init(&p);
    cr_assert_eq(http_parse_head(&p, s, 15, &h, &consumed), HTTP_PARSE_AGAIN);
    cr_assert_eq(p.scanned, 14);
    cr_assert_eq(http_parse_head(&p, s, strlen(s), &h, &consumed), HTTP_PARSE_DONE);
    cr_assert_eq(consumed, strlen(s));
}

Test(http_parse, leading_empty_lines_skipped)
{
    static struct http_request_head h;
    size_t consumed;
    const char *s = "\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    cr_assert_eq(parse_str(s, &h, &consumed), HTTP_PARSE_DONE);
    cr_assert_eq(consumed, strlen(s));
    cr_assert_eq(h.method.len, 3);
    cr_assert_eq(memcmp(h.method.p, "GET", 3), 0);
}

Test(http_parse, bare_lf_line_ends)
{
    static struct http_request_head h;
    size_t consumed;
    const char *s = "GET /x HTTP/1.0\nHost: h\nConnection: Keep-Alive\n\n";
    cr_assert_eq(parse_str(s, &h, &consumed), HTTP_PARSE_DONE);
    cr_assert_eq(consumed, strlen(s));
    cr_assert_eq(h.minor_version, 0);
    cr_assert(h.keep_alive);
    cr_assert_eq(h.header_count, 2);
}

Test(http_parse, absolute_form_target)
{
    static struct http_request_head h;
    size_t consumed;
    cr_assert_eq(
        parse_str("GET http://s3.local:9000/b/k?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", &h, &consumed),
        HTTP_PARSE_DONE);
    cr_assert_eq(h.path.len, 4);
    cr_assert_eq(memcmp(h.path.p, "/b/k", 4), 0);
    cr_assert_eq(h.query.len, 3);
    cr_assert_eq(memcmp(h.query.p, "x=1", 3), 0);
    cr_assert_eq(h.target.len, strlen("http://s3.local:9000/b/k?x=1"));

    cr_assert_eq(
        parse_str("GET HTTPS://host?list-type=2 HTTP/1.1\r\nHost: a\r\n\r\n", &h, &consumed),
        HTTP_PARSE_DONE);
    cr_assert_eq(h.path.len, 1);
    cr_assert_eq(h.path.p[0], '/');
    cr_assert_eq(h.query.len, 11);

    cr_assert_eq(parse_str("GET http://host HTTP/1.1\r\nHost: a\r\n\r\n", &h, &consumed),
                 HTTP_PARSE_DONE);
    cr_assert_eq(h.path.len, 1);
    cr_assert_eq(h.query.len, 0);
}

Test(http_parse, asterisk_only_for_options)
{
    static struct http_request_head h;
    size_t consumed;
    cr_assert_eq(parse_str("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &h, &consumed),
                 HTTP_PARSE_DONE);
    cr_assert_eq(h.path.len, 1);
    cr_assert_eq(h.path.p[0], '*');
    cr_assert_eq(parse_str("GET * HTTP/1.1\r\nHost: a\r\n\r\n", &h, &consumed),
                 HTTP_PARSE_BAD_REQUEST);
}

Test(http_parse, keep_alive_rules)
{
    static const struct {
        const char *head;
        bool keep_alive;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, Close\r\n\r\n", false},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true},
        {"GET / HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: close\r\n\r\n", false},
        {"GET / HTTP/1.0\r\n\r\n", false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: foo ,KEEP-ALIVE \r\n\r\n", true},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false},
    };
    static struct http_request_head h;
    size_t consumed;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(parse_str(cases[i].head, &h, &consumed), HTTP_PARSE_DONE, "case %zu", i);
        cr_assert_eq(h.keep_alive, cases[i].keep_alive, "case %zu", i);
    }
}

Test(http_parse, expect_continue)
{
    static struct http_request_head h;
    size_t consumed;
    cr_assert_eq(
        parse_str("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
                  &h, &consumed),
        HTTP_PARSE_DONE);
    cr_assert(h.expect_continue);
    cr_assert_eq(
        parse_str("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 101-continue\r\n\r\n", &h, &consumed),
        HTTP_PARSE_DONE);
    cr_assert_not(h.expect_continue);
    /* RFC 7231 5.1.1: ignored from HTTP/1.0 clients. */
    cr_assert_eq(parse_str("PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &h, &consumed),
                 HTTP_PARSE_DONE);
    cr_assert_not(h.expect_continue);
}

Test(http_parse, content_length_rules)
{
    static struct http_request_head h;
    size_t consumed;
    cr_assert_eq(parse_str("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n"
                           "\r\n",
                           &h, &consumed),
                 HTTP_PARSE_DONE);
    cr_assert(h.has_content_length);
    cr_assert_eq(h.content_length, UINT64_MAX);
    cr_assert_eq(parse_str("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\ncontent-length: "
                           "7\r\n\r\n",
                           &h, &consumed),
                 HTTP_PARSE_DONE);
    cr_assert_eq(h.content_length, 7);
    cr_assert_eq(parse_str("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &h, &consumed),
                 HTTP_PARSE_DONE);
    cr_assert(h.has_content_length);
    cr_assert_eq(h.content_length, 0);
}

Test(http_parse, transfer_encoding_chunked)
{
    static struct http_request_head h;
    size_t consumed;
    cr_assert_eq(
        parse_str("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChunKed\r\n\r\n", &h, &consumed),
        HTTP_PARSE_DONE);
    cr_assert(h.chunked);
    cr_assert_not(h.has_content_length);
}

Test(http_parse, request_line_at_limit_is_accepted)
{
    static struct http_request_head h;
    size_t consumed;
    /* "GET /aaa... HTTP/1.1" exactly HTTP_MAX_REQUEST_LINE_BYTES long, then CRLF. */
    size_t line = HTTP_MAX_REQUEST_LINE_BYTES;
    char *s = malloc(line + 64);
    cr_assert_not_null(s);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', line - 5 - 9);
    memcpy(s + line - 9, " HTTP/1.1", 9);
    memcpy(s + line, "\r\nHost: a\r\n\r\n", 14);
    cr_assert_eq(parse_str(s, &h, &consumed), HTTP_PARSE_DONE);
    cr_assert_eq(h.target.len, line - 4 - 9);
    free(s);
}

Test(http_parse, request_line_over_limit_is_414_before_it_ends)
{
    static struct http_request_head h;
    size_t consumed;
    size_t n = HTTP_MAX_REQUEST_LINE_BYTES + 1;
    char *s = malloc(n);
    cr_assert_not_null(s);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', n - 5);
    struct http_parser p;
    http_parser_init(&p);
    cr_assert_eq(http_parse_head(&p, s, n - 1, &h, &consumed), HTTP_PARSE_AGAIN);
    cr_assert_eq(http_parse_head(&p, s, n, &h, &consumed), HTTP_PARSE_URI_TOO_LONG);
    free(s);
}

/* A head of exactly total bytes: request line, Host, one big X-Pad field, blank line. */
static char *make_head(size_t total)
{
    const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
    size_t pre_len = strlen(pre);
    char *s = malloc(total + 1);
    cr_assert_not_null(s);
    memcpy(s, pre, pre_len);
    memset(s + pre_len, 'p', total - pre_len - 4);
    memcpy(s + total - 4, "\r\n\r\n", 4);
    s[total] = '\0';
    return s;
}

Test(http_parse, head_at_limit_is_accepted)
{
    static struct http_request_head h;
    size_t consumed;
    char *s = make_head(HTTP_MAX_HEADER_BYTES);
    cr_assert_eq(parse_str(s, &h, &consumed), HTTP_PARSE_DONE);
    cr_assert_eq(consumed, HTTP_MAX_HEADER_BYTES);
    free(s);
}

Test(http_parse, head_over_limit_is_431)
{
    static struct http_request_head h;
    size_t consumed;
    char *s = make_head(HTTP_MAX_HEADER_BYTES + 1);
    cr_assert_eq(parse_str(s, &h, &consumed), HTTP_PARSE_HEADERS_TOO_LARGE);
    /* And as soon as the byte past the limit arrives, not only at the blank line. */
    struct http_parser p;
    http_parser_init(&p);
    cr_assert_eq(http_parse_head(&p, s, HTTP_MAX_HEADER_BYTES, &h, &consumed), HTTP_PARSE_AGAIN);
    cr_assert_eq(http_parse_head(&p, s, HTTP_MAX_HEADER_BYTES + 1, &h, &consumed),
                 HTTP_PARSE_HEADERS_TOO_LARGE);
    free(s);
}

Test(http_parse, leading_empty_lines_count_against_head_limit)
{
    static struct http_request_head h;
    size_t consumed;
    size_t n = HTTP_MAX_HEADER_BYTES + 1;
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (i % 2) ? '\n' : '\r';
    s[n] = '\0';
    cr_assert_eq(parse_str(s, &h, &consumed), HTTP_PARSE_HEADERS_TOO_LARGE);
    free(s);
}

/* "GET / HTTP/1.1", Host and then extra fields X-0.. so that there are count fields. */
static char *make_fields(size_t count)
{
    size_t cap = 64 + count * 16;
    char *s = malloc(cap);
    cr_assert_not_null(s);
    int n = snprintf(s, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
    size_t len = (size_t)n;
    for (size_t i = 1; i < count; i++)
        len += (size_t)snprintf(s + len, cap - len, "X-%zu: v\r\n", i);
    snprintf(s + len, cap - len, "\r\n");
    return s;
}

Test(http_parse, max_headers_is_accepted)
{
    static struct http_request_head h;
    size_t consumed;
    char *s = make_fields(HTTP_MAX_HEADERS);
    cr_assert_eq(parse_str(s, &h, &consumed), HTTP_PARSE_DONE);
    cr_assert_eq(h.header_count, HTTP_MAX_HEADERS);
    free(s);
}

Test(http_parse, too_many_headers_is_431)
{
    static struct http_request_head h;
    size_t consumed;
    char *s = make_fields(HTTP_MAX_HEADERS + 1);
    cr_assert_eq(parse_str(s, &h, &consumed), HTTP_PARSE_HEADERS_TOO_LARGE);
    /* Detected at the 101st line end, before the blank line arrives. */
    struct http_parser p;
    http_parser_init(&p);
    cr_assert_eq(http_parse_head(&p, s, strlen(s) - 2, &h, &consumed),
                 HTTP_PARSE_HEADERS_TOO_LARGE);
    free(s);
}

Test(http_parse, malformed_table)
{
    static const struct {
        const char *head;
        enum http_parse_status want;
    } cases[] = {
        /* request line */
        {" GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET /\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET x HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET ftp://h/x HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"CONNECT h:443 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / http/1.1\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.x\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/11\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.10\r\nHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP_PARSE_VERSION},
        {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", HTTP_PARSE_VERSION},
        {"GET / HTTP/0.9\r\nHost: a\r\n\r\n", HTTP_PARSE_VERSION},
        /* line ends and bytes never legal in a head */
        {"GET / HTTP/1.1\rHost: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", HTTP_PARSE_BAD_REQUEST},
        /* fields */
        {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tfolded\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\r\nX(y): v\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        /* Host (RFC 7230 5.4) */
        {"GET / HTTP/1.1\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        /* Content-Length */
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
         HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
         HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
         HTTP_PARSE_BAD_REQUEST},
        /* Transfer-Encoding */
        {"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
         HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
         "chunked\r\n\r\n",
         HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\n\r\n",
         HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
         HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         HTTP_PARSE_BAD_REQUEST},
        {"PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_PARSE_BAD_REQUEST},
    };
    static struct http_request_head h;
    size_t consumed;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(parse_str(cases[i].head, &h, &consumed), cases[i].want, "case %zu: %s", i,
                     cases[i].head);
    }
}

Test(http_parse, nul_byte_is_400)
{
    static struct http_request_head h;
    static const char s[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    struct http_parser p;
    size_t consumed;
    http_parser_init(&p);
    cr_assert_eq(http_parse_head(&p, s, sizeof(s) - 1, &h, &consumed), HTTP_PARSE_BAD_REQUEST);
}

Test(http_parse, obs_text_in_values_and_targets_passes)
{
    static struct http_request_head h;
    size_t consumed;
    cr_assert_eq(parse_str("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\nX-Amz-Meta-N: \xc3\xa9\t"
                           "v\r\n\r\n",
                           &h, &consumed),
                 HTTP_PARSE_DONE);
    const struct http_header *m = http_find_header(&h, "X-AMZ-META-N");
    cr_assert_not_null(m);
    cr_assert_eq(m->value.len, 4);
}

/* ---- chunked ---- */

/* Decode all of s (copied) in one call; out receives the data. */
static enum http_chunked_status chunk_str(const char *s, size_t len, char *out, size_t *out_len,
                                          size_t *consumed)
{
    struct http_chunked c;
    char *buf = malloc(len + 1);
    cr_assert_not_null(buf);
    memcpy(buf, s, len);
    http_chunked_init(&c);
    enum http_chunked_status st = http_chunked_decode(&c, buf, len, consumed, out_len);
    memcpy(out, buf, *out_len);
    free(buf);
    return st;
}

static const char chunked_body[] = "4\r\nWiki\r\n"
                                   "5;name=val;q=\"a b\"\r\npedia\r\n"
                                   "E \t;x\r\n in\r\n\r\nchunks.\r\n"
                                   "0;last\r\n"
                                   "X-Amz-Checksum-Crc32: AAAAAA==\r\n"
                                   "Empty:\r\n"
                                   "\r\n";
static const char chunked_data[] = "Wikipedia in\r\n\r\nchunks.";

Test(http_chunked, whole_body)
{
    char out[256];
    size_t out_len, consumed;
    size_t len = sizeof(chunked_body) - 1;
    cr_assert_eq(chunk_str(chunked_body, len, out, &out_len, &consumed), HTTP_CHUNKED_DONE);
    cr_assert_eq(consumed, len);
    cr_assert_eq(out_len, sizeof(chunked_data) - 1);
    cr_assert_eq(memcmp(out, chunked_data, out_len), 0);
}

/* Feed body in pieces ending at cuts[], collecting decoded data; returns the last status. */
static enum http_chunked_status chunk_pieces(const char *s, size_t len, const size_t *cuts,
                                             size_t ncuts, char *out, size_t *out_total)
{
    struct http_chunked c;
    char *buf = malloc(len + 1);
    cr_assert_not_null(buf);
    memcpy(buf, s, len);
    http_chunked_init(&c);
    size_t pos = 0;
    enum http_chunked_status st = HTTP_CHUNKED_AGAIN;
    *out_total = 0;
    for (size_t piece = 0; piece <= ncuts; piece++) {
        size_t end = piece < ncuts ? cuts[piece] : len;
        size_t consumed, out_len;
        st = http_chunked_decode(&c, buf + pos, end - pos, &consumed, &out_len);
        memcpy(out + *out_total, buf + pos, out_len);
        *out_total += out_len;
        pos += consumed;
        if (st != HTTP_CHUNKED_AGAIN)
            break;
        cr_assert_eq(pos, end);
    }
    free(buf);
    return st;
}

Test(http_chunked, every_split_point)
{
    size_t len = sizeof(chunked_body) - 1;
    char out[256];
    size_t out_len;
    for (size_t k = 0; k <= len; k++) {
        cr_assert_eq(chunk_pieces(chunked_body, len, &k, 1, out, &out_len), HTTP_CHUNKED_DONE,
                     "split at %zu", k);
        cr_assert_eq(out_len, sizeof(chunked_data) - 1);
        cr_assert_eq(memcmp(out, chunked_data, out_len), 0);
    }
}

Test(http_chunked, one_byte_at_a_time)
{
    size_t len = sizeof(chunked_body) - 1;
    size_t cuts[sizeof(chunked_body)];
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    char out[256];
    size_t out_len;
    cr_assert_eq(chunk_pieces(chunked_body, len, cuts, len, out, &out_len), HTTP_CHUNKED_DONE);
    cr_assert_eq(out_len, sizeof(chunked_data) - 1);
    cr_assert_eq(memcmp(out, chunked_data, out_len), 0);
}

Test(http_chunked, stops_after_trailers_for_pipelining)
{
    const char *s = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    char out[64];
    size_t out_len, consumed;
    cr_assert_eq(chunk_str(s, strlen(s), out, &out_len, &consumed), HTTP_CHUNKED_DONE);
    cr_assert_eq(consumed, strlen("3\r\nabc\r\n0\r\n\r\n"));
    cr_assert_eq(out_len, 3);
    cr_assert_eq(memcmp(out, "abc", 3), 0);
}

Test(http_chunked, empty_body)
{
    char out[8];
    size_t out_len, consumed;
    cr_assert_eq(chunk_str("0\r\n\r\n", 5, out, &out_len, &consumed), HTTP_CHUNKED_DONE);
    cr_assert_eq(out_len, 0);
    cr_assert_eq(consumed, 5);
}

Test(http_chunked, hex_sizes_and_leading_zeros)
{
    char body[64], out[64];
    size_t out_len, consumed;
    memset(body, 0, sizeof(body));
    const char *pre = "0000000000000000000000001A\r\n";
    memcpy(body, pre, strlen(pre));
    memset(body + strlen(pre), 'z', 26);
    memcpy(body + strlen(pre) + 26, "\r\n0\r\n\r\n", 7);
    size_t len = strlen(pre) + 26 + 7;
    cr_assert_eq(chunk_str(body, len, out, &out_len, &consumed), HTTP_CHUNKED_DONE);
    cr_assert_eq(out_len, 26);
}

Test(http_chunked, largest_size_accepted)
{
    char out[8];
    size_t out_len, consumed;
    const char *s = "ffffffffffffffff\r\nab";
    cr_assert_eq(chunk_str(s, strlen(s), out, &out_len, &consumed), HTTP_CHUNKED_AGAIN);
    cr_assert_eq(out_len, 2);
}

Test(http_chunked, size_overflow_is_bad)
{
    char out[8];
    size_t out_len, consumed;
    const char *s = "10000000000000000\r\n";
    cr_assert_eq(chunk_str(s, strlen(s), out, &out_len, &consumed), HTTP_CHUNKED_BAD);
    s = "fffffffffffffffff\r\n";
    cr_assert_eq(chunk_str(s, strlen(s), out, &out_len, &consumed), HTTP_CHUNKED_BAD);
}

Test(http_chunked, bad_framing_table)
{
    static const char *const cases[] = {
        "\r\n",                 /* no size */
        "g\r\n",                /* not hex */
        "-1\r\n",               /* sign */
        "+1\r\n",               /* sign */
        " 4\r\nWiki\r\n",       /* leading space */
        "0x4\r\nWiki\r\n",      /* C prefix */
        "4\nWiki\r\n",          /* bare LF after size */
        "4\rxWiki\r\n",         /* CR without LF */
        "4 5\r\n",              /* digits after BWS */
        "4;a\x01\r\n",          /* control char in extension */
        "4;a\nWiki\r\n",        /* bare LF after extension */
        "4\r\nWikiX\r\n",       /* data longer than its size */
        "4\r\nWiki\n0\r\n\r\n", /* bare LF after data */
        "4\r\nWiki\rX",         /* CR then junk after data */
        "0\r\n X: y\r\n\r\n",   /* obs-fold in trailers */
        "0\r\nX: y\n\r\n",      /* bare LF in trailers */
        "0\r\nX: \x01\r\n\r\n", /* control char in trailer */
        "0\r\n\rX",             /* CR without LF at the end */
        "0\r\n\n",              /* bare LF as the final line */
    };
    char out[64];
    size_t out_len, consumed;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(chunk_str(cases[i], strlen(cases[i]), out, &out_len, &consumed),
                     HTTP_CHUNKED_BAD, "case %zu", i);
    }
}

/* A chunk-size line of "1;" plus ext_len extension bytes, then one data byte and the end. */
static enum http_chunked_status chunk_with_ext(size_t ext_len)
{
    size_t len = 2 + ext_len + 2 + 1 + 2 + 5;
    char *s = malloc(len);
    cr_assert_not_null(s);
    memcpy(s, "1;", 2);
    memset(s + 2, 'e', ext_len);
    memcpy(s + 2 + ext_len, "\r\nx\r\n0\r\n\r\n", 10);
    char out[8];
    size_t out_len, consumed;
    enum http_chunked_status st = chunk_str(s, len, out, &out_len, &consumed);
    free(s);
    return st;
}

Test(http_chunked, size_line_capped_at_4k)
{
    cr_assert_eq(chunk_with_ext(4096 - 2), HTTP_CHUNKED_DONE);
    cr_assert_eq(chunk_with_ext(4096 - 1), HTTP_CHUNKED_BAD);
}

static enum http_chunked_status chunk_with_trailer(size_t line_len)
{
    size_t len = 3 + line_len + 2 + 2;
    char *s = malloc(len);
    cr_assert_not_null(s);
    memcpy(s, "0\r\n", 3);
    memcpy(s + 3, "X:", 2);
    memset(s + 5, 't', line_len - 2);
    memcpy(s + 3 + line_len, "\r\n\r\n", 4);
    char out[8];
    size_t out_len, consumed;
    enum http_chunked_status st = chunk_str(s, len, out, &out_len, &consumed);
    free(s);
    return st;
}

Test(http_chunked, trailer_line_capped_at_4k)
{
    cr_assert_eq(chunk_with_trailer(4096), HTTP_CHUNKED_DONE);
    cr_assert_eq(chunk_with_trailer(4097), HTTP_CHUNKED_BAD);
}

Test(http_chunked, many_trailers_each_under_cap)
{
    /* The cap is per line, so many short trailer lines are fine. */
    char s[4096 * 3];
    size_t len = 0;
    len += (size_t)snprintf(s + len, sizeof(s) - len, "0\r\n");
    for (int i = 0; i < 1000 && len + 16 < sizeof(s); i++)
        len += (size_t)snprintf(s + len, sizeof(s) - len, "T%d: v\r\n", i);
    len += (size_t)snprintf(s + len, sizeof(s) - len, "\r\n");
    char out[8];
    size_t out_len, consumed;
    cr_assert_eq(chunk_str(s, len, out, &out_len, &consumed), HTTP_CHUNKED_DONE);
    cr_assert_eq(consumed, len);
}
