/*
 * conn: one HTTP/1.1 connection as an explicit state machine on its loop's io_uring.
 *
 *   CONN_READ_HEAD  -> head parsed -> CONN_READ_BODY (a body to drop) -> CONN_HANDLING
 *   CONN_HANDLING   -> response queued and sent -> CONN_READ_HEAD (keep-alive)
 *                                               -> CONN_LINGERING (close after our FIN)
 *   any             -> error, timeout, abort -> CONN_CLOSED -> freed when no op is in flight
 *
 * Only conn_set_state writes the state. Input arrives through one single-shot recv at a time
 * from the loop's provided-buffer ring; the bytes are copied into the connection's bounded
 * input buffer (a head may span many recvs) and the buffer goes straight back to the ring.
 * Output is a queue of segments (copied bytes, or page slices held by reference) sent with one
 * sendmsg in flight; the handler hears about progress so it can queue more (back-pressure).
 * One timer per connection, re-armed per phase (header, body, idle, send, linger).
 */
#include "conn.h"

#include "../../core/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum conn_state {
    CONN_READ_HEAD, /* waiting for (the rest of) a request head */
    CONN_READ_BODY, /* reading a request body to drop it */
    CONN_HANDLING,  /* the handler owns the exchange; its response may be sending */
    CONN_LINGERING, /* response sent and FIN sent: dropping input until EOF or timeout */
    CONN_CLOSED,    /* socket shut down: waiting for our ops to finish, then freed */
};

/* One piece of queued output. */
struct conn_segment {
    struct page *page; /* a page slice (ref held), or NULL for copied bytes in owned */
    char *owned;
    const char *base;
    size_t len;
};

struct conn {
    struct conn *prev, *next;
    struct http_server *server;
    int fd;
    enum conn_state state;
    unsigned ops_in_flight;

    struct loop_op recv_op;
    struct loop_op send_op;
    bool recv_armed;
    bool send_armed;
    bool peer_closed; /* recv saw EOF: no more requests */

    struct loop_timer timer;

    char *in;
    size_t in_len, in_cap;
    struct http_parser parser;
    struct http_request_head head;
    size_t head_len;

    /* Request body being read: kept for the handler (keep_body) or dropped. */
    bool body_chunked;
    bool keep_body;
    bool body_dropped;
    uint64_t body_left;
    struct http_chunked chunked;
    struct buf body;

    struct http_exchange x;
    bool exchange_active;  /* the handler may still write */
    bool response_started; /* head queued */
    bool response_queued;  /* every byte of the response queued */
    bool keep_alive;
    uint64_t body_expected, body_queued;

    struct conn_segment *out;
    size_t out_head, out_count, out_cap;
    uint64_t out_bytes;
    struct iovec iov[HTTP_SEND_IOV_MAX];
    struct msghdr msg;
};

atomic_uint http_open_connections;
static atomic_uint_fast64_t conn_serial;

#define conn_set_state(c, s) conn_set_state_at((c), (s), __LINE__)

static void conn_set_state_at(struct conn *c, enum conn_state s, int line)
{
    (void)line; /* kept for debugging: log_debug("conn %d: %d -> %d at %d") */
    c->state = s;
}

static struct conn *conn_of_exchange(const struct http_exchange *x)
{
    return (struct conn *)((char *)x - offsetof(struct conn, x));
}

static void conn_close(struct conn *c);
static void conn_arm_recv(struct conn *c);
static void conn_process_input(struct conn *c);
static void conn_flush(struct conn *c);

/* --- output queue ------------------------------------------------------------------------- */

static int conn_out_push(struct conn *c, struct page *page, char *owned, const char *base,
                         size_t len)
{
    if (c->out_head + c->out_count == c->out_cap) {
        if (c->out_head > 0) {
            memmove(c->out, c->out + c->out_head, c->out_count * sizeof(*c->out));
            c->out_head = 0;
        } else {
            size_t cap = c->out_cap ? c->out_cap * 2 : 16;
            struct conn_segment *out = realloc(c->out, cap * sizeof(*out));
            if (!out)
                return -ENOMEM;
            c->out = out;
            c->out_cap = cap;
        }
    }
    struct conn_segment *seg = &c->out[c->out_head + c->out_count++];
    seg->page = page;
    seg->owned = owned;
    seg->base = base;
    seg->len = len;
    c->out_bytes += len;
    return 0;
}

