/* The command-line settings every verb of vpcctl reads, with their defaults: wait for tasks, allow
 * interactive authorization, print table legends. vpcctl.c fills them from the command line. */
#include "vpcctl.h"

Settings arg = {
        .wait = true,
        .ask_password = true,
        .legend = true,
        .delay_sec = -1,
        .grace_sec = -1,
};
