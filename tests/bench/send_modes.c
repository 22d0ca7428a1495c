/*
 * send_modes: the sender's CPU cost per MiB of four ways to send bytes to a TCP socket, measured
 * on this machine over loopback. tests/bench/run.sh builds it and bench.py runs it at the end of
 * the benchmark (a section of RESULTS.md); it also runs alone:
 *
 *   cc -O2 -Wall -Wextra -Werror -std=gnu11 -pthread -o send_modes send_modes.c
 *   ./send_modes [--rounds N] [--mib M] [--markdown]
 *
 * Why: the disk page store issue asks us to "measure copy vs. zero-copy (registered buffers,
 * splice, SEND_ZC) and keep what wins". The proxy sends cached pages from its own memory with a
 * plain, copying sendmsg (through io_uring); this puts numbers on the alternatives:
 *   1. send() from an anonymous buffer, a copy into the socket's buffers: the baseline;
 *   2. vmsplice() of the buffer into a 1 MiB pipe, then splice() pipe -> socket;
 *   3. sendfile() from a file in the page cache, what nginx does;
 *   4. send(MSG_ZEROCOPY), completions read from the socket's error queue: the kernel mechanism
 *      behind io_uring's IORING_OP_SEND_ZC, without the ring.
 * A receiver thread on one CPU reads and discards; the sender thread on another sends M MiB per
 * way in 1 MiB chunks, over a fresh connection each time, and only its CPU time counts. Rounds
 * run every way once, in rotated order, so a noisy moment hits all ways alike; the report gives
 * per way the median, min..max and the ratio of medians to send().
 *
 * Caveat: the figures are for this machine's loopback, not a NIC. The kernel copies MSG_ZEROCOPY
 * data when it delivers it to a local socket (a local reader could otherwise pin the sender's
 * pages forever), so way 4 cannot show here what it may gain on a real NIC; the report says how
 * many of its sends the kernel flagged as copied. Loopback also runs receive processing on the
 * sending CPU (and ACK-driven transmits on the receiving one), which a NIC would not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SEND_MODES_MIB            (1024 * 1024)
#define SEND_MODES_CHUNK          SEND_MODES_MIB
#define SEND_MODES_DEFAULT_ROUNDS 7
#define SEND_MODES_DEFAULT_MIB    2048
/* Larger than the last-level cache of most machines, so each send reads memory, as the proxy
 * does from a cache of gigabytes, and not data left in the CPU cache by the previous chunk. */
#define SEND_MODES_SOURCE_MIB 64
#define SEND_MODES_ZC_WAIT_MS 10000

enum send_modes_way {
    SEND_MODES_COPY,
    SEND_MODES_SPLICE,
    SEND_MODES_SENDFILE,
    SEND_MODES_ZEROCOPY,
    SEND_MODES_WAYS
};

static const struct {
    const char *name;
    const char *how;
} send_modes_ways[SEND_MODES_WAYS] = {
    [SEND_MODES_COPY] = {"send() copy", "send() from an anonymous buffer (a copy, as the proxy)"},
    [SEND_MODES_SPLICE] = {"vmsplice+splice", "vmsplice() into a 1 MiB pipe, splice() to the "
                                              "socket"},
    [SEND_MODES_SENDFILE] = {"sendfile", "sendfile() from a file in the page cache (nginx's way)"},
    [SEND_MODES_ZEROCOPY] = {"MSG_ZEROCOPY", "send(MSG_ZEROCOPY), completions from MSG_ERRQUEUE "
                                             "(as io_uring SEND_ZC)"},
};

/* What every way sends from: the same bytes, in memory and in a cached file. */
struct send_modes_source {
    char *buf;
    int file_fd;
    size_t size; /* a multiple of SEND_MODES_CHUNK */
};

/* MSG_ZEROCOPY bookkeeping: each successful send() gets the next 32-bit notification id, and
 * the error queue reports ranges of ids whose pages the kernel no longer uses. */
struct send_modes_zc {
    uint64_t sent;
    uint64_t completed;
    uint64_t copied; /* completions flagged SO_EE_CODE_ZEROCOPY_COPIED */
    uint64_t enobufs;
};

/* One sending connection: the socket, and the pipe of the splice way. */
struct send_modes_conn {
    int fd;
    int pipe_r, pipe_w;
    struct send_modes_zc zc;
};

