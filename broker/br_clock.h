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
 * under mu, held by the caller, for wait_ms clamped to [1 ms, 1 s], or until cond is
 * signalled. The floor is the clock's own resolution, not more: a deadline is met within a
 * millisecond, as Kafka's timing wheel meets it (a session that expires 10 ms late loses the
 * race with a client that waits exactly the session timeout and then deletes the group —
 * librdkafka's 0081_admin does). It is never a busy loop: the callers move every due key past
 * now before sleeping again, so a thread wakes at most once a millisecond, and only while
 * deadlines are that dense.
 */
static inline int64_t br_timer_wait_ms(int64_t wait_ms)
{
    return wait_ms < 1 ? 1 : wait_ms > 1000 ? 1000 : wait_ms;
}

static inline void br_timer_sleep(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t wait_ms)
{
    wait_ms = br_timer_wait_ms(wait_ms);
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
