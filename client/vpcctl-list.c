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
                return report_bus_error(_("cannot list the VMs"), &error, r);

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
                /* TRANSLATORS: the column headers of list, upper case as systemctl's. */
                const char *h_name = _("NAME"), *h_state = _("STATE"), *h_uuid = _("UUID");
                size_t wn = utf8_width(h_name), ws = utf8_width(h_state);
                for (size_t i = 0; i < inv.n_guests; i++) {
                        size_t a = display_width(inv.guests[i].name), b = display_width(inv.guests[i].state);
                        wn = a > wn ? a : wn;
                        ws = b > ws ? b : ws;
                }
                if (arg.legend) {
                        print_padded(h_name, wn + 2);
                        print_padded(h_state, ws + 2);
                        puts(h_uuid);
                }
                for (size_t i = 0; i < inv.n_guests; i++) {
                        print_padded(strempty(inv.guests[i].name), wn + 2);
                        print_padded(strempty(inv.guests[i].state), ws + 2);
                        print_line(inv.guests[i].uuid);
                }
                if (arg.legend)
                        printf(ngettext("\n%zu VM listed.\n", "\n%zu VMs listed.\n", inv.n_guests), inv.n_guests);
        }
        inventory_done(&inv);
        return VPCCTL_EXIT_OK;
}

/* "running 40%", "done 0x00000000", "failed 0x80070520 org.vpc.Error.NoSuchLogonSession" */
static void print_task_state(const TaskRecord *t) {
        _cleanup_free_ char *name = display_escape(t->error_name);

        if (!t->complete)
                printf(_("running %u%%"), t->percent);
        else if (!t->error_name || !*t->error_name)
                printf(_("done 0x%08X"), t->error_code);
        else {
                printf(_("failed 0x%08X "), t->error_code);
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
                fputs(_("vpcctl: status takes one VM name or UUID\n"), stderr);
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
                /* An error message, as the service's are (--json prints it): English. */
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
                print_status_label(_("State"));
                print_line(g->state);
                print_status_label(_("UUID"));
                print_line(g->uuid);
                print_status_label(_("Path"));
                print_line(g->path);
                guest_status_print(bus, g);
                if (g->has_console) {
                        _cleanup_free_ char *policy = display_escape(g->console_policy);
                        print_status_label(_("Console"));
                        if (streq_ptr(g->console_policy, "logoff"))
                                printf(_("log off %" PRIu32 " s after the last client leaves"), g->console_delay_sec);
                        else if (streq_ptr(g->console_policy, "none"))
                                /* TRANSLATORS: %s is the policy's name as the service says it (none). */
                                printf(_("%s on disconnect"), strempty(policy));
                        else
                                /* TRANSLATORS: %s is the action's name (lock, lock-then-logoff, ...). */
                                printf(_("%s, %" PRIu32 " s after the last client leaves"), strempty(policy),
                                       g->console_delay_sec);
                        printf(_("; %" PRIu32 " client(s) connected\n"), g->console_clients);
                        if (g->console_message && g->console_message[0]) {
                                print_status_label(_("Message"));
                                print_line(g->console_message);
                        }
                }
                for (size_t i = 0; i < inv.n_tasks; i++) {
                        const TaskRecord *t = &inv.tasks[i];
                        if (!streq_ptr(t->target, path))
                                continue;
                        _cleanup_free_ char *description = display_escape(t->description);
                        print_status_label(n++ == 0 ? _("Tasks") : "");
                        printf("%s %s ", t->path, strempty(description));
                        print_task_state(t);
                        putchar('\n');
                }
                if (n == 0) {
                        print_status_label(_("Tasks"));
                        puts(C_("tasks", "none"));
                }
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
                return report_bus_error(_("cannot list the tasks"), &error, r);

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
                /* TRANSLATORS: the column headers of tasks. */
                const char *h_task = _("TASK"), *h_vm = _("VM"), *h_what = _("WHAT"), *h_owner = _("OWNER"),
                           *h_state = _("STATE");
                size_t wp = utf8_width(h_task), wv = utf8_width(h_vm), ww = utf8_width(h_what) + 1,
                       wo = utf8_width(h_owner) + 1;
                for (size_t i = 0; i < inv.n_tasks; i++) {
                        size_t a = display_width(inv.tasks[i].path);
                        size_t b = display_width(guest_name_of(&inv, inv.tasks[i].target) ?: "-");
                        wp = a > wp ? a : wp;
                        wv = b > wv ? b : wv;
                }
                if (arg.legend) {
                        print_padded(h_task, wp + 2);
                        print_padded(h_vm, wv + 2);
                        print_padded(h_what, ww > 8 ? ww : 8);
                        print_padded(h_owner, wo > 8 ? wo : 8);
                        puts(h_state);
                }
                for (size_t i = 0; i < inv.n_tasks; i++) {
                        const TaskRecord *t = &inv.tasks[i];
                        print_padded(strempty(t->path), wp + 2);
                        print_padded(guest_name_of(&inv, t->target) ?: "-", wv + 2);
                        _cleanup_free_ char *owner = NULL;
                        print_padded(strempty(t->description), ww > 8 ? ww : 8);
                        if (asprintf(&owner, "%" PRIu32, t->owner) < 0)
                                owner = NULL;
                        print_padded(strempty(owner), wo > 8 ? wo : 8);
                        print_task_state(t);
                        putchar('\n');
                }
                if (arg.legend)
                        printf(ngettext("\n%zu task listed.\n", "\n%zu tasks listed.\n", inv.n_tasks), inv.n_tasks);
        }
        inventory_done(&inv);
        return VPCCTL_EXIT_OK;
}
