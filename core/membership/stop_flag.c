/*
 * stop_flag: an interruptible sleep for the etcd threads (see stop_flag.h).
 */
#include "stop_flag.h"

#include <errno.h>
#include <time.h>

int stop_flag_init(struct stop_flag *f)
{
    f->raised = false;
    int rc = pthread_mutex_init(&f->lock, NULL);
    if (rc)
        return rc;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&f->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        pthread_mutex_destroy(&f->lock);
    return rc;
}

void stop_flag_destroy(struct stop_flag *f)
{
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
}

void stop_flag_raise(struct stop_flag *f)
{
    pthread_mutex_lock(&f->lock);
    f->raised = true;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
}

bool stop_flag_raised(struct stop_flag *f)
{
    pthread_mutex_lock(&f->lock);
    bool raised = f->raised;
    pthread_mutex_unlock(&f->lock);
    return raised;
}

bool stop_flag_sleep(struct stop_flag *f, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&f->lock);
    while (!f->raised) {
        if (pthread_cond_timedwait(&f->wake, &f->lock, &until) == ETIMEDOUT)
            break;
    }
    bool go_on = !f->raised;
    pthread_mutex_unlock(&f->lock);
    return go_on;
}