static void conn_segment_release(struct conn_segment *seg)
{
    page_unref(seg->page);
    free(seg->owned);
    seg->page = NULL;
    seg->owned = NULL;
}

static void conn_out_clear(struct conn *c)
{
    for (size_t i = 0; i < c->out_count; i++)
        conn_segment_release(&c->out[c->out_head + i]);
    c->out_head = c->out_count = 0;
    c->out_bytes = 0;
}

static int conn_queue_copy(struct conn *c, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    char *p = malloc(len);
    if (!p)
        return -ENOMEM;
    memcpy(p, data, len);
    int rc = conn_out_push(c, NULL, p, p, len);
    if (rc)
        free(p);
    return rc;
}

/* --- timers ---------------------------------------------------------------------------------- */

static void conn_send_error_and_close(struct conn *c, int status);

static void conn_timer_fire(struct loop_timer *t)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));
    switch (c->state) {
    case CONN_READ_HEAD:
        if (c->in_len == 0)
            conn_close(c); /* idle keep-alive connection */
        else
            conn_send_error_and_close(c, 408);
        return;
    case CONN_READ_BODY:
        conn_send_error_and_close(c, 408);
        return;
    case CONN_HANDLING:
        /* Only armed while a send is stalled: the client stopped reading. */
        log_debug("conn %d: send timeout", c->fd);
        conn_close(c);
        return;
    case CONN_LINGERING:
    case CONN_CLOSED:
        conn_close(c);
        return;
    }
}

static void conn_arm_timer(struct conn *c, uint64_t ms)
{
    loop_timer_arm(c->server->loop, &c->timer, ms);
}

/* --- closing and freeing ---------------------------------------------------------------- */

static void conn_free_deferred(void *arg)
{
    struct conn *c = arg;
    struct http_server *s = c->server;
    conn_out_clear(c);
    free(c->out);
    free(c->in);
    buf_free(&c->body);
    free(c);
    server_conn_gone(s);
}

static void conn_maybe_free(struct conn *c)
{
    if (c->state != CONN_CLOSED || c->ops_in_flight)
        return;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
        /* Unlink now: the server must not see it any more. */
        struct http_server *s = c->server;
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        s->conn_count--;
        atomic_fetch_sub(&http_open_connections, 1);
        loop_defer(s->loop, conn_free_deferred, c);
    }
}

/* Abort the exchange if the handler still owns it. */
static void conn_abort_exchange(struct conn *c)
{
    if (!c->exchange_active)
        return;
    c->exchange_active = false;
    if (c->x.on_abort)
        c->x.on_abort(&c->x);
}

/* Hard close: shut the socket so pending ops complete, free when they have. Idempotent. */
static void conn_close(struct conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    conn_set_state(c, CONN_CLOSED);
    loop_timer_cancel(c->server->loop, &c->timer);
    conn_abort_exchange(c);
    shutdown(c->fd, SHUT_RDWR);
    /* Queued output is released when the connection is freed: a sendmsg in flight may still
     * read it until its completion arrives. */
    conn_maybe_free(c);
}

/* Our response is out and the connection will not be reused: send FIN, then read and drop what
 * the client still sends, so closing does not reset the connection before it read our answer
 * (RFC 7230 6.6, nginx's lingering close). */
static void conn_linger(struct conn *c)
{
    conn_set_state(c, CONN_LINGERING);
    shutdown(c->fd, SHUT_WR);
    if (c->peer_closed) {
        conn_close(c);
        return;
    }
    c->in_len = 0;
    conn_arm_timer(c, HTTP_LINGER_MS);
    conn_arm_recv(c);
}

/* --- responses ------------------------------------------------------------------------------- */

static const char *conn_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 416:
        return "Requested Range Not Satisfiable";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

static bool conn_status_has_body(int status)
{
    return !(status < 200 || status == 204 || status == 304);
}

/* The response is fully queued: once it is sent, go on with the next request or close. */
static void conn_response_queued(struct conn *c)
{
    c->response_queued = true;
    c->exchange_active = false;
    conn_flush(c);
}

