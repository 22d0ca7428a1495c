/*
 * server: the HTTP listener of one loop: a SO_REUSEPORT socket per loop (the kernel spreads
 * connections over the loops), a multishot accept, the loop's provided-buffer ring for recv,
 * the connection limit, and graceful shutdown. Connections themselves live in conn.c.
 */
#include "conn.h"

#include "../../core/http_date.h"
#include "../../core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_LISTEN_BACKLOG 1024

/* Sent to a connection over max_connections, then closed: a clear S3 answer beats a reset. */
static const char server_busy_response[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: application/xml\r\n"
    "Connection: close\r\n"
    "Content-Length: 127\r\n"
    "\r\n"
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Error><Code>SlowDown</Code><Message>Too many open connections.</Message></Error>\n";

const char *server_date_line(struct http_server *s)
{
    time_t now = time(NULL);
    if ((uint64_t)now != s->date_second || !s->date[0]) {
        char date[HTTP_DATE_LEN + 1];
        http_date_format(now, date);
        snprintf(s->date, sizeof(s->date), "Date: %s\r\n", date);
        s->date_second = (uint64_t)now;
    }
    return s->date;
}

void server_recv_buffer_return(struct http_server *s, unsigned bid)
{
    io_uring_buf_ring_add(s->buf_ring, s->buffers + (size_t)bid * HTTP_RECV_BUFFER_BYTES,
                          HTTP_RECV_BUFFER_BYTES, (unsigned short)bid,
                          io_uring_buf_ring_mask(HTTP_RECV_BUFFER_COUNT), 0);
    io_uring_buf_ring_advance(s->buf_ring, 1);
}

/* liburing 2.3 has no io_uring_setup_buf_ring: map the ring, register it, fill it. */
static int server_setup_buffers(struct http_server *s)
{
    s->buf_ring_bytes = HTTP_RECV_BUFFER_COUNT * sizeof(struct io_uring_buf);
    void *ring =
        mmap(NULL, s->buf_ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring == MAP_FAILED)
        return -errno;
    s->buf_ring = ring;
    io_uring_buf_ring_init(s->buf_ring);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)ring;
    reg.ring_entries = HTTP_RECV_BUFFER_COUNT;
    /* Each listener of a loop has its own ring: take the first free group id. */
    int rc = -EEXIST;
    for (unsigned g = HTTP_RECV_BUFFER_GROUP_FIRST;
         rc == -EEXIST && g <= HTTP_RECV_BUFFER_GROUP_LAST; g++) {
        reg.bgid = (uint16_t)g;
        rc = io_uring_register_buf_ring(loop_ring(s->loop), &reg, 0);
    }
    if (rc < 0)
        return rc;
    s->buf_group = reg.bgid;
    s->buffers = malloc((size_t)HTTP_RECV_BUFFER_COUNT * HTTP_RECV_BUFFER_BYTES);
    if (!s->buffers)
        return -ENOMEM;
    for (unsigned i = 0; i < HTTP_RECV_BUFFER_COUNT; i++)
        io_uring_buf_ring_add(s->buf_ring, s->buffers + (size_t)i * HTTP_RECV_BUFFER_BYTES,
                              HTTP_RECV_BUFFER_BYTES, (unsigned short)i,
                              io_uring_buf_ring_mask(HTTP_RECV_BUFFER_COUNT), (int)i);
    io_uring_buf_ring_advance(s->buf_ring, HTTP_RECV_BUFFER_COUNT);
    return 0;
}

static int server_listen_socket(const char *host, uint16_t port)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char service[8];
    snprintf(service, sizeof(service), "%u", port);
    /* Runs at start, before the loop turns: a blocking lookup is fine here. */
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        log_error("listen %s:%u: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, HTTP_LISTEN_BACKLOG) != 0) {
        close(fd);
        fd = -1;
        goto fail;
    }
    freeaddrinfo(res);
    return fd;
fail:
    log_error("listen %s:%u: %s", host, port, strerror(errno));
    freeaddrinfo(res);
    return -1;
}

static void server_arm_accept(struct http_server *s)
{
    struct io_uring_sqe *sqe = loop_sqe(s->loop);
    io_uring_prep_multishot_accept(sqe, s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, &s->accept_op);
}

