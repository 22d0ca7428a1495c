/*
 * parse: incremental HTTP/1.1 request-head parser and chunked body decoder (see parse.h).
 *
 * The head is parsed in two steps. A resumable scan walks only the bytes it has not seen,
 * finding line ends, enforcing the size limits (414/431) as early as possible and rejecting the
 * bytes that are never legal (NUL, bare CR). Once the blank line is found the whole head is
 * parsed once, into views that point into the caller's buffer. So a head that trickles in one
 * byte per recv costs O(n), and the field parser never sees an incomplete head.
 *
 * The chunked decoder is a byte-driven state machine (nginx src/http/ngx_http_parse.c
 * ngx_http_parse_chunked does the same) that compacts data bytes in place.
 */
#include "parse.h"

#include <string.h>

/* Where the resumable scan is (struct http_parser._state). */
enum http_head_state {
    HTTP_HEAD_EMPTY_LINES = 0, /* skipping empty lines before the request line */
    HTTP_HEAD_REQUEST_LINE,    /* inside the request line */
    HTTP_HEAD_FIELDS,          /* inside the header section */
};

#define HTTP_CHUNK_LINE_MAX_BYTES 4096 /* one chunk-size line or trailer line: over -> BAD */

/* The path of an absolute-form target with no path part ("http://host?x" means "/"). */
static const char http_root_path[] = "/";

void http_parser_init(struct http_parser *p)
{
    p->scanned = 0;
    p->_state = HTTP_HEAD_EMPTY_LINES;
    p->_start = 0;
    p->_line_start = 0;
    p->_field_lines = 0;
}

/* tchar, RFC 7230 3.2.6: the characters of methods and field names. */
static bool http_is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static char http_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool http_view_ieq(const char *p, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (http_lower(p[i]) != http_lower(lit[i]))
            return false;
    }
    return true;
}

