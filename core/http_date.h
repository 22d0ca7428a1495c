/*
 * http_date: HTTP dates (RFC 7231 7.1.1.1) and the ISO 8601 form S3 uses in XML.
 */
#ifndef CORE_HTTP_DATE_H
#define CORE_HTTP_DATE_H

#include <stddef.h>
#include <time.h>

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define ISO8601_LEN   24 /* "2026-11-24T10:00:00.000Z" */

/* out must hold HTTP_DATE_LEN + 1 bytes. */
void http_date_format(time_t t, char *out);
/* out must hold ISO8601_LEN + 1 bytes. */
void http_date_format_iso8601(time_t t, char *out);
/* Accepts IMF-fixdate, RFC 850 and asctime forms (all three are required of recipients).
 * 0 on success, -1 if it does not parse. */
int http_date_parse(const char *s, size_t len, time_t *out);
/* "20261124T101500Z" (SigV4 X-Amz-Date). 0 or -1. */
int http_date_parse_amz(const char *s, size_t len, time_t *out);

#endif
