/*
 * Unit tests for the pure parts of core/membership/registration.c: the etcd value a worker
 * writes must parse back (with the same parser the ring uses) to the same worker, be compact
 * JSON with alluxiofs's defaults, and the key must name the identity as a dashed UUID.
 */
#include "core/membership/registration.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

static struct ring_worker worker(const char *host, uint16_t port)
{
    struct ring_worker w = {.version = 1, .identifier_len = 16, .http_port = port};
    for (unsigned i = 0; i < 16; i++)
        w.identifier[i] = (uint8_t)(0xa0 + i);
    strcpy(w.host, host);
    return w;
}

Test(registration, value_parses_back_to_the_same_worker)
{
    const char *hosts[] = {"10.0.0.11", "worker-1.example", "we\"ird\\host", "::1"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct ring_worker w = worker(hosts[i], (uint16_t)(28080 + i));
        struct buf b;
        buf_init(&b, 4096);
        cr_assert_eq(registration_value(&w, &b), 0);
        cr_assert_null(strchr(b.data, '\n'), "compact: %s", b.data);
        cr_assert_null(strstr(b.data, ": "), "compact: %s", b.data);
        struct ring_worker back;
        cr_assert_eq(ring_worker_parse(b.data, b.len, &back), RING_PARSE_OK, "%s", b.data);
        cr_assert_eq(back.version, 1);
        cr_assert_eq(back.identifier_len, 16);
        cr_assert_eq(memcmp(back.identifier, w.identifier, 16), 0);
        cr_assert_str_eq(back.host, w.host);
        cr_assert_eq(back.http_port, w.http_port);
        buf_free(&b);
    }
}

Test(registration, value_has_the_java_members)
{
    struct ring_worker w = worker("10.0.0.11", 28080);
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(registration_value(&w, &b), 0);
    cr_assert_str_eq(b.data,
                     "{\"Identity\":{\"version\":1,\"identifier\":"
                     "\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\"},\"WorkerNetAddress\":{\"Host\":"
                     "\"10.0.0.11\",\"ContainerHost\":\"\",\"RpcPort\":29999,\"DataPort\":29997,"
                     "\"SecureRpcPort\":0,\"NettyDataPort\":29997,\"WebPort\":30000,"
                     "\"DomainSocketPath\":\"\",\"HttpServerPort\":28080}}");
    buf_free(&b);
}

Test(registration, key_is_the_dashed_uuid)
{
    struct ring_worker w = worker("h", 1);
    struct buf b;
    buf_init(&b, 4096);
    cr_assert_eq(registration_key("c1", &w, &b), 0);
    cr_assert_str_eq(b.data, "/ServiceDiscovery/c1/worker-a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
    buf_reset(&b);
    cr_assert_eq(registration_key(NULL, &w, &b), 0);
    cr_assert_str_eq(b.data, "/ServiceDiscovery/DefaultAlluxioCluster/"
                             "worker-a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
    w.identifier_len = 8;
    buf_reset(&b);
    cr_assert_eq(registration_key("c1", &w, &b), -EINVAL, "only 16-byte identities have a UUID");
    buf_free(&b);
}
