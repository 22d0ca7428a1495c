/*
 * etcd_call: gRPC calls for the etcd client (see etcd_call.h).
 *
 * Every call gets its own completion queue, so a thread waits for exactly the events of the
 * call it is in (a unary call, or the watch or keep-alive stream it reads) and nothing is ever
 * left queued. A unary call is one batch holding all six operations; a stream keeps a
 * RECV_STATUS batch open from the start, so a broken stream wakes its reader with the reason.
 * Each live call is on its client's list, under a lock, so that another thread can cancel it
 * (grpc_call_cancel is thread-safe until grpc_call_unref): that is how etcd_client_interrupt
 * wakes the owner without waiting for a deadline.
 */
#include "etcd_call.h"

#include "../log.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* etcd reads the auth token from this metadata key (etcd v3.4 etcdserver/api/v3rpc,
 * rpctypes.TokenFieldNameGRPC); clientv3 sends it the same way. */
#define ETCD_TOKEN_METADATA_KEY "token"

/* After a call's own deadline, how long to wait for gRPC to report it before cancelling
 * ourselves: gRPC always completes a batch at its deadline, this only guards against a bug. */
#define ETCD_DEADLINE_SLACK_MS 2000

/* Tags of the batches of one call; each call has its own queue, so small numbers will do. */
#define ETCD_TAG_UNARY  ((void *)1)
#define ETCD_TAG_SEND   ((void *)2)
#define ETCD_TAG_RECV   ((void *)3)
#define ETCD_TAG_STATUS ((void *)4)

static const char *etcd_grpc_code_str(grpc_status_code code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if ((unsigned)code < sizeof names / sizeof names[0])
        return names[code];
    return "UNKNOWN_STATUS";
}

/* ---- errors ------------------------------------------------------------------------------ */

enum etcd_status etcd__fail(struct etcd_client *c, enum etcd_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    return st;
}

/* The method's last path element, for messages: "/etcdserverpb.KV/Range" -> "Range". */
const char *etcd__method_name(const char *method)
{
    const char *slash = strrchr(method, '/');
    return slash != NULL ? slash + 1 : method;
}

/* Map a finished call's status to our result, with text for the log. */
static enum etcd_status etcd_fail_status(struct etcd_call *k, grpc_status_code code,
                                         const grpc_slice *details)
{
    struct etcd_client *c = k->c;
    char msg[200];
    log_escape((const char *)GRPC_SLICE_START_PTR(*details), GRPC_SLICE_LENGTH(*details), msg,
               sizeof msg);
    enum etcd_status st;
    switch (code) {
    case GRPC_STATUS_CANCELLED:
        /* Ours (interrupt, watch cancel) or the server's; only ours is "cancelled". */
        st = atomic_load(&k->cancelled) || atomic_load(&c->interrupted) ? ETCD_ERR_CANCELLED
                                                                        : ETCD_ERR_UNAVAILABLE;
        break;
    case GRPC_STATUS_UNAVAILABLE:
        st = ETCD_ERR_UNAVAILABLE;
        break;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        st = ETCD_ERR_DEADLINE;
        break;
    case GRPC_STATUS_UNAUTHENTICATED:
    case GRPC_STATUS_PERMISSION_DENIED:
        st = ETCD_ERR_AUTH;
        break;
    case GRPC_STATUS_INVALID_ARGUMENT:
        /* etcd reports a wrong password and a missing user name as INVALID_ARGUMENT
         * (rpctypes.ErrGRPCAuthFailed, ErrGRPCUserEmpty). */
        st = strstr(msg, "auth") != NULL || strstr(msg, "user name") != NULL ? ETCD_ERR_AUTH
                                                                             : ETCD_ERR_SERVER;
        break;
    default:
        st = ETCD_ERR_SERVER;
        break;
    }
    return etcd__fail(c, st, "%s %s: %s%s%s", c->target, etcd__method_name(k->method),
                      etcd_grpc_code_str(code), msg[0] != '\0' ? ": " : "", msg);
}

