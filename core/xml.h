/*
 * xml: the little XML S3 needs: escaping text into a buf, and simple elements.
 */
#ifndef CORE_XML_H
#define CORE_XML_H

#include "buf.h"

#include <stddef.h>

/* Escape & < > " ' and control characters that XML 1.0 cannot carry (as &#xN; where legal,
 * otherwise dropped never: S3 refuses such keys, so callers see them only from files). */
/* Exactly: & < > " ' -> &amp; &lt; &gt; &quot; &apos;, CR LF TAB -> &#13; &#10; &#9;, other
 * bytes below 0x20 -> &#xN; (as AWS writes them), everything else as is. Returns buf_append's
 * 0/-ENOMEM/-E2BIG; on failure nothing is appended (the same holds for xml_append_element). */
int xml_append_escaped(struct buf *b, const char *s, size_t len) BUF_WARN_UNUSED;
/* <name>escaped text</name> */
int xml_append_element(struct buf *b, const char *name, const char *text,
                       size_t len) BUF_WARN_UNUSED;

#endif
