/*
 * Unit tests for conf/config.c: YAML file, env, --set, precedence, error messages (file, key,
 * reason, line), list-valued listen, config_print masking and round trip, config_validate.
 */
#include "conf/config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where conf/local.yaml is found; the build may pass the source root. */
#ifndef CONF_TEST_SOURCE_ROOT
#define CONF_TEST_SOURCE_ROOT "."
#endif

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

static struct config cfg;
static char err[1024];
static char path[64];

static void setup(void)
{
    config_init(&cfg);
    err[0] = '\0';
    path[0] = '\0';
}

static void teardown(void)
{
    config_free(&cfg);
    if (path[0])
        unlink(path);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Write text to a fresh temp file named in path. */
static void write_tmp(const char *text)
{
    if (path[0])
        unlink(path); /* a test that loads twice leaves no file behind */
    snprintf(path, sizeof(path), "/tmp/conf-test-XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    cr_assert(fd >= 0);
    size_t n = strlen(text);
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static int load_text(const char *text)
{
    write_tmp(text);
    return config_load_file(&cfg, path, err, sizeof(err));
}

/* err must be exactly "<path>: <rest>". */
static void assert_file_err(const char *rest)
{
    char want[1024];
    snprintf(want, sizeof(want), "%s: %s", path, rest);
    cr_assert_str_eq(err, want);
}

Test(config, defaults)
{
    cr_assert_eq(cfg.listen_count, 1);
    cr_assert_str_eq(cfg.listen[0].host, "127.0.0.1");
    cr_assert_eq(cfg.listen[0].port, 9000);
    cr_assert_eq(cfg.threads, 0);
    cr_assert_null(cfg.virtual_host_domain);
    cr_assert_str_eq(cfg.log_level, "info");
    cr_assert_eq(cfg.target_protocol, CONFIG_TARGET_S3);
    cr_assert_null(cfg.target_options.endpoint_url);
    cr_assert_null(cfg.target_options.key);
    cr_assert_null(cfg.target_options.secret);
    cr_assert_null(cfg.target_options.token);
    cr_assert_str_eq(cfg.target_options.region, "us-east-1");
    cr_assert_eq(cfg.target_options.anon, false);
    cr_assert_null(cfg.target_options.root);
    cr_assert_eq(cfg.target_options.addressing_style, CONFIG_ADDRESSING_AUTO);
    cr_assert_eq(cfg.page_size, MIB);
    cr_assert_eq(cfg.memory_store_size, UINT64_MAX, "auto until validated");
    cr_assert_eq(cfg.metadata_cache_ttl_ms, 5000);
    cr_assert_null(cfg.etcd_hosts);
    cr_assert_eq(cfg.etcd_port, 2379);
    cr_assert_null(cfg.worker_hosts);
    cr_assert_eq(cfg.worker_http_port, 28080);
    cr_assert_str_eq(cfg.cluster_name, "DefaultAlluxioCluster");
    cr_assert_eq(cfg.virtual_nodes, 5);
    cr_assert_null(cfg.etcd_username);
    cr_assert_null(cfg.etcd_password);
    cr_assert_eq(cfg.worker_connect_timeout_ms, 1000);
    cr_assert_eq(cfg.worker_first_byte_timeout_ms, 2000);
    cr_assert_eq(cfg.worker_timeout_ms, 10000);
    cr_assert_eq(cfg.worker_suspect_ms, 10000);
    cr_assert_eq(cfg.read_window_pages, 4);
    cr_assert_eq(cfg.ufs_connect_timeout_ms, 3000);
    cr_assert_eq(cfg.ufs_request_timeout_ms, 30000);
    cr_assert_eq(cfg.ufs_retries, 3);
    cr_assert_eq(cfg.max_connections, 10000);
    cr_assert_eq(cfg.header_timeout_ms, 30000);
    cr_assert_eq(cfg.idle_timeout_ms, 60000);
    cr_assert_eq(cfg.body_timeout_ms, 30000);
    cr_assert_eq(cfg.send_timeout_ms, 60000);
    cr_assert_eq(cfg.shutdown_timeout_ms, 10000);
    cr_assert_null(cfg.source_file);
    cr_assert_eq(config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.memory_store_size, GIB, "auto is 1GiB without a cluster");
}

Test(config, cluster_keys_and_aliases)
{
    cr_assert_eq(load_text("etcd_hosts: \"e1,e2:2380\"\n"
                           "etcd_port: 3379\n"
                           "cluster_name: mycluster\n"
                           "hash_node_per_worker: 2000\n"
                           "etcd_username: root\n"
                           "etcd_password: pw\n"
                           "worker_first_byte_timeout: 300ms\n"),
                 0, "%s", err);
    cr_assert_str_eq(cfg.etcd_hosts, "e1,e2:2380");
    cr_assert_eq(cfg.etcd_port, 3379);
    cr_assert_str_eq(cfg.cluster_name, "mycluster");
    cr_assert_eq(cfg.virtual_nodes, 2000);
    cr_assert_str_eq(cfg.etcd_username, "root");
    cr_assert_str_eq(cfg.etcd_password, "pw");
    cr_assert_eq(cfg.worker_first_byte_timeout_ms, 300);
    cr_assert_eq(config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.memory_store_size, 64 * MIB, "auto is a small hot tier in cluster mode");
    char *s = config_print(&cfg);
    cr_assert_not_null(s);
    cr_assert_null(strstr(s, "\ncluster_name:"), "aliases are not printed:\n%s", s);
    cr_assert_null(strstr(s, "pw"), "the etcd password is masked:\n%s", s);
    cr_assert_not_null(strstr(s, "  alluxio.cluster.name: \"mycluster\"\n"), "%s", s);
    free(s);
}

Test(config, roles)
{
    cr_assert_eq(cfg.roles, CONFIG_ROLE_S3);
    cr_assert_eq(load_text("roles: [s3, worker]\n"), 0, "%s", err);
    cr_assert_eq(cfg.roles, CONFIG_ROLE_S3 | CONFIG_ROLE_WORKER);
    cr_assert_eq(load_text("roles: \" Worker \"\n"), 0, "%s", err);
    cr_assert_eq(cfg.roles, CONFIG_ROLE_WORKER);
    cr_assert_eq(config_set(&cfg, "roles=worker,s3", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.roles, CONFIG_ROLE_S3 | CONFIG_ROLE_WORKER);
    char *s = config_print(&cfg);
    cr_assert_not_null(strstr(s, "\nroles: [s3, worker]\n"), "%s", s);
    free(s);
    cr_assert_neq(config_set(&cfg, "roles=s3,gateway", err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "expected roles s3 and/or worker"), "%s", err);
    cr_assert_neq(config_set(&cfg, "roles=", err, sizeof(err)), 0);
    cr_assert_neq(load_text("roles: []\n"), 0);
    cr_assert_eq(cfg.worker_http_server_port, 28080);
    cr_assert_str_eq(cfg.worker_bind_host, "0.0.0.0");
    cr_assert_null(cfg.worker_hostname);
    cr_assert_eq(cfg.worker_lease_ttl_ms, 5000);
}

Test(config, cluster_validation)
{
    cr_assert_eq(load_text("etcd_hosts: a\nworker_hosts: b\n"), 0, "%s", err);
    cr_assert_neq(config_validate(&cfg, err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "set one, not both"), "%s", err);
    config_free(&cfg);
    config_init(&cfg);
    cr_assert_eq(load_text("etcd_hosts: a\noptions: {alluxio.etcd.username: u}\n"), 0, "%s", err);
    cr_assert_neq(config_validate(&cfg, err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "set both or neither"), "%s", err);
    config_free(&cfg);
    config_init(&cfg);
    cr_assert_eq(load_text("worker_hosts: a,b\nmemory_store_size: 0\n"), 0, "%s", err);
    cr_assert_eq(config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.memory_store_size, 0);
    config_free(&cfg);
    config_init(&cfg);
    cr_assert_eq(load_text("memory_store_size: 0\n"), 0, "%s", err);
    cr_assert_neq(config_validate(&cfg, err, sizeof(err)), 0, "0 needs a cluster");
}

Test(config, good_file)
{
    int rc = load_text("# a full file\n"
                       "listen: \"[::1]:9100\"\n"
                       "threads: 8\n"
                       "virtual_host_domain: s3.local\n"
                       "log_level: debug\n"
                       "target_protocol: s3\n"
                       "target_options:\n"
                       "  endpoint_url: http://minio:9000/\n"
                       "  key: AKIDEXAMPLE\n"
                       "  secret: wJalrXUtnFEMI\n"
                       "  token: tok\n"
                       "  region: eu-west-1\n"
                       "  anon: no\n"
                       "  addressing_style: path\n"
                       "options:\n"
                       "  alluxio.worker.page.store.page.size: 4MB\n"
                       "memory_store_size: 2GiB\n"
                       "metadata_cache_ttl: 1m\n"
                       "read_window_pages: 8\n"
                       "ufs_connect_timeout: 1s\n"
                       "ufs_request_timeout: 2m\n"
                       "ufs_retries: 0\n"
                       "max_connections: 100\n"
                       "header_timeout: 10s\n"
                       "idle_timeout: 5s\n"
                       "body_timeout: 15s\n"
                       "send_timeout: 20s\n"
                       "shutdown_timeout: 0\n");
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_str_eq(cfg.source_file, path);
    cr_assert_eq(cfg.listen_count, 1);
    cr_assert_str_eq(cfg.listen[0].host, "::1");
    cr_assert_eq(cfg.listen[0].port, 9100);
    cr_assert_eq(cfg.threads, 8);
    cr_assert_str_eq(cfg.virtual_host_domain, "s3.local");
    cr_assert_str_eq(cfg.log_level, "debug");
    cr_assert_str_eq(cfg.target_options.endpoint_url, "http://minio:9000");
    cr_assert_str_eq(cfg.target_options.key, "AKIDEXAMPLE");
    cr_assert_str_eq(cfg.target_options.secret, "wJalrXUtnFEMI");
    cr_assert_str_eq(cfg.target_options.token, "tok");
    cr_assert_str_eq(cfg.target_options.region, "eu-west-1");
    cr_assert_eq(cfg.target_options.anon, false);
    cr_assert_eq(cfg.target_options.addressing_style, CONFIG_ADDRESSING_PATH);
    cr_assert_eq(cfg.page_size, 4 * MIB);
    cr_assert_eq(cfg.memory_store_size, 2 * GIB);
    cr_assert_eq(cfg.metadata_cache_ttl_ms, 60000);
    cr_assert_eq(cfg.read_window_pages, 8);
    cr_assert_eq(cfg.ufs_connect_timeout_ms, 1000);
    cr_assert_eq(cfg.ufs_request_timeout_ms, 120000);
    cr_assert_eq(cfg.ufs_retries, 0);
    cr_assert_eq(cfg.max_connections, 100);
    cr_assert_eq(cfg.header_timeout_ms, 10000);
    cr_assert_eq(cfg.idle_timeout_ms, 5000);
    cr_assert_eq(cfg.body_timeout_ms, 15000);
    cr_assert_eq(cfg.send_timeout_ms, 20000);
    cr_assert_eq(cfg.shutdown_timeout_ms, 0);
    cr_assert_eq(config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
}

Test(config, file_target)
{
    cr_assert_eq(load_text("target_protocol: file\n"
                           "target_options: {root: ./var/ufs, anon: yes}\n"),
                 0, "%s", err);
    cr_assert_eq(cfg.target_protocol, CONFIG_TARGET_FILE);
    cr_assert_str_eq(cfg.target_options.root, "./var/ufs");
    cr_assert_eq(cfg.target_options.anon, true);
}

Test(config, empty_file_keeps_defaults)
{
    cr_assert_eq(load_text(""), 0, "%s", err);
    cr_assert_eq(load_text("# only a comment\n"), 0, "%s", err);
    cr_assert_eq(load_text("~\n"), 0, "%s", err);
    cr_assert_eq(cfg.page_size, MIB);
}

Test(config, unknown_top_level_key)
{
    cr_assert_eq(load_text("threads: 2\nbogus_key: 1\n"), -1);
    assert_file_err("bogus_key: unknown key (line 2, column 1)");
}

Test(config, unknown_key_with_mapping_value)
{
    cr_assert_eq(load_text("bogus:\n  a: 1\n"), -1);
    assert_file_err("bogus: unknown key (line 1, column 1)");
}

Test(config, unknown_target_option)
{
    cr_assert_eq(load_text("target_options:\n  region: x\n  regoin: y\n"), -1);
    assert_file_err("target_options.regoin: unknown key (line 3, column 3)");
}

Test(config, unknown_option)
{
    cr_assert_eq(load_text("options:\n  alluxio.user.file.readtype.default: CACHE\n"), -1);
    assert_file_err("options.alluxio.user.file.readtype.default: unknown key (line 2, column 3)");
}

Test(config, options_not_starting_with_alluxio)
{
    cr_assert_eq(load_text("options: {page_size: 4MB}\n"), -1);
    assert_file_err("options.page_size: unknown key (line 1, column 11)");
}

Test(config, bad_boolean_message)
{
    cr_assert_eq(load_text("target_options:\n  anon: maybe\n"), -1);
    assert_file_err("target_options.anon: expected a boolean (true/false/yes/no/1/0), got "
                    "'maybe' (line 2, column 9)");
}

Test(config, bad_values)
{
    static const struct {
        const char *yaml;
        const char *want; /* the part after "<file>: " */
    } cases[] = {
        {"threads: 0\n", "threads: expected \"auto\" or an integer from 1 to 256, got '0'"},
        {"threads: 257\n", "threads: expected \"auto\" or an integer from 1 to 256, got '257'"},
        {"threads: many\n", "threads: expected \"auto\" or an integer from 1 to 256, got 'many'"},
        {"threads:\n", "threads: missing value"},
        {"log_level: loud\n", "log_level: expected one of debug|info|warn|error, got 'loud'"},
        {"target_protocol: gcs\n", "target_protocol: expected one of s3|file, got 'gcs'"},
        {"target_options: {addressing_style: vhost}\n",
         "target_options.addressing_style: expected one of auto|path|virtual, got 'vhost'"},
        {"target_options: {endpoint_url: minio:9000}\n",
         "target_options.endpoint_url: expected an http:// or https:// URL, got 'minio:9000'"},
        {"target_options: {endpoint_url: 'http://'}\n",
         "target_options.endpoint_url: URL has no host, got 'http://'"},
        {"target_options: {region: ''}\n", "target_options.region: expected a non-empty string"},
        {"options: {alluxio.worker.page.store.page.size: 2KB}\n",
         "options.alluxio.worker.page.store.page.size: must be from 4KiB to 1GiB, got '2KB'"},
        {"options: {alluxio.worker.page.store.page.size: 2GB}\n",
         "options.alluxio.worker.page.store.page.size: must be from 4KiB to 1GiB, got '2GB'"},
        {"memory_store_size: lots\n",
         "memory_store_size: expected a size such as 4096, 64KB, 1MiB or 1.5GB, got 'lots'"},
        {"memory_store_size: 99999999PB\n", "memory_store_size: size too large, got '99999999PB'"},
        {"metadata_cache_ttl: soon\n",
         "metadata_cache_ttl: expected a duration such as 500ms, 5s, 2m or 1h (bare number = "
         "ms), got 'soon'"},
        {"header_timeout: 0\n", "header_timeout: must be from 1ms to 1d, got '0'"},
        {"idle_timeout: 2d\n", "idle_timeout: must be from 1ms to 1d, got '2d'"},
        {"read_window_pages: 0\n", "read_window_pages: expected an integer from 1 to 64, got '0'"},
        {"read_window_pages: 65\n",
         "read_window_pages: expected an integer from 1 to 64, got '65'"},
        {"ufs_retries: 11\n", "ufs_retries: expected an integer from 0 to 10, got '11'"},
        {"ufs_retries: -1\n", "ufs_retries: expected an integer from 0 to 10, got '-1'"},
        {"max_connections: 0\n", "max_connections: expected an integer from 1 to 1000000, got '0'"},
        {"max_connections: 1000001\n",
         "max_connections: expected an integer from 1 to 1000000, got '1000001'"},
        {"threads: [1, 2]\n", "threads: expected a single value, got a list"},
        {"threads: {a: 1}\n", "threads: expected a single value, got a mapping"},
        {"target_options: [a]\n", "target_options: expected a mapping"},
        {"log_level: \"a\\tb'c\"\n",
         "log_level: expected one of debug|info|warn|error, got 'a\\x09b\\x27c'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        config_free(&cfg);
        config_init(&cfg);
        cr_assert_eq(load_text(cases[i].yaml), -1, "accepted: %s", cases[i].yaml);
        char want[1024];
        int n = snprintf(want, sizeof(want), "%s: %s (line ", path, cases[i].want);
        cr_assert_eq(strncmp(err, want, (size_t)n), 0, "got:  %s\nwant: %s", err, want);
        unlink(path);
        path[0] = '\0';
    }
}

Test(config, long_bad_value_is_capped)
{
    char yaml[400];
    char val[201];
    memset(val, 'x', 200);
    val[200] = '\0';
    snprintf(yaml, sizeof(yaml), "log_level: %s\n", val);
    cr_assert_eq(load_text(yaml), -1);
    cr_assert_not_null(
        strstr(err, "got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"),
        "%s", err);
}

Test(config, invalid_yaml_names_line)
{
    cr_assert_eq(load_text("threads: 2\nlisten: [a\n"), -1);
    cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);
    cr_assert_not_null(strstr(err, "invalid YAML"), "%s", err);
    cr_assert_not_null(strstr(err, "(line "), "%s", err);
}

Test(config, top_must_be_mapping)
{
    cr_assert_eq(load_text("- a\n- b\n"), -1);
    assert_file_err("expected a mapping of keys at the top (line 1)");
}

Test(config, second_document_rejected)
{
    cr_assert_eq(load_text("threads: 2\n---\nthreads: 3\n"), -1);
    assert_file_err("more than one YAML document");
}

Test(config, missing_file)
{
    cr_assert_eq(config_load_file(&cfg, "/nonexistent/x.yaml", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "/nonexistent/x.yaml: cannot open: No such file or directory");
}

Test(config, flat_options)
{
    cr_assert_eq(load_text("options: {alluxio.worker.page.store.page.size: 4MB}\n"), 0, "%s", err);
    cr_assert_eq(cfg.page_size, 4 * MIB);
}

Test(config, nested_options)
{
    cr_assert_eq(load_text("options:\n"
                           "  alluxio:\n"
                           "    worker:\n"
                           "      page.store:\n"
                           "        page:\n"
                           "          size: 64KB\n"),
                 0, "%s", err);
    cr_assert_eq(cfg.page_size, 64 * 1024);
}

Test(config, dotted_keys_at_top)
{
    cr_assert_eq(load_text("target_options.region: ap-south-1\n"
                           "options.alluxio.worker.page.store.page.size: 8MB\n"),
                 0, "%s", err);
    cr_assert_str_eq(cfg.target_options.region, "ap-south-1");
    cr_assert_eq(cfg.page_size, 8 * MIB);
}

Test(config, duplicate_key_across_spellings)
{
    cr_assert_eq(load_text("options:\n"
                           "  alluxio.worker.page.store.page.size: 4MB\n"
                           "  alluxio: {worker.page.store.page.size: 8MB}\n"),
                 -1);
    assert_file_err("options.alluxio.worker.page.store.page.size: duplicate key (line 3, "
                    "column 13)");
}

Test(config, empty_sections_allowed)
{
    cr_assert_eq(load_text("options:\ntarget_options:\n"), 0, "%s", err);
}

Test(config, yaml_null_clears_nullable)
{
    cr_assert_eq(config_set(&cfg, "target_options.endpoint_url=http://x", err, sizeof(err)), 0);
    cr_assert_eq(load_text("target_options: {endpoint_url: null}\nvirtual_host_domain: ~\n"), 0,
                 "%s", err);
    cr_assert_null(cfg.target_options.endpoint_url);
    cr_assert_null(cfg.virtual_host_domain);
}

Test(config, quoted_values)
{
    cr_assert_eq(load_text("target_options: {anon: \"true\", key: \"null\"}\nthreads: '4'\n"), 0,
                 "%s", err);
    cr_assert_eq(cfg.target_options.anon, true);
    cr_assert_str_eq(cfg.target_options.key, "null"); /* quoted: a string, not a null */
    cr_assert_eq(cfg.threads, 4);
}

Test(config, alias_cycle_terminates)
{
    cr_assert_eq(load_text("options: &a {alluxio: *a}\n"), -1);
    cr_assert_not_null(strstr(err, "unknown key"), "%s", err);
}

/* ---- listen ---- */

Test(config, listen_list_in_yaml)
{
    cr_assert_eq(load_text("listen:\n  - 127.0.0.1:9000\n  - \"[::]:9001\"\n  - localhost:9002\n"),
                 0, "%s", err);
    cr_assert_eq(cfg.listen_count, 3);
    cr_assert_str_eq(cfg.listen[0].host, "127.0.0.1");
    cr_assert_eq(cfg.listen[0].port, 9000);
    cr_assert_str_eq(cfg.listen[1].host, "::");
    cr_assert_eq(cfg.listen[1].port, 9001);
    cr_assert_str_eq(cfg.listen[2].host, "localhost");
    cr_assert_eq(cfg.listen[2].port, 9002);
}

Test(config, listen_errors)
{
    static const struct {
        const char *value;
        const char *want;
    } cases[] = {
        {"9000", "--set listen: expected HOST:PORT such as 127.0.0.1:9000 or [::1]:9000, got "
                 "'9000'"},
        {"::1:9000", "--set listen: IPv6 addresses go in brackets, as in [::1]:9000, got "
                     "'::1:9000'"},
        {"[::1]9000", "--set listen: expected HOST:PORT such as 127.0.0.1:9000 or [::1]:9000, "
                      "got '[::1]9000'"},
        {"example.com:80", "--set listen: host must be a numeric IPv4 address, [IPv6] or "
                           "localhost, got 'example.com:80'"},
        {"[zz]:80", "--set listen: host must be a numeric IPv4 address, [IPv6] or localhost, "
                    "got '[zz]:80'"},
        {"127.0.0.1:0", "--set listen: port must be an integer from 1 to 65535, got "
                        "'127.0.0.1:0'"},
        {"127.0.0.1:65536", "--set listen: port must be an integer from 1 to 65535, got "
                            "'127.0.0.1:65536'"},
        {"127.0.0.1:", "--set listen: port must be an integer from 1 to 65535, got "
                       "'127.0.0.1:'"},
        {"127.0.0.1:1,,127.0.0.1:2", "--set listen: expected HOST:PORT or a comma-separated "
                                     "list, got '127.0.0.1:1,,127.0.0.1:2'"},
        {"", "--set listen: expected HOST:PORT or a comma-separated list, got ''"},
        {"127.0.0.1:1,127.0.0.1:1", "--set listen: duplicate address '127.0.0.1:1'"},
        {"127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,127.0.0.1:4,127.0.0.1:5,127.0.0.1:6,127.0.0.1:7,"
         "127.0.0.1:8,127.0.0.1:9",
         "--set listen: at most 8 addresses"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char a[512];
        snprintf(a, sizeof(a), "listen=%s", cases[i].value);
        cr_assert_eq(config_set(&cfg, a, err, sizeof(err)), -1, "accepted %s", a);
        cr_assert_str_eq(err, cases[i].want);
        /* a failed set leaves the list alone */
        cr_assert_eq(cfg.listen_count, 1);
        cr_assert_eq(cfg.listen[0].port, 9000);
    }
}

Test(config, listen_set_replaces_list)
{
    cr_assert_eq(load_text("listen: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3]\n"), 0, "%s", err);
    cr_assert_eq(config_set(&cfg, "listen=127.0.0.1:9000, [::1]:9001", err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(cfg.listen_count, 2);
    cr_assert_str_eq(cfg.listen[0].host, "127.0.0.1");
    cr_assert_eq(cfg.listen[0].port, 9000);
    cr_assert_str_eq(cfg.listen[1].host, "::1");
    cr_assert_eq(cfg.listen[1].port, 9001);
}

Test(config, listen_empty_yaml_list)
{
    cr_assert_eq(load_text("listen: []\n"), -1);
    assert_file_err("listen: expected at least one address (line 1, column 9)");
}

Test(config, listen_bad_item_points_at_item)
{
    cr_assert_eq(load_text("listen:\n  - 127.0.0.1:1\n  - nope\n"), -1);
    assert_file_err("listen: expected HOST:PORT such as 127.0.0.1:9000 or [::1]:9000, got "
                    "'nope' (line 3, column 5)");
}

/* ---- --set ---- */

Test(config, set_overrides_file)
{
    cr_assert_eq(load_text("threads: 2\noptions: {alluxio.worker.page.store.page.size: 2MB}\n"), 0,
                 "%s", err);
    cr_assert_eq(config_set(&cfg, "threads=16", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(
        config_set(&cfg, "options.alluxio.worker.page.store.page.size=4MB", err, sizeof(err)), 0,
        "%s", err);
    cr_assert_eq(config_set(&cfg, "target_options.secret=a=b", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.threads, 16);
    cr_assert_eq(cfg.page_size, 4 * MIB);
    cr_assert_str_eq(cfg.target_options.secret, "a=b");
    cr_assert_eq(config_set(&cfg, "threads=auto", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.threads, 0);
}

Test(config, set_errors)
{
    cr_assert_eq(config_set(&cfg, "threads", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "--set: expected KEY=VALUE, got 'threads'");
    cr_assert_eq(config_set(&cfg, "=4", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "--set: expected KEY=VALUE, got '=4'");
    cr_assert_eq(config_set(&cfg, "nope=1", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "--set nope: unknown key");
    cr_assert_eq(config_set(&cfg, "options.alluxio.nope=1", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "--set options.alluxio.nope: unknown key");
    cr_assert_eq(config_set(&cfg, "target_options=1", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "--set target_options: is a section; set one of its keys, as in "
                          "target_options.KEY");
    cr_assert_eq(config_set(&cfg, "target_options.anon=maybe", err, sizeof(err)), -1);
    cr_assert_str_eq(err, "--set target_options.anon: expected a boolean (true/false/yes/no/1/0), "
                          "got 'maybe'");
}

Test(config, set_empty_clears_nullable)
{
    cr_assert_eq(config_set(&cfg, "virtual_host_domain=s3.test", err, sizeof(err)), 0);
    cr_assert_str_eq(cfg.virtual_host_domain, "s3.test");
    cr_assert_eq(config_set(&cfg, "virtual_host_domain=", err, sizeof(err)), 0);
    cr_assert_null(cfg.virtual_host_domain);
}

Test(config, booleans)
{
    static const char *const t[] = {"true", "True", "TRUE", "yes", "on", "1"};
    static const char *const f[] = {"false", "False", "no", "NO", "off", "0"};
    char a[64];
    for (size_t i = 0; i < 6; i++) {
        snprintf(a, sizeof(a), "target_options.anon=%s", t[i]);
        cr_assert_eq(config_set(&cfg, a, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(cfg.target_options.anon, true, "%s", a);
        snprintf(a, sizeof(a), "target_options.anon=%s", f[i]);
        cr_assert_eq(config_set(&cfg, a, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(cfg.target_options.anon, false, "%s", a);
    }
}

/* ---- env ---- */

Test(config, env_overrides_file)
{
    cr_assert_eq(load_text("target_options:\n  key: filekey\n  secret: filesecret\n"
                           "  region: eu-west-1\nmemory_store_size: 2GB\n"),
                 0, "%s", err);
    char *envp[] = {
        "HOME=/root",
        "AWS_ACCESS_KEY_ID=envkey",
        "AWS_SECRET_ACCESS_KEY=envsecret",
        "AWS_SESSION_TOKEN=envtoken",
        "AWS_ENDPOINT_URL=https://s3.example.com",
        "AWS_REGION=us-west-2",
        "AWS_DEFAULT_REGION=ap-east-1", /* AWS_REGION wins whatever the order */
        "ALLUXIO_S3_PROXY_MEMORY_STORE_SIZE=512MiB",
        NULL,
    };
    cr_assert_eq(config_load_env(&cfg, envp, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(cfg.target_options.key, "envkey");
    cr_assert_str_eq(cfg.target_options.secret, "envsecret");
    cr_assert_str_eq(cfg.target_options.token, "envtoken");
    cr_assert_str_eq(cfg.target_options.endpoint_url, "https://s3.example.com");
    cr_assert_str_eq(cfg.target_options.region, "us-west-2");
    cr_assert_eq(cfg.memory_store_size, 512 * MIB);
}

Test(config, env_default_region_and_empty_ignored)
{
    char *envp[] = {"AWS_DEFAULT_REGION=ap-east-1", "AWS_REGION=", "AWS_ACCESS_KEY_ID=", NULL};
    cr_assert_eq(config_load_env(&cfg, envp, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(cfg.target_options.region, "ap-east-1");
    cr_assert_null(cfg.target_options.key);
}

Test(config, env_own_prefix)
{
    char *envp[] = {
        "ALLUXIO_S3_PROXY_TARGET_OPTIONS__ENDPOINT_URL=http://127.0.0.1:9999",
        "AWS_ENDPOINT_URL=http://loses",
        "ALLUXIO_S3_PROXY_OPTIONS__ALLUXIO__WORKER__PAGE__STORE__PAGE__SIZE=256KB",
        "ALLUXIO_S3_PROXY_LISTEN=127.0.0.1:1,127.0.0.1:2",
        "ALLUXIO_S3_PROXY_THREADS=3",
        "ALLUXIO_S3_PROXY_TARGET_OPTIONS__ANON=true",
        NULL,
    };
    cr_assert_eq(config_load_env(&cfg, envp, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(cfg.target_options.endpoint_url, "http://127.0.0.1:9999");
    cr_assert_eq(cfg.page_size, 256 * 1024);
    cr_assert_eq(cfg.listen_count, 2);
    cr_assert_eq(cfg.threads, 3);
    cr_assert_eq(cfg.target_options.anon, true);
}

Test(config, env_unknown_key)
{
    char *envp[] = {"ALLUXIO_S3_PROXY_THREADZ=3", NULL};
    cr_assert_eq(config_load_env(&cfg, envp, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "env ALLUXIO_S3_PROXY_THREADZ: threadz: unknown key");
}

Test(config, env_bad_value)
{
    char *envp[] = {"ALLUXIO_S3_PROXY_TARGET_OPTIONS__ANON=maybe", NULL};
    cr_assert_eq(config_load_env(&cfg, envp, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "env ALLUXIO_S3_PROXY_TARGET_OPTIONS__ANON: target_options.anon: "
                          "expected a boolean (true/false/yes/no/1/0), got 'maybe'");
    char *envp2[] = {"AWS_ENDPOINT_URL=ftp://x", NULL};
    cr_assert_eq(config_load_env(&cfg, envp2, err, sizeof(err)), -1);
    cr_assert_str_eq(err, "env AWS_ENDPOINT_URL: target_options.endpoint_url: expected an "
                          "http:// or https:// URL, got 'ftp://x'");
}

Test(config, full_precedence)
{
    /* file < env < --set, applied in that order by the caller */
    cr_assert_eq(load_text("threads: 2\n"), 0, "%s", err);
    char *envp[] = {"ALLUXIO_S3_PROXY_THREADS=3", NULL};
    cr_assert_eq(config_load_env(&cfg, envp, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.threads, 3);
    cr_assert_eq(config_set(&cfg, "threads=4", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(cfg.threads, 4);
}

/* ---- print ---- */

Test(config, print_masks_secrets)
{
    cr_assert_eq(config_set(&cfg, "target_options.key=AKIDVISIBLE", err, sizeof(err)), 0);
    cr_assert_eq(config_set(&cfg, "target_options.secret=TOPSECRETVALUE", err, sizeof(err)), 0);
    cr_assert_eq(config_set(&cfg, "target_options.token=SESSIONTOKENVALUE", err, sizeof(err)), 0);
    char *s = config_print(&cfg);
    cr_assert_not_null(s);
    cr_assert_null(strstr(s, "TOPSECRETVALUE"), "%s", s);
    cr_assert_null(strstr(s, "SESSIONTOKENVALUE"), "%s", s);
    cr_assert_not_null(strstr(s, "  key: \"AKIDVISIBLE\"\n"), "%s", s);
    cr_assert_not_null(strstr(s, "  secret: \"****\"\n"), "%s", s);
    cr_assert_not_null(strstr(s, "  token: \"****\"\n"), "%s", s);
    free(s);
}

Test(config, print_defaults)
{
    char *s = config_print(&cfg);
    cr_assert_not_null(s);
    cr_assert_not_null(strstr(s, "listen:\n  - \"127.0.0.1:9000\"\n"), "%s", s);
    cr_assert_not_null(strstr(s, "threads: auto\n"), "%s", s);
    cr_assert_not_null(strstr(s, "  secret: null\n"), "%s", s);
    cr_assert_not_null(strstr(s, "options:\n  alluxio.worker.page.store.page.size: 1MiB\n"), "%s",
                       s);
    cr_assert_not_null(strstr(s, "memory_store_size: auto\n"), "%s", s);
    cr_assert_not_null(strstr(s, "metadata_cache_ttl: 5s\n"), "%s", s);
    free(s);
}

Test(config, print_round_trips)
{
    cr_assert_eq(load_text("listen: [\"[::1]:1\", 127.0.0.1:2]\n"
                           "threads: 7\n"
                           "virtual_host_domain: \"we\\\"ird\\\\dom\"\n"
                           "target_protocol: file\n"
                           "target_options: {root: /srv/ufs, anon: true, addressing_style: "
                           "virtual, key: k}\n"
                           "options: {alluxio.worker.page.store.page.size: 1.5MB}\n"
                           "metadata_cache_ttl: 1500\n"
                           "ufs_retries: 0\n"),
                 0, "%s", err);
    char *s = config_print(&cfg);
    cr_assert_not_null(s);
    struct config again;
    config_init(&again);
    cr_assert_eq(config_load_buffer(&again, "printed", s, strlen(s), err, sizeof(err)), 0, "%s\n%s",
                 err, s);
    char *s2 = config_print(&again);
    cr_assert_str_eq(s, s2);
    cr_assert_str_eq(again.virtual_host_domain, "we\"ird\\dom");
    cr_assert_eq(again.listen_count, 2);
    cr_assert_eq(again.page_size, MIB + MIB / 2);
    cr_assert_eq(again.metadata_cache_ttl_ms, 1500);
    cr_assert_eq(again.target_options.addressing_style, CONFIG_ADDRESSING_VIRTUAL);
    free(s);
    free(s2);
    config_free(&again);
}

/* ---- validate ---- */

static void assert_invalid(const char *want)
{
    cr_assert_eq(config_validate(&cfg, err, sizeof(err)), -1);
    cr_assert_str_eq(err, want);
}

Test(config, validate_file_needs_root)
{
    cr_assert_eq(config_set(&cfg, "target_protocol=file", err, sizeof(err)), 0);
    assert_invalid("config: target_options.root: required when target_protocol is file");
    cr_assert_eq(config_set(&cfg, "target_options.root=/srv", err, sizeof(err)), 0);
    cr_assert_eq(config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
}

Test(config, validate_credentials_pair)
{
    cr_assert_eq(config_set(&cfg, "target_options.key=k", err, sizeof(err)), 0);
    assert_invalid("config: target_options.secret: required when target_options.key is set");
    cr_assert_eq(config_set(&cfg, "target_options.key=", err, sizeof(err)), 0);
    cr_assert_eq(config_set(&cfg, "target_options.secret=s", err, sizeof(err)), 0);
    assert_invalid("config: target_options.key: required when target_options.secret is set");
    cr_assert_eq(config_set(&cfg, "target_options.secret=", err, sizeof(err)), 0);
    cr_assert_eq(config_set(&cfg, "target_options.token=t", err, sizeof(err)), 0);
    assert_invalid("config: target_options.token: a session token needs target_options.key and "
                   "target_options.secret");
}

Test(config, validate_memory_holds_a_page)
{
    cr_assert_eq(config_set(&cfg, "memory_store_size=512KB", err, sizeof(err)), 0);
    assert_invalid("config: memory_store_size: 512KiB cannot hold one page "
                   "(options.alluxio.worker.page.store.page.size is 1MiB)");
}

Test(config, disk_store_dirs_and_sizes)
{
    struct config_disk_dir dirs[CONFIG_MAX_DISK_DIRS];
    cr_assert_eq(config_set(&cfg, "options.alluxio.worker.page.store.type=LOCAL", err, sizeof(err)),
                 0);
    assert_invalid("config: options.alluxio.worker.page.store.dirs: required when "
                   "options.alluxio.worker.page.store.type is LOCAL");
    cr_assert_eq(config_set(&cfg, "options.alluxio.worker.page.store.dirs=/a,/b", err, sizeof(err)),
                 0);
    cr_assert_eq(config_set(&cfg, "options.alluxio.worker.page.store.sizes=2GB", err, sizeof(err)),
                 0);
    cr_assert_eq(config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(config_disk_dirs(&cfg, dirs, err, sizeof(err)), 2);
    cr_assert_str_eq(dirs[1].path, "/b");
    cr_assert_eq(dirs[1].capacity, 2 * GIB, "one size applies to every dir");
    cr_assert_eq(
        config_set(&cfg, "options.alluxio.worker.page.store.sizes=1GB,2GB,3GB", err, sizeof(err)),
        0);
    assert_invalid("config: options.alluxio.worker.page.store.sizes: expected one size, or one "
                   "per dir (2 dirs)");
    cr_assert_eq(
        config_set(&cfg, "options.alluxio.worker.page.store.sizes=1GB,4KB", err, sizeof(err)), 0);
    assert_invalid("config: options.alluxio.worker.page.store.sizes: '4KB' is not a size that "
                   "holds a page");
    cr_assert_eq(config_set(&cfg, "options.alluxio.worker.page.store.type=DISKY", err, sizeof(err)),
                 0);
    assert_invalid("config: options.alluxio.worker.page.store.type: expected MEM or LOCAL, got "
                   "'DISKY'");
}

Test(config, validate_listen_nonempty)
{
    cfg.listen_count = 0;
    assert_invalid("config: listen: must name at least one address");
}

Test(config, free_twice_is_safe)
{
    cr_assert_eq(config_set(&cfg, "target_options.secret=s", err, sizeof(err)), 0);
    config_free(&cfg);
    config_free(&cfg);
    config_init(&cfg);
}

Test(config, shipped_local_yaml)
{
    cr_assert_eq(config_load_file(&cfg, CONF_TEST_SOURCE_ROOT "/conf/local.yaml", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(cfg.target_protocol, CONFIG_TARGET_FILE);
    cr_assert_str_eq(cfg.target_options.root, "./var/ufs");
    cr_assert_eq(cfg.listen_count, 1);
    cr_assert_str_eq(cfg.listen[0].host, "127.0.0.1");
    cr_assert_eq(cfg.listen[0].port, 9000);
    cr_assert_eq(cfg.memory_store_size, GIB);
    cr_assert_eq(cfg.page_size, MIB);
    cr_assert_eq(config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
}

Test(config, shipped_cluster_yaml)
{
    cr_assert_eq(
        config_load_file(&cfg, CONF_TEST_SOURCE_ROOT "/conf/cluster.yaml", err, sizeof(err)), 0,
        "%s", err);
    cr_assert_eq(cfg.target_protocol, CONFIG_TARGET_S3);
    cr_assert_str_eq(cfg.etcd_hosts, "etcd-0.etcd,etcd-1.etcd,etcd-2.etcd");
    cr_assert_eq(cfg.etcd_port, 2379);
    cr_assert_null(cfg.worker_hosts);
    cr_assert_str_eq(cfg.cluster_name, "DefaultAlluxioCluster");
    cr_assert_eq(cfg.virtual_nodes, 5);
    cr_assert_eq(cfg.page_size, MIB);
    cr_assert_eq(cfg.memory_store_size, 64 * MIB);
    cr_assert_eq(cfg.roles, CONFIG_ROLE_S3);
    cr_assert_eq(cfg.worker_first_byte_timeout_ms, 2000);
    cr_assert_eq(config_validate(&cfg, err, sizeof(err)), 0, "%s", err);
}

Test(config, listen_yaml_list_too_long_points_at_extra_item)
{
    cr_assert_eq(load_text("listen: [127.0.0.1:1, 127.0.0.1:2, 127.0.0.1:3, 127.0.0.1:4, "
                           "127.0.0.1:5, 127.0.0.1:6, 127.0.0.1:7, 127.0.0.1:8, 127.0.0.1:9, "
                           "127.0.0.1:10]\n"),
                 -1);
    assert_file_err("listen: at most 8 addresses (line 1, column 114)");
}

Test(config, listen_yaml_item_not_scalar)
{
    cr_assert_eq(load_text("listen:\n  - 127.0.0.1:1\n  - [a]\n"), -1);
    assert_file_err("listen: list items must be plain strings (line 3, column 5)");
}
