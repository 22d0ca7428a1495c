/*
 * xml: escape text for the XML bodies S3 returns (ListObjects, errors) (see xml.h).
 *
 * Runs of ordinary bytes are appended in one piece; only the characters XML gives meaning to,
 * and the control characters, are replaced. Bytes >= 0x80 pass through untouched: keys are
 * UTF-8 and S3 lists them as such. A failed append leaves the buffer as it was, so a caller that
 * hits the cap can still finish or discard a well-formed document.
 */
#include "xml.h"

#include <string.h>

/* Undo a partial append: back to len bytes, still NUL-terminated (buf.h promises that). */
static int xml_rollback(struct buf *b, size_t len, int rc)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
    return rc;
}

/*
 * The replacement for c, written to tmp when it is a numeric reference; NULL when c passes.
 * CR, LF and TAB are legal XML text, but are written as references because a parser would
 * otherwise normalise CR/CRLF to LF (XML 1.0 2.11) and the key would come back changed.
 * Other C0 controls are written as &#xN;, which is what AWS does for such keys; strictly,
 * XML 1.0 (production [2] Char, and WFC: Legal Character) forbids them even as references, so
 * a strict parser rejects the document. Clients that may see such keys ask for
 * encoding-type=url (botocore always does), which percent-encodes them before they get here.
 */
static const char *xml_replacement(unsigned char c, char tmp[8])
{
    static const char hex[] = "0123456789ABCDEF";

    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&apos;";
    case '\r':
        return "&#13;";
    case '\n':
        return "&#10;";
    case '\t':
        return "&#9;";
    default:
        break;
    }
    if (c >= 0x20)
        return NULL;
    size_t n = 0;
    tmp[n++] = '&';
    tmp[n++] = '#';
    tmp[n++] = 'x';
    if (c >= 0x10)
        tmp[n++] = hex[c >> 4];
    tmp[n++] = hex[c & 0xF];
    tmp[n++] = ';';
    tmp[n] = '\0';
    return tmp;
}

int xml_append_escaped(struct buf *b, const char *s, size_t len)
{
    size_t mark = b->len;
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    char tmp[8];
    int rc;

    if (len == 0)
        return 0; /* s may be NULL then */
    for (size_t i = 0; i < len; i++) {
        const char *rep = xml_replacement((unsigned char)s[i], tmp);
        if (rep == NULL)
            continue;
        rc = buf_append(b, s + run, i - run);
        if (rc == 0)
            rc = buf_append_str(b, rep);
        if (rc != 0)
            return xml_rollback(b, mark, rc);
        run = i + 1;
    }
    rc = buf_append(b, s + run, len - run);
    if (rc != 0)
        return xml_rollback(b, mark, rc);
    return 0;
}

int xml_append_element(struct buf *b, const char *name, const char *text, size_t len)
{
    size_t mark = b->len;
    size_t name_len = strlen(name);
    int rc = buf_append_char(b, '<');

    if (rc == 0)
        rc = buf_append(b, name, name_len);
    if (rc == 0)
        rc = buf_append_char(b, '>');
    if (rc == 0)
        rc = xml_append_escaped(b, text, len);
    if (rc == 0)
        rc = buf_append(b, "</", 2);
    if (rc == 0)
        rc = buf_append(b, name, name_len);
    if (rc == 0)
        rc = buf_append_char(b, '>');
    if (rc != 0)
        return xml_rollback(b, mark, rc);
    return 0;
}
