/*
 * ring_cli: `alluxio-s3-proxy ring lookup|show`, the operator's answer to "which worker caches
 * this file?". The ring comes from a JSON list of etcd worker values (a file), or from the
 * membership a config names (its static worker_hosts, or one Range over etcd), and is built
 * with the same code the proxy routes with, so the answer is the proxy's (and alluxiofs's).
 */
#include "ring_cli.h"

#include "../conf/config.h"
#include "../core/log.h"
#include "../core/ring.h"
#include "cluster_mode.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_CLI_COUNT_MAX 64 /* owners printed per path */

static void ring_cli_usage(FILE *out)
{
    fprintf(out,
            "usage: alluxio-s3-proxy ring lookup [SOURCE] [--virtual-nodes N] [--count C] PATH...\n"
            "       alluxio-s3-proxy ring show [SOURCE] [--virtual-nodes N]\n"
            "\n"
            "SOURCE is one of:\n"
            "  --workers FILE.json  etcd worker values: a JSON array of them, or an object whose\n"
            "                       \"workers\" array holds them (directly or under \"value\")\n"
            "  -c FILE [--set K=V]  the membership of a proxy config: its worker_hosts, or the\n"
            "                       live members under its etcd_hosts\n"
            "PATH is the full UFS path, as alluxiofs hashes it: s3://bucket/key.\n"
            "lookup prints, per path, the owners in order (host:port), tab-separated from it;\n"
            "--count C asks for C owners (alluxiofs reads from the first). --virtual-nodes\n"
            "defaults to the config's value, or 5 (alluxiofs's default).\n");
}

/* Read the etcd values out of a workers JSON file into a ring. */
static int ring_cli_ring_from_file(const char *file, unsigned vnodes, struct ring **out)
{
    json_object *root = json_object_from_file(file);
    if (!root) {
        fprintf(stderr, "ring: %s: cannot read JSON: %s\n", file, json_util_get_last_err());
        return -1;
    }
    json_object *list = root;
    if (json_object_is_type(root, json_type_object) &&
        !json_object_object_get_ex(root, "workers", &list)) {
        fprintf(stderr, "ring: %s: no \"workers\" array\n", file);
        json_object_put(root);
        return -1;
    }
    if (!json_object_is_type(list, json_type_array)) {
        fprintf(stderr, "ring: %s: expected an array of worker values\n", file);
        json_object_put(root);
        return -1;
    }
    size_t n = json_object_array_length(list);
    const char **values = calloc(n ? n : 1, sizeof(*values));
    size_t *lens = calloc(n ? n : 1, sizeof(*lens));
    int rc = values && lens ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_object *item = json_object_array_get_idx(list, i);
        json_object *value;
        if (json_object_object_get_ex(item, "value", &value))
            item = value;
        /* A value given as a string is the raw etcd bytes; an object is written compactly. */
        values[i] = json_object_is_type(item, json_type_string)
                        ? json_object_get_string(item)
                        : json_object_to_json_string_ext(item, JSON_C_TO_STRING_PLAIN);
        lens[i] = strlen(values[i]);
    }
    size_t skipped = 0;
    if (rc == 0)
        rc = ring_new_from_values(values, lens, n, vnodes, out, &skipped);
    if (rc == 0 && skipped)
        fprintf(stderr, "ring: %s: %zu malformed worker values skipped\n", file, skipped);
    if (rc != 0)
        fprintf(stderr, "ring: %s: %s\n", file, strerror(-rc));
    free(values);
    free(lens);
    json_object_put(root);
    return rc == 0 ? 0 : -1;
}

static int ring_cli_ring_from_config(const char *file, char **sets, size_t set_count,
                                     unsigned vnodes, struct ring **out)
{
    struct config cfg;
    config_init(&cfg);
    char err[1024];
    int rc = config_load_file(&cfg, file, err, sizeof(err));
    if (rc == 0)
        rc = config_load_env(&cfg, NULL, err, sizeof(err));
    for (size_t i = 0; rc == 0 && i < set_count; i++)
        rc = config_set(&cfg, sets[i], err, sizeof(err));
    if (rc == 0)
        rc = config_validate(&cfg, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "ring: %s\n", err);
        config_free(&cfg);
        return -1;
    }
    if (vnodes)
        cfg.virtual_nodes = vnodes;
    rc = cluster_mode_ring_once(&cfg, out);
    config_free(&cfg);
    return rc;
}

