/*
 * list_xml: ListBucketResult as S3 writes it (see list_xml.h).
 *
 * Element order is the one in S3's documented example responses (moto orders by the SDK model
 * instead; clients read by name):
 *   v2: Name Prefix ContinuationToken? NextContinuationToken? StartAfter? KeyCount MaxKeys
 *       Delimiter? EncodingType? IsTruncated Contents* CommonPrefixes*
 *   v1: Name Prefix Marker NextMarker? MaxKeys Delimiter? EncodingType? IsTruncated Contents*
 *       CommonPrefixes*
 * With both a continuation token and start-after, both are echoed (S3-BEHAVIOUR.md).
 */
#include "list_xml.h"

#include "../xml.h"

#include <inttypes.h>
#include <string.h>

/*
 * encoding-type=url, as S3 does it (observed on AWS, and what MinIO reproduces): form
 * encoding, i.e. Java's URLEncoder, except that '/' stays. A-Z a-z 0-9 - _ . * and '/' pass,
 * space becomes '+', every other byte %XY (upper-case hex; UTF-8 byte by byte, so '~' is %7E
 * and '+' is %2B). Clients undo it with form decoding: botocore with unquote_plus
 * (handlers.py decode_list_object*), the Go and Java SDKs with their query unescapers, so the
 * space/'+' pair comes back exactly. moto 5.2.1 uses quote() (space as %20) instead; the same
 * decoders read both, and S3 is the reference. SigV4's uri_encode is not this encoding.
 */
int list_xml_url_encode(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '*' || c == '/') {
            rc = buf_append_char(b, (char)c);
        } else if (c == ' ') {
            rc = buf_append_char(b, '+');
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 0x0f]};
            rc = buf_append(b, esc, sizeof(esc));
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* <name>text</name>, text url-encoded (which leaves nothing to escape) or XML-escaped. */
static int list_xml_text(struct buf *b, const char *name, const char *s, size_t len, bool url)
{
    int rc = buf_appendf(b, "<%s>", name);
    if (!rc)
        rc = url ? list_xml_url_encode(b, s, len) : xml_append_escaped(b, s, len);
    if (!rc)
        rc = buf_appendf(b, "</%s>", name);
    return rc;
}

static int list_xml_str(struct buf *b, const char *name, const char *s, bool url)
{
    return list_xml_text(b, name, s, strlen(s), url);
}

int list_xml_append_owner(struct buf *b, const char *id, const char *name)
{
    int rc = buf_append_str(b, "<Owner>");
    if (!rc)
        rc = list_xml_str(b, "ID", id ? id : LIST_XML_OWNER_ID, false);
    if (!rc)
        rc = list_xml_str(b, "DisplayName", name ? name : LIST_XML_OWNER_NAME, false);
    if (!rc)
        rc = buf_append_str(b, "</Owner>");
    return rc;
}

/* Contents (Key, LastModified, ETag, Size, Owner?, StorageClass: S3's order), then
 * CommonPrefixes. */
static int list_xml_entries(struct buf *b, const struct list_xml_page *page, bool url, bool owner)
{
    int rc = 0;
    for (size_t i = 0; i < page->count && !rc; i++) {
        const struct list_xml_entry *e = &page->entries[i];
        if (e->is_prefix)
            continue;
        rc = buf_append_str(b, "<Contents>");
        if (!rc)
            rc = list_xml_text(b, "Key", e->name, e->len, url);
        if (!rc)
            rc = list_xml_str(b, "LastModified", e->last_modified, false);
        if (!rc)
            rc = list_xml_str(b, "ETag", e->etag, false);
        if (!rc)
            rc = buf_appendf(b, "<Size>%" PRIu64 "</Size>", e->size);
        if (!rc && owner)
            rc = list_xml_append_owner(b, e->owner_id, e->owner_name);
        if (!rc)
            rc = list_xml_str(b, "StorageClass", e->storage_class ? e->storage_class : "STANDARD",
                              false);
        if (!rc)
            rc = buf_append_str(b, "</Contents>");
    }
    for (size_t i = 0; i < page->count && !rc; i++) {
        const struct list_xml_entry *e = &page->entries[i];
        if (!e->is_prefix)
            continue;
        rc = buf_append_str(b, "<CommonPrefixes>");
        if (!rc)
            rc = list_xml_text(b, "Prefix", e->name, e->len, url);
        if (!rc)
            rc = buf_append_str(b, "</CommonPrefixes>");
    }
    return rc;
}

int list_xml_render(struct buf *b, const struct list_xml_page *page)
{
    const struct ufs_list_params *p = page->params;
    bool url = p->encoding_url;
    size_t orig_len = b->len;
    /* An empty delimiter is no delimiter, and is not echoed (ceph s3-tests
     * test_bucket_list_delimiter_empty, run against AWS). */
    bool delim = p->delimiter && p->delimiter[0];
    const struct list_xml_entry *last = page->count ? &page->entries[page->count - 1] : NULL;
    int rc = buf_append_str(b, LIST_XML_DECL "<ListBucketResult xmlns=\"" LIST_XML_NS "\">");
    if (!rc)
        rc = list_xml_str(b, "Name", page->bucket, false);
    if (!rc)
        rc = list_xml_str(b, "Prefix", p->prefix ? p->prefix : "", url);
    if (p->version == 2) {
        if (!rc && p->continuation_token)
            rc = list_xml_str(b, "ContinuationToken", p->continuation_token, false);
        if (!rc && page->truncated && page->next_token)
            rc = list_xml_str(b, "NextContinuationToken", page->next_token, false);
        if (!rc && p->start_after && p->start_after[0])
            rc = list_xml_str(b, "StartAfter", p->start_after, url);
        if (!rc)
            rc = buf_appendf(b, "<KeyCount>%zu</KeyCount>", page->count);
    } else {
        if (!rc)
            rc = list_xml_str(b, "Marker", p->marker ? p->marker : "", url);
        /* S3 documents NextMarker only with a delimiter; without one, clients resume from the
         * last Key, which is the same thing. */
        if (!rc && page->truncated && delim && (page->next_marker || last)) {
            if (page->next_marker)
                rc = list_xml_str(b, "NextMarker", page->next_marker, url);
            else
                rc = list_xml_text(b, "NextMarker", last->name, last->len, url);
        }
    }
    if (!rc)
        rc = buf_appendf(b, "<MaxKeys>%d</MaxKeys>", p->max_keys);
    if (!rc && delim)
        rc = list_xml_str(b, "Delimiter", p->delimiter, url);
    if (!rc && url)
        rc = buf_append_str(b, "<EncodingType>url</EncodingType>");
    if (!rc)
        rc = buf_appendf(b, "<IsTruncated>%s</IsTruncated>", page->truncated ? "true" : "false");
    if (!rc)
        rc = list_xml_entries(b, page, url, p->version == 1 || p->fetch_owner);
    if (!rc)
        rc = buf_append_str(b, "</ListBucketResult>");
    if (rc && b->data) {
        b->len = orig_len;
        b->data[orig_len] = '\0';
    }
    return rc;
}