enum etcd_status etcd__bad_reply(struct etcd_client *c, const char *method)
{
    return etcd__fail(c, ETCD_ERR_PROTOCOL, "%s %s: reply does not decode", c->target,
                      etcd__method_name(method));
}

/* ---- gRPC process state ------------------------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer's built-in suppressions, in ASan builds only. c-ares 1.18.1 (Debian 12's
 * libc-ares2, under gRPC's DNS resolver) leaks a copy of the name each time "localhost" is
 * answered from /etc/hosts: c-ares issue #439, fixed in 1.19.0. Only allocations made inside
 * libcares are matched (without frame pointers in it, LSan's stack ends there). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libcares.so.2\n";
}
#endif

static pthread_once_t etcd_grpc_once = PTHREAD_ONCE_INIT;
static atomic_bool etcd_grpc_up;

static void etcd_grpc_init(void)
{
    grpc_init();
    atomic_store(&etcd_grpc_up, true);
}

void etcd_global_shutdown(void)
{
    if (atomic_exchange(&etcd_grpc_up, false))
        grpc_shutdown();
}

bool etcd__grpc_start(void)
{
    pthread_once(&etcd_grpc_once, etcd_grpc_init);
    return atomic_load(&etcd_grpc_up);
}

/* ---- calls ------------------------------------------------------------------------------- */

gpr_timespec etcd__deadline_ms(int64_t ms)
{
    if (ms < 0)
        return gpr_inf_future(GPR_CLOCK_MONOTONIC);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* Put a call on the client's list; false (and nothing listed) once the client is interrupted,
 * so an interrupt can never miss a call started after it. */
static bool etcd_register(struct etcd_call *k)
{
    struct etcd_client *c = k->c;
    pthread_mutex_lock(&c->lock);
    bool ok = !atomic_load(&c->interrupted);
    if (ok) {
        k->active.call = k->call;
        k->active.cancelled = &k->cancelled;
        k->active.prev = NULL;
        k->active.next = c->active;
        if (c->active != NULL)
            c->active->prev = &k->active;
        c->active = &k->active;
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}

static void etcd_unregister(struct etcd_call *k)
{
    struct etcd_client *c = k->c;
    pthread_mutex_lock(&c->lock);
    if (k->active.prev != NULL)
        k->active.prev->next = k->active.next;
    else if (c->active == &k->active)
        c->active = k->active.next;
    if (k->active.next != NULL)
        k->active.next->prev = k->active.prev;
    k->active.prev = k->active.next = NULL;
    pthread_mutex_unlock(&c->lock);
}

/* Shut a completion queue down and destroy it; every batch on it must have finished. */
static void etcd_cq_destroy(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
    }
    grpc_completion_queue_destroy(cq);
}

/* Create the call and its queue and list it. On failure nothing is left to clean up. */
static enum etcd_status etcd_call_start(struct etcd_client *c, struct etcd_call *k,
                                        const char *method, gpr_timespec deadline)
{
    *k = (struct etcd_call){.c = c, .method = method};
    atomic_init(&k->cancelled, false);
    k->token = grpc_empty_slice();
    if (atomic_load(&c->interrupted))
        return etcd__fail(c, ETCD_ERR_CANCELLED, "%s %s: interrupted", c->target,
                          etcd__method_name(method));
    if (c->channel == NULL)
        return etcd__fail(c, ETCD_ERR_UNAVAILABLE, "%s: not connected", etcd__method_name(method));
    k->cq = grpc_completion_queue_create_for_next(NULL);
    if (k->cq == NULL)
        return etcd__fail(c, ETCD_ERR_NOMEM, "%s: no completion queue", c->target);
    k->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, k->cq,
                                       grpc_slice_from_static_string(method), NULL, deadline, NULL);
    if (k->call == NULL) {
        etcd_cq_destroy(k->cq);
        return etcd__fail(c, ETCD_ERR_NOMEM, "%s %s: cannot create call", c->target,
                          etcd__method_name(method));
    }
    if (!etcd_register(k)) {
        grpc_call_unref(k->call);
        etcd_cq_destroy(k->cq);
        return etcd__fail(c, ETCD_ERR_CANCELLED, "%s %s: interrupted", c->target,
                          etcd__method_name(method));
    }
    if (c->token != NULL) {
        k->token = grpc_slice_from_copied_string(c->token);
        k->md = (grpc_metadata){.key = grpc_slice_from_static_string(ETCD_TOKEN_METADATA_KEY),
                                .value = k->token};
        k->md_count = 1;
    }
    return ETCD_OK;
}