static bool http_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Strip OWS from both ends of p[0..*len). */
static const char *http_trim(const char *p, size_t *len)
{
    size_t n = *len;
    while (n > 0 && http_is_ows(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && http_is_ows(p[n - 1]))
        n--;
    *len = n;
    return p;
}

/*
 * Split the request-target into path and query. Origin-form "/p?q", "*" for OPTIONS only
 * (RFC 7230 5.3.4) and absolute-form "http://authority/p?q", which RFC 7230 5.3.2 says a server
 * MUST accept; its authority is dropped (Host still names the bucket for virtual-host style).
 */
static int http_split_target(struct http_request_head *h)
{
    const char *t = h->target.p;
    size_t n = h->target.len;
    size_t path_at;

    if (n == 1 && t[0] == '*') {
        /* Methods are case-sensitive (RFC 7230 3.1.1). */
        if (h->method.len != 7 || memcmp(h->method.p, "OPTIONS", 7) != 0)
            return -1;
        h->path = h->target;
        h->query.p = t + n;
        h->query.len = 0;
        return 0;
    }
    if (t[0] == '/') {
        path_at = 0;
    } else {
        size_t scheme;
        if (n >= 7 && http_view_ieq(t, 7, "http://"))
            scheme = 7;
        else if (n >= 8 && http_view_ieq(t, 8, "https://"))
            scheme = 8;
        else
            return -1;
        path_at = scheme;
        while (path_at < n && t[path_at] != '/' && t[path_at] != '?')
            path_at++;
        if (path_at == scheme) /* empty authority */
            return -1;
    }

    size_t q = path_at;
    while (q < n && t[q] != '?')
        q++;
    if (q == path_at) {
        h->path.p = http_root_path;
        h->path.len = 1;
    } else {
        h->path.p = t + path_at;
        h->path.len = q - path_at;
    }
    if (q < n) {
        h->query.p = t + q + 1;
        h->query.len = n - q - 1;
    } else {
        h->query.p = t + n;
        h->query.len = 0;
    }
    return 0;
}

/* "METHOD SP target SP HTTP/1.x"; line excludes its CRLF. */
static enum http_parse_status http_parse_request_line(const char *line, size_t len,
                                                      struct http_request_head *h)
{
    size_t i = 0;

    while (i < len && http_is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= len || line[i] != ' ')
        return HTTP_PARSE_BAD_REQUEST;
    h->method.p = line;
    h->method.len = i;
    i++;

    /* Target: visible ASCII; bytes >= 0x80 pass as nginx lets them (clients should encode). */
    size_t t0 = i;
    while (i < len && line[i] != ' ') {
        unsigned char c = (unsigned char)line[i];
        if (c < 0x21 || c == 0x7f)
            return HTTP_PARSE_BAD_REQUEST;
        i++;
    }
    if (i == t0 || i >= len)
        return HTTP_PARSE_BAD_REQUEST;
    h->target.p = line + t0;
    h->target.len = i - t0;
    i++;

    /* HTTP-version is case-sensitive, "HTTP/" DIGIT "." DIGIT (RFC 7230 2.6). */
    const char *v = line + i;
    size_t vlen = len - i;
    if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return HTTP_PARSE_BAD_REQUEST;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return HTTP_PARSE_VERSION;
    h->minor_version = v[7] - '0';

    if (http_split_target(h) != 0)
        return HTTP_PARSE_BAD_REQUEST;
    return HTTP_PARSE_DONE;
}

/* "name:value" with no space before the colon (RFC 7230 3.2.4 says 400) and no obs-fold. */
static enum http_parse_status http_parse_field(const char *line, size_t len, struct http_header *f)
{
    size_t i = 0;

    while (i < len && http_is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i >= len || line[i] != ':')
        return HTTP_PARSE_BAD_REQUEST;
    f->name.p = line;
    f->name.len = i;

    /* field-vchar / obs-text / SP / HT; other controls (and DEL) are not legal values. */
    for (size_t j = i + 1; j < len; j++) {
        unsigned char c = (unsigned char)line[j];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return HTTP_PARSE_BAD_REQUEST;
    }
    size_t vlen = len - i - 1;
    f->value.p = http_trim(line + i + 1, &vlen);
    f->value.len = vlen;
    return HTTP_PARSE_DONE;
}

/* Digits only; anything else or a value past UINT64_MAX is an error (RFC 7230 3.3.3 item 4). */
static int http_parse_u64(const char *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Scan a Connection value, a comma list of case-insensitive tokens (RFC 7230 6.1). */
static void http_scan_connection(const struct http_view *v, bool *close, bool *keep_alive)
{
    size_t i = 0;
    while (i < v->len) {
        size_t j = i;
        while (j < v->len && v->p[j] != ',')
            j++;
        size_t n = j - i;
        const char *tok = http_trim(v->p + i, &n);
        if (http_view_ieq(tok, n, "close"))
            *close = true;
        else if (http_view_ieq(tok, n, "keep-alive"))
            *keep_alive = true;
        i = j + 1;
    }
}

/* Derive framing and connection facts from the parsed fields. */
static enum http_parse_status http_derive(struct http_request_head *h)
{
    bool conn_close = false, conn_keep_alive = false;
    size_t host_count = 0, te_count = 0;

    for (size_t i = 0; i < h->header_count; i++) {
        const struct http_header *f = &h->headers[i];
        const struct http_view *v = &f->value;

        if (http_view_ieq(f->name.p, f->name.len, "content-length")) {
            uint64_t cl;
            if (http_parse_u64(v->p, v->len, &cl) != 0)
                return HTTP_PARSE_BAD_REQUEST;
            /* Repeats that agree are harmless; ones that differ are a smuggling attempt. */
            if (h->has_content_length && h->content_length != cl)
                return HTTP_PARSE_BAD_REQUEST;
            h->has_content_length = true;
            h->content_length = cl;
        } else if (http_view_ieq(f->name.p, f->name.len, "transfer-encoding")) {
            /* We decode no coding but chunked, so "gzip, chunked" is as unknown as "gzip"
             * (RFC 7230 3.3.1: a server MAY answer 501; 400 keeps one error path). */
            if (!http_view_ieq(v->p, v->len, "chunked") || ++te_count > 1)
                return HTTP_PARSE_BAD_REQUEST;
            h->chunked = true;
        } else if (http_view_ieq(f->name.p, f->name.len, "connection")) {
            http_scan_connection(v, &conn_close, &conn_keep_alive);
        } else if (http_view_ieq(f->name.p, f->name.len, "expect")) {
            if (http_view_ieq(v->p, v->len, "100-continue"))
                h->expect_continue = true;
        } else if (http_view_ieq(f->name.p, f->name.len, "host")) {
            host_count++;
        }
    }

    /* RFC 7230 3.3.3 item 3: both framings at once is how requests get smuggled. */
    if (h->chunked && h->has_content_length)
        return HTTP_PARSE_BAD_REQUEST;
    /* RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means the framing is faulty. */
    if (h->chunked && h->minor_version == 0)
        return HTTP_PARSE_BAD_REQUEST;
    /* RFC 7230 5.4: a server MUST answer 400 to a 1.1 request without Host or with several. */
    if (host_count > 1 || (host_count == 0 && h->minor_version == 1))
        return HTTP_PARSE_BAD_REQUEST;
    /* RFC 7231 5.1.1: a server MUST ignore 100-continue from an HTTP/1.0 client. */
    if (h->minor_version == 0)
        h->expect_continue = false;

    if (h->minor_version == 1)
        h->keep_alive = !conn_close;
    else
        h->keep_alive = conn_keep_alive && !conn_close;
    return HTTP_PARSE_DONE;
}

/* Parse the complete head data[start..end), which ends with its blank line. */
static enum http_parse_status http_parse_complete(const char *data, size_t start, size_t end,
                                                  struct http_request_head *h)
{
    enum http_parse_status st;
    size_t i = start;
    bool first = true;

    h->header_count = 0;
    h->keep_alive = false;
    h->expect_continue = false;
    h->chunked = false;
    h->has_content_length = false;
    h->content_length = 0;

    for (;;) {
        const char *nl = memchr(data + i, '\n', end - i);
        /* The scan found the blank line, so every line here ends in LF. */
        size_t line_end = (size_t)(nl - data);
        size_t len = line_end - i;
        if (len > 0 && data[line_end - 1] == '\r')
            len--;
        const char *line = data + i;
        i = line_end + 1;

        if (first) {
            st = http_parse_request_line(line, len, h);
            if (st != HTTP_PARSE_DONE)
                return st;
            first = false;
            continue;
        }
        if (len == 0)
            break;
        /* obs-fold (RFC 7230 3.2.4): a server MUST reject it or unfold it; we reject. It also
         * catches whitespace between the request line and the first field. */
        if (http_is_ows(line[0]))
            return HTTP_PARSE_BAD_REQUEST;
        if (h->header_count == HTTP_MAX_HEADERS)
            return HTTP_PARSE_HEADERS_TOO_LARGE;
        st = http_parse_field(line, len, &h->headers[h->header_count]);
        if (st != HTTP_PARSE_DONE)
            return st;
        h->header_count++;
    }
    return http_derive(h);
}

enum http_parse_status http_parse_head(struct http_parser *p, const char *data, size_t len,
                                       struct http_request_head *head, size_t *consumed)
{
    size_t i = p->scanned;

    for (; i < len; i++) {
        char c = data[i];

        /* Byte index i makes the head at least i + 1 bytes long. */
        if (i >= HTTP_MAX_HEADER_BYTES)
            return HTTP_PARSE_HEADERS_TOO_LARGE;
        if (c == '\0')
            return HTTP_PARSE_BAD_REQUEST;
        if (c == '\r') {
            /* A CR is legal only right before LF (RFC 7230 3.5: bare CR is invalid). */
            if (i + 1 == len)
                break; /* decide when the next byte arrives */
            if (data[i + 1] != '\n')
                return HTTP_PARSE_BAD_REQUEST;
            continue;
        }

        switch (p->_state) {
        case HTTP_HEAD_EMPTY_LINES:
            if (c == '\n') {
                p->_start = i + 1;
                p->_line_start = i + 1;
                break;
            }
            p->_state = HTTP_HEAD_REQUEST_LINE;
            /* fall through */
        case HTTP_HEAD_REQUEST_LINE:
            if (c == '\n') {
                p->_state = HTTP_HEAD_FIELDS;
                p->_line_start = i + 1;
            } else if (i - p->_start >= HTTP_MAX_REQUEST_LINE_BYTES) {
                return HTTP_PARSE_URI_TOO_LONG;
            }
            break;
        case HTTP_HEAD_FIELDS:
            if (c != '\n')
                break;
            if (i == p->_line_start || (i == p->_line_start + 1 && data[p->_line_start] == '\r')) {
                enum http_parse_status st = http_parse_complete(data, p->_start, i + 1, head);
                if (st == HTTP_PARSE_DONE)
                    *consumed = i + 1;
                p->scanned = i + 1;
                return st;
            }
            if (++p->_field_lines > HTTP_MAX_HEADERS)
                return HTTP_PARSE_HEADERS_TOO_LARGE;
            p->_line_start = i + 1;
            break;
        }
    }
    p->scanned = i;
    return HTTP_PARSE_AGAIN;
}

const struct http_header *http_find_header(const struct http_request_head *head, const char *name)
{
    for (size_t i = 0; i < head->header_count; i++) {
        const struct http_header *f = &head->headers[i];
        if (http_view_ieq(f->name.p, f->name.len, name))
            return f;
    }
    return NULL;
}

/* Where the chunked decoder is (struct http_chunked.state). */
enum http_chunked_state {
    HTTP_CHUNKED_SIZE_FIRST = 0, /* expecting the first hex digit of a chunk size */
    HTTP_CHUNKED_SIZE,           /* more hex digits, or what follows them */
    HTTP_CHUNKED_SIZE_OWS,       /* BWS after the size, before ';' or CR */
    HTTP_CHUNKED_EXT,            /* inside chunk extensions, which we ignore */
    HTTP_CHUNKED_SIZE_LF,        /* CR seen after the size line, expecting LF */
    HTTP_CHUNKED_DATA,           /* copying remaining data bytes */
    HTTP_CHUNKED_DATA_CR,        /* expecting CR after the data */
    HTTP_CHUNKED_DATA_LF,        /* expecting LF after the data */
    HTTP_CHUNKED_TRAILER_START,  /* at the start of a trailer line or the final CRLF */
    HTTP_CHUNKED_TRAILER,        /* inside a trailer line, which we drop */
    HTTP_CHUNKED_TRAILER_LF,     /* CR seen after a trailer line, expecting LF */
    HTTP_CHUNKED_END_LF,         /* CR of the final empty line seen, expecting LF */
    HTTP_CHUNKED_FINISHED,       /* the body is over */
};

void http_chunked_init(struct http_chunked *c)
{
    c->state = HTTP_CHUNKED_SIZE_FIRST;
    c->remaining = 0;
    c->line_bytes = 0;
}

static int http_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Framing lines must end in CRLF here, unlike the head: a decoder that also takes bare LF (or
 * LF-less CR) reads chunk boundaries differently from a strict front proxy, which is the
 * "chunked smuggling" family (RFC 9112 7.1 allows no tolerance for chunk lines).
 */
enum http_chunked_status http_chunked_decode(struct http_chunked *c, char *buf, size_t len,
                                             size_t *consumed, size_t *out_len)
{
    size_t i = 0, w = 0;
    enum http_chunked_status rc = HTTP_CHUNKED_AGAIN;

    while (i < len) {
        if (c->state == HTTP_CHUNKED_FINISHED) {
            rc = HTTP_CHUNKED_DONE;
            break;
        }
        if (c->state == HTTP_CHUNKED_DATA) {
            size_t n = len - i;
            if ((uint64_t)n > c->remaining)
                n = (size_t)c->remaining;
            if (w != i)
                memmove(buf + w, buf + i, n);
            w += n;
            i += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = HTTP_CHUNKED_DATA_CR;
            continue;
        }

        char ch = buf[i++];
        /* Size, extension and trailer lines share the cap, counted without their CRLF. */
        if (ch != '\r' &&
            (c->state == HTTP_CHUNKED_SIZE_FIRST || c->state == HTTP_CHUNKED_SIZE ||
             c->state == HTTP_CHUNKED_SIZE_OWS || c->state == HTTP_CHUNKED_EXT ||
             c->state == HTTP_CHUNKED_TRAILER_START || c->state == HTTP_CHUNKED_TRAILER)) {
            if (++c->line_bytes > HTTP_CHUNK_LINE_MAX_BYTES)
                goto bad;
        }

        switch (c->state) {
        case HTTP_CHUNKED_SIZE_FIRST: {
            int d = http_hex_value(ch);
            if (d < 0)
                goto bad;
            c->remaining = (uint64_t)d;
            c->state = HTTP_CHUNKED_SIZE;
            break;
        }
        case HTTP_CHUNKED_SIZE:
            if (http_hex_value(ch) >= 0) {
                /* Leading zeros are fine; a 17th significant digit is not. */
                if (c->remaining > (UINT64_MAX >> 4))
                    goto bad;
                c->remaining = (c->remaining << 4) | (uint64_t)http_hex_value(ch);
                break;
            }
            /* The size is over: what follows it is judged as after BWS. */
            /* fall through */
        case HTTP_CHUNKED_SIZE_OWS:
            if (ch == '\r')
                c->state = HTTP_CHUNKED_SIZE_LF;
            else if (ch == ';')
                c->state = HTTP_CHUNKED_EXT;
            else if (http_is_ows(ch)) /* BWS before ';' (RFC 7230 4.1.1) */
                c->state = HTTP_CHUNKED_SIZE_OWS;
            else
                goto bad;
            break;
        case HTTP_CHUNKED_EXT:
            /* Extensions are ignored, but they are still text: no controls but HT. */
            if (ch == '\r')
                c->state = HTTP_CHUNKED_SIZE_LF;
            else if (((unsigned char)ch < 0x20 && ch != '\t') || ch == 0x7f)
                goto bad;
            break;
        case HTTP_CHUNKED_SIZE_LF:
            if (ch != '\n')
                goto bad;
            c->line_bytes = 0;
            c->state = c->remaining == 0 ? HTTP_CHUNKED_TRAILER_START : HTTP_CHUNKED_DATA;
            break;
        case HTTP_CHUNKED_DATA_CR:
            if (ch != '\r')
                goto bad;
            c->state = HTTP_CHUNKED_DATA_LF;
            break;
        case HTTP_CHUNKED_DATA_LF:
            if (ch != '\n')
                goto bad;
            c->state = HTTP_CHUNKED_SIZE_FIRST;
            break;
        case HTTP_CHUNKED_TRAILER_START:
            if (ch == '\r') {
                c->state = HTTP_CHUNKED_END_LF;
                break;
            }
            /* A trailer field line: same rules as a header line, but its content is dropped. */
            if (!http_is_tchar((unsigned char)ch))
                goto bad;
            c->state = HTTP_CHUNKED_TRAILER;
            break;
        case HTTP_CHUNKED_TRAILER:
            if (ch == '\r')
                c->state = HTTP_CHUNKED_TRAILER_LF;
            else if (((unsigned char)ch < 0x20 && ch != '\t') || ch == 0x7f)
                goto bad;
            break;
        case HTTP_CHUNKED_TRAILER_LF:
            if (ch != '\n')
                goto bad;
            c->line_bytes = 0;
            c->state = HTTP_CHUNKED_TRAILER_START;
            break;
        case HTTP_CHUNKED_END_LF:
            if (ch != '\n')
                goto bad;
            c->state = HTTP_CHUNKED_FINISHED;
            rc = HTTP_CHUNKED_DONE;
            goto out;
        default:
            goto bad;
        }
    }
    if (c->state == HTTP_CHUNKED_FINISHED)
        rc = HTTP_CHUNKED_DONE;
out:
    *consumed = i;
    *out_len = w;
    return rc;
bad:
    *consumed = i;
    *out_len = w;
    return HTTP_CHUNKED_BAD;
}
