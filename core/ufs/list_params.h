/*
 * list_params: a ListObjects (v1) / ListObjectsV2 request, decoded from its query string.
 * The S3 UFS forwards the client's query as it is; the file UFS answers from these fields.
 */
#ifndef CORE_UFS_LIST_PARAMS_H
#define CORE_UFS_LIST_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#define LIST_MAX_KEYS_DEFAULT 1000 /* also the maximum S3 returns in one page */

struct ufs_list_params {
    int version; /* 1 (ListObjects) or 2 (ListObjectsV2, list-type=2) */
    /* Decoded (percent-decoding undone) values; NULL when absent. */
    const char *prefix;
    const char *delimiter;
    const char *continuation_token; /* v2 */
    const char *start_after;        /* v2 */
    const char *marker;             /* v1 */
    int max_keys;                   /* 0..1000; absent = 1000; larger values are capped */
    bool encoding_url;              /* encoding-type=url */
    bool fetch_owner;               /* v2 fetch-owner=true */
};

#endif
