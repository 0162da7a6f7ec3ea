/* The read-only verbs: list (every VM), status (one VM, its agent, OS, users and tasks) and tasks (every task), as
 * tables for people and JSON for scripts. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vpcctl.h"

/* Every cell passes display_escape(); widths are those of the escaped text. */
static size_t display_width(const char *s) {
        _cleanup_free_ char *e = display_escape(s);

        return utf8_width(e ?: "");
}

static void print_padded(const char *s, size_t width) {
        _cleanup_free_ char *e = display_escape(s);
        size_t w = utf8_width(e ?: "");

        fputs(strempty(e), stdout);
        for (; w < width; w++)
                putchar(' ');
}

static void print_line(const char *s) {
        _cleanup_free_ char *e = display_escape(s);

        puts(strempty(e));
}

static const char *guest_name_of(const Inventory *inv, const char *path) {
        const Guest *g = inventory_guest(inv, path);
        return g ? g->name : NULL;
}

int verb_list(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Inventory inv = {};
        int r;

        r = inventory_read(bus, &inv, &error);
        if (r < 0)
                return report_bus_error("cannot list the VMs", &error, r);

        if (arg.json) {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < inv.n_guests; i++)
                        json_object_array_add(a, guest_to_json(&inv.guests[i]));
                json_print(a);
                json_object_put(a);
        } else if (arg.quiet) {
                /* Names only, one a line: for scripts and shell completion. */
                for (size_t i = 0; i < inv.n_guests; i++)
                        print_line(inv.guests[i].name);
        } else {
                size_t wn = strlen("NAME"), ws = strlen("STATE");
                for (size_t i = 0; i < inv.n_guests; i++) {
                        size_t a = display_width(inv.guests[i].name), b = display_width(inv.guests[i].state);
                        wn = a > wn ? a : wn;
                        ws = b > ws ? b : ws;
                }
                if (arg.legend) {
                        print_padded("NAME", wn + 2);
                        print_padded("STATE", ws + 2);
                        puts("UUID");
                }
                for (size_t i = 0; i < inv.n_guests; i++) {
                        print_padded(strempty(inv.guests[i].name), wn + 2);
                        print_padded(strempty(inv.guests[i].state), ws + 2);
                        print_line(inv.guests[i].uuid);
                }
                if (arg.legend)
                        printf("\n%zu VM%s listed.\n", inv.n_guests, inv.n_guests == 1 ? "" : "s");
        }
        inventory_done(&inv);
        return VPCCTL_EXIT_OK;
}

/* "running 40%", "done", "failed 0x80070520 org.vpc.Error.NoSuchLogonSession" */
static void print_task_state(const TaskRecord *t) {
        _cleanup_free_ char *name = display_escape(t->error_name);

        if (!t->complete)
                printf("running %u%%", t->percent);
        else if (!t->error_name || !*t->error_name)
                printf("done 0x%08X", t->error_code);
        else {
                printf("failed 0x%08X ", t->error_code);
                fputs(strempty(name), stdout);
        }
}

