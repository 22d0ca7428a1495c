/*
 * conn: the private contract between the listener (server.c) and the connection state machine
 * (conn.c) of the HTTP server. Not for handlers: they see server.h only.
 */
#ifndef SERVER_HTTP_CONN_H
#define SERVER_HTTP_CONN_H

#include "../../core/loop.h"
#include "server.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define HTTP_RECV_BUFFER_BYTES       (16 * 1024) /* one provided buffer */
#define HTTP_RECV_BUFFER_COUNT       256         /* provided buffers per loop (power of two) */
#define HTTP_RECV_BUFFER_GROUP_FIRST 1           /* buffer group ids: one per listener of a loop */
#define HTTP_RECV_BUFFER_GROUP_LAST  64
#define HTTP_CONN_INPUT_MIN          4096 /* first input allocation */
#define HTTP_CONN_INPUT_MAX          (HTTP_MAX_HEADER_BYTES + 16 * 1024) /* head + pipelined bytes */
#define HTTP_BODY_DISCARD_MAX        (8u * 1024 * 1024) /* bodies we read only to throw away */
#define HTTP_LINGER_MS               2000 /* read and drop input this long after our FIN */
#define HTTP_SEND_IOV_MAX            64

struct conn;

struct http_server {
    struct loop *loop;
    struct http_server_config cfg;
    int listen_fd;
    struct loop_op accept_op;
    struct loop_op cancel_op;
    bool accepting;
    bool shutting_down;
    struct loop_timer shutdown_timer;
    void (*shutdown_done)(void *);
    void *shutdown_arg;

    /* Provided buffer ring for recv (registered by hand: liburing 2.3 has no
     * io_uring_setup_buf_ring). */
    struct io_uring_buf_ring *buf_ring;
    size_t buf_ring_bytes;
    uint16_t buf_group; /* its group id, distinct among the loop's listeners */
    char *buffers;

    struct conn *conns; /* doubly linked */
    unsigned conn_count;

    char date[40]; /* "Date: ...\r\n" of the current second */
    uint64_t date_second;
};

/* Total open connections of all loops (max_connections applies to it). */
extern atomic_uint http_open_connections;

/* A freshly accepted socket: build the connection and start reading. */
void conn_start(struct http_server *s, int fd);
/* Close every connection; idle_only: only those waiting for a new request. */
void conn_close_all(struct http_server *s, bool idle_only);
/* Give a provided buffer back to the ring. */
void server_recv_buffer_return(struct http_server *s, unsigned bid);
/* The "Date: ...\r\n" line for now. */
const char *server_date_line(struct http_server *s);
/* A connection was freed (server.c checks whether a shutdown is complete). */
void server_conn_gone(struct http_server *s);

#endif
