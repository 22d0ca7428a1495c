/*
 * yaml: reads the -c config file (YAML) into struct config, through the key table of config.c.
 *
 * Why libyaml's document API: the file is tiny (capped at CONFIG_YAML_FILE_MAX_BYTES), and the
 * document gives every node its line and column, so an error can point at the exact spot
 * ("conf/x.yaml: target_options.anon: expected a boolean, got 'maybe' (line 7, column 9)").
 *
 * The walk: the top must be a mapping. A key is joined to its parents with dots and looked up
 * whole in the table, so "options: {alluxio.worker.page.store.page.size: 4MB}", the fully nested
 * "options: {alluxio: {worker: ...}}" and "options.alluxio...: 4MB" at the top all set the same
 * key. A mapping is descended into only when its dotted name is a prefix of some key
 * ("target_options", "options.alluxio"); anything else is an unknown key. The same key reached
 * twice, in any spelling, is a duplicate. Depth is capped, which with the prefix rule also ends
 * the walk on self-referencing aliases ("&a {alluxio: *a}").
 */
#include "config.h"

#include "config_keys.h"
#include "core/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Limits (STYLE.md section 2). */
#define CONFIG_YAML_FILE_MAX_BYTES (1024 * 1024) /* a config file; real ones are < 4KiB */
#define CONFIG_YAML_DEPTH_MAX      16            /* nested mappings */
#define CONFIG_YAML_READ_CHUNK     4096

