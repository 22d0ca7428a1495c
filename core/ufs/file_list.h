/*
 * file_list: the S3 answers a local directory gives, as XML, for the file UFS: ListObjects v1/v2
 * over a bucket folder, ListBuckets over the root, and the ETag a file is known by.
 *
 * These walk directories with blocking calls: they run on the offload thread, never on a loop.
 */
#ifndef CORE_UFS_FILE_LIST_H
#define CORE_UFS_FILE_LIST_H

#include "../buf.h"
#include "list_params.h"

#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define FILE_ETAG_MAX 48

enum file_list_status {
    FILE_LIST_OK = 0,
    FILE_LIST_NO_SUCH_BUCKET = -1,
    FILE_LIST_INVALID_ARGUMENT = -2, /* e.g. a continuation token we did not make */
    FILE_LIST_IO_ERROR = -3,
    FILE_LIST_TOO_LARGE = -4, /* the XML would pass the buf cap */
};

/* ETag of a file: quoted, "<mtime ns hex>-<size hex>" like nginx's. It changes when the file is
 * rewritten and is stable across restarts; the '-' tells clients (s3cmd, rclone) it is not an
 * MD5, so they do not try to check the body against it. */
void file_etag(uint64_t size, int64_t mtime_sec, int64_t mtime_nsec, char out[FILE_ETAG_MAX]);

/*
 * ListBucketResult XML (v1 or v2 as params->version says) for bucket = a folder under root.
 * Keys are file paths relative to the bucket folder with '/' separators; directories are not
 * keys; entries that are neither regular files nor directories are skipped, as are names that
 * are not valid UTF-8. Order: UTF-8 binary. Continuation tokens are opaque to clients.
 */
enum file_list_status file_list_objects(const char *root, const char *bucket,
                                        const struct ufs_list_params *params, struct buf *xml);

/* ListAllMyBucketsResult: every folder directly under root is a bucket. */
enum file_list_status file_list_buckets(const char *root, struct buf *xml);

#endif