static void server_refuse(struct http_server *s, int fd)
{
    /* Fire and forget: the close runs after the send whatever its result (hard link). */
    struct io_uring_sqe *sqe = loop_sqe(s->loop);
    io_uring_prep_send(sqe, fd, server_busy_response, sizeof(server_busy_response) - 1,
                       MSG_NOSIGNAL);
    sqe->flags |= IOSQE_IO_HARDLINK;
    io_uring_sqe_set_data(sqe, NULL);
    sqe = loop_sqe(s->loop);
    io_uring_prep_close(sqe, fd);
    io_uring_sqe_set_data(sqe, NULL);
}

static void server_accept_complete(struct loop_op *op, int res, uint32_t flags)
{
    struct http_server *s =
        (struct http_server *)((char *)op - offsetof(struct http_server, accept_op));
    if (res >= 0) {
        if (s->shutting_down) {
            close(res);
        } else if (atomic_fetch_add(&http_open_connections, 1) >= s->cfg.max_connections) {
            atomic_fetch_sub(&http_open_connections, 1);
            server_refuse(s, res);
        } else {
            conn_start(s, res);
        }
    } else if (res != -ECANCELED && !s->shutting_down) {
        /* After shutdown(SHUT_RD) of the listener, accept fails with EINVAL: expected. */
        log_warn("accept: %s", strerror(-res));
    }
    if (!(flags & IORING_CQE_F_MORE)) {
        /* The multishot ended (an error such as EMFILE, or cancelled): re-arm unless
         * stopping. A persistent error re-arms once per completion, not in a spin: the ring
         * only completes it when the kernel reports the error again. */
        if (s->accepting && !s->shutting_down)
            server_arm_accept(s);
        else
            s->accepting = false;
    }
}

static void server_cancel_complete(struct loop_op *op, int res, uint32_t flags)
{
    (void)op;
    (void)res;
    (void)flags;
}

struct http_server *http_server_start(struct loop *l, const struct http_server_config *cfg)
{
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = l;
    s->cfg = *cfg;
    s->accept_op.complete = server_accept_complete;
    s->cancel_op.complete = server_cancel_complete;
    s->listen_fd = server_listen_socket(cfg->host, cfg->port);
    if (s->listen_fd < 0) {
        free(s);
        return NULL;
    }
    int rc = server_setup_buffers(s);
    if (rc < 0) {
        log_error("recv buffer ring: %s", strerror(-rc));
        http_server_free(s);
        return NULL;
    }
    s->accepting = true;
    server_arm_accept(s);
    return s;
}

static void server_check_shutdown(struct http_server *s)
{
    if (s->shutting_down && s->conn_count == 0 && s->shutdown_done) {
        void (*done)(void *) = s->shutdown_done;
        s->shutdown_done = NULL;
        loop_timer_cancel(s->loop, &s->shutdown_timer);
        done(s->shutdown_arg);
    }
}

void server_conn_gone(struct http_server *s)
{
    server_check_shutdown(s);
}

static void server_shutdown_deadline(struct loop_timer *t)
{
    struct http_server *s =
        (struct http_server *)((char *)t - offsetof(struct http_server, shutdown_timer));
    if (s->conn_count)
        log_warn("shutdown deadline: closing %u connections still busy", s->conn_count);
    conn_close_all(s, false);
    server_check_shutdown(s);
}

void http_server_shutdown(struct http_server *s, uint64_t deadline_ms, void (*done)(void *),
                          void *arg)
{
    if (s->shutting_down)
        return;
    s->shutting_down = true;
    s->shutdown_done = done;
    s->shutdown_arg = arg;
    if (s->accepting) {
        struct io_uring_sqe *sqe = loop_sqe(s->loop);
        io_uring_prep_cancel(sqe, &s->accept_op, 0);
        io_uring_sqe_set_data(sqe, &s->cancel_op);
    }
    /* Stop new connections at the kernel too: the other loops keep their own sockets. */
    shutdown(s->listen_fd, SHUT_RD);
    conn_close_all(s, true);
    loop_timer_init(&s->shutdown_timer, server_shutdown_deadline);
    loop_timer_arm(s->loop, &s->shutdown_timer, deadline_ms);
    server_check_shutdown(s);
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->buf_ring) {
        io_uring_unregister_buf_ring(loop_ring(s->loop), s->buf_group);
        munmap(s->buf_ring, s->buf_ring_bytes);
    }
    free(s->buffers);
    free(s);
}
