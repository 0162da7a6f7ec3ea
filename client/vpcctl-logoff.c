/* The verbs that start or follow tasks: logoff (one task per VM, or every running VM with --all),
 * wait and cancel. Starting one task per VM is vpcctl-task-start.c's part (lock shares it),
 * following the tasks and showing their progress vpcctl-watch.c's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vpcctl-task-start.h"

/* Logoff(), or LogoffWithOptions() with --message and --grace (an older service without it answers
 * UnknownMethod, which says so). */
static int call_logoff(sd_bus *bus, const char *guest, sd_bus_error *error, sd_bus_message **reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        if (!arg.message && arg.grace_sec < 0)
                return sd_bus_call_method(bus, VPC_BUS_NAME, guest, "org.vpc.GuestOS", "Logoff", error, reply, "");
        r = sd_bus_message_new_method_call(bus, &call, VPC_BUS_NAME, guest, "org.vpc.GuestOS", "LogoffWithOptions");
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(call, arg.ask_password);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && arg.message)
                r = sd_bus_message_append(call, "{sv}", "Message", "s", arg.message);
        if (r >= 0 && arg.grace_sec >= 0)
                r = sd_bus_message_append(call, "{sv}", "GraceSec", "u", (uint32_t) arg.grace_sec);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r < 0)
                return r;
        return sd_bus_call(bus, call, 0, error, reply);
}

int verb_logoff(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Watch w = {};
        int r;

        if (arg.all == (argc > 1)) {
                fputs(_("vpcctl: logoff takes VM names or UUIDs, or --all\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        if (arg.all) {
                Inventory inv = {};
                r = inventory_read(bus, &inv, &error);
                if (r < 0)
                        return report_bus_error(_("cannot list the VMs"), &error, r);
                for (size_t i = 0; i < inv.n_guests; i++) {
                        if (!streq_ptr(inv.guests[i].state, "running"))
                                continue;
                        Item *it = watch_add(&w, strempty(inv.guests[i].name));
                        if (!it || !(it->guest = strdup(inv.guests[i].path))) {
                                inventory_done(&inv);
                                watch_done(&w);
                                return VPCCTL_EXIT_FAILED;
                        }
                }
                inventory_done(&inv);
                if (w.n == 0 && !arg.quiet && !arg.json)
                        puts(_("No running VM."));
        } else if (task_start_add_guests(bus, &w, argv + 1, argc - 1) < 0) {
                watch_done(&w);
                return VPCCTL_EXIT_FAILED;
        }
        return task_start_and_follow(bus, &w, call_logoff);
}

/* The VM a task works on, by name, for labels; the path when it cannot be read. */
static char *task_label(sd_bus *bus, const TaskRecord *t) {
        Guest g = {};
        char *label;

        if (t->target && guest_read(bus, t->target, &g, NULL) >= 0 && g.name) {
                label = TAKE_PTR(g.name);
                guest_done(&g);
                return label;
        }
        guest_done(&g);
        return strdup(t->path);
}

/* Adds TASK to the watch with its current properties; reports and returns the exit status when it
 * cannot be read. */
static int watch_add_task(sd_bus *bus, Watch *w, const char *arg_task, Item **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = task_path_from_arg(arg_task), *what = NULL;
        TaskRecord t = {};
        int r;

        if (!path) {
                fprintf(stderr, _("vpcctl: '%s' is not a task (a number, or a path like /org/vpc/Task/7)\n"), arg_task);
                return VPCCTL_EXIT_USAGE;
        }
        r = task_read(bus, path, &t, &error);
        if (r < 0) {
                if (asprintf(&what, _("task %s"), path) < 0)
                        what = NULL;
                return report_bus_error(what ?: path, &error, r);
        }
        _cleanup_free_ char *label = task_label(bus, &t);
        Item *it = watch_add(w, label ?: path);
        if (!it) {
                task_done(&t);
                return VPCCTL_EXIT_FAILED;
        }
        it->task = t;
        it->guest = t.target ? strdup(t.target) : NULL;
        *ret = it;
        return VPCCTL_EXIT_OK;
}

int verb_wait(sd_bus *bus, int argc, char **argv) {
        Watch w = {};
        int r, status;

        if (argc < 2) {
                fputs(_("vpcctl: wait takes one or more tasks\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        arg.wait = true;        /* --no-wait makes no sense here */
        r = watch_subscribe(bus, &w);
        if (r < 0)
                return report_bus_error(_("cannot watch the tasks"), NULL, r);
        for (int i = 1; i < argc; i++) {
                Item *it;
                status = watch_add_task(bus, &w, argv[i], &it);
                if (status != VPCCTL_EXIT_OK) {
                        watch_done(&w);
                        return status;
                }
        }
        status = watch_finish(bus, &w, true);
        watch_done(&w);
        return status;
}

int verb_cancel(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Watch w = {};
        Item *it;
        int r, status;

        if (argc != 2) {
                fputs(_("vpcctl: cancel takes one task\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        if (arg.wait) {
                r = watch_subscribe(bus, &w);
                if (r < 0)
                        return report_bus_error(_("cannot watch the task"), NULL, r);
        }
        status = watch_add_task(bus, &w, argv[1], &it);
        if (status != VPCCTL_EXIT_OK) {
                watch_done(&w);
                return status;
        }
        it->already_complete = it->task.complete;

        polkit_agent_open_if_enabled();
        r = sd_bus_call_method(bus, VPC_BUS_NAME, it->task.path, "org.vpc.Task", "Cancel", &error, NULL, "");
        polkit_agent_close();
        if (r < 0) {
                _cleanup_free_ char *what = NULL;
                if (asprintf(&what, _("cannot cancel %s"), it->task.path) < 0)
                        what = NULL;
                status = report_bus_error(what ?: _("cannot cancel"), &error, r);
                watch_done(&w);
                return status;
        }
        if (it->already_complete && !arg.quiet && !arg.json) {
                _cleanup_free_ char *label = display_escape(it->label);
                printf(_("%s: %s had already ended; nothing to cancel.\n"), strempty(label), it->task.path);
        }

        status = watch_finish(bus, &w, true);
        /* Cancel() succeeded: the task ending Cancelled, or having ended before, is what was asked. */
        if (it->already_complete || streq_ptr(item_error_name(it), "org.vpc.Error.Cancelled") || !arg.wait)
                status = VPCCTL_EXIT_OK;
        watch_done(&w);
        return status;
}
