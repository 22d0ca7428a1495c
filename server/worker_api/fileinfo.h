/*
 * fileinfo: the file info object of /v1/info and /v1/files (ALLUXIO-PROTOCOL.md section 3.4,
 * E1/E2 responses), all sixteen keys, written as JSON with json-c.
 *
 * Field choices where the protocol leaves them open: mPath is the path in an Alluxio namespace
 * that mounts the UFS root at "/" ("/bucket/dir/f"); mName its last component (the bucket for a
 * bucket root); mUfsPath the full UFS path ("s3://bucket/dir/f"; directories without a trailing
 * '/', as fsspec names them); mContentHash the ETag without quotes (what Alluxio keeps as the
 * fingerprint of an S3 object); mCreationTimeMs and mLastAccessTimeMs 0; mOwner, mGroup, mMode
 * ""; mCompleted and mPersisted true; mInAlluxioPercentage 0 (not computed).
 */
#ifndef SERVER_WORKER_API_FILEINFO_H
#define SERVER_WORKER_API_FILEINFO_H

#include "../../core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker_api_file_info {
    bool is_dir;
    const char *scheme; /* "s3", "file" */
    const char *bucket;
    size_t bucket_len;
    const char *key; /* without a trailing '/'; empty (key_len 0) for a bucket root */
    size_t key_len;
    uint64_t length;  /* 0 for directories */
    int64_t mtime_ms; /* 0 when unknown */
    const char *etag; /* NUL-terminated, quoted or not; NULL when none */
};

/* Append one JSON object. 0, -ENOMEM or -E2BIG (out's cap; nothing appended then). */
int worker_api_file_info_append(struct buf *out,
                                const struct worker_api_file_info *fi) BUF_WARN_UNUSED;

#endif
