/*
 * http_client: outbound HTTP for one loop, through libcurl's multi interface driven by that
 * loop's io_uring: curl names the sockets it wants watched (CURLMOPT_SOCKETFUNCTION) and we keep
 * one poll SQE armed per socket; curl names one timeout (CURLMOPT_TIMERFUNCTION) and we keep one
 * loop timer. Nothing blocks the loop and no extra thread sits on the data path. Connections
 * are reused across transfers of the same loop (the multi handle's connection cache is the
 * keep-alive pool). DNS goes through curl's threaded resolver (checked at start).
 */
#ifndef CORE_HTTP_CLIENT_H
#define CORE_HTTP_CLIENT_H

#include <curl/curl.h>

struct loop;
struct http_client;

/* Called on the loop when the transfer ends, after the handle left the multi. The callee owns
 * easy again (clean it up or reuse it). */
typedef void (*http_client_done_cb)(CURL *easy, CURLcode result, void *arg);

/* Create the loop's client and store it in the loop's LOOP_SLOT_HTTP_CLIENT. NULL on failure. */
struct http_client *http_client_create(struct loop *l);
void http_client_destroy(struct http_client *hc);
/* The loop's client (created on first use). NULL only on allocation failure. */
struct http_client *http_client_of(struct loop *l);

/* Start easy (configured by the caller; CURLOPT_PRIVATE is ours). done runs later, never from
 * inside this call. 0, or -EIO if curl refused the handle. */
int http_client_start(struct http_client *hc, CURL *easy, http_client_done_cb done, void *arg)
    __attribute__((warn_unused_result));
/* Abort a transfer: it leaves the multi and done is not called. */
void http_client_abort(struct http_client *hc, CURL *easy);

/* Transfers started and not yet done on this client. */
unsigned http_client_active(const struct http_client *hc);

/* Process-wide: curl_global_init and the resolver check. 0 or -1 (logged). */
int http_client_global_init(void);

#endif
