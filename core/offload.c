/*
 * offload: a fixed pool of helper threads taking blocking jobs from one queue (see offload.h).
 */
#include "offload.h"

#include "log.h"
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define OFFLOAD_MAX_THREADS 16

struct offload_job {
    struct offload_job *next;
    struct loop *loop;
    void (*work)(void *);
    void (*done)(void *);
    void *arg;
};

static pthread_mutex_t offload_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t offload_cond = PTHREAD_COND_INITIALIZER;
static struct offload_job *offload_head, *offload_tail;
static bool offload_stopping;
static pthread_t offload_threads[OFFLOAD_MAX_THREADS];
static unsigned offload_thread_count;

static void *offload_main(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&offload_lock);
        while (!offload_head && !offload_stopping)
            pthread_cond_wait(&offload_cond, &offload_lock);
        struct offload_job *job = offload_head;
        if (!job) {
            pthread_mutex_unlock(&offload_lock);
            return NULL;
        }
        offload_head = job->next;
        if (!offload_head)
            offload_tail = NULL;
        pthread_mutex_unlock(&offload_lock);
        job->work(job->arg);
        loop_post(job->loop, job->done, job->arg);
        free(job);
    }
}

int offload_start(unsigned threads)
{
    if (threads > OFFLOAD_MAX_THREADS)
        threads = OFFLOAD_MAX_THREADS;
    offload_stopping = false;
    for (unsigned i = 0; i < threads; i++) {
        int rc = pthread_create(&offload_threads[i], NULL, offload_main, NULL);
        if (rc) {
            offload_stop();
            return -rc;
        }
        offload_thread_count++;
    }
    return 0;
}

void offload_stop(void)
{
    pthread_mutex_lock(&offload_lock);
    offload_stopping = true;
    pthread_cond_broadcast(&offload_cond);
    pthread_mutex_unlock(&offload_lock);
    for (unsigned i = 0; i < offload_thread_count; i++)
        pthread_join(offload_threads[i], NULL);
    offload_thread_count = 0;
}

void offload_submit(struct loop *l, void (*work)(void *), void (*done)(void *), void *arg)
{
    struct offload_job *job = malloc(sizeof(*job));
    if (!job) {
        log_error("offload: out of memory");
        abort();
    }
    job->next = NULL;
    job->loop = l;
    job->work = work;
    job->done = done;
    job->arg = arg;
    pthread_mutex_lock(&offload_lock);
    if (offload_tail)
        offload_tail->next = job;
    else
        offload_head = job;
    offload_tail = job;
    pthread_cond_signal(&offload_cond);
    pthread_mutex_unlock(&offload_lock);
}