static int conn_write_head(struct conn *c, int status, const struct buf *headers,
                           uint64_t content_length)
{
    /* Pieces, not printf: this runs once per response (callgrind put vfprintf on top). */
    char status_digits[3] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                             (char)('0' + status % 10)};
    struct buf h;
    buf_init(&h, HTTP_MAX_HEADER_BYTES * 4);
    int rc = buf_append(&h, "HTTP/1.1 ", 9);
    if (!rc)
        rc = buf_append(&h, status_digits, 3);
    if (!rc)
        rc = buf_append_char(&h, ' ');
    if (!rc)
        rc = buf_append_str(&h, conn_reason(status));
    if (!rc)
        rc = buf_append(&h, "\r\n", 2);
    if (!rc)
        rc = buf_append_str(&h, server_date_line(c->server));
    if (!rc && headers && headers->len)
        rc = buf_append(&h, headers->data, headers->len);
    if (!rc && conn_status_has_body(status)) {
        rc = buf_append(&h, "Content-Length: ", 16);
        if (!rc)
            rc = buf_append_u64(&h, content_length);
        if (!rc)
            rc = buf_append(&h, "\r\n", 2);
    }
    if (!rc && !c->keep_alive)
        rc = buf_append_str(&h, "Connection: close\r\n");
    if (!rc)
        rc = buf_append_str(&h, "\r\n");
    if (!rc) {
        size_t len;
        char *p = buf_take(&h, &len);
        rc = p ? conn_out_push(c, NULL, p, p, len) : -ENOMEM;
        if (rc)
            free(p);
    }
    buf_free(&h);
    return rc;
}

int http_respond_head(struct http_exchange *x, int status, const struct buf *headers,
                      uint64_t content_length)
{
    struct conn *c = conn_of_exchange(x);
    if (!c->exchange_active || c->response_started)
        return -EINVAL;
    if (c->server->shutting_down || c->peer_closed)
        c->keep_alive = false;
    int rc = conn_write_head(c, status, headers, content_length);
    if (rc) {
        conn_close(c);
        return rc;
    }
    c->response_started = true;
    c->body_expected = conn_status_has_body(status) && !x->is_head_method ? content_length : 0;
    c->body_queued = 0;
    if (c->body_expected == 0)
        conn_response_queued(c);
    else
        conn_flush(c);
    return 0;
}

static int conn_body_check(struct conn *c, size_t len)
{
    if (!c->exchange_active || !c->response_started)
        return -EINVAL;
    if (len > c->body_expected - c->body_queued)
        return -E2BIG;
    return 0;
}

static void conn_body_advance(struct conn *c, size_t len)
{
    c->body_queued += len;
    if (c->body_queued == c->body_expected)
        conn_response_queued(c);
    else
        conn_flush(c);
}

int http_respond_copy(struct http_exchange *x, const void *data, size_t len)
{
    struct conn *c = conn_of_exchange(x);
    int rc = conn_body_check(c, len);
    if (rc)
        return rc;
    rc = conn_queue_copy(c, data, len);
    if (rc) {
        conn_close(c);
        return rc;
    }
    conn_body_advance(c, len);
    return 0;
}

int http_respond_page(struct http_exchange *x, struct page *page, uint32_t offset, uint32_t len)
{
    struct conn *c = conn_of_exchange(x);
    int rc = conn_body_check(c, len);
    if (rc)
        return rc;
    if ((uint64_t)offset + len > page->len)
        return -EINVAL;
    if (len) {
        rc = conn_out_push(c, page_ref(page), NULL, page->data + offset, len);
        if (rc) {
            page_unref(page);
            conn_close(c);
            return rc;
        }
    }
    conn_body_advance(c, len);
    return 0;
}

void http_respond_abort(struct http_exchange *x)
{
    struct conn *c = conn_of_exchange(x);
    c->exchange_active = false; /* the handler is done with x: no on_abort back to it */
    conn_close(c);
}

uint64_t http_queued_bytes(const struct http_exchange *x)
{
    return conn_of_exchange(x)->out_bytes;
}

