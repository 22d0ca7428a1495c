/*
 * worker_identity: the worker role's identity (ALLUXIO-PROTOCOL.md section 1.6): version 1 and
 * 16 random bytes (a UUIDv4), kept in a file so a restarted worker takes back its place on the
 * ring, and its cached pages stay where clients look for them.
 */
#ifndef CORE_WORKER_IDENTITY_H
#define CORE_WORKER_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#define WORKER_IDENTITY_BYTES 16

/* Read the identity from path (32 hex digits, dashes allowed, as a UUID is written), or when
 * the file does not exist create a random one and write it there (temp file + rename, so a
 * crash never leaves half an identity). path NULL: a random identity, not kept. *created says
 * which happened. 0, or -errno (unreadable, malformed or unwritable file: never replaced
 * silently, since a new identity moves every page of the cluster). */
int worker_identity_load(const char *path, uint8_t out[WORKER_IDENTITY_BYTES], bool *created)
    __attribute__((warn_unused_result));

#endif
