/*
 * s3_list: upstream list queries and ListBucketResult parsing for the S3 UFS (see s3_list.h).
 *
 * The reply is parsed with expat (Debian's libexpat, a streaming parser: no tree is built, and
 * it rejects malformed XML and entity tricks for us) rather than by hand. Keys come back
 * url-encoded because we always ask for encoding-type=url; they are decoded with form decoding
 * ('+' is a space), which reads both S3's encoding and moto's quote().
 */
#include "s3_list.h"

#include "../uri.h"

#include <errno.h>
#include <expat.h>
#include <stdlib.h>
#include <string.h>

#define S3_LIST_MAX_ENTRIES (2 * LIST_MAX_KEYS_DEFAULT + 2) /* a page, with room for quirks */
#define S3_LIST_TEXT_MAX    (8 * 1024)                      /* one element's text */

static int s3_list_append_param(struct buf *q, const char *name, const char *value)
{
    int rc = buf_appendf(q, "%s%s=", q->len ? "&" : "", name);
    if (!rc && value)
        rc = uri_encode(q, value, strlen(value), false);
    return rc;
}

int s3_list_query(const struct ufs_list_params *p, struct buf *q)
{
    int rc = 0;
    if (p->version == 2)
        rc = s3_list_append_param(q, "list-type", "2");
    if (!rc && p->prefix)
        rc = s3_list_append_param(q, "prefix", p->prefix);
    if (!rc && p->delimiter)
        rc = s3_list_append_param(q, "delimiter", p->delimiter);
    if (!rc)
        rc = buf_appendf(q, "%smax-keys=%d", q->len ? "&" : "", p->max_keys);
    if (!rc && p->version == 2 && p->continuation_token)
        rc = s3_list_append_param(q, "continuation-token", p->continuation_token);
    if (!rc && p->version == 2 && p->start_after)
        rc = s3_list_append_param(q, "start-after", p->start_after);
    if (!rc && p->version == 2 && p->fetch_owner)
        rc = s3_list_append_param(q, "fetch-owner", "true");
    if (!rc && p->version == 1 && p->marker)
        rc = s3_list_append_param(q, "marker", p->marker);
    if (!rc)
        rc = s3_list_append_param(q, "encoding-type", "url");
    return rc;
}

/* Where the parser is: the element path that matters, as a small state. */
enum s3_list_where {
    WHERE_OTHER,
    WHERE_ROOT,     /* directly in ListBucketResult */
    WHERE_CONTENTS, /* in Contents */
    WHERE_OWNER,    /* in Contents/Owner */
    WHERE_PREFIXES, /* in CommonPrefixes */
};

struct s3_list_parser {
    XML_Parser xml;
    struct s3_list_result *out;
    int depth;
    enum s3_list_where where;
    bool in_root;
    bool url_encoded;
    struct buf text;
    struct list_xml_entry cur;
    int error; /* first error, 0 while fine */
};

static void s3_list_entry_free(struct list_xml_entry *e)
{
    free((char *)e->name);
    free((char *)e->last_modified);
    free((char *)e->etag);
    free((char *)e->storage_class);
    free((char *)e->owner_id);
    free((char *)e->owner_name);
    memset(e, 0, sizeof(*e));
}

void s3_list_result_free(struct s3_list_result *r)
{
    for (size_t i = 0; i < r->count; i++)
        s3_list_entry_free(&r->entries[i]);
    free(r->entries);
    free(r->next_token);
    free(r->next_marker);
    memset(r, 0, sizeof(*r));
}

static void s3_list_fail(struct s3_list_parser *p, int err)
{
    if (!p->error)
        p->error = err;
    XML_StopParser(p->xml, XML_FALSE);
}

static void XMLCALL s3_list_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct s3_list_parser *p = ud;
    p->depth++;
    buf_reset(&p->text);
    if (p->depth == 1) {
        if (strcmp(name, "ListBucketResult") != 0)
            s3_list_fail(p, -EINVAL);
        p->where = WHERE_ROOT;
        p->in_root = true;
        return;
    }
    if (p->depth == 2 && p->where == WHERE_ROOT) {
        if (!strcmp(name, "Contents") || !strcmp(name, "CommonPrefixes")) {
            memset(&p->cur, 0, sizeof(p->cur));
            p->cur.is_prefix = name[0] == 'C' && name[1] == 'o' && name[2] == 'm';
            p->where = p->cur.is_prefix ? WHERE_PREFIXES : WHERE_CONTENTS;
        }
        return;
    }
    if (p->depth == 3 && p->where == WHERE_CONTENTS && !strcmp(name, "Owner"))
        p->where = WHERE_OWNER;
}

static void XMLCALL s3_list_chars(void *ud, const XML_Char *s, int len)
{
    struct s3_list_parser *p = ud;
    if (buf_append(&p->text, s, (size_t)len) != 0)
        s3_list_fail(p, -E2BIG);
}

static char *s3_list_take_text(struct s3_list_parser *p)
{
    char *s = strndup(p->text.data ? p->text.data : "", p->text.len);
    if (!s)
        s3_list_fail(p, -ENOMEM);
    return s;
}

