/*
 * br_clock — the broker's two clocks: monotonic milliseconds for deadlines and timeouts, and
 * wall-clock milliseconds since the epoch for what goes on the wire or to disk (record
 * timestamps, commit times). Any thread.
 */
#ifndef SPLICELOG_BR_CLOCK_H
#define SPLICELOG_BR_CLOCK_H

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

#endif