struct send_modes_receiver {
    pthread_t thread;
    int fd;
    int cpu; /* -1: unpinned */
    uint64_t bytes;
};

/* The run: settings, shared resources and per-round results. */
struct send_modes_bench {
    unsigned rounds;
    unsigned long mib; /* per way per round */
    uint64_t total;    /* bytes: mib MiB */
    int sender_cpu;    /* -1: unpinned */
    int receiver_cpu;  /* -1: unpinned */
    int listener;
    struct sockaddr_in addr;
    struct send_modes_source src;
    struct send_modes_zc zc;             /* summed over the MSG_ZEROCOPY connections */
    double *ms_per_mib[SEND_MODES_WAYS]; /* [way][round]: the sender thread's CPU */
    double seconds;
};

static _Noreturn void send_modes_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("send_modes: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static _Noreturn void send_modes_die(const char *what)
{
    send_modes_fail("%s: %s", what, strerror(errno));
}

static void send_modes_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    if (rc)
        send_modes_fail("pin a thread to CPU %d: %s", cpu, strerror(rc));
}

/* The first two CPUs this process may use (0 and 1 unless started under taskset); false when
 * there is only one, and then both threads run unpinned. */
static bool send_modes_pick_cpus(int *sender_cpu, int *receiver_cpu)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set))
        send_modes_die("sched_getaffinity");
    int found[2] = {-1, -1}, n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
        if (CPU_ISSET(cpu, &set))
            found[n++] = cpu;
    if (n < 2)
        return false;
    *sender_cpu = found[0];
    *receiver_cpu = found[1];
    return true;
}

/* getrusage's user/sys split is sampled at ticks, but their sum is the scheduler's exact
 * runtime of the thread. It includes the softirq work (loopback delivery) run in the thread's
 * context, unless the kernel accounts IRQ time apart (CONFIG_IRQ_TIME_ACCOUNTING), and misses
 * what the kernel defers to ksoftirqd. */
static double send_modes_thread_cpu_ms(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru))
        send_modes_die("getrusage(RUSAGE_THREAD)");
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void *send_modes_receive(void *arg)
{
    struct send_modes_receiver *r = arg;
    if (r->cpu >= 0)
        send_modes_pin(r->cpu);
    char *buf = malloc(SEND_MODES_CHUNK);
    if (!buf)
        send_modes_fail("out of memory");
    for (;;) {
        ssize_t n = recv(r->fd, buf, SEND_MODES_CHUNK, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            send_modes_die("recv");
        }
        if (n == 0)
            break;
        r->bytes += (uint64_t)n;
    }
    free(buf);
    return NULL;
}

static void send_modes_source_open(struct send_modes_source *src, size_t size)
{
    src->size = size;
    src->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (src->buf == MAP_FAILED)
        send_modes_die("mmap the source buffer");
    /* Written, so every page is a page of its own and no send takes a page fault. */
    for (size_t i = 0; i < size; i++)
        src->buf[i] = (char)(i * 131 + (i >> 12));

    char path[] = "/tmp/send_modes.XXXXXX";
    src->file_fd = mkstemp(path);
    if (src->file_fd < 0)
        send_modes_die("mkstemp /tmp/send_modes.XXXXXX");
    /* Unlinked at once: the open descriptor keeps the file, and no exit path can leave it. */
    if (unlink(path))
        send_modes_die("unlink the temporary file");
    for (size_t off = 0; off < size;) {
        ssize_t n = write(src->file_fd, src->buf + off, size - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            send_modes_die("write the temporary file");
        }
        off += (size_t)n;
    }
    /* Clean pages: no writeback of them runs during the measurements. */
    if (fdatasync(src->file_fd))
        send_modes_die("fdatasync the temporary file");
    char *scratch = malloc(SEND_MODES_CHUNK);
    if (!scratch)
        send_modes_fail("out of memory");
    for (off_t off = 0; (size_t)off < size;) {
        ssize_t n = pread(src->file_fd, scratch, SEND_MODES_CHUNK, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            send_modes_die("read the temporary file");
        }
        if (n == 0)
            send_modes_fail("the temporary file is shorter than written");
        off += n;
    }
    free(scratch);
}

