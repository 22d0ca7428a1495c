/*
 * etcd_call: the gRPC plumbing under the etcd client (etcd.h): one call with its own
 * completion queue, the client's list of live calls that etcd_client_interrupt cancels, unary
 * calls, bidirectional streams, and how a gRPC status becomes an etcd_status with text.
 *
 * Internal to core/membership: only etcd.c includes this. Names carry a double underscore
 * (STYLE.md section 2); the structs are here because both .c files use their fields.
 */
#ifndef CORE_MEMBERSHIP_ETCD_CALL_H
#define CORE_MEMBERSHIP_ETCD_CALL_H

#include "etcd.h"

#include <grpc/grpc.h>
#include <grpc/support/time.h>
#include <protobuf-c/protobuf-c.h>
#include <pthread.h>
#include <stdatomic.h>

/* A live call, on its client's list so that another thread may cancel it. */
struct etcd_active {
    grpc_call *call;
    atomic_bool *cancelled; /* set with the cancel, for the owner to tell why it ended */
    struct etcd_active *prev, *next;
};

struct etcd_client {
    struct etcd_hosts hosts;
    size_t next_host; /* index etcd_connect tries next */
    bool host_picked; /* next_host was randomised */
    char target[ETCD_TARGET_MAX_BYTES + 1];
    grpc_channel *channel;
    bool auth;
    char username[ETCD_CREDENTIAL_MAX_BYTES + 1];
    char password[ETCD_CREDENTIAL_MAX_BYTES + 1];
    char *token; /* from Authenticate, sent with every call; NULL without auth */
    unsigned call_timeout_ms;
    char error[ETCD_ERROR_MAX_BYTES];

    pthread_mutex_t lock; /* guards interrupted and active */
    atomic_bool interrupted;
    struct etcd_active *active;
};

/* One gRPC call and its queue. */
struct etcd_call {
    struct etcd_client *c;
    const char *method;
    grpc_call *call;
    grpc_completion_queue *cq;
    struct etcd_active active;
    atomic_bool cancelled;
    unsigned pending; /* batches started and not yet taken off cq */
    grpc_slice token; /* metadata value; kept until the call ends */
    grpc_metadata md;
    size_t md_count;
};

/* A bidirectional stream: one call with independent send, receive and status batches. */
struct etcd_stream {
    struct etcd_call k;
    grpc_metadata_array initial_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
    grpc_byte_buffer *send_bb, *recv_bb;
    bool md_sent, md_received;
    bool send_busy, send_ok, recv_busy, status_done;
};

/* Start gRPC once per process. false once etcd_global_shutdown has run. */
bool etcd__grpc_start(void);

/* Record the client's error text and return st. */
enum etcd_status etcd__fail(struct etcd_client *c, enum etcd_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "Range" for "/etcdserverpb.KV/Range", for messages. */
const char *etcd__method_name(const char *method);
/* A reply that does not decode. */
enum etcd_status etcd__bad_reply(struct etcd_client *c, const char *method);
/* Now + ms on the monotonic clock; ms < 0: never. */
gpr_timespec etcd__deadline_ms(int64_t ms);

/* Cancel every live call of the client and refuse new ones (etcd_client_interrupt). */
void etcd__interrupt(struct etcd_client *c);

/* One unary call bounded by the client's call timeout: *reply holds the answer's bytes
 * (grpc_slice_unref it) on ETCD_OK. */
enum etcd_status etcd__unary(struct etcd_client *c, const char *method, const ProtobufCMessage *req,
                             grpc_slice *reply);

/* A stream with no deadline (keepalive pings watch the connection). Open it, send and
 * receive messages, close it (which cancels it if still running and frees all). */
enum etcd_status etcd__stream_open(struct etcd_client *c, struct etcd_stream *s,
                                   const char *method);
/* Send one message, waiting until gRPC took it or deadline. */
enum etcd_status etcd__stream_send(struct etcd_stream *s, const ProtobufCMessage *msg,
                                   gpr_timespec deadline);
/* The next message by deadline: ETCD_OK with *msg (unref it), ETCD_TIMEDOUT with the receive
 * still pending (the next call picks it up), or the stream's final error. */
enum etcd_status etcd__stream_recv(struct etcd_stream *s, gpr_timespec deadline, grpc_slice *msg);
/* Thread-safe while the stream is open: cancel it; its reader gets ETCD_ERR_CANCELLED. */
void etcd__stream_cancel(struct etcd_stream *s);
void etcd__stream_close(struct etcd_stream *s);

#endif