/* Next event of the call, up to deadline; counts finished batches. */
static grpc_event etcd_call_next(struct etcd_call *k, gpr_timespec deadline)
{
    grpc_event ev = grpc_completion_queue_next(k->cq, deadline, NULL);
    if (ev.type == GRPC_OP_COMPLETE)
        k->pending--;
    return ev;
}

/* Cancel what is still running, wait for every batch, free the call and its queue. */
static void etcd_call_end(struct etcd_call *k)
{
    if (k->call == NULL)
        return;
    if (k->pending > 0)
        grpc_call_cancel(k->call, NULL);
    while (k->pending > 0)
        (void)etcd_call_next(k, gpr_inf_future(GPR_CLOCK_MONOTONIC));
    etcd_unregister(k);
    grpc_call_unref(k->call);
    k->call = NULL;
    etcd_cq_destroy(k->cq);
    k->cq = NULL;
    grpc_slice_unref(k->token);
    k->token = grpc_empty_slice();
}

/* A message as one byte buffer; the packed bytes live in a gRPC slice, no copy. */
static grpc_byte_buffer *etcd_pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    grpc_slice s = grpc_slice_malloc(len);
    if (len > 0)
        protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* Flatten a received message (gRPC may hand it over in several slices) and free it. */
static grpc_slice etcd_flatten(grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader r;
    grpc_slice s = grpc_empty_slice();
    if (grpc_byte_buffer_reader_init(&r, bb)) {
        s = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
    }
    grpc_byte_buffer_destroy(bb);
    return s;
}

/* One unary call: send req, wait for the answer or the deadline, hand back the raw reply. */
enum etcd_status etcd__unary(struct etcd_client *c, const char *method, const ProtobufCMessage *req,
                             grpc_slice *reply)
{
    gpr_timespec deadline = etcd__deadline_ms(c->call_timeout_ms);
    struct etcd_call k;
    enum etcd_status st = etcd_call_start(c, &k, method, deadline);
    if (st != ETCD_OK)
        return st;

    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_byte_buffer *recv_bb = NULL;
    grpc_byte_buffer *send_bb = etcd_pack(req);

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = k.md_count;
    ops[0].data.send_initial_metadata.metadata = k.md_count > 0 ? &k.md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv_bb;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;

    grpc_call_error ce = grpc_call_start_batch(k.call, ops, 6, ETCD_TAG_UNARY, NULL);
    if (ce != GRPC_CALL_OK) {
        st = etcd__fail(c, ETCD_ERR_SERVER, "%s %s: start_batch: %s", c->target,
                        etcd__method_name(method), grpc_call_error_to_string(ce));
        goto out;
    }
    k.pending = 1;
    grpc_event ev = etcd_call_next(
        &k, gpr_time_add(deadline, gpr_time_from_millis(ETCD_DEADLINE_SLACK_MS, GPR_TIMESPAN)));
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
        /* Cannot happen with a deadline set on the call; cancel so the batch completes. */
        grpc_call_cancel(k.call, NULL);
        ev = etcd_call_next(&k, gpr_inf_future(GPR_CLOCK_MONOTONIC));
    }
    if (code != GRPC_STATUS_OK) {
        st = etcd_fail_status(&k, code, &details);
        goto out;
    }
    if (recv_bb == NULL) {
        st = etcd__fail(c, ETCD_ERR_PROTOCOL, "%s %s: no reply message", c->target,
                        etcd__method_name(method));
        goto out;
    }
    *reply = etcd_flatten(recv_bb);
    recv_bb = NULL;
    st = ETCD_OK;
