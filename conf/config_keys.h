/*
 * config_keys: the key table of conf/config.c as seen by conf/yaml.c. Private to conf/.
 *
 * Why it exists: config.c owns the one table of keys and the per-key value parser; the YAML
 * reader lives in its own file (STYLE.md section 1: one concept per file) but must set keys
 * exactly as env and --set do, so it goes through these calls instead of a copy of the rules.
 * Keys are named by their index in the table. The double underscore marks cross-file internals
 * (STYLE.md section 2): nothing outside conf/ may call them.
 */
#ifndef CONF_CONFIG_KEYS_H
#define CONF_CONFIG_KEYS_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>

#define CONFIG__KEY_MAX_BYTES 256 /* a dotted key, "options." included */
#define CONFIG__WHY_MAX_BYTES 512 /* the reason part of an error */

/* Number of keys; indexes run from 0 to this minus one. */
/* Write a formatted error into err (nothing when err is NULL or err_size 0). */
void config__errf(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

size_t config__key_count(void);
/* Index of the key with this full dotted name, or -1. */
int config__key_find(const char *name);
const char *config__key_name(int idx);
/* True for keys that take a YAML sequence (listen). */
bool config__key_is_list(int idx);
/* True when some key starts with "name." ("options", "target_options", "options.alluxio"). */
bool config__is_section(const char *name);

/*
 * Set key idx from text; value NULL is a YAML null. 0, or -1 with the reason (no key, no
 * location) in why, the bad value quoted unless the key is secret.
 */
int config__apply(struct config *c, int idx, const char *value, char *why, size_t why_size);
/*
 * Replace list key idx with items[0..n). On -1, *bad_item is the index of the offending item
 * (0 when the list as a whole is wrong: empty, too long, not a list key).
 */
int config__apply_list(struct config *c, int idx, const char *const *items, size_t n,
                       size_t *bad_item, char *why, size_t why_size);

#endif
