/*
 * worker_client: one page from an Alluxio worker (see worker_client.h).
 *
 * The body goes straight into a page of the expected length; bytes past it are counted, not
 * kept, so the caller learns how much the worker really sent (a worker with another page size
 * sends a different amount for a full page). curl enforces the connect and total deadlines; the
 * first-byte deadline is a loop timer, cancelled by the first header line.
 */
#include "worker_client.h"

#include "http_client.h"
#include "log.h"
#include "loop.h"
#include "ring.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define WORKER_URL_MAX (16 * 1024) /* request URL: the path is at most S3's 1 KiB key, x3 */

struct worker_read {
    struct loop *loop;
    struct http_client *client;
    CURL *easy;
    struct loop_timer first_byte; /* armed until the first header line arrives */
    struct page *page;
    uint64_t received;             /* body bytes, including any past page->len */
    enum worker_read_result early; /* set when the read failed before a transfer started */
    worker_page_cb cb;
    void *arg;
};

const char *worker_read_result_str(enum worker_read_result r)
{
    switch (r) {
    case WORKER_READ_OK:
        return "ok";
    case WORKER_READ_UNREACHABLE:
        return "unreachable";
    case WORKER_READ_TIMEOUT:
        return "timed out";
    case WORKER_READ_HTTP_ERROR:
        return "error status";
    case WORKER_READ_WRONG_LENGTH:
        return "wrong length";
    case WORKER_READ_LOCAL_FAILURE:
        return "local failure";
    }
    return "unknown";
}

bool worker_path_routable(const char *path, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = path[i];
        if (ch == '#' || ch == '%' || ch == '&' || ch == '+' || ch == '\0')
            return false;
    }
    return true;
}

/* What python-requests leaves unescaped when it requotes a URL (section 3.3): unreserved
 * characters and & = + ? : / ; , ! $ ' ( ) * @. Everything else is sent as %XX. */
static bool worker_raw_char(unsigned char ch)
{
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != '\0' && strchr("-._~&=+?:/;,!$'()*@", ch) != NULL;
}

int worker_page_target(struct buf *out, const char *path, size_t path_len, uint64_t index)
{
    if (!worker_path_routable(path, path_len))
        return -EINVAL;
    char id[RING_PATH_ID_HEX_BYTES + 1];
    int rc = ring_path_id(path, path_len, id);
    if (rc)
        return rc;
    if (buf_appendf(out, "/v1/file/%s/page/%llu?ufsFullPath=", id, (unsigned long long)index))
        return -ENOMEM;
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < path_len; i++) {
        unsigned char ch = (unsigned char)path[i];
        char esc[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        rc = worker_raw_char(ch) ? buf_append_char(out, (char)ch) : buf_append(out, esc, 3);
        if (rc)
            return -ENOMEM;
    }
    return 0;
}

static void worker_read_finish(struct worker_read *w, enum worker_read_result result, long status)
{
    struct page *page = result == WORKER_READ_OK ? w->page : NULL;
    if (result != WORKER_READ_OK)
        page_unref(w->page);
    w->cb(w->arg, result, page, status, w->received);
    free(w);
}

static void worker_read_fail_deferred(void *arg)
{
    struct worker_read *w = arg;
    worker_read_finish(w, w->early, 0);
}

static size_t worker_header_cb(char *line, size_t size, size_t n, void *userp)
{
    struct worker_read *w = userp;
    loop_timer_cancel(w->loop, &w->first_byte);
    (void)line;
    return size * n;
}

static size_t worker_write_cb(char *data, size_t size, size_t n, void *userp)
{
    struct worker_read *w = userp;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return len; /* an error body: only the status matters */
    if (w->received < w->page->len) {
        uint64_t room = w->page->len - w->received;
        memcpy(w->page->data + w->received, data, len < room ? len : (size_t)room);
    }
    w->received += len;
    return len;
}

static void worker_done(CURL *easy, CURLcode rc, void *arg)
{
    struct worker_read *w = arg;
    loop_timer_cancel(w->loop, &w->first_byte);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    w->easy = NULL;

    enum worker_read_result result;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        result = WORKER_READ_TIMEOUT;
    else if (rc != CURLE_OK)
        result = WORKER_READ_UNREACHABLE;
    else if (status != 200)
        result = WORKER_READ_HTTP_ERROR;
    else if (w->received != w->page->len)
        result = WORKER_READ_WRONG_LENGTH;
    else
        result = WORKER_READ_OK;
    worker_read_finish(w, result, status);
}

static void worker_first_byte_expired(struct loop_timer *t)
{
    struct worker_read *w =
        (struct worker_read *)((char *)t - offsetof(struct worker_read, first_byte));
    http_client_abort(w->client, w->easy);
    curl_easy_cleanup(w->easy);
    w->easy = NULL;
    worker_read_finish(w, WORKER_READ_TIMEOUT, 0);
}

static int worker_url(struct buf *url, const char *host, uint16_t port, const char *path,
                      size_t path_len, uint64_t index)
{
    bool v6 = strchr(host, ':') != NULL;
    if (buf_appendf(url, "http://%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port))
        return -ENOMEM;
    return worker_page_target(url, path, path_len, index);
}

void worker_read_page(struct loop *l, const struct worker_client_config *cfg, const char *host,
                      uint16_t port, const char *path, size_t path_len, uint64_t index,
                      uint32_t expected_len, worker_page_cb cb, void *arg)
{
    struct worker_read *w = calloc(1, sizeof(*w));
    if (!w) {
        log_error("worker_client: out of memory");
        abort(); /* nothing to report through: the callback needs w (as loop_defer does) */
    }
    w->loop = l;
    w->cb = cb;
    w->arg = arg;
    w->early = WORKER_READ_LOCAL_FAILURE;
    loop_timer_init(&w->first_byte, worker_first_byte_expired);

    struct buf url;
    buf_init(&url, WORKER_URL_MAX);
    int rc = worker_url(&url, host, port, path, path_len, index);
    w->client = http_client_of(l);
    w->page = expected_len ? page_alloc(expected_len) : NULL;
    w->easy = curl_easy_init();
    if (rc || !w->client || !w->page || !w->easy) {
        if (w->easy)
            curl_easy_cleanup(w->easy);
        w->easy = NULL;
        buf_free(&url);
        loop_defer(l, worker_read_fail_deferred, w);
        return;
    }

    CURL *e = w->easy;
    curl_easy_setopt(e, CURLOPT_URL, url.data);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, worker_header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, worker_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    buf_free(&url); /* curl copied the URL */

    if (http_client_start(w->client, e, worker_done, w) != 0) {
        curl_easy_cleanup(e);
        w->easy = NULL;
        loop_defer(l, worker_read_fail_deferred, w);
        return;
    }
    loop_timer_arm(l, &w->first_byte, cfg->connect_timeout_ms + cfg->first_byte_timeout_ms);
}
