/*
 * auth: who may use the S3 front. Client credentials are kept apart from the UFS's
 * (target_options): trainers hold proxy keys, never the real S3 keys. They come from the
 * config (credentials: "AKID:SECRET[:TOKEN],...") and/or a file (credentials_file: one
 * AKID:SECRET[:TOKEN] per line, '#' comments, readable by its owner only), and are swapped
 * atomically on SIGHUP without touching connections. Every request is verified with SigV4
 * (core/sigv4_verify.c, header or presigned) before anything else happens.
 */
#ifndef SERVER_S3_AUTH_H
#define SERVER_S3_AUTH_H

#include "../../conf/config.h"

#include <stdbool.h>
#include <stddef.h>

struct s3_auth;
struct s3_request;

/* NULL after writing the reason into err (no credentials, a bad line, a file too open...). */
struct s3_auth *s3_auth_create(const struct config *cfg, char *err, size_t err_size);
/* Load the credentials again (SIGHUP); on failure the old ones stay. 0 or -1 with err. */
int s3_auth_reload(struct s3_auth *a, const struct config *cfg, char *err, size_t err_size);
void s3_auth_destroy(struct s3_auth *a);
/* How many access keys are loaded (0 with auth: none). */
size_t s3_auth_key_count(struct s3_auth *a);

/* true: r may proceed. false: the S3 error was sent and r is finished. Any loop thread. */
bool s3_auth_check(struct s3_auth *a, struct s3_request *r);

#endif
