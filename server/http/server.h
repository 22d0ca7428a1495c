/*
 * server: the HTTP/1.1 server, one per loop, and the contract between it and request handlers
 * (server/s3). A handler gets one struct http_exchange per request, answers it with a head and
 * body pieces (copied bytes or refcounted page slices, sent without copying), and learns through
 * two callbacks when its queued bytes went out (to fetch more: back-pressure) and when the
 * client is gone.
 *
 * Requests on one connection are answered in order: the next pipelined request is parsed only
 * when the previous response has been queued completely.
 */
#ifndef SERVER_HTTP_SERVER_H
#define SERVER_HTTP_SERVER_H

#include "../../core/buf.h"
#include "../../core/page_store/page_store.h"
#include "parse.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct http_exchange;

/* Called once per request, on the connection's loop, after the head (and any request body) was
 * read. The handler answers now or later. */
typedef void (*http_handler_fn)(struct http_exchange *x, void *handler_data);

struct http_server_config {
    const char *host; /* listen address */
    uint16_t port;
    unsigned max_connections; /* across all loops */
    uint64_t header_timeout_ms, idle_timeout_ms, body_timeout_ms, send_timeout_ms;
    /* Request bodies up to this many bytes are handed to the handler (x->body); 0: every body
     * is read and dropped (the S3 front serves no writes). A longer body is dropped too, and
     * the handler sees x->body_dropped. Bodies sent after "Expect: 100-continue" are never
     * kept: the handler answers before them. */
    uint64_t max_body_bytes;
    http_handler_fn handler;
    void *handler_data;
};

struct http_exchange {
    struct loop *loop;
    const struct http_request_head *head; /* views into the connection's buffer */
    bool is_head_method;                  /* a HEAD request: the head is all that is sent */
    uint64_t serial;                      /* per-process request counter (request ids) */
    /* The request body (chunked framing removed) when the server keeps bodies
     * (max_body_bytes) and it fitted; NULL otherwise. Valid until the response is queued. */
    const char *body;
    size_t body_len;
    bool body_dropped; /* the request had a body that was not kept (too long, or 100-continue) */

    /* Set by the handler. on_progress: queued body bytes were sent (queue more now).
     * on_abort: the connection is gone; the handler must not touch x again. Neither is called
     * after the response was queued completely. */
    void *handler_ctx;
    void (*on_progress)(struct http_exchange *x);
    void (*on_abort)(struct http_exchange *x);
};

/*
 * Start the response. headers holds "Name: value\r\n" lines (copied). The server adds the
 * status line, Date, Content-Length (content_length; none for 1xx/204/304), and Connection.
 * For HEAD requests and content_length 0 the response is complete after this call: the handler
 * must not touch x again. 0, or -ENOMEM (the connection is then closed).
 */
int http_respond_head(struct http_exchange *x, int status, const struct buf *headers,
                      uint64_t content_length) __attribute__((warn_unused_result));
/* Queue body bytes (copied). When the body is complete, x is finished: do not touch it. */
int http_respond_copy(struct http_exchange *x, const void *data, size_t len)
    __attribute__((warn_unused_result));
/* Queue a slice of a page (a reference is taken; the caller keeps its own). Same rule. */
int http_respond_page(struct http_exchange *x, struct page *page, uint32_t offset, uint32_t len)
    __attribute__((warn_unused_result));
/* The response cannot be finished (an upstream failed mid-body): close the connection so the
 * client sees a short body, never a wrong one. x is finished. */
void http_respond_abort(struct http_exchange *x);
/* Body bytes queued and not yet sent. */
uint64_t http_queued_bytes(const struct http_exchange *x);

struct http_server;

/* Listen (SO_REUSEPORT, so every loop binds the same address) and start accepting on loop l.
 * NULL after logging on failure. */
struct http_server *http_server_start(struct loop *l, const struct http_server_config *cfg);
/* Stop accepting; let responses in flight finish, then close. done(arg) runs on the loop when
 * the last connection is gone or after deadline_ms (connections then closed hard). */
void http_server_shutdown(struct http_server *s, uint64_t deadline_ms, void (*done)(void *),
                          void *arg);
void http_server_free(struct http_server *s);

#endif