static void config_yaml_errf(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void config_yaml_errf(char *err, size_t err_size, const char *fmt, ...)
{
    if (!err || err_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

struct config_yaml {
    struct config *c;
    const char *name; /* for messages */
    yaml_document_t *doc;
    bool *seen; /* by key index: duplicates, also across nested/flat spellings */
    char *err;
    size_t err_size;
};

static void config_yaml_err(struct config_yaml *y, const char *key, const yaml_node_t *at,
                            const char *why)
{
    config_yaml_errf(y->err, y->err_size, "%s: %s: %s (line %lu, column %lu)", y->name, key, why,
                     (unsigned long)at->start_mark.line + 1,
                     (unsigned long)at->start_mark.column + 1);
}

static bool config_yaml_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* A scalar's text as a C string, or NULL (with why) when it holds a NUL byte. */
static const char *config_yaml_text(const yaml_node_t *n, char *why, size_t why_size)
{
    const char *v = (const char *)n->data.scalar.value;
    if (memchr(v, '\0', n->data.scalar.length)) {
        snprintf(why, why_size, "value contains a NUL byte");
        return NULL;
    }
    return v;
}

static int config_yaml_value(struct config_yaml *y, int idx, const yaml_node_t *vn)
{
    char why[CONFIG__WHY_MAX_BYTES];
    const yaml_node_t *at = vn; /* where the error points */
    const char *text;

    switch (vn->type) {
    case YAML_SCALAR_NODE:
        if (config_yaml_is_null(vn)) {
            text = NULL;
        } else if (!(text = config_yaml_text(vn, why, sizeof(why)))) {
            break;
        }
        if (config__apply(y->c, idx, text, why, sizeof(why)) == 0)
            return 0;
        break;

    case YAML_SEQUENCE_NODE: {
        if (!config__key_is_list(idx)) {
            snprintf(why, sizeof(why), "expected a single value, got a list");
            break;
        }
        /* One more than allowed, so config__apply_list can say "at most N". */
        const char *items[CONFIG_MAX_LISTEN + 1];
        const yaml_node_t *item_nodes[CONFIG_MAX_LISTEN + 1];
        size_t n = 0;
        bool failed = false;
        for (yaml_node_item_t *it = vn->data.sequence.items.start;
             it < vn->data.sequence.items.top && n < CONFIG_MAX_LISTEN + 1; it++) {
            yaml_node_t *item = yaml_document_get_node(y->doc, *it);
            if (!item || item->type != YAML_SCALAR_NODE) {
                snprintf(why, sizeof(why), "list items must be plain strings");
                at = item ? item : vn;
                failed = true;
                break;
            }
            if (!(items[n] = config_yaml_text(item, why, sizeof(why)))) {
                at = item;
                failed = true;
                break;
            }
            item_nodes[n++] = item;
        }
        if (failed)
            break;
        size_t bad = 0;
        if (config__apply_list(y->c, idx, items, n, &bad, why, sizeof(why)) == 0)
            return 0;
        if (n > 0 && bad < n)
            at = item_nodes[bad];
        if (n == 0)
            at = vn;
        break;
    }

    case YAML_MAPPING_NODE:
        snprintf(why, sizeof(why), "expected a single value, got a mapping");
        break;

    default:
        snprintf(why, sizeof(why), "unexpected YAML node");
        break;
    }
    config_yaml_err(y, config__key_name(idx), at, why);
    return -1;
}

/* Walk one mapping; prefix is the dotted path of the mapping ("" at the top). */
static int config_yaml_mapping(struct config_yaml *y, const yaml_node_t *map, const char *prefix,
                               int depth)
{
    if (depth > CONFIG_YAML_DEPTH_MAX) {
        config_yaml_err(y, prefix, map, "nested too deeply");
        return -1;
    }
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
         pair++) {
        yaml_node_t *kn = yaml_document_get_node(y->doc, pair->key);
        yaml_node_t *vn = yaml_document_get_node(y->doc, pair->value);
        if (!kn || !vn)
            continue; /* libyaml never builds such pairs */
        if (kn->type != YAML_SCALAR_NODE) {
            config_yaml_err(y, *prefix ? prefix : "(top level)", kn, "keys must be strings");
            return -1;
        }
        char why[CONFIG__WHY_MAX_BYTES];
        const char *key = config_yaml_text(kn, why, sizeof(why));
        if (!key) {
            config_yaml_err(y, *prefix ? prefix : "(top level)", kn, why);
            return -1;
        }
        char full[CONFIG__KEY_MAX_BYTES];
        int n = snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", key);
        if (n < 0 || (size_t)n >= sizeof(full)) {
            config_yaml_err(y, *prefix ? prefix : "(top level)", kn, "key too long");
            return -1;
        }

        int idx = config__key_find(full);
        if (idx >= 0) {
            if (y->seen[idx]) {
                config_yaml_err(y, full, kn, "duplicate key");
                return -1;
            }
            y->seen[idx] = true;
            if (config_yaml_value(y, idx, vn) != 0)
                return -1;
            continue;
        }
        if (config__is_section(full)) {
            if (vn->type == YAML_MAPPING_NODE) {
                if (config_yaml_mapping(y, vn, full, depth + 1) != 0)
                    return -1;
                continue;
            }
            if (config_yaml_is_null(vn))
                continue; /* "options:" with nothing under it */
            config_yaml_err(y, full, vn, "expected a mapping");
            return -1;
        }
        config_yaml_err(y, full, kn, "unknown key");
        return -1;
    }
    return 0;
}

int config_load_buffer(struct config *c, const char *name, const char *data, size_t len, char *err,
                       size_t err_size)
{
    int result = -1;
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_parser = false, have_doc = false;
    struct config_yaml *y = NULL;

    if (!yaml_parser_initialize(&parser)) {
        config_yaml_errf(err, err_size, "%s: out of memory", name);
        goto fail;
    }
    have_parser = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);

    if (!yaml_parser_load(&parser, &doc)) {
        if (parser.error == YAML_MEMORY_ERROR || !parser.problem)
            config_yaml_errf(err, err_size, "%s: cannot read YAML: out of memory", name);
        else
            config_yaml_errf(err, err_size, "%s: invalid YAML: %s%s%s (line %lu, column %lu)", name,
                             parser.problem, parser.context ? " " : "",
                             parser.context ? parser.context : "",
                             (unsigned long)parser.problem_mark.line + 1,
                             (unsigned long)parser.problem_mark.column + 1);
        goto fail;
    }
    have_doc = true;

    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !config_yaml_is_null(root)) {
        if (root->type != YAML_MAPPING_NODE) {
            config_yaml_errf(err, err_size, "%s: expected a mapping of keys at the top (line %lu)",
                             name, (unsigned long)root->start_mark.line + 1);
            goto fail;
        }
        y = calloc(1, sizeof(*y));
        if (y)
            y->seen = calloc(config__key_count(), sizeof(bool));
        if (!y || !y->seen) {
            config_yaml_errf(err, err_size, "%s: out of memory", name);
            goto fail;
        }
        y->c = c;
        y->name = name;
        y->doc = &doc;
        y->err = err;
        y->err_size = err_size;
        if (config_yaml_mapping(y, root, "", 0) != 0)
            goto fail;
    }

    /* A second document ("---") would be silently ignored otherwise. */
    yaml_document_delete(&doc);
    have_doc = false;
    if (!yaml_parser_load(&parser, &doc)) {
        config_yaml_errf(err, err_size, "%s: invalid YAML after the first document (line %lu)",
                         name, (unsigned long)parser.problem_mark.line + 1);
        goto fail;
    }
    have_doc = true;
    if (yaml_document_get_root_node(&doc)) {
        config_yaml_errf(err, err_size, "%s: more than one YAML document", name);
        goto fail;
    }
    result = 0;

fail:
    if (y)
        free(y->seen);
    free(y);
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    return result;
}

int config_load_file(struct config *c, const char *path, char *err, size_t err_size)
{
    int result = -1;
    struct buf b;
    buf_init(&b, CONFIG_YAML_FILE_MAX_BYTES);
    FILE *f = fopen(path, "rb");
    if (!f) {
        config_yaml_errf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    char chunk[CONFIG_YAML_READ_CHUNK];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        int rc = buf_append(&b, chunk, n);
        if (rc == -E2BIG) {
            config_yaml_errf(err, err_size, "%s: larger than %d bytes", path,
                             CONFIG_YAML_FILE_MAX_BYTES);
            goto fail;
        }
        if (rc != 0) {
            config_yaml_errf(err, err_size, "%s: out of memory", path);
            goto fail;
        }
    }
    if (ferror(f)) {
        config_yaml_errf(err, err_size, "%s: read error", path);
        goto fail;
    }
    char *name = strdup(path);
    if (!name) {
        config_yaml_errf(err, err_size, "%s: out of memory", path);
        goto fail;
    }
    free(c->source_file);
    c->source_file = name;
    if (config_load_buffer(c, path, b.data ? b.data : "", b.len, err, err_size) != 0)
        goto fail;
    result = 0;

fail:
    if (f)
        fclose(f);
    buf_free(&b);
    return result;
}
