/*
 * s3_list: the S3 UFS's side of listing: the query the proxy sends upstream (always with
 * encoding-type=url, so any key survives the XML) and a parser for the ListBucketResult that
 * comes back, into list_xml entries that list_xml_render writes again for the client.
 */
#ifndef CORE_UFS_S3_LIST_H
#define CORE_UFS_S3_LIST_H

#include "../buf.h"
#include "list_params.h"
#include "list_xml.h"

#include <stdbool.h>
#include <stddef.h>

struct s3_list_result {
    struct list_xml_entry *entries; /* Contents then CommonPrefixes, as received */
    size_t count;
    bool truncated;
    char *next_token;  /* NextContinuationToken, or NULL */
    char *next_marker; /* NextMarker (decoded), or NULL */
};

/* The upstream query string for a client's list request. */
int s3_list_query(const struct ufs_list_params *p, struct buf *q) BUF_WARN_UNUSED;

/* Parse a ListBucketResult (any element order). 0, -EINVAL (not one), -ENOMEM, -E2BIG (more
 * entries than a page can hold). On failure out is empty. */
int s3_list_parse(const char *xml, size_t len, struct s3_list_result *out)
    __attribute__((warn_unused_result));
void s3_list_result_free(struct s3_list_result *r);

#endif
