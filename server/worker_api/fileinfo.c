/*
 * fileinfo: one E1/E2 file info object as JSON (see fileinfo.h). json-c escapes the strings
 * (control characters, quotes); '/' is left alone (JSON_C_TO_STRING_NOSLASHESCAPE), as Gson
 * writes it.
 */
#include "fileinfo.h"

#include "target.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

static int worker_api_json_add(struct json_object *o, const char *key, struct json_object *v)
{
    if (!v)
        return -ENOMEM;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -ENOMEM;
    }
    return 0;
}

static int worker_api_json_add_str(struct json_object *o, const char *key, const char *s,
                                   size_t len)
{
    return worker_api_json_add(o, key, json_object_new_string_len(s, (int)len));
}

int worker_api_file_info_append(struct buf *out, const struct worker_api_file_info *fi)
{
    struct buf path, ufs;
    buf_init(&path, WORKER_API_PATH_MAX_BYTES * 2);
    buf_init(&ufs, WORKER_API_PATH_MAX_BYTES * 2);
    int rc = buf_append_char(&path, '/');
    if (!rc)
        rc = buf_append(&path, fi->bucket, fi->bucket_len);
    if (!rc)
        rc = buf_appendf(&ufs, "%s://", fi->scheme);
    if (!rc)
        rc = buf_append(&ufs, fi->bucket, fi->bucket_len);
    if (!rc && fi->key_len) {
        rc = buf_append_char(&path, '/');
        if (!rc)
            rc = buf_append(&path, fi->key, fi->key_len);
        if (!rc)
            rc = buf_append_char(&ufs, '/');
        if (!rc)
            rc = buf_append(&ufs, fi->key, fi->key_len);
    }
    const char *name = fi->bucket;
    size_t name_len = fi->bucket_len;
    if (fi->key_len) {
        const char *slash = memrchr(fi->key, '/', fi->key_len);
        name = slash ? slash + 1 : fi->key;
        name_len = fi->key_len - (size_t)(name - fi->key);
    }
    const char *etag = fi->etag ? fi->etag : "";
    size_t etag_len = strlen(etag);
    if (etag_len >= 2 && etag[0] == '"' && etag[etag_len - 1] == '"') {
        etag++;
        etag_len -= 2;
    }
    char human[WORKER_API_HUMAN_SIZE_MAX];
    worker_api_human_size(fi->length, human);

    struct json_object *o = rc ? NULL : json_object_new_object();
    if (!rc && !o)
        rc = -ENOMEM;
    /* In the order of the protocol's example (Gson writes fields in declaration order). */
    if (!rc)
        rc = worker_api_json_add_str(o, "mType", fi->is_dir ? "directory" : "file",
                                     fi->is_dir ? 9 : 4);
    if (!rc)
        rc = worker_api_json_add_str(o, "mName", name, name_len);
    if (!rc)
        rc = worker_api_json_add_str(o, "mPath", path.data, path.len);
    if (!rc)
        rc = worker_api_json_add_str(o, "mUfsPath", ufs.data, ufs.len);
    if (!rc)
        rc = worker_api_json_add(o, "mLength", json_object_new_int64((int64_t)fi->length));
    if (!rc)
        rc = worker_api_json_add_str(o, "mHumanReadableFileSize", human, strlen(human));
    if (!rc)
        rc = worker_api_json_add(o, "mLastModificationTimeMs", json_object_new_int64(fi->mtime_ms));
    if (!rc)
        rc = worker_api_json_add(o, "mCreationTimeMs", json_object_new_int64(0));
    if (!rc)
        rc = worker_api_json_add(o, "mLastAccessTimeMs", json_object_new_int64(0));
    if (!rc)
        rc = worker_api_json_add(o, "mCompleted", json_object_new_boolean(1));
    if (!rc)
        rc = worker_api_json_add_str(o, "mOwner", "", 0);
    if (!rc)
        rc = worker_api_json_add_str(o, "mGroup", "", 0);
    if (!rc)
        rc = worker_api_json_add_str(o, "mMode", "", 0);
    if (!rc)
        rc = worker_api_json_add(o, "mPersisted", json_object_new_boolean(1));
    if (!rc)
        rc = worker_api_json_add(o, "mInAlluxioPercentage", json_object_new_int(0));
    if (!rc)
        rc = worker_api_json_add_str(o, "mContentHash", etag, etag_len);
    if (!rc) {
        size_t len = 0;
        const char *s = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        rc = s ? buf_append(out, s, len) : -ENOMEM;
    }
    json_object_put(o);
    buf_free(&path);
    buf_free(&ufs);
    return rc;
}
