/*
 * br_clock — the broker's two clocks: monotonic milliseconds for deadlines and timeouts, and
 * wall-clock milliseconds since the epoch for what goes on the wire or to disk (record
 * timestamps, commit times); and the one timed wait of the coordinators' timer threads. Any
 * thread.
 */
#ifndef SPLICELOG_BR_CLOCK_H
#define SPLICELOG_BR_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static inline int64_t br_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic nanoseconds: short holds of the event loop (fair service). */
static inline int64_t br_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t br_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A timer thread's sleep: waits on cond (made with pthread_condattr_setclock CLOCK_MONOTONIC)
 * under mu, held by the caller, for wait_ms clamped to [10 ms, 1 s] — often enough for the
 * deadlines it serves, never a busy loop — or until cond is signalled.
 */
static inline void br_timer_sleep(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t wait_ms)
{
    if (wait_ms < 10)
        wait_ms = 10;
    if (wait_ms > 1000)
        wait_ms = 1000;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += wait_ms / 1000;
    ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cond, mu, &ts);
}

#endif
