/*
 * stop_flag: how the etcd threads (membership, registration) are told to stop: a flag, and a
 * sleep that the flag cuts short, so a backoff or a keep-alive period never delays a SIGTERM.
 */
#ifndef CORE_MEMBERSHIP_STOP_FLAG_H
#define CORE_MEMBERSHIP_STOP_FLAG_H

#include <pthread.h>
#include <stdbool.h>

struct stop_flag {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC: a clock step does not stretch a sleep */
    bool raised;
};

/* Lowered. 0 or a pthread error number. */
int stop_flag_init(struct stop_flag *f);
void stop_flag_destroy(struct stop_flag *f);
/* Raise it and wake every sleeper. Any thread. */
void stop_flag_raise(struct stop_flag *f);
bool stop_flag_raised(struct stop_flag *f);
/* Sleep ms unless the flag is or gets raised. false when raised. */
bool stop_flag_sleep(struct stop_flag *f, unsigned ms);

#endif