static void s3_list_set(struct s3_list_parser *p, const char **field)
{
    free((char *)*field);
    *field = s3_list_take_text(p);
}

static void XMLCALL s3_list_end(void *ud, const XML_Char *name)
{
    struct s3_list_parser *p = ud;
    int depth = p->depth--;
    if (p->where == WHERE_ROOT && depth == 2) {
        if (!strcmp(name, "IsTruncated"))
            p->out->truncated = p->text.len == 4 && !memcmp(p->text.data, "true", 4);
        else if (!strcmp(name, "NextContinuationToken")) {
            free(p->out->next_token);
            p->out->next_token = s3_list_take_text(p);
        } else if (!strcmp(name, "NextMarker")) {
            free(p->out->next_marker);
            p->out->next_marker = s3_list_take_text(p);
        } else if (!strcmp(name, "EncodingType"))
            p->url_encoded = p->text.len == 3 && !memcmp(p->text.data, "url", 3);
    } else if (p->where == WHERE_OWNER && depth == 4) {
        if (!strcmp(name, "ID"))
            s3_list_set(p, &p->cur.owner_id);
        else if (!strcmp(name, "DisplayName"))
            s3_list_set(p, &p->cur.owner_name);
    } else if (p->where == WHERE_OWNER && depth == 3) {
        p->where = WHERE_CONTENTS;
    } else if ((p->where == WHERE_CONTENTS || p->where == WHERE_PREFIXES) && depth == 3) {
        if (!strcmp(name, "Key") || !strcmp(name, "Prefix")) {
            free((char *)p->cur.name);
            p->cur.name = s3_list_take_text(p);
            p->cur.len = p->text.len;
        } else if (!strcmp(name, "LastModified"))
            s3_list_set(p, &p->cur.last_modified);
        else if (!strcmp(name, "ETag"))
            s3_list_set(p, &p->cur.etag);
        else if (!strcmp(name, "StorageClass"))
            s3_list_set(p, &p->cur.storage_class);
        else if (!strcmp(name, "Size")) {
            uint64_t v = 0;
            for (size_t i = 0; i < p->text.len; i++) {
                char c = p->text.data[i];
                if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) {
                    s3_list_fail(p, -EINVAL);
                    return;
                }
                v = v * 10 + (uint64_t)(c - '0');
            }
            p->cur.size = v;
        }
    } else if ((p->where == WHERE_CONTENTS || p->where == WHERE_PREFIXES) && depth == 2) {
        struct s3_list_result *out = p->out;
        bool complete = p->cur.name && (p->cur.is_prefix || (p->cur.last_modified && p->cur.etag));
        if (!complete || out->count == S3_LIST_MAX_ENTRIES) {
            s3_list_entry_free(&p->cur);
            s3_list_fail(p, complete ? -E2BIG : -EINVAL);
            return;
        }
        if (!out->entries) {
            out->entries = calloc(S3_LIST_MAX_ENTRIES, sizeof(*out->entries));
            if (!out->entries) {
                s3_list_entry_free(&p->cur);
                s3_list_fail(p, -ENOMEM);
                return;
            }
        }
        out->entries[out->count++] = p->cur;
        memset(&p->cur, 0, sizeof(p->cur));
        p->where = WHERE_ROOT;
    }
    buf_reset(&p->text);
}

/* Undo encoding-type=url in place of s (a malloc'd string); *len is updated. */
static int s3_list_decode(char **s, size_t *len)
{
    if (!*s)
        return 0;
    struct buf b;
    buf_init(&b, S3_LIST_TEXT_MAX);
    if (uri_decode(&b, *s, strlen(*s), true) != 0) {
        buf_free(&b);
        return -EINVAL;
    }
    size_t n;
    char *d = buf_take(&b, &n);
    if (!d)
        return -ENOMEM;
    free(*s);
    *s = d;
    if (len)
        *len = n;
    return 0;
}

int s3_list_parse(const char *xml, size_t len, struct s3_list_result *out)
{
    memset(out, 0, sizeof(*out));
    struct s3_list_parser p;
    memset(&p, 0, sizeof(p));
    p.out = out;
    buf_init(&p.text, S3_LIST_TEXT_MAX);
    p.xml = XML_ParserCreate("UTF-8");
    if (!p.xml)
        return -ENOMEM;
    XML_SetUserData(p.xml, &p);
    XML_SetElementHandler(p.xml, s3_list_start, s3_list_end);
    XML_SetCharacterDataHandler(p.xml, s3_list_chars);
    if (XML_Parse(p.xml, xml, (int)len, XML_TRUE) != XML_STATUS_OK && !p.error)
        p.error = -EINVAL;
    if (!p.error && !p.in_root)
        p.error = -EINVAL;
    XML_ParserFree(p.xml);
    s3_list_entry_free(&p.cur);
    buf_free(&p.text);
    for (size_t i = 0; !p.error && p.url_encoded && i < out->count; i++)
        p.error = s3_list_decode((char **)&out->entries[i].name, &out->entries[i].len);
    if (!p.error && p.url_encoded)
        p.error = s3_list_decode(&out->next_marker, NULL);
    if (p.error)
        s3_list_result_free(out);
    return p.error;
}