/* A response for a request we refuse before any handler sees it; the connection closes after. */
static void conn_send_error_and_close(struct conn *c, int status)
{
    static const char *const codes[][2] = {
        {"400", "<Code>BadRequest</Code><Message>An error occurred when parsing the HTTP "
                "request.</Message>"},
        {"408", "<Code>RequestTimeout</Code><Message>Your socket connection to the server was "
                "not read from or written to within the timeout period.</Message>"},
        {"413", "<Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum "
                "allowed size.</Message>"},
        {"414", "<Code>RequestURITooLong</Code><Message>The request URI is too long.</Message>"},
        {"431", "<Code>RequestHeaderSectionTooLarge</Code><Message>Your request header section "
                "exceeds the maximum allowed size.</Message>"},
        {"505", "<Code>HttpVersionNotSupported</Code><Message>The HTTP version specified is "
                "not supported.</Message>"},
    };
    char code[16];
    snprintf(code, sizeof(code), "%d", status);
    const char *inner = codes[0][1];
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(codes[i][0], code) == 0)
            inner = codes[i][1];
    if (c->send_armed || c->response_started) {
        conn_close(c); /* part of another response is out already: nothing clean to say */
        return;
    }
    loop_timer_cancel(c->server->loop, &c->timer);
    conn_abort_exchange(c);
    conn_out_clear(c);
    c->keep_alive = false;
    struct buf body, headers;
    buf_init(&body, 4096);
    buf_init(&headers, 4096);
    uint64_t serial = atomic_fetch_add(&conn_serial, 1) + 1;
    int rc = buf_appendf(&body,
                         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>%s"
                         "<RequestId>%016llX</RequestId></Error>",
                         inner, (unsigned long long)serial);
    if (!rc)
        rc = buf_appendf(&headers, "Content-Type: application/xml\r\nx-amz-request-id: %016llX\r\n",
                         (unsigned long long)serial);
    if (!rc)
        rc = conn_write_head(c, status, &headers, body.len);
    if (!rc)
        rc = conn_queue_copy(c, body.data, body.len);
    buf_free(&body);
    buf_free(&headers);
    if (rc) {
        conn_close(c);
        return;
    }
    conn_set_state(c, CONN_HANDLING);
    c->response_started = true;
    c->response_queued = true;
    conn_flush(c);
}

/* --- sending ------------------------------------------------------------------------------ */

static void conn_send_complete(struct loop_op *op, int res, uint32_t flags);

/* Start a sendmsg for what is queued, if none is in flight; or finish the response. */
static void conn_flush(struct conn *c)
{
    if (c->state == CONN_CLOSED || c->send_armed)
        return;
    if (c->out_count == 0) {
        if (c->state == CONN_HANDLING && c->response_queued) {
            loop_timer_cancel(c->server->loop, &c->timer);
            if (c->keep_alive && !c->peer_closed && !c->server->shutting_down) {
                /* Next request: keep what the client pipelined after this one. */
                size_t used = c->head_len;
                memmove(c->in, c->in + used, c->in_len - used);
                c->in_len -= used;
                c->head_len = 0;
                c->response_started = c->response_queued = false;
                http_parser_init(&c->parser);
                conn_set_state(c, CONN_READ_HEAD);
                conn_process_input(c);
                conn_arm_recv(c); /* reading may have paused while the handler ran */
            } else {
                conn_linger(c);
            }
        }
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < c->out_count && n < HTTP_SEND_IOV_MAX; i++, n++) {
        c->iov[n].iov_base = (void *)c->out[c->out_head + i].base;
        c->iov[n].iov_len = c->out[c->out_head + i].len;
    }
    memset(&c->msg, 0, sizeof(c->msg));
    c->msg.msg_iov = c->iov;
    c->msg.msg_iovlen = n;
    struct io_uring_sqe *sqe = loop_sqe(c->server->loop);
    io_uring_prep_sendmsg(sqe, c->fd, &c->msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, &c->send_op);
    c->send_armed = true;
    c->ops_in_flight++;
    conn_arm_timer(c, c->server->cfg.send_timeout_ms);
}