static void send_modes_source_close(struct send_modes_source *src)
{
    if (munmap(src->buf, src->size))
        send_modes_die("munmap the source buffer");
    if (close(src->file_fd))
        send_modes_die("close the temporary file");
}

static void send_modes_send_copy(struct send_modes_conn *c, const struct send_modes_source *src,
                                 uint64_t total)
{
    for (uint64_t done = 0; done < total; done += SEND_MODES_CHUNK) {
        const char *chunk = src->buf + done % src->size;
        for (size_t off = 0; off < SEND_MODES_CHUNK;) {
            ssize_t n = send(c->fd, chunk + off, SEND_MODES_CHUNK - off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                send_modes_die("send");
            }
            off += (size_t)n;
        }
    }
}

/* vmsplice without SPLICE_F_GIFT lends the pages: the socket keeps references to them after
 * splice() returns and nothing says when it lets go, so a sender may not reuse the memory
 * meanwhile. Here the source never changes; a cache that evicts pages could not be so sure. */
static void send_modes_send_splice(struct send_modes_conn *c, const struct send_modes_source *src,
                                   uint64_t total)
{
    for (uint64_t done = 0; done < total; done += SEND_MODES_CHUNK) {
        struct iovec iov = {.iov_base = src->buf + done % src->size, .iov_len = SEND_MODES_CHUNK};
        while (iov.iov_len) {
            ssize_t in = vmsplice(c->pipe_w, &iov, 1, 0);
            if (in < 0) {
                if (errno == EINTR)
                    continue;
                send_modes_die("vmsplice");
            }
            iov.iov_base = (char *)iov.iov_base + in;
            iov.iov_len -= (size_t)in;
            /* Empty the pipe before the next vmsplice: it holds at most one chunk. */
            for (size_t left = (size_t)in; left;) {
                ssize_t out = splice(c->pipe_r, NULL, c->fd, NULL, left, 0);
                if (out < 0) {
                    if (errno == EINTR)
                        continue;
                    send_modes_die("splice pipe -> socket");
                }
                if (out == 0)
                    send_modes_fail("splice: the pipe ran dry with %zu bytes left", left);
                left -= (size_t)out;
            }
        }
    }
}

static void send_modes_send_file(struct send_modes_conn *c, const struct send_modes_source *src,
                                 uint64_t total)
{
    for (uint64_t done = 0; done < total; done += SEND_MODES_CHUNK) {
        off_t off = (off_t)(done % src->size);
        for (size_t left = SEND_MODES_CHUNK; left;) {
            ssize_t n = sendfile(c->fd, src->file_fd, &off, left);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                send_modes_die("sendfile");
            }
            if (n == 0)
                send_modes_fail("sendfile: unexpected end of the temporary file");
            left -= (size_t)n;
        }
    }
}

/* Reads the completions queued so far; with wait, blocks until there is at least one. A
 * completion covers ids ee_info..ee_data (the kernel merges neighbours). */
static void send_modes_zc_reap(struct send_modes_conn *c, bool wait)
{
    bool got = false;
    for (;;) {
        char control[CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6))];
        struct msghdr msg = {.msg_control = control, .msg_controllen = sizeof(control)};
        if (recvmsg(c->fd, &msg, MSG_ERRQUEUE) < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                send_modes_die("recvmsg(MSG_ERRQUEUE)");
            if (!wait || got)
                return;
            /* Events 0: poll reports POLLERR, which a non-empty error queue raises, anyway. */
            struct pollfd p = {.fd = c->fd, .events = 0};
            int rc = poll(&p, 1, SEND_MODES_ZC_WAIT_MS);
            if (rc < 0 && errno != EINTR)
                send_modes_die("poll for MSG_ZEROCOPY completions");
            if (rc == 0)
                send_modes_fail("no MSG_ZEROCOPY completion within %d ms (%llu of %llu seen)",
                                SEND_MODES_ZC_WAIT_MS, (unsigned long long)c->zc.completed,
                                (unsigned long long)c->zc.sent);
            if (rc > 0 && !(p.revents & POLLERR))
                send_modes_fail("the socket hung up while MSG_ZEROCOPY completions were due");
            int err = 0;
            socklen_t len = sizeof(err);
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
                send_modes_die("getsockopt(SO_ERROR)");
            if (err)
                send_modes_fail("socket error while waiting for completions: %s", strerror(err));
            continue;
        }
        if (msg.msg_flags & MSG_CTRUNC)
            send_modes_fail("recvmsg(MSG_ERRQUEUE): control message truncated");
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            if (!(cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) &&
                !(cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR))
                continue;
            struct sock_extended_err serr;
            memcpy(&serr, CMSG_DATA(cm), sizeof(serr));
            if (serr.ee_origin != SO_EE_ORIGIN_ZEROCOPY || serr.ee_errno != 0)
                send_modes_fail("unexpected error queue entry: origin %u, errno %u", serr.ee_origin,
                                serr.ee_errno);
            uint32_t ids = serr.ee_data - serr.ee_info + 1;
            c->zc.completed += ids;
            if (serr.ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
                c->zc.copied += ids;
            got = true;
        }
    }
}

