/* tb_client — see tb_client.h. */
#include "tb_client.h"

#include <stdio.h>
#include <string.h>

void tb_cl_start(struct tb_broker *b, const char *const *extra, char *bootstrap, size_t cap)
{
    int rc = tb_broker_start(b, extra);
    ck_assert_msg(rc == 0, "broker start: %s (binary %s)", strerror(-rc), tb_broker_binary());
    snprintf(bootstrap, cap, "127.0.0.1:%d", b->port);
}

void tb_cl_set(sl_conf *c, const char *name, const char *value)
{
    char err[256] = "";
    ck_assert_msg(sl_conf_set(c, name, value, err, sizeof(err)) == SL_ERR_NO_ERROR, "%s=%s: %s",
                  name, value, err);
}
