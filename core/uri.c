/*
 * uri: SigV4/S3 percent-encoding and decoding. See uri.h for the contract.
 *
 * The encoder is the one the AWS SigV4 docs ("Create a canonical request", UriEncode) describe:
 * only RFC 3986 unreserved bytes pass, everything else (every byte >= 0x80 of a UTF-8 sequence
 * included) becomes %XY with upper-case hex, because the signature is computed over these bytes
 * and a client that used lower-case hex or left a sub-delimiter alone would sign something else.
 * Runs of bytes that pass are appended in one call, since keys are mostly unreserved.
 */
#include "uri.h"

#include <errno.h>
#include <stdint.h>

static bool uri_is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Value of one hex digit, or -1. Both cases are accepted on input (RFC 3986 2.1 says they are
 * equivalent); only the encoder is bound to upper case. */
static int uri_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int uri_encode(struct buf *b, const char *s, size_t len, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* start of the pending run of bytes that pass unchanged */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (uri_is_unreserved(c) || (keep_slash && c == '/'))
            continue;
        int rc = buf_append(b, s + run, i - run);
        if (rc)
            return rc;
        char esc[3] = {'%', hex[c >> 4], hex[c & 0x0f]};
        rc = buf_append(b, esc, sizeof(esc));
        if (rc)
            return rc;
        run = i + 1;
    }
    return buf_append(b, s + run, len - run);
}

int uri_decode(struct buf *b, const char *s, size_t len, bool plus_as_space)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c != '%' && !(plus_as_space && c == '+'))
            continue;
        int rc = buf_append(b, s + run, i - run);
        if (rc)
            return rc;
        char out = ' ';
        if (c == '%') {
            /* A '%' not followed by two hex digits has no decoded form, so there is nothing
             * well-defined to sign; refusing beats guessing a byte string the client did not
             * mean (callers answer 400). */
            int hi = i + 2 < len ? uri_hex_value((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 ? uri_hex_value((unsigned char)s[i + 2]) : -1;
            if (lo < 0)
                return -EINVAL;
            out = (char)(uint8_t)(hi << 4 | lo);
            i += 2;
        }
        rc = buf_append_char(b, out);
        if (rc)
            return rc;
        run = i + 1;
    }
    return buf_append(b, s + run, len - run);
}
