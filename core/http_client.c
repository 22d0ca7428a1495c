/*
 * http_client: libcurl multi driven by the loop's io_uring (see http_client.h).
 *
 * Per socket curl watches we keep a struct hc_socket with at most one poll SQE in flight.
 * When curl changes what it wants while a poll is armed, we cancel that poll and re-arm from its
 * completion, so the armed mask is always a superset of, or being replaced by, what curl wants.
 * A socket curl forgets is freed only when its poll has completed (the kernel holds the op
 * until then) and never inside curl's own callback (STYLE.md: never free inside a callback).
 */
#include "http_client.h"

#include "log.h"
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct http_client {
    struct loop *loop;
    CURLM *multi;
    struct loop_timer timer;
    int running;
    unsigned active; /* transfers between http_client_start and done/abort */
};

struct hc_socket {
    struct loop_op poll_op;
    struct loop_op cancel_op;
    struct http_client *hc;
    curl_socket_t fd;
    unsigned want;    /* POLLIN|POLLOUT curl asked for; 0 = none */
    unsigned armed;   /* mask of the poll in flight; 0 = none */
    bool cancelling;  /* a poll_remove for it is in flight */
    bool removed;     /* curl forgot it: free when no op is in flight */
    bool free_queued; /* the deferred free is scheduled */
};

struct hc_transfer {
    http_client_done_cb done;
    void *arg;
};

static void hc_socket_free_deferred(void *arg)
{
    free(arg);
}

/* Once curl forgot the socket and no op of ours is in flight, free it at the end of the turn.
 * Every path that may be the last calls this; the flag makes the free happen once. */
static void hc_socket_release(struct hc_socket *s)
{
    if (s->removed && !s->armed && !s->cancelling && !s->free_queued) {
        s->free_queued = true;
        loop_defer(s->hc->loop, hc_socket_free_deferred, s);
    }
}

static void hc_check_done(struct http_client *hc)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(hc->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        struct hc_transfer *t = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(hc->multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        hc->active--;
        if (t) {
            http_client_done_cb done = t->done;
            void *arg = t->arg;
            free(t);
            done(easy, result, arg);
        }
    }
}

static void hc_socket_arm(struct hc_socket *s);

static void hc_poll_complete(struct loop_op *op, int res, uint32_t flags)
{
    (void)flags;
    struct hc_socket *s = (struct hc_socket *)((char *)op - offsetof(struct hc_socket, poll_op));
    s->armed = 0;
    if (s->removed) {
        hc_socket_release(s);
        return;
    }
    struct http_client *hc = s->hc;
    if (res != -ECANCELED) {
        int ev = 0;
        if (res < 0)
            ev = CURL_CSELECT_ERR;
        else {
            if (res & (POLLIN | POLLHUP | POLLRDHUP))
                ev |= CURL_CSELECT_IN;
            if (res & POLLOUT)
                ev |= CURL_CSELECT_OUT;
            if (res & (POLLERR | POLLNVAL))
                ev |= CURL_CSELECT_ERR;
        }
        curl_multi_socket_action(hc->multi, s->fd, ev, &hc->running);
        hc_check_done(hc);
    }
    /* curl may have forgotten s meanwhile; it is freed at the end of the turn, not here. */
    if (!s->removed)
        hc_socket_arm(s);
    else
        hc_socket_release(s);
}

static void hc_cancel_complete(struct loop_op *op, int res, uint32_t flags)
{
    (void)res;
    (void)flags;
    struct hc_socket *s = (struct hc_socket *)((char *)op - offsetof(struct hc_socket, cancel_op));
    s->cancelling = false;
    if (s->removed)
        hc_socket_release(s);
    else
        hc_socket_arm(s); /* the mask may have changed again while the cancel was in flight */
}

/* Bring the armed poll in line with what curl wants. */
static void hc_socket_arm(struct hc_socket *s)
{
    struct loop *l = s->hc->loop;
    if (s->armed) {
        if (s->armed == s->want || s->cancelling)
            return;
        /* Mask changed: cancel; the poll's completion re-arms with the new mask. */
        struct io_uring_sqe *sqe = loop_sqe(l);
        io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)&s->poll_op);
        io_uring_sqe_set_data(sqe, &s->cancel_op);
        s->cancelling = true;
        return;
    }
    if (!s->want)
        return;
    struct io_uring_sqe *sqe = loop_sqe(l);
    io_uring_prep_poll_add(sqe, s->fd, s->want);
    io_uring_sqe_set_data(sqe, &s->poll_op);
    s->armed = s->want;
}

