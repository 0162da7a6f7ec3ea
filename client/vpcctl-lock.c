/* vpcctl lock: one Lock task per VM, followed to its end as logoff's are (vpcctl-watch.c), or
 * printed at once with --no-wait. */
#include <stdio.h>

#include "vpcctl-watch.h"

int verb_lock(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Watch w = {};
        int r, status;

        if (argc < 2) {
                fputs(_("vpcctl: lock takes VM names or UUIDs\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        for (int i = 1; i < argc; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const char *path;
                Item *it = watch_add(&w, argv[i]);

                if (!it) {
                        watch_done(&w);
                        return VPCCTL_EXIT_FAILED;
                }
                sd_bus_error_free(&error);
                r = sd_bus_call_method(bus, VPC_BUS_NAME, VPC_MANAGER_PATH, "org.vpc.Manager", "GetGuestOS", &error,
                                       &reply, "s", argv[i]);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        item_fail_bus(it, &error, r);
                else
                        it->guest = strdup(path);
        }

        if (arg.wait) {
                r = watch_subscribe(bus, &w);
                if (r < 0) {
                        watch_done(&w);
                        return report_bus_error(_("cannot watch the tasks"), NULL, r);
                }
        }

        polkit_agent_open_if_enabled();
        for (size_t i = 0; i < w.n; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                Item *it = &w.items[i];
                const char *path;

                if (!it->guest)
                        continue;
                sd_bus_error_free(&error);
                r = sd_bus_call_method(bus, VPC_BUS_NAME, it->guest, "org.vpc.GuestOS", "Lock", &error, &reply, "");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        item_fail_bus(it, &error, r);
                else
                        it->task.path = strdup(path);
        }
        polkit_agent_close();

        status = watch_finish(bus, &w, false);
        watch_done(&w);
        return status;
}