out:
    etcd_call_end(&k);
    if (recv_bb != NULL)
        grpc_byte_buffer_destroy(recv_bb);
    grpc_byte_buffer_destroy(send_bb);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    return st;
}

void etcd__interrupt(struct etcd_client *c)
{
    pthread_mutex_lock(&c->lock);
    atomic_store(&c->interrupted, true);
    for (struct etcd_active *a = c->active; a != NULL; a = a->next) {
        atomic_store(a->cancelled, true);
        grpc_call_cancel(a->call, NULL);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- streams ----------------------------------------------------------------------------- */

/* Open the call and start waiting for its final status right away, so that a stream broken
 * under a blocked reader ends the reader's wait with the reason. */
enum etcd_status etcd__stream_open(struct etcd_client *c, struct etcd_stream *s, const char *method)
{
    memset(s, 0, sizeof *s);
    grpc_metadata_array_init(&s->initial_md);
    grpc_metadata_array_init(&s->trailing_md);
    s->details = grpc_empty_slice();
    s->status = GRPC_STATUS_UNKNOWN;
    /* No deadline: a stream lives as long as the connection; keepalive pings watch that. */
    enum etcd_status st = etcd_call_start(c, &s->k, method, gpr_inf_future(GPR_CLOCK_MONOTONIC));
    if (st != ETCD_OK) {
        grpc_metadata_array_destroy(&s->initial_md);
        grpc_metadata_array_destroy(&s->trailing_md);
        return st;
    }
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = &s->trailing_md;
    op.data.recv_status_on_client.status = &s->status;
    op.data.recv_status_on_client.status_details = &s->details;
    grpc_call_error ce = grpc_call_start_batch(s->k.call, &op, 1, ETCD_TAG_STATUS, NULL);
    if (ce != GRPC_CALL_OK) {
        etcd_call_end(&s->k);
        grpc_metadata_array_destroy(&s->initial_md);
        grpc_metadata_array_destroy(&s->trailing_md);
        return etcd__fail(c, ETCD_ERR_SERVER, "%s %s: start_batch: %s", c->target,
                          etcd__method_name(method), grpc_call_error_to_string(ce));
    }
    s->k.pending++;
    return ETCD_OK;
}

void etcd__stream_close(struct etcd_stream *s)
{
    etcd_call_end(&s->k);
    if (s->recv_bb != NULL)
        grpc_byte_buffer_destroy(s->recv_bb);
    if (s->send_bb != NULL)
        grpc_byte_buffer_destroy(s->send_bb);
    s->recv_bb = s->send_bb = NULL;
    grpc_slice_unref(s->details);
    s->details = grpc_empty_slice();
    grpc_metadata_array_destroy(&s->initial_md);
    grpc_metadata_array_destroy(&s->trailing_md);
}

/* Take one event off the stream's queue and note which batch finished. false on timeout. */
static bool etcd_stream_pump(struct etcd_stream *s, gpr_timespec deadline)
{
    grpc_event ev = etcd_call_next(&s->k, deadline);
    if (ev.type != GRPC_OP_COMPLETE)
        return false;
    if (ev.tag == ETCD_TAG_SEND) {
        s->send_busy = false;
        s->send_ok = ev.success != 0;
        grpc_byte_buffer_destroy(s->send_bb);
        s->send_bb = NULL;
    } else if (ev.tag == ETCD_TAG_RECV) {
        s->recv_busy = false;
    } else if (ev.tag == ETCD_TAG_STATUS) {
        s->status_done = true;
    }
    return true;
}

/* The stream is over: wait (briefly: after a failed send or an empty receive the status is
 * already on its way) for the status and turn it into the caller's error. */
static enum etcd_status etcd_stream_failed(struct etcd_stream *s)
{
    struct etcd_client *c = s->k.c;
    gpr_timespec deadline = etcd__deadline_ms(c->call_timeout_ms);
    while (!s->status_done && etcd_stream_pump(s, deadline))
        ;
    if (!s->status_done) {
        grpc_call_cancel(s->k.call, NULL);
        while (!s->status_done && etcd_stream_pump(s, gpr_inf_future(GPR_CLOCK_MONOTONIC)))
            ;
    }
    if (s->status == GRPC_STATUS_OK)
        return etcd__fail(c, ETCD_ERR_CLOSED, "%s %s: stream closed by etcd", c->target,
                          etcd__method_name(s->k.method));
    return etcd_fail_status(&s->k, s->status, &s->details);
}

/* Send one message and wait until gRPC has taken it (or the deadline). */
enum etcd_status etcd__stream_send(struct etcd_stream *s, const ProtobufCMessage *msg,
                                   gpr_timespec deadline)
{
    struct etcd_client *c = s->k.c;
    while (s->send_busy) {
        if (!etcd_stream_pump(s, deadline))
            return etcd__fail(c, ETCD_ERR_DEADLINE, "%s %s: previous send still pending", c->target,
                              etcd__method_name(s->k.method));
    }
    if (s->status_done)
        return etcd_stream_failed(s);
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!s->md_sent) {
        ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[n].data.send_initial_metadata.count = s->k.md_count;
        ops[n].data.send_initial_metadata.metadata = s->k.md_count > 0 ? &s->k.md : NULL;
        n++;
    }
    s->send_bb = etcd_pack(msg);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = s->send_bb;
    n++;
    grpc_call_error ce = grpc_call_start_batch(s->k.call, ops, n, ETCD_TAG_SEND, NULL);
    if (ce != GRPC_CALL_OK) {
        grpc_byte_buffer_destroy(s->send_bb);
        s->send_bb = NULL;
        return etcd__fail(c, ETCD_ERR_SERVER, "%s %s: start_batch: %s", c->target,
                          etcd__method_name(s->k.method), grpc_call_error_to_string(ce));
    }
    s->k.pending++;
    s->md_sent = true;
    s->send_busy = true;
    while (s->send_busy) {
        if (!etcd_stream_pump(s, deadline))
            return etcd__fail(c, ETCD_ERR_DEADLINE, "%s %s: send timed out", c->target,
                              etcd__method_name(s->k.method));
    }
    if (!s->send_ok)
        return etcd_stream_failed(s);
    return ETCD_OK;
}

/* Wait for the next message until deadline. ETCD_OK with *msg (unref it), ETCD_TIMEDOUT with
 * the receive still pending, or the stream's final error. */
enum etcd_status etcd__stream_recv(struct etcd_stream *s, gpr_timespec deadline, grpc_slice *msg)
{
    struct etcd_client *c = s->k.c;
    if (!s->recv_busy) {
        grpc_op ops[2];
        size_t n = 0;
        memset(ops, 0, sizeof ops);
        if (!s->md_received) {
            ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
            ops[n].data.recv_initial_metadata.recv_initial_metadata = &s->initial_md;
            n++;
        }
        ops[n].op = GRPC_OP_RECV_MESSAGE;
        ops[n].data.recv_message.recv_message = &s->recv_bb;
        n++;
        grpc_call_error ce = grpc_call_start_batch(s->k.call, ops, n, ETCD_TAG_RECV, NULL);
        if (ce != GRPC_CALL_OK)
            return etcd__fail(c, ETCD_ERR_SERVER, "%s %s: start_batch: %s", c->target,
                              etcd__method_name(s->k.method), grpc_call_error_to_string(ce));
        s->k.pending++;
        s->md_received = true;
        s->recv_busy = true;
    }
    while (s->recv_busy) {
        if (!etcd_stream_pump(s, deadline))
            return ETCD_TIMEDOUT;
    }
    if (s->recv_bb == NULL)
        return etcd_stream_failed(s);
    *msg = etcd_flatten(s->recv_bb);
    s->recv_bb = NULL;
    return ETCD_OK;
}

void etcd__stream_cancel(struct etcd_stream *s)
{
    struct etcd_client *c = s->k.c;
    /* Under the client's lock: the owner unlists the call under it before unref. */
    pthread_mutex_lock(&c->lock);
    atomic_store(&s->k.cancelled, true);
    if (s->k.call != NULL)
        grpc_call_cancel(s->k.call, NULL);
    pthread_mutex_unlock(&c->lock);
}