static int hc_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct http_client *hc = userp;
    struct hc_socket *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (!s)
            return 0;
        curl_multi_assign(hc->multi, fd, NULL);
        s->removed = true;
        s->want = 0;
        if (s->armed && !s->cancelling) {
            struct io_uring_sqe *sqe = loop_sqe(hc->loop);
            io_uring_prep_poll_remove(sqe, (uint64_t)(uintptr_t)&s->poll_op);
            io_uring_sqe_set_data(sqe, &s->cancel_op);
            s->cancelling = true;
        }
        hc_socket_release(s);
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            return -1;
        s->hc = hc;
        s->fd = fd;
        s->poll_op.complete = hc_poll_complete;
        s->cancel_op.complete = hc_cancel_complete;
        curl_multi_assign(hc->multi, fd, s);
    }
    s->want = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        s->want |= POLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        s->want |= POLLOUT;
    hc_socket_arm(s);
    return 0;
}

static void hc_timer_fire(struct loop_timer *t)
{
    struct http_client *hc =
        (struct http_client *)((char *)t - offsetof(struct http_client, timer));
    curl_multi_socket_action(hc->multi, CURL_SOCKET_TIMEOUT, 0, &hc->running);
    hc_check_done(hc);
}

static int hc_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct http_client *hc = userp;
    if (timeout_ms < 0)
        loop_timer_cancel(hc->loop, &hc->timer);
    else
        loop_timer_arm(hc->loop, &hc->timer, (uint64_t)timeout_ms);
    return 0;
}

int http_client_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("curl_global_init failed");
        return -1;
    }
    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    if (!(v->features & CURL_VERSION_ASYNCHDNS))
        log_warn("libcurl %s resolves names synchronously: use IP addresses in endpoint_url "
                 "or a loop may block on DNS",
                 v->version);
    return 0;
}

struct http_client *http_client_create(struct loop *l)
{
    struct http_client *hc = calloc(1, sizeof(*hc));
    if (!hc)
        return NULL;
    hc->loop = l;
    hc->multi = curl_multi_init();
    if (!hc->multi) {
        free(hc);
        return NULL;
    }
    loop_timer_init(&hc->timer, hc_timer_fire);
    curl_multi_setopt(hc->multi, CURLMOPT_SOCKETFUNCTION, hc_socket_cb);
    curl_multi_setopt(hc->multi, CURLMOPT_SOCKETDATA, hc);
    curl_multi_setopt(hc->multi, CURLMOPT_TIMERFUNCTION, hc_timer_cb);
    curl_multi_setopt(hc->multi, CURLMOPT_TIMERDATA, hc);
    /* Keep-alive pool: enough idle connections for a window of page fetches per request. */
    curl_multi_setopt(hc->multi, CURLMOPT_MAXCONNECTS, 256L);
    *loop_slot(l, LOOP_SLOT_HTTP_CLIENT) = hc;
    return hc;
}

struct http_client *http_client_of(struct loop *l)
{
    struct http_client *hc = *loop_slot(l, LOOP_SLOT_HTTP_CLIENT);
    return hc ? hc : http_client_create(l);
}

void http_client_destroy(struct http_client *hc)
{
    if (!hc)
        return;
    loop_timer_cancel(hc->loop, &hc->timer);
    curl_multi_cleanup(hc->multi);
    *loop_slot(hc->loop, LOOP_SLOT_HTTP_CLIENT) = NULL;
    free(hc);
}

int http_client_start(struct http_client *hc, CURL *easy, http_client_done_cb done, void *arg)
{
    struct hc_transfer *t = malloc(sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->done = done;
    t->arg = arg;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
    if (curl_multi_add_handle(hc->multi, easy) != CURLM_OK) {
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(t);
        return -EIO;
    }
    hc->active++;
    return 0;
}

unsigned http_client_active(const struct http_client *hc)
{
    return hc ? hc->active : 0;
}

void http_client_abort(struct http_client *hc, CURL *easy)
{
    struct hc_transfer *t = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
    curl_multi_remove_handle(hc->multi, easy);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
    if (t)
        hc->active--;
    free(t);
}