/* The same kernel path as io_uring's SEND_ZC: pages pinned for the send, a notification when
 * the stack is done with them. The ring changes how the notification is fetched, and with
 * registered buffers saves the pinning per send; it does not change the delivery. */
static void send_modes_send_zerocopy(struct send_modes_conn *c, const struct send_modes_source *src,
                                     uint64_t total)
{
    for (uint64_t done = 0; done < total; done += SEND_MODES_CHUNK) {
        const char *chunk = src->buf + done % src->size;
        for (size_t off = 0; off < SEND_MODES_CHUNK;) {
            ssize_t n =
                send(c->fd, chunk + off, SEND_MODES_CHUNK - off, MSG_ZEROCOPY | MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                /* Too many sends in flight: each holds socket option memory (optmem_max) for
                 * its notification and pinned pages (RLIMIT_MEMLOCK unless root). */
                if (errno == ENOBUFS && c->zc.completed < c->zc.sent) {
                    c->zc.enobufs++;
                    send_modes_zc_reap(c, true);
                    continue;
                }
                send_modes_die("send(MSG_ZEROCOPY)");
            }
            c->zc.sent++;
            off += (size_t)n;
        }
        /* Keep the error queue short: queued notifications hold option memory too. */
        send_modes_zc_reap(c, false);
    }
    /* Done only when the kernel has let go of every page: the reaping is part of the cost. */
    while (c->zc.completed < c->zc.sent)
        send_modes_zc_reap(c, true);
    if (c->zc.completed != c->zc.sent)
        send_modes_fail("%llu MSG_ZEROCOPY completions for %llu sends",
                        (unsigned long long)c->zc.completed, (unsigned long long)c->zc.sent);
}

static void send_modes_listen(struct send_modes_bench *b)
{
    b->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b->listener < 0)
        send_modes_die("socket");
    b->addr =
        (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(b->addr);
    if (bind(b->listener, (struct sockaddr *)&b->addr, len))
        send_modes_die("bind 127.0.0.1:0");
    if (getsockname(b->listener, (struct sockaddr *)&b->addr, &len))
        send_modes_die("getsockname");
    if (listen(b->listener, 4))
        send_modes_die("listen");
}

/* Sends b->total bytes one way over a fresh connection; the sender thread's CPU ms per MiB.
 * Everything but the sending itself (connection, pipe, receiver thread) is outside the clock. */
