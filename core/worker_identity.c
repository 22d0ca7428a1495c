/*
 * worker_identity: load or create the persisted identity (see worker_identity.h).
 */
#include "worker_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define WORKER_IDENTITY_FILE_MAX 128 /* bytes read from the file: a UUID and some whitespace */

static int worker_identity_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int worker_identity_parse(const char *text, size_t len, uint8_t out[WORKER_IDENTITY_BYTES])
{
    size_t nibbles = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == '-' || ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
            continue;
        int v = worker_identity_hex(ch);
        if (v < 0 || nibbles >= 2 * WORKER_IDENTITY_BYTES)
            return -EINVAL;
        if (nibbles % 2 == 0)
            out[nibbles / 2] = (uint8_t)(v << 4);
        else
            out[nibbles / 2] |= (uint8_t)v;
        nibbles++;
    }
    return nibbles == 2 * WORKER_IDENTITY_BYTES ? 0 : -EINVAL;
}

static int worker_identity_random(uint8_t out[WORKER_IDENTITY_BYTES])
{
    if (getrandom(out, WORKER_IDENTITY_BYTES, 0) != WORKER_IDENTITY_BYTES)
        return -EIO;
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40); /* version 4 */
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    return 0;
}

static int worker_identity_write(const char *path, const uint8_t id[WORKER_IDENTITY_BYTES])
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    char text[64];
    int n = snprintf(text, sizeof(text),
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n",
                     id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], id[8], id[9], id[10],
                     id[11], id[12], id[13], id[14], id[15]);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (write(fd, text, (size_t)n) != n || fsync(fd) != 0)
        rc = errno ? -errno : -EIO;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int worker_identity_load(const char *path, uint8_t out[WORKER_IDENTITY_BYTES], bool *created)
{
    *created = false;
    if (!path) {
        *created = true;
        return worker_identity_random(out);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char text[WORKER_IDENTITY_FILE_MAX];
        ssize_t n = read(fd, text, sizeof(text));
        int err = errno;
        close(fd);
        if (n < 0)
            return -err;
        return worker_identity_parse(text, (size_t)n, out);
    }
    if (errno != ENOENT)
        return -errno;
    int rc = worker_identity_random(out);
    if (rc == 0)
        rc = worker_identity_write(path, out);
    if (rc == 0)
        *created = true;
    return rc;
}
