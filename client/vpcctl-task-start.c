/* Starting one task per VM and following them to their end, for vpcctl's logoff and lock: the VMs
 * looked up, the signals subscribed before any task exists, the start calls with the polkit agent
 * open, then vpcctl-watch.c follows. */
#include <errno.h>
#include <string.h>

#include "vpcctl-task-start.h"

int task_start_add_guests(sd_bus *bus, Watch *w, char **names, int n_names) {
        for (int i = 0; i < n_names; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                const char *path;
                Item *it = watch_add(w, names[i]);
                int r;

                if (!it)
                        return -ENOMEM;
                r = sd_bus_call_method(bus, VPC_BUS_NAME, VPC_MANAGER_PATH, "org.vpc.Manager", "GetGuestOS", &error,
                                       &reply, "s", names[i]);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        item_fail_bus(it, &error, r);
                else
                        it->guest = strdup(path);
        }
        return 0;
}

int task_start_and_follow(sd_bus *bus, Watch *w, TaskStartCall start) {
        int r, status;

        if (arg.wait) {
                r = watch_subscribe(bus, w);
                if (r < 0) {
                        watch_done(w);
                        return report_bus_error(_("cannot watch the tasks"), NULL, r);
                }
        }

        polkit_agent_open_if_enabled();
        for (size_t i = 0; i < w->n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                Item *it = &w->items[i];
                const char *path;

                if (!it->guest)
                        continue;
                r = start(bus, it->guest, &error, &reply);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        item_fail_bus(it, &error, r);
                else
                        it->task.path = strdup(path);
        }
        polkit_agent_close();

        status = watch_finish(bus, w, false);
        watch_done(w);
        return status;
}
