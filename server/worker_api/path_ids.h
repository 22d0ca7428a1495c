/*
 * path_ids: path id -> full UFS path, for page reads that carry no ufsFullPath (E3c, sent by
 * alluxiofs 1.0.3 of June 2024): the worker can serve those only for files it has heard of.
 * Learnt from requests that carried a verified path, from listings and from load jobs. A bounded
 * LRU shared by every loop (one mutex; lookups are one hash and a memcmp).
 */
#ifndef SERVER_WORKER_API_PATH_IDS_H
#define SERVER_WORKER_API_PATH_IDS_H

#include <stddef.h>

struct worker_api_path_ids;

/* max_entries >= 1. NULL on ENOMEM or when no hash seed can be had. */
struct worker_api_path_ids *worker_api_path_ids_create(size_t max_entries);
void worker_api_path_ids_destroy(struct worker_api_path_ids *m);

/* Remember path (copied) under path_id (64 lowercase hex digits, the SHA-256 of path: the
 * caller computed it). The least recently used entry goes when full. Best effort: nothing
 * happens on ENOMEM. Any thread. */
void worker_api_path_ids_put(struct worker_api_path_ids *m, const char *path_id, const char *path,
                             size_t len);

/* A malloc'd NUL-terminated copy of the path of path_id (its length in *len), or NULL. Any
 * thread. */
char *worker_api_path_ids_get(struct worker_api_path_ids *m, const char *path_id, size_t *len);

#endif