static double send_modes_measure(struct send_modes_bench *b, enum send_modes_way way)
{
    struct send_modes_conn c = {.pipe_r = -1, .pipe_w = -1};
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0)
        send_modes_die("socket");
    int one = 1;
    if (way == SEND_MODES_ZEROCOPY && setsockopt(c.fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)))
        send_modes_die("setsockopt(SO_ZEROCOPY)");
    if (connect(c.fd, (const struct sockaddr *)&b->addr, sizeof(b->addr)))
        send_modes_die("connect to the receiver");
    struct send_modes_receiver r = {.cpu = b->receiver_cpu};
    r.fd = accept4(b->listener, NULL, NULL, SOCK_CLOEXEC);
    if (r.fd < 0)
        send_modes_die("accept");
    if (way == SEND_MODES_SPLICE) {
        int p[2];
        if (pipe2(p, O_CLOEXEC))
            send_modes_die("pipe2");
        c.pipe_r = p[0];
        c.pipe_w = p[1];
        /* One whole chunk per vmsplice (the default pipe is 64 KiB). */
        if (fcntl(c.pipe_w, F_SETPIPE_SZ, SEND_MODES_CHUNK) < 0)
            send_modes_die("fcntl(F_SETPIPE_SZ, 1 MiB) (see /proc/sys/fs/pipe-max-size)");
    }
    int rc = pthread_create(&r.thread, NULL, send_modes_receive, &r);
    if (rc)
        send_modes_fail("pthread_create: %s", strerror(rc));

    double cpu0 = send_modes_thread_cpu_ms();
    switch (way) {
    case SEND_MODES_COPY:
        send_modes_send_copy(&c, &b->src, b->total);
        break;
    case SEND_MODES_SPLICE:
        send_modes_send_splice(&c, &b->src, b->total);
        break;
    case SEND_MODES_SENDFILE:
        send_modes_send_file(&c, &b->src, b->total);
        break;
    case SEND_MODES_ZEROCOPY:
        send_modes_send_zerocopy(&c, &b->src, b->total);
        break;
    case SEND_MODES_WAYS:
        break;
    }
    double cpu1 = send_modes_thread_cpu_ms();

    if (shutdown(c.fd, SHUT_WR))
        send_modes_die("shutdown");
    rc = pthread_join(r.thread, NULL);
    if (rc)
        send_modes_fail("pthread_join: %s", strerror(rc));
    if (r.bytes != b->total)
        send_modes_fail("%s: the receiver got %llu bytes, %llu sent", send_modes_ways[way].name,
                        (unsigned long long)r.bytes, (unsigned long long)b->total);
    if (close(r.fd) || close(c.fd))
        send_modes_die("close a socket");
    if (c.pipe_r >= 0 && (close(c.pipe_r) || close(c.pipe_w)))
        send_modes_die("close the pipe");
    b->zc.sent += c.zc.sent;
    b->zc.completed += c.zc.completed;
    b->zc.copied += c.zc.copied;
    b->zc.enobufs += c.zc.enobufs;
    return (cpu1 - cpu0) / (double)b->mib;
}

/* Every round runs every way once, starting one way further each round. */
static void send_modes_run(struct send_modes_bench *b)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned r = 0; r < b->rounds; r++) {
        fprintf(stderr, "send_modes: round %u/%u:", r + 1, b->rounds);
        for (unsigned k = 0; k < SEND_MODES_WAYS; k++) {
            enum send_modes_way w = (enum send_modes_way)((r + k) % SEND_MODES_WAYS);
            b->ms_per_mib[w][r] = send_modes_measure(b, w);
            fprintf(stderr, "  %s %.3f", send_modes_ways[w].name, b->ms_per_mib[w][r]);
        }
        fprintf(stderr, " (ms/MiB)\n");
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    b->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static int send_modes_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v. */
static double send_modes_median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), send_modes_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The plain table, and with markdown the same as markdown table rows for RESULTS.md. */
static void send_modes_report(struct send_modes_bench *b, bool markdown)
{
    double med[SEND_MODES_WAYS], lo[SEND_MODES_WAYS], hi[SEND_MODES_WAYS];
    for (int w = 0; w < SEND_MODES_WAYS; w++) {
        med[w] = send_modes_median(b->ms_per_mib[w], b->rounds);
        lo[w] = b->ms_per_mib[w][0];
        hi[w] = b->ms_per_mib[w][b->rounds - 1];
    }
    /* The evidence for the loopback caveat, from the kernel itself. */
    char zc_note[160];
    snprintf(zc_note, sizeof(zc_note),
             "; the kernel copied %llu of its %llu sends (SO_EE_CODE_ZEROCOPY_COPIED)%s",
             (unsigned long long)b->zc.copied, (unsigned long long)b->zc.completed,
             b->zc.enobufs ? ", waited on ENOBUFS" : "");

    printf("send_modes: sender thread CPU (user+sys) per MiB sent over loopback TCP; %u round(s) "
           "x %lu MiB per way in 1 MiB chunks from a %zu MiB source; ",
           b->rounds, b->mib, b->src.size / SEND_MODES_MIB);
    if (b->sender_cpu >= 0)
        printf("sender on CPU %d, receiver on CPU %d; ", b->sender_cpu, b->receiver_cpu);
    else
        printf("one CPU, both unpinned; ");
    printf("took %.1f s\n", b->seconds);
    printf("%-16s %8s  %-13s  %7s  %s\n", "way", "ms/MiB", "min..max", "vs copy", "how");
    for (int w = 0; w < SEND_MODES_WAYS; w++) {
        char range[40];
        snprintf(range, sizeof(range), "%.3f..%.3f", lo[w], hi[w]);
        printf("%-16s %8.3f  %-13s  %6.2fx  %s%s\n", send_modes_ways[w].name, med[w], range,
               med[w] / med[SEND_MODES_COPY], send_modes_ways[w].how,
               w == SEND_MODES_ZEROCOPY ? zc_note : "");
    }
    if (!markdown)
        return;
    printf("\n| way to send | sender CPU ms/MiB (median) | min..max | vs send() copy | how |\n"
           "|---|---|---|---|---|\n");
    for (int w = 0; w < SEND_MODES_WAYS; w++)
        printf("| %s | %.3f | %.3f..%.3f | %.2fx | %s%s |\n", send_modes_ways[w].name, med[w],
               lo[w], hi[w], med[w] / med[SEND_MODES_COPY], send_modes_ways[w].how,
               w == SEND_MODES_ZEROCOPY ? zc_note : "");
}

