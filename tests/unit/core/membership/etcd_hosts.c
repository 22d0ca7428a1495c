/*
 * Unit tests for core/membership/etcd_hosts.c: the `etcd_hosts` list (default and own ports,
 * IPv6 in and out of brackets, trimming, empty entries, every rejection and the entry cap), the
 * gRPC-side "host:port" spelling, and the range_end that turns a key into a prefix range.
 */
#include "core/membership/etcd.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static void host_is(const struct etcd_host *h, const char *host, uint16_t port)
{
    cr_assert_str_eq(h->host, host);
    cr_assert_eq(h->port, port, "%s: port %u, want %u", host, h->port, port);
}

Test(etcd_hosts, mixed_list_with_default_and_own_ports)
{
    struct etcd_hosts hs;
    cr_assert_eq(etcd_hosts_parse("h1,h2:2380,[::1]:2379", 2379, &hs), 0);
    cr_assert_eq(hs.n, 3);
    host_is(&hs.hosts[0], "h1", 2379);
    host_is(&hs.hosts[1], "h2", 2380);
    host_is(&hs.hosts[2], "::1", 2379);
}

Test(etcd_hosts, default_port_applies_to_entries_without_one)
{
    struct etcd_hosts hs;
    cr_assert_eq(etcd_hosts_parse("etcd-0.etcd,10.0.0.5,[fd00::5]", 12379, &hs), 0);
    cr_assert_eq(hs.n, 3);
    host_is(&hs.hosts[0], "etcd-0.etcd", 12379);
    host_is(&hs.hosts[1], "10.0.0.5", 12379);
    host_is(&hs.hosts[2], "fd00::5", 12379);
}

Test(etcd_hosts, bare_ipv6_takes_no_port)
{
    struct etcd_hosts hs;
    /* More than one ':' without brackets: the whole entry is the address. */
    cr_assert_eq(etcd_hosts_parse("::1, fe80::1:2380", 2379, &hs), 0);
    cr_assert_eq(hs.n, 2);
    host_is(&hs.hosts[0], "::1", 2379);
    host_is(&hs.hosts[1], "fe80::1:2380", 2379);
}

Test(etcd_hosts, entries_are_trimmed_and_empty_ones_skipped)
{
    struct etcd_hosts hs;
    cr_assert_eq(etcd_hosts_parse("  h1 ,\th2:1\n,, ,h3,", 2379, &hs), 0);
    cr_assert_eq(hs.n, 3);
    host_is(&hs.hosts[0], "h1", 2379);
    host_is(&hs.hosts[1], "h2", 1);
    host_is(&hs.hosts[2], "h3", 2379);
}

Test(etcd_hosts, nothing_left_is_an_error)
{
    struct etcd_hosts hs;
    cr_assert_eq(etcd_hosts_parse("", 2379, &hs), -EINVAL);
    cr_assert_eq(etcd_hosts_parse(" , ,\t", 2379, &hs), -EINVAL);
    cr_assert_eq(etcd_hosts_parse(NULL, 2379, &hs), -EINVAL);
}

Test(etcd_hosts, default_port_zero_is_an_error)
{
    struct etcd_hosts hs;
    cr_assert_eq(etcd_hosts_parse("h1", 0, &hs), -EINVAL);
}

Test(etcd_hosts, bad_entries_are_errors_and_leave_out_alone)
{
    static const char *const bad[] = {
        "h:0",  "h:65536", "h:",  "h:12a", "h:+1",        "h: 1",    ":2379", "[::1]:",   "[::1]x",
        "[::1", "[]:2379", "h 1", "h/x",   "[::1]:99999", "h1,h:-1", "a]b",   "h:123456",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct etcd_hosts hs = {.n = 77};
        cr_assert_eq(etcd_hosts_parse(bad[i], 2379, &hs), -EINVAL, "accepted \"%s\"", bad[i]);
        cr_assert_eq(hs.n, 77, "\"%s\" wrote out", bad[i]);
    }
}

Test(etcd_hosts, highest_port_and_longest_host)
{
    struct etcd_hosts hs;
    char list[ETCD_HOST_MAX_BYTES + 16];
    memset(list, 'a', ETCD_HOST_MAX_BYTES);
    snprintf(list + ETCD_HOST_MAX_BYTES, 16, ":65535");
    cr_assert_eq(etcd_hosts_parse(list, 2379, &hs), 0);
    cr_assert_eq(strlen(hs.hosts[0].host), ETCD_HOST_MAX_BYTES);
    cr_assert_eq(hs.hosts[0].port, 65535);

    memset(list, 'a', ETCD_HOST_MAX_BYTES + 1);
    list[ETCD_HOST_MAX_BYTES + 1] = '\0';
    cr_assert_eq(etcd_hosts_parse(list, 2379, &hs), -EINVAL);
}

Test(etcd_hosts, entry_cap)
{
    char list[ETCD_HOSTS_MAX * 8 + 16] = "";
    size_t used = 0;
    for (int i = 0; i < ETCD_HOSTS_MAX; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%sh%d", i ? "," : "", i);
    struct etcd_hosts hs;
    cr_assert_eq(etcd_hosts_parse(list, 2379, &hs), 0);
    cr_assert_eq(hs.n, ETCD_HOSTS_MAX);
    host_is(&hs.hosts[ETCD_HOSTS_MAX - 1], "h31", 2379);
    snprintf(list + used, sizeof list - used, ",one-more");
    cr_assert_eq(etcd_hosts_parse(list, 2379, &hs), -E2BIG);
}

Test(etcd_hosts, target_spelling)
{
    char t[ETCD_TARGET_MAX_BYTES + 1];
    struct etcd_host h = {.host = "etcd.local", .port = 2379};
    etcd_host_target(&h, t);
    cr_assert_str_eq(t, "etcd.local:2379");
    struct etcd_host v6 = {.host = "::1", .port = 2380};
    etcd_host_target(&v6, t);
    cr_assert_str_eq(t, "[::1]:2380");
}

static void end_is(const char *prefix, size_t len, const char *want, size_t want_len)
{
    char out[64];
    size_t n = etcd_prefix_end(prefix, len, out);
    cr_assert_eq(n, want_len, "length %zu, want %zu", n, want_len);
    cr_assert(memcmp(out, want, want_len) == 0);
}

Test(etcd_prefix_end, last_byte_incremented)
{
    /* ALLUXIO-PROTOCOL.md 1.3: alluxiofs's range end for the default cluster. */
    const char *p = "/ServiceDiscovery/DefaultAlluxioCluster/";
    end_is(p, strlen(p), "/ServiceDiscovery/DefaultAlluxioCluster0", strlen(p));
    end_is("a", 1, "b", 1);
    end_is("a\x7f", 2, "a\x80", 2);
}

Test(etcd_prefix_end, trailing_ff_bytes_are_dropped)
{
    end_is("a\xff", 2, "b", 1);
    end_is("ab\xff\xff", 4, "ac", 2);
    end_is("a\xfe\xff", 3, "a\xff", 2);
}

Test(etcd_prefix_end, no_end_means_the_whole_key_space)
{
    end_is("\xff\xff", 2, "\0", 1);
    end_is("", 0, "\0", 1);
}