static void conn_send_complete(struct loop_op *op, int res, uint32_t flags)
{
    (void)flags;
    struct conn *c = (struct conn *)((char *)op - offsetof(struct conn, send_op));
    c->send_armed = false;
    c->ops_in_flight--;
    if (c->state == CONN_CLOSED) {
        conn_maybe_free(c);
        return;
    }
    if (res < 0) {
        if (res == -EAGAIN || res == -EINTR) {
            conn_flush(c);
            return;
        }
        conn_close(c);
        return;
    }
    size_t sent = (size_t)res;
    c->out_bytes -= sent;
    while (sent && c->out_count) {
        struct conn_segment *seg = &c->out[c->out_head];
        if (sent < seg->len) {
            seg->base += sent;
            seg->len -= sent;
            break;
        }
        sent -= seg->len;
        conn_segment_release(seg);
        c->out_head++;
        c->out_count--;
    }
    if (c->out_count == 0)
        c->out_head = 0;
    /* Let the handler queue more before the next send, so sends carry more per call. */
    if (c->exchange_active && c->x.on_progress)
        c->x.on_progress(&c->x);
    if (c->state != CONN_CLOSED)
        conn_flush(c);
    else
        conn_maybe_free(c);
}

/* --- reading -------------------------------------------------------------------------------- */

static void conn_recv_complete(struct loop_op *op, int res, uint32_t flags);

