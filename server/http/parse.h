/*
 * parse: incremental HTTP/1.1 request-head parser and chunked body decoder.
 *
 * The head parser is resumable: feed it the bytes received so far (the connection keeps them in
 * one bounded buffer); it remembers how far it scanned, so a head that arrives one byte at a time
 * costs O(n) overall, and it answers "need more" until the blank line arrives. Parsed fields are
 * views into that buffer (no copies), valid until the connection moves the buffer.
 */
#ifndef SERVER_HTTP_PARSE_H
#define SERVER_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADER_BYTES       (16 * 1024) /* whole head incl. request line: over -> 431 */
#define HTTP_MAX_REQUEST_LINE_BYTES (8 * 1024)  /* request line alone: over -> 414 */
#define HTTP_MAX_HEADERS            100         /* header fields: over -> 431 */

struct http_view {
    const char *p;
    size_t len;
};

struct http_header {
    struct http_view name;  /* as sent; compare case-insensitively */
    struct http_view value; /* leading/trailing spaces and tabs removed */
};

enum http_parse_status {
    HTTP_PARSE_DONE = 0,            /* head complete; *consumed = its length incl. blank line */
    HTTP_PARSE_AGAIN = 1,           /* need more bytes */
    HTTP_PARSE_BAD_REQUEST = -400,  /* malformed */
    HTTP_PARSE_URI_TOO_LONG = -414, /* request line over HTTP_MAX_REQUEST_LINE_BYTES */
    HTTP_PARSE_HEADERS_TOO_LARGE = -431,
    HTTP_PARSE_VERSION = -505, /* not HTTP/1.0 or HTTP/1.1 */
};

struct http_request_head {
    struct http_view method;
    struct http_view target; /* request-target as sent: "/bucket/key?query" */
    struct http_view path;   /* target up to '?' (still percent-encoded) */
    struct http_view query;  /* after '?', without it; len 0 when none */
    int minor_version;       /* 0 or 1 */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t header_count;

    /* Framing and connection facts derived from the headers. */
    bool keep_alive;      /* HTTP/1.1 default yes, "Connection: close" no; 1.0 needs keep-alive */
    bool expect_continue; /* "Expect: 100-continue" */
    bool chunked;         /* Transfer-Encoding: chunked (last coding) */
    bool has_content_length;
    uint64_t content_length;
};

struct http_parser {
    size_t scanned; /* bytes already searched for the end of the head */
    /* Private resume state, so a later call never rescans (STYLE.md 3: resumable parsers). */
    int _state;          /* HTTP_HEAD_* in parse.c: which line we are in */
    size_t _start;       /* offset of the request line (after skipped empty lines) */
    size_t _line_start;  /* offset of the line being scanned */
    size_t _field_lines; /* complete header lines so far */
};

void http_parser_init(struct http_parser *p);
/*
 * data/len: everything received for this request so far (starting at its first byte). On DONE,
 * *consumed is the head length and head is filled. Content-Length and chunked together, a bad
 * or duplicate differing Content-Length, or an unknown transfer coding -> BAD_REQUEST
 * (RFC 7230 3.3.3). Leading empty lines before the request line are skipped (RFC 7230 3.5).
 * Transfer-Encoding must be exactly "chunked" (we decode no other coding) and never in HTTP/1.0
 * (RFC 9112 6.1); an HTTP/1.1 request needs exactly one Host (RFC 7230 5.4). Line ends may be
 * CRLF or bare LF; a bare CR, a NUL or an obs-fold line is BAD_REQUEST. The parser must be
 * re-initialised (http_parser_init) before each request.
 */
enum http_parse_status http_parse_head(struct http_parser *p, const char *data, size_t len,
                                       struct http_request_head *head, size_t *consumed);

/* Case-insensitive header lookup: the first one named name, or NULL. */
const struct http_header *http_find_header(const struct http_request_head *head, const char *name);

/* Chunked request-body decoder (RFC 7230 4.1), resumable at any byte. */
struct http_chunked {
    int state;          /* private */
    uint64_t remaining; /* private: bytes left in the current chunk */
    size_t line_bytes;  /* private: bytes in the current size/trailer line, capped */
};

enum http_chunked_status {
    HTTP_CHUNKED_AGAIN = 1, /* all input consumed, more to come */
    HTTP_CHUNKED_DONE = 0,  /* last chunk and trailers read; *consumed stops after them */
    HTTP_CHUNKED_BAD = -1,  /* malformed or a size line/trailer over 4 KiB */
};

void http_chunked_init(struct http_chunked *c);
/*
 * Decode in place: data bytes are moved to the front of buf (so *out_len <= len), framing
 * dropped. *consumed tells how much of buf was used (less than len only on DONE).
 */
enum http_chunked_status http_chunked_decode(struct http_chunked *c, char *buf, size_t len,
                                             size_t *consumed, size_t *out_len);

#endif