static unsigned long send_modes_number(const char *opt, const char *text, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = text ? strtoul(text, &end, 10) : 0;
    if (!text || errno || end == text || *end || v < 1 || v > max)
        send_modes_fail("%s wants a whole number from 1 to %lu", opt, max);
    return v;
}

static void send_modes_usage(FILE *out)
{
    fprintf(out,
            "usage: send_modes [--rounds N] [--mib M] [--markdown]\n"
            "  the sender's CPU per MiB of send(), vmsplice+splice, sendfile and MSG_ZEROCOPY\n"
            "  over loopback TCP: N rounds (default %d) of M MiB per way (default %d);\n"
            "  --markdown also prints the table as markdown rows (for RESULTS.md)\n",
            SEND_MODES_DEFAULT_ROUNDS, SEND_MODES_DEFAULT_MIB);
}

int main(int argc, char **argv)
{
    struct send_modes_bench b = {.rounds = SEND_MODES_DEFAULT_ROUNDS,
                                 .mib = SEND_MODES_DEFAULT_MIB,
                                 .sender_cpu = -1,
                                 .receiver_cpu = -1};
    bool markdown = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0) {
            b.rounds = (unsigned)send_modes_number("--rounds", argv[i + 1], 1000);
            i++;
        } else if (strcmp(argv[i], "--mib") == 0) {
            b.mib = send_modes_number("--mib", argv[i + 1], 1024 * 1024);
            i++;
        } else if (strcmp(argv[i], "--markdown") == 0) {
            markdown = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            send_modes_usage(stdout);
            return 0;
        } else {
            send_modes_usage(stderr);
            return 64;
        }
    }
    /* A receiver gone early must show as EPIPE from the failing call, not a silent death:
     * splice and sendfile have no MSG_NOSIGNAL. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        send_modes_die("ignore SIGPIPE");

    if (send_modes_pick_cpus(&b.sender_cpu, &b.receiver_cpu))
        send_modes_pin(b.sender_cpu); /* this thread sends */
    else
        fprintf(stderr, "send_modes: one CPU: sender and receiver share it, unpinned\n");
    b.total = (uint64_t)b.mib * SEND_MODES_MIB;
    unsigned long source_mib = b.mib < SEND_MODES_SOURCE_MIB ? b.mib : SEND_MODES_SOURCE_MIB;
    send_modes_source_open(&b.src, (size_t)source_mib * SEND_MODES_MIB);
    send_modes_listen(&b);
    for (int w = 0; w < SEND_MODES_WAYS; w++) {
        b.ms_per_mib[w] = calloc(b.rounds, sizeof(double));
        if (!b.ms_per_mib[w])
            send_modes_fail("out of memory");
    }

    send_modes_run(&b);

    if (close(b.listener))
        send_modes_die("close the listener");
    send_modes_source_close(&b.src);
    send_modes_report(&b, markdown);
    for (int w = 0; w < SEND_MODES_WAYS; w++)
        free(b.ms_per_mib[w]);
    if (fflush(stdout) || ferror(stdout))
        send_modes_fail("write the report: %s", strerror(errno));
    return 0;
}
