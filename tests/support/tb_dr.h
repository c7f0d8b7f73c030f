/*
 * tb_dr — test support for suites that drive libsplicelog's producer: its delivery reports
 * and error callbacks recorded where the checks can read them. A record is produced with its
 * index i as msg_opaque; the report for i lands in err[i], part[i], off[i] (i below
 * TB_DR_MAX; n counts every report). Errors append "NAME|reason\n" to errs (8 KiB, the rest
 * cut).
 *
 * Contract: one recorder per process (the forked Check test), filled on the thread that polls
 * the producer; tb_dr_attach clears it. No allocation.
 */
#ifndef SPLICELOG_TB_DR_H
#define SPLICELOG_TB_DR_H

#include <stdint.h>

#include "splicelog.h"

#define TB_DR_MAX 20000

struct tb_dr {
    long n; /* delivery reports so far */
    sl_err err[TB_DR_MAX];
    int32_t part[TB_DR_MAX];
    int64_t off[TB_DR_MAX];
    char errs[8192];
};
extern struct tb_dr tb_dr;

/* Sets c's delivery and error callbacks to the recorder's and clears it. */
void tb_dr_attach(sl_conf *c);

#endif
