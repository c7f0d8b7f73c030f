/* tb_dr — see tb_dr.h. */
#include "tb_dr.h"

#include <stdio.h>
#include <string.h>

struct tb_dr tb_dr;

static void error_cb(void *opaque, sl_err err, const char *reason)
{
    (void)opaque;
    size_t len = strlen(tb_dr.errs);
    snprintf(tb_dr.errs + len, sizeof(tb_dr.errs) - len, "%s|%s\n", sl_err2name(err), reason);
}

static void dr(sl_producer *p, const sl_delivery *d, void *opaque)
{
    (void)p;
    (void)opaque;
    long i = (long)(intptr_t)d->msg_opaque;
    tb_dr.n++;
    if (i >= 0 && i < TB_DR_MAX) {
        tb_dr.err[i] = d->err;
        tb_dr.part[i] = d->partition;
        tb_dr.off[i] = d->offset;
    }
}

void tb_dr_attach(sl_conf *c)
{
    sl_conf_set_delivery_cb(c, dr);
    sl_conf_set_error_cb(c, error_cb);
    tb_dr.errs[0] = 0;
    tb_dr.n = 0;
}
