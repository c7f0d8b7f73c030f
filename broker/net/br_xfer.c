/*
 * br_xfer — picks the transfer path for fetch.transfer (see br_xfer.h).
 */
#include "br_xfer.h"

const struct br_xfer *br_xfer_for(enum br_transfer t)
{
    switch (t) {
    case BR_XFER_SPLICE:
        return &br_xfer_splice;
    case BR_XFER_SENDFILE:
        return &br_xfer_sendfile;
    case BR_XFER_COPY:
    case BR_XFER_AUTO: /* resolved at start-up (br_xfer_auto_choose); never asked for */
        return &br_xfer_copy;
    }
    return &br_xfer_copy;
}