int verb_status(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *what = NULL;
        const char *path;
        Inventory inv = {};
        int r;

        if (argc != 2) {
                fprintf(stderr, "vpcctl: status takes one VM name or UUID\n");
                return VPCCTL_EXIT_USAGE;
        }
        if (asprintf(&what, "'%s'", argv[1]) < 0)
                return VPCCTL_EXIT_FAILED;

        r = sd_bus_call_method(bus, VPC_BUS_NAME, VPC_MANAGER_PATH, "org.vpc.Manager", "GetGuestOS",
                               &error, &reply, "s", argv[1]);
        if (r < 0)
                return report_bus_error(what, &error, r);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return report_bus_error(what, &error, r);
        r = inventory_read(bus, &inv, &error);
        if (r < 0)
                return report_bus_error(what, &error, r);

        const Guest *g = inventory_guest(&inv, path);
        if (!g) {
                /* Gone between the two calls. */
                inventory_done(&inv);
                sd_bus_error_set(&error, "org.vpc.Error.VmUnknown", "the VM went away while being read");
                return report_bus_error(what, &error, -ENOENT);
        }

        if (arg.json) {
                json_object *o = guest_to_json(g), *a = json_object_new_array();
                for (size_t i = 0; i < inv.n_tasks; i++)
                        if (streq_ptr(inv.tasks[i].target, path))
                                json_object_array_add(a, task_to_json(&inv.tasks[i], g->name));
                json_object_object_add(o, "tasks", a);
                /* Users when the agent can say and the caller may see them; else null. */
                if (g->agent_connected) {
                        _cleanup_(sd_bus_error_free) sd_bus_error users_error = SD_BUS_ERROR_NULL;
                        GuestUser *users = NULL;
                        size_t n_users = 0;
                        if (guest_users_read(bus, g->path, false, &users, &n_users, &users_error) >= 0) {
                                json_object_object_add(o, "users", guest_users_to_json(users, n_users));
                                guest_users_free(users, n_users);
                        } else
                                json_object_object_add(o, "users", NULL);
                } else
                        json_object_object_add(o, "users", NULL);
                json_print(o);
                json_object_put(o);
        } else {
                size_t n = 0;
                print_line(g->name);
                fputs("     State: ", stdout);
                print_line(g->state);
                fputs("      UUID: ", stdout);
                print_line(g->uuid);
                fputs("      Path: ", stdout);
                print_line(g->path);
                guest_status_print(bus, g);
                if (g->has_console) {
                        _cleanup_free_ char *policy = display_escape(g->console_policy);
                        if (streq_ptr(g->console_policy, "logoff"))
                                printf("   Console: log off %" PRIu32 " s after the last client leaves", g->console_delay_sec);
                        else
                                printf("   Console: %s on disconnect", strempty(policy));
                        printf("; %" PRIu32 " client(s) connected\n", g->console_clients);
                }
                for (size_t i = 0; i < inv.n_tasks; i++) {
                        const TaskRecord *t = &inv.tasks[i];
                        if (!streq_ptr(t->target, path))
                                continue;
                        _cleanup_free_ char *description = display_escape(t->description);
                        printf("%s %s %s ", n++ == 0 ? "     Tasks:" : "           ", t->path,
                               strempty(description));
                        print_task_state(t);
                        putchar('\n');
                }
                if (n == 0)
                        printf("     Tasks: none\n");
        }
        inventory_done(&inv);
        return VPCCTL_EXIT_OK;
}

int verb_tasks(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Inventory inv = {};
        int r;

        r = inventory_read(bus, &inv, &error);
        if (r < 0)
                return report_bus_error("cannot list the tasks", &error, r);

        if (arg.json) {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < inv.n_tasks; i++)
                        json_object_array_add(a, task_to_json(&inv.tasks[i], guest_name_of(&inv, inv.tasks[i].target)));
                json_print(a);
                json_object_put(a);
        } else if (arg.quiet) {
                /* Paths only, one a line, like list -q. */
                for (size_t i = 0; i < inv.n_tasks; i++)
                        print_line(inv.tasks[i].path);
        } else {
                size_t wp = strlen("TASK"), wv = strlen("VM");
                for (size_t i = 0; i < inv.n_tasks; i++) {
                        size_t a = display_width(inv.tasks[i].path);
                        size_t b = display_width(guest_name_of(&inv, inv.tasks[i].target) ?: "-");
                        wp = a > wp ? a : wp;
                        wv = b > wv ? b : wv;
                }
                if (arg.legend) {
                        print_padded("TASK", wp + 2);
                        print_padded("VM", wv + 2);
                        print_padded("WHAT", 8);
                        printf("%-7s ", "OWNER");
                        puts("STATE");
                }
                for (size_t i = 0; i < inv.n_tasks; i++) {
                        const TaskRecord *t = &inv.tasks[i];
                        print_padded(strempty(t->path), wp + 2);
                        print_padded(guest_name_of(&inv, t->target) ?: "-", wv + 2);
                        print_padded(strempty(t->description), 8);
                        printf("%-7u ", t->owner);
                        print_task_state(t);
                        putchar('\n');
                }
                if (arg.legend)
                        printf("\n%zu task%s listed.\n", inv.n_tasks, inv.n_tasks == 1 ? "" : "s");
        }
        inventory_done(&inv);
        return VPCCTL_EXIT_OK;
}
