/*
 * etcd_hosts: the etcd host list and key-range arithmetic of the etcd client (see etcd.h):
 * pure string work, no gRPC, so it is unit-tested on its own.
 */
#include "etcd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool etcd_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Decimal 1..65535, nothing else (no sign, no spaces). */
static bool etcd_parse_port(const char *s, size_t len, uint16_t *out)
{
    uint32_t v = 0;
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v == 0 || v > UINT16_MAX)
        return false;
    *out = (uint16_t)v;
    return true;
}

static bool etcd_set_host(struct etcd_host *h, const char *s, size_t len)
{
    if (len == 0 || len > ETCD_HOST_MAX_BYTES)
        return false;
    for (size_t i = 0; i < len; i++) {
        /* Printable ASCII without brackets, commas or spaces: anything else cannot be a host
         * and would only make a confusing gRPC target. */
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '[' || s[i] == ']' || s[i] == ',' || s[i] == '/')
            return false;
    }
    memcpy(h->host, s, len);
    h->host[len] = '\0';
    return true;
}

static int etcd_parse_entry(const char *s, size_t len, uint16_t default_port, struct etcd_host *h)
{
    h->port = default_port;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return -EINVAL;
        size_t host_len = (size_t)(close - s) - 1, rest = len - host_len - 2;
        if (!etcd_set_host(h, s + 1, host_len))
            return -EINVAL;
        if (rest == 0)
            return 0;
        if (close[1] != ':' || !etcd_parse_port(close + 2, rest - 1, &h->port))
            return -EINVAL;
        return 0;
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL) {
        /* Exactly one ':': host:port. */
        if (!etcd_parse_port(colon + 1, len - (size_t)(colon - s) - 1, &h->port))
            return -EINVAL;
        len = (size_t)(colon - s);
    }
    /* No ':' or several (a bare IPv6 address, which cannot carry a port). */
    return etcd_set_host(h, s, len) ? 0 : -EINVAL;
}

int etcd_hosts_parse(const char *list, uint16_t default_port, struct etcd_hosts *out)
{
    struct etcd_hosts hs = {.n = 0};
    if (list == NULL || default_port == 0)
        return -EINVAL;
    size_t len = strlen(list), start = 0;
    while (start <= len) {
        const char *comma = memchr(list + start, ',', len - start);
        size_t end = comma != NULL ? (size_t)(comma - list) : len;
        size_t a = start, b = end;
        while (a < b && etcd_is_space(list[a]))
            a++;
        while (b > a && etcd_is_space(list[b - 1]))
            b--;
        start = end + 1;
        if (a == b)
            continue; /* "h1,,h2" or a trailing comma */
        if (hs.n == ETCD_HOSTS_MAX)
            return -E2BIG;
        int rc = etcd_parse_entry(list + a, b - a, default_port, &hs.hosts[hs.n]);
        if (rc < 0)
            return rc;
        hs.n++;
    }
    if (hs.n == 0)
        return -EINVAL;
    *out = hs;
    return 0;
}

void etcd_host_target(const struct etcd_host *h, char out[ETCD_TARGET_MAX_BYTES + 1])
{
    if (strchr(h->host, ':') != NULL)
        snprintf(out, ETCD_TARGET_MAX_BYTES + 1, "[%s]:%u", h->host, (unsigned)h->port);
    else
        snprintf(out, ETCD_TARGET_MAX_BYTES + 1, "%s:%u", h->host, (unsigned)h->port);
}

size_t etcd_prefix_end(const char *prefix, size_t len, char *out)
{
    /* etcd clientv3 GetPrefixRangeEnd: increment the last byte below 0xff, drop those after. */
    while (len > 0 && (unsigned char)prefix[len - 1] == 0xff)
        len--;
    if (len == 0) {
        out[0] = '\0';
        return 1;
    }
    memcpy(out, prefix, len);
    out[len - 1] = (char)((unsigned char)out[len - 1] + 1);
    return len;
}