static void ring_cli_print_worker(const struct ring_worker *w)
{
    printf("%s:%u\tversion=%u\tidentifier=", w->host, (unsigned)w->http_port, (unsigned)w->version);
    for (size_t i = 0; i < w->identifier_len; i++)
        printf("%02x", w->identifier[i]);
    printf("\n");
}

static int ring_cli_parse_uint(const char *s, unsigned long max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *s < '0' || *s > '9' || *end || v == 0 || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int ring_cli_main(int argc, char **argv)
{
    if (argc < 1 || (strcmp(argv[0], "lookup") != 0 && strcmp(argv[0], "show") != 0)) {
        ring_cli_usage(argc >= 1 && !strcmp(argv[0], "--help") ? stdout : stderr);
        return argc >= 1 && !strcmp(argv[0], "--help") ? 0 : 2;
    }
    bool lookup = strcmp(argv[0], "lookup") == 0;
    const char *workers_file = NULL, *config_file = NULL;
    unsigned vnodes = 0, count = 1;
    char **sets = calloc((size_t)argc, sizeof(*sets));
    size_t set_count = 0;
    int first_path = argc;
    int status = 2;
    if (!sets)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--workers") && has_value) {
            workers_file = argv[++i];
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has_value) {
            config_file = argv[++i];
        } else if (!strcmp(a, "--set") && has_value) {
            sets[set_count++] = argv[++i];
        } else if (!strcmp(a, "--virtual-nodes") && has_value) {
            if (ring_cli_parse_uint(argv[++i], RING_VNODES_MAX, &vnodes)) {
                fprintf(stderr, "ring: --virtual-nodes: expected 1..%d\n", RING_VNODES_MAX);
                goto out;
            }
        } else if (!strcmp(a, "--count") && has_value && lookup) {
            if (ring_cli_parse_uint(argv[++i], RING_CLI_COUNT_MAX, &count)) {
                fprintf(stderr, "ring: --count: expected 1..%d\n", RING_CLI_COUNT_MAX);
                goto out;
            }
        } else if (!strcmp(a, "--help")) {
            ring_cli_usage(stdout);
            status = 0;
            goto out;
        } else if (a[0] == '-' && a[1] != '\0' && strcmp(a, "--") != 0) {
            fprintf(stderr, "ring: unknown or incomplete option %s\n", a);
            ring_cli_usage(stderr);
            goto out;
        } else {
            first_path = strcmp(a, "--") == 0 ? i + 1 : i;
            break;
        }
    }
    if (!workers_file == !config_file || (set_count && !config_file)) {
        fprintf(stderr, "ring: give exactly one of --workers FILE or -c FILE\n");
        goto out;
    }
    if (lookup && first_path >= argc) {
        fprintf(stderr, "ring: lookup needs at least one PATH\n");
        goto out;
    }
    if (!lookup && first_path < argc) {
        fprintf(stderr, "ring: show takes no PATH\n");
        goto out;
    }

    struct ring *ring = NULL;
    status = 1;
    int rc = workers_file ? ring_cli_ring_from_file(workers_file,
                                                    vnodes ? vnodes : RING_VNODES_DEFAULT, &ring)
                          : ring_cli_ring_from_config(config_file, sets, set_count, vnodes, &ring);
    if (rc != 0)
        goto out;
    if (lookup) {
        for (int i = first_path; i < argc; i++) {
            const struct ring_worker *owners[RING_CLI_COUNT_MAX];
            size_t n = ring_lookup(ring, argv[i], strlen(argv[i]), count, owners);
            printf("%s\t", argv[i]);
            for (size_t j = 0; j < n; j++)
                printf("%s%s:%u", j ? "," : "", owners[j]->host, (unsigned)owners[j]->http_port);
            printf("%s\n", n ? "" : "(no workers: read from the UFS)");
        }
    } else {
        size_t n = ring_worker_count(ring);
        printf("# %zu workers, %u virtual nodes each\n", n, ring_vnodes(ring));
        for (size_t i = 0; i < n; i++)
            ring_cli_print_worker(ring_worker_at(ring, i));
    }
    ring_free(ring);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    free(sets);
    return status;
}