static void conn_arm_recv(struct conn *c)
{
    if (c->recv_armed || c->state == CONN_CLOSED || c->peer_closed)
        return;
    /* While handling, read pipelined requests only as far as the buffer holds a whole recv
     * without moving (the handler holds views into it); they wait their turn otherwise. */
    if (c->state == CONN_HANDLING && c->in_cap - c->in_len < HTTP_RECV_BUFFER_BYTES)
        return;
    if (c->state != CONN_LINGERING && c->in_len >= HTTP_CONN_INPUT_MAX)
        return;
    struct io_uring_sqe *sqe = loop_sqe(c->server->loop);
    io_uring_prep_recv(sqe, c->fd, NULL, HTTP_RECV_BUFFER_BYTES, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = c->server->buf_group;
    io_uring_sqe_set_data(sqe, &c->recv_op);
    c->recv_armed = true;
    c->ops_in_flight++;
}

static void conn_rearm_recv_deferred(void *arg)
{
    struct conn *c = arg;
    c->ops_in_flight--; /* the hold taken when the re-arm was deferred */
    if (c->state == CONN_CLOSED)
        conn_maybe_free(c);
    else
        conn_arm_recv(c);
}

static void conn_rebase_view(struct http_view *v, uintptr_t old, const char *new)
{
    if (v->p)
        v->p = new + ((uintptr_t)v->p - old);
}

/* The input buffer moved while a parsed head points into it (reading a body): move the views. */
static void conn_rebase_head(struct conn *c, uintptr_t old, const char *new)
{
    struct http_request_head *h = &c->head;
    conn_rebase_view(&h->method, old, new);
    conn_rebase_view(&h->target, old, new);
    conn_rebase_view(&h->path, old, new);
    conn_rebase_view(&h->query, old, new);
    for (size_t i = 0; i < h->header_count; i++) {
        conn_rebase_view(&h->headers[i].name, old, new);
        conn_rebase_view(&h->headers[i].value, old, new);
    }
}

/* Append received bytes to the input buffer, growing it up to its cap. */
static int conn_input_append(struct conn *c, const char *data, size_t len)
{
    if (c->in_len + len > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap : HTTP_CONN_INPUT_MIN;
        while (cap < c->in_len + len)
            cap *= 2;
        if (cap > HTTP_CONN_INPUT_MAX)
            cap = HTTP_CONN_INPUT_MAX;
        if (c->in_len + len > cap)
            return -E2BIG;
        /* The buffer moves: never while a handler holds views into it. */
        if (c->state == CONN_HANDLING && c->in)
            return -E2BIG;
        char *in = malloc(cap);
        if (!in)
            return -ENOMEM;
        if (c->in) {
            memcpy(in, c->in, c->in_len);
            if (c->state == CONN_READ_BODY)
                conn_rebase_head(c, (uintptr_t)c->in, in);
            free(c->in);
        }
        c->in = in;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    return 0;
}

static void conn_recv_complete(struct loop_op *op, int res, uint32_t flags)
{
    struct conn *c = (struct conn *)((char *)op - offsetof(struct conn, recv_op));
    struct http_server *s = c->server;
    c->recv_armed = false;
    c->ops_in_flight--;
    const char *data = NULL;
    unsigned bid = 0;
    if (flags & IORING_CQE_F_BUFFER) {
        bid = flags >> IORING_CQE_BUFFER_SHIFT;
        data = s->buffers + (size_t)bid * HTTP_RECV_BUFFER_BYTES;
    }
    if (c->state == CONN_CLOSED) {
        if (data)
            server_recv_buffer_return(s, bid);
        conn_maybe_free(c);
        return;
    }
    if (res == -ENOBUFS) {
        /* Every provided buffer is in use this instant: try again after this turn. */
        c->ops_in_flight++;
        loop_defer(s->loop, conn_rearm_recv_deferred, c);
        return;
    }
    if (res <= 0) {
        if (data)
            server_recv_buffer_return(s, bid);
        if (res < 0 && res != -ECONNRESET && res != -EPIPE)
            log_debug("conn %d: recv: %s", c->fd, strerror(-res));
        c->peer_closed = true;
        /* EOF: answer what was asked (a client may half-close after sending), then close. */
        if (res < 0 || c->state == CONN_READ_HEAD || c->state == CONN_READ_BODY ||
            c->state == CONN_LINGERING)
            conn_close(c);
        return;
    }
    if (c->state == CONN_LINGERING) {
        server_recv_buffer_return(s, bid);
        conn_arm_recv(c);
        return;
    }
    int rc = conn_input_append(c, data, (size_t)res);
    server_recv_buffer_return(s, bid);
    if (rc == -ENOMEM) {
        conn_close(c);
        return;
    }
    if (rc == -E2BIG) {
        if (c->state == CONN_READ_HEAD) {
            conn_send_error_and_close(c, 431);
            return;
        }
        /* conn_arm_recv leaves room for a whole recv while handling, so this is a bug guard:
         * the bytes are lost, the connection must not go on after this response. */
        c->keep_alive = false;
        return;
    }
    conn_process_input(c);
    conn_arm_recv(c);
}

/* --- request processing ------------------------------------------------------------------- */

static void conn_dispatch(struct conn *c)
{
    loop_timer_cancel(c->server->loop, &c->timer);
    conn_set_state(c, CONN_HANDLING);
    memset(&c->x, 0, sizeof(c->x));
    c->x.loop = c->server->loop;
    c->x.head = &c->head;
    c->x.is_head_method = c->head.method.len == 4 && memcmp(c->head.method.p, "HEAD", 4) == 0;
    c->x.serial = atomic_fetch_add(&conn_serial, 1) + 1;
    c->x.body = c->keep_body ? (c->body.data ? c->body.data : "") : NULL;
    c->x.body_len = c->keep_body ? c->body.len : 0;
    c->x.body_dropped = c->body_dropped;
    c->exchange_active = true;
    c->response_started = c->response_queued = false;
    c->server->cfg.handler(&c->x, c->server->cfg.handler_data);
}

/* Keep len body bytes for the handler; past max_body_bytes (a chunked body that grew too
 * long) the request is refused. false when the connection was closed. */
static bool conn_keep_body_bytes(struct conn *c, const char *p, size_t len)
{
    if (c->body.len + len > c->server->cfg.max_body_bytes) {
        conn_send_error_and_close(c, 413);
        return false;
    }
    if (buf_append(&c->body, p, len) != 0) {
        conn_send_error_and_close(c, 500);
        return false;
    }
    return true;
}

/* Take body bytes out of the input buffer after the head (kept or dropped). true when the body
 * is complete. */
static bool conn_consume_body(struct conn *c)
{
    size_t avail = c->in_len - c->head_len;
    char *p = c->in + c->head_len;
    if (c->body_chunked) {
        size_t consumed = 0, out_len = 0;
        enum http_chunked_status st =
            http_chunked_decode(&c->chunked, p, avail, &consumed, &out_len);
        if (st == HTTP_CHUNKED_BAD) {
            conn_send_error_and_close(c, 400);
            return false;
        }
        if (c->keep_body && !conn_keep_body_bytes(c, p, out_len))
            return false;
        c->body_left += out_len; /* counts bytes read, for the cap */
        memmove(p, p + consumed, avail - consumed);
        c->in_len -= consumed;
        if (c->body_left > HTTP_BODY_DISCARD_MAX) {
            conn_send_error_and_close(c, 413);
            return false;
        }
        return st == HTTP_CHUNKED_DONE;
    }
    size_t take = avail < c->body_left ? avail : (size_t)c->body_left;
    if (c->keep_body && !conn_keep_body_bytes(c, p, take))
        return false;
    memmove(p, p + take, avail - take);
    c->in_len -= take;
    c->body_left -= take;
    return c->body_left == 0;
}

static void conn_process_input(struct conn *c)
{
    if (c->state == CONN_READ_HEAD) {
        if (c->in_len == 0) {
            conn_arm_timer(c, c->server->cfg.idle_timeout_ms);
            return;
        }
        if (!loop_timer_armed(&c->timer) || c->parser.scanned == 0)
            conn_arm_timer(c, c->server->cfg.header_timeout_ms);
        size_t consumed = 0;
        enum http_parse_status st =
            http_parse_head(&c->parser, c->in, c->in_len, &c->head, &consumed);
        if (st == HTTP_PARSE_AGAIN)
            return;
        if (st != HTTP_PARSE_DONE) {
            conn_send_error_and_close(c, -(int)st);
            return;
        }
        c->head_len = consumed;
        c->keep_alive = c->head.keep_alive;
        bool has_body = c->head.chunked || (c->head.has_content_length && c->head.content_length);
        uint64_t max_body = c->server->cfg.max_body_bytes;
        buf_free(&c->body);
        c->keep_body = has_body && max_body && !c->head.expect_continue &&
                       (c->head.chunked || c->head.content_length <= max_body);
        c->body_dropped = has_body && !c->keep_body;
        if (c->keep_body)
            buf_init(&c->body, (size_t)max_body);
        if (has_body && (c->head.expect_continue ||
                         (!c->head.chunked && c->head.content_length > HTTP_BODY_DISCARD_MAX))) {
            /* Answer before the body: the client that asked for 100-continue will not send it
             * (RFC 7231 5.1.1); the connection cannot be reused as its body is unread. */
            c->keep_alive = false;
            conn_dispatch(c);
            return;
        }
        if (has_body) {
            c->body_chunked = c->head.chunked;
            c->body_left = c->head.chunked ? 0 : c->head.content_length;
            http_chunked_init(&c->chunked);
            conn_set_state(c, CONN_READ_BODY);
            conn_arm_timer(c, c->server->cfg.body_timeout_ms);
        } else {
            conn_dispatch(c);
            return;
        }
    }
    if (c->state == CONN_READ_BODY) {
        conn_arm_timer(c, c->server->cfg.body_timeout_ms);
        if (conn_consume_body(c))
            conn_dispatch(c);
    }
}

void conn_start(struct http_server *s, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        atomic_fetch_sub(&http_open_connections, 1);
        return;
    }
    c->server = s;
    c->fd = fd;
    c->recv_op.complete = conn_recv_complete;
    c->send_op.complete = conn_send_complete;
    loop_timer_init(&c->timer, conn_timer_fire);
    http_parser_init(&c->parser);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* No TCP_NOTSENT_LOWAT. Measured over loopback (threads=1, wrk -c64, 3 rounds): 128 KiB
     * ends the 8 MiB rows' tail (p99 0.2-1.5 s -> 0.17 s; in the stalls ss shows our sockets
     * in TCP persist for ~200 ms with the client's receive queue empty), but costs 20% more
     * CPU per 8 MiB GET and a third fewer 1 MiB GETs/s, since every send stops at the mark. */
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->conn_count++;
    conn_set_state(c, CONN_READ_HEAD);
    conn_arm_timer(c, s->cfg.idle_timeout_ms);
    conn_arm_recv(c);
}

void conn_close_all(struct http_server *s, bool idle_only)
{
    struct conn *c = s->conns;
    while (c) {
        struct conn *next = c->next;
        if (!idle_only || (c->state == CONN_READ_HEAD && c->in_len == 0))
            conn_close(c);
        c = next;
    }
}
