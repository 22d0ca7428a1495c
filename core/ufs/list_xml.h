/*
 * list_xml: the ListBucketResult XML of ListObjects (v1) and ListObjectsV2, written one way for
 * every UFS: the file UFS fills it from a directory walk, the S3 UFS from the UFS's own reply
 * (parsed, then written again), so clients get S3's answer whatever the store behind says.
 */
#ifndef CORE_UFS_LIST_XML_H
#define CORE_UFS_LIST_XML_H

#include "../buf.h"
#include "list_params.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIST_XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define LIST_XML_NS   "http://s3.amazonaws.com/doc/2006-03-01/"
/* The owner shown where the store has none (a local folder): 64 hex digits like an S3
 * canonical user id, the SHA-256 of "alluxio-s3-proxy". */
#define LIST_XML_OWNER_ID   "6d149ccf3b20c673735d9b7179638a18614dc502b35fb64a4792f8834c7185e1"
#define LIST_XML_OWNER_NAME "alluxio-s3-proxy"

/* One Contents entry or one CommonPrefix. Strings need not be NUL-terminated except those
 * documented so. */
struct list_xml_entry {
    const char *name; /* key or prefix, decoded */
    size_t len;
    bool is_prefix;
    const char *last_modified; /* NUL-terminated ISO 8601 as S3 writes it */
    const char *etag;          /* NUL-terminated, quoted */
    uint64_t size;
    const char *storage_class; /* NULL: STANDARD */
    const char *owner_id;      /* NULL: LIST_XML_OWNER_ID / _NAME */
    const char *owner_name;
};

struct list_xml_page {
    const char *bucket;
    const struct ufs_list_params *params; /* what the client asked, echoed as S3 does */
    const struct list_xml_entry *entries; /* in UTF-8 binary order */
    size_t count;
    bool truncated;
    const char *next_token;  /* v2: NextContinuationToken when truncated */
    const char *next_marker; /* v1 with a delimiter, truncated: NextMarker (NULL: last entry) */
};

/* Append the whole document. On failure b is left as it was. */
int list_xml_render(struct buf *b, const struct list_xml_page *page) BUF_WARN_UNUSED;

/* S3's encoding-type=url: form encoding except '/'; see list_xml.c. */
int list_xml_url_encode(struct buf *b, const char *s, size_t len) BUF_WARN_UNUSED;

/* <Owner><ID>..</ID><DisplayName>..</DisplayName></Owner>; NULLs give ours. */
int list_xml_append_owner(struct buf *b, const char *id, const char *name) BUF_WARN_UNUSED;

#endif
