/* vpcctl lock: one Lock task per VM, started and followed to its end as logoff's are
 * (vpcctl-task-start.c), or printed at once with --no-wait. */
#include <stdio.h>

#include "vpcctl-task-start.h"

static int call_lock(sd_bus *bus, const char *guest, sd_bus_error *error, sd_bus_message **reply) {
        return sd_bus_call_method(bus, VPC_BUS_NAME, guest, "org.vpc.GuestOS", "Lock", error, reply, "");
}

int verb_lock(sd_bus *bus, int argc, char **argv) {
        Watch w = {};

        if (argc < 2) {
                fputs(_("vpcctl: lock takes VM names or UUIDs\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        if (task_start_add_guests(bus, &w, argv + 1, argc - 1) < 0) {
                watch_done(&w);
                return VPCCTL_EXIT_FAILED;
        }
        return task_start_and_follow(bus, &w, call_lock);
}
