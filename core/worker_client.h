/*
 * worker_client: reads one page of a file from an Alluxio worker's REST API, the way alluxiofs
 * asks for it (../shared/ALLUXIO-PROTOCOL.md section 3.4, E3b: the whole page, with the full UFS
 * path in `ufsFullPath`), over the loop's libcurl multi (keep-alive connections per worker come
 * from curl's connection cache).
 *
 * Unlike alluxiofs, a worker never gets to hang a read: the connect, the first response byte
 * and the whole request each have a deadline, and any failure is reported so the caller can
 * take the page from the UFS instead. A body is accepted only at exactly the expected length.
 */
#ifndef CORE_WORKER_CLIENT_H
#define CORE_WORKER_CLIENT_H

#include "buf.h"
#include "page_store/page_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;

struct worker_client_config {
    uint64_t connect_timeout_ms;    /* TCP connect to the worker */
    uint64_t first_byte_timeout_ms; /* request sent -> first byte of the answer */
    uint64_t timeout_ms;            /* the whole request */
};

enum worker_read_result {
    WORKER_READ_OK = 0,
    WORKER_READ_UNREACHABLE,   /* connect refused, reset, closed without an answer */
    WORKER_READ_TIMEOUT,       /* a deadline passed */
    WORKER_READ_HTTP_ERROR,    /* a status other than 200 */
    WORKER_READ_WRONG_LENGTH,  /* 200, but not exactly the expected number of bytes */
    WORKER_READ_LOCAL_FAILURE, /* out of memory, or curl refused the transfer */
};

const char *worker_read_result_str(enum worker_read_result r);

/* result, a new page reference when WORKER_READ_OK (NULL otherwise), the HTTP status (0 when
 * none came) and the body length the worker sent (also counted past the expected length, so a
 * page-size mismatch can be told apart). */
typedef void (*worker_page_cb)(void *arg, enum worker_read_result result, struct page *page,
                               long http_status, uint64_t body_len);

/* True when path may be sent to a real worker: paths holding '#', '%', '&' or '+' are not,
 * because alluxiofs's request shape cannot carry them safely (section 3.3) and how a real
 * worker decodes them is unknown. Such files are read from the UFS. */
bool worker_path_routable(const char *path, size_t len);

/* Append the request target of page index of path (E3b) to out:
 * "/v1/file/<sha256 hex of path>/page/<index>?ufsFullPath=<path, requoted as requests does>".
 * 0, -EINVAL (path not routable) or -ENOMEM / -EIO. */
int worker_page_target(struct buf *out, const char *path, size_t path_len, uint64_t index);

/* Read page index of path (expected_len bytes) from http://host:port on loop l. cb runs later
 * on l, exactly once, never inside this call. */
void worker_read_page(struct loop *l, const struct worker_client_config *cfg, const char *host,
                      uint16_t port, const char *path, size_t path_len, uint64_t index,
                      uint32_t expected_len, worker_page_cb cb, void *arg);

#endif
