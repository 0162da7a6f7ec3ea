/* vpcctl monitor: live VM and task events (VMs defined, undefined, changing state; tasks created,
 * progressing, completing, expiring; the service coming and going), as lines or JSON lines. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vpcctl.h"

typedef struct Names {
        char **paths;
        char **names;
        size_t n;
} Names;

static const char *names_get(const Names *c, const char *path) {
        for (size_t i = 0; i < c->n; i++)
                if (streq_ptr(c->paths[i], path))
                        return c->names[i];
        return NULL;
}

static void names_put(Names *c, const char *path, const char *name) {
        for (size_t i = 0; i < c->n; i++)
                if (streq_ptr(c->paths[i], path)) {
                        char *n = strdup(strempty(name));
                        if (n) {
                                free(c->names[i]);
                                c->names[i] = n;
                        }
                        return;
                }
        char **p = realloc(c->paths, (c->n + 1) * sizeof(char *));
        if (!p)
                return;
        c->paths = p;
        char **n = realloc(c->names, (c->n + 1) * sizeof(char *));
        if (!n)
                return;
        c->names = n;
        c->paths[c->n] = strdup(path);
        c->names[c->n] = strdup(strempty(name));
        c->n++;
}

static void names_done(Names *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->paths[i]);
                free(c->names[i]);
        }
        free(c->paths);
        free(c->names);
        *c = (Names) {};
}

typedef struct Monitor {
        Names guests;           /* GuestOS path -> VM name */
        Names task_targets;     /* Task path -> VM name */
} Monitor;

/* One event: "HH:MM:SS event subject details" or a JSON line with the same fields. */
static void emit(const char *event, const char *subject, json_object *fields, const char *format, ...) _printf_(4, 5);
static void emit(const char *event, const char *subject, json_object *fields, const char *format, ...) {
        uint64_t t = now_usec(CLOCK_REALTIME);

        if (arg.json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "event", json_object_new_string(event));
                json_object_object_add(o, "time_usec", json_object_new_int64((int64_t) t));
                json_object_object_foreach(fields, k, v)
                        json_object_object_add(o, k, json_object_get(v));
                json_print(o);
                json_object_put(o);
        } else {
                char stamp[16];
                time_t secs = (time_t) (t / USEC_PER_SEC);
                struct tm tm;
                va_list ap;

                _cleanup_free_ char *details = NULL, *subject_shown = display_escape(subject), *details_shown = NULL;

                strftime(stamp, sizeof stamp, "%H:%M:%S", localtime_r(&secs, &tm));
                printf("%s %-15s %s", stamp, event, strempty(subject_shown));
                if (format) {
                        /* The details quote names and messages: escaped as a whole. */
                        va_start(ap, format);
                        if (vasprintf(&details, format, ap) < 0)
                                details = NULL;
                        va_end(ap);
                        details_shown = display_escape(details);
                        printf(" %s", strempty(details_shown));
                }
                putchar('\n');
                fflush(stdout);
        }
        json_object_put(fields);
}

static json_object *fields(const char *k1, const char *v1, const char *k2, const char *v2) {
        json_object *o = json_object_new_object();
        if (k1)
                json_object_object_add(o, k1, json_object_new_string(strempty(v1)));
        if (k2)
                json_object_object_add(o, k2, json_object_new_string(strempty(v2)));
        return o;
}

static int on_interface_added(sd_bus_message *m, const char *path, const char *iface, void *userdata) {
        Monitor *mon = userdata;
        int r;

        if (streq_ptr(iface, "org.vpc.GuestOS")) {
                _cleanup_(guest_done) Guest g = {};

                r = properties_read(m, &g, NULL);
                if (r < 0)
                        return r;
                json_object *f = fields("vm", g.name, "path", path);
                json_object_object_add(f, "uuid", json_object_new_string(strempty(g.uuid)));
                json_object_object_add(f, "state", json_object_new_string(strempty(g.state)));
                names_put(&mon->guests, path, g.name);
                emit("vm-added", g.name, f, "(%s, %s)", strempty(g.state), path);
                return 1;
        }
        if (streq_ptr(iface, "org.vpc.Task")) {
                _cleanup_(task_done) TaskRecord t = {};

                r = properties_read(m, NULL, &t);
                if (r < 0)
                        return r;
                const char *vm = names_get(&mon->guests, t.target);
                json_object *f = fields("task", path, "vm", vm);
                json_object_object_add(f, "description", json_object_new_string(strempty(t.description)));
                json_object_object_add(f, "owner", json_object_new_int64(t.owner));
                names_put(&mon->task_targets, path, vm);
                emit("task-added", path, f, "%s %s (uid %u)", strempty(t.description), strempty(vm), t.owner);
                return 1;
        }
        return 0;
}

static int on_interfaces_removed(Monitor *mon, sd_bus_message *m) {
        const char *path, *iface;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "s", &iface)) > 0) {
                if (streq_ptr(iface, "org.vpc.GuestOS")) {
                        const char *vm = names_get(&mon->guests, path);
                        emit("vm-removed", vm ?: path, fields("vm", vm, "path", path), "(%s)", path);
                } else if (streq_ptr(iface, "org.vpc.Task")) {
                        const char *vm = names_get(&mon->task_targets, path);
                        emit("task-removed", path, fields("task", path, "vm", vm), "%s", strempty(vm));
                }
        }
        return r;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Monitor *mon = userdata;
        const char *path = sd_bus_message_get_path(m), *member = sd_bus_message_get_member(m);
        const char *iface = sd_bus_message_get_interface(m);
        int r = 0;

        if (streq_ptr(iface, "org.freedesktop.DBus.ObjectManager") && streq_ptr(member, "InterfacesAdded"))
                r = object_interfaces_read(m, on_interface_added, mon);
        else if (streq_ptr(iface, "org.freedesktop.DBus.ObjectManager") && streq_ptr(member, "InterfacesRemoved"))
                r = on_interfaces_removed(mon, m);
        else if (streq_ptr(iface, "org.vpc.Task") && streq_ptr(member, "Progress")) {
                uint32_t percent;
                r = sd_bus_message_read(m, "u", &percent);
                if (r >= 0) {
                        const char *vm = names_get(&mon->task_targets, path);
                        json_object *f = fields("task", path, "vm", vm);
                        json_object_object_add(f, "percent", json_object_new_int(percent));
                        emit("task-progress", path, f, "%s %u%%", strempty(vm), percent);
                }
        } else if (streq_ptr(iface, "org.vpc.Task") && streq_ptr(member, "Completed")) {
                uint32_t code;
                const char *name, *message;
                r = sd_bus_message_read(m, "uss", &code, &name, &message);
                if (r >= 0) {
                        const char *vm = names_get(&mon->task_targets, path);
                        json_object *f = fields("task", path, "vm", vm);
                        json_object_object_add(f, "error_code", json_object_new_int64(code));
                        json_object_object_add(f, "hresult", json_hresult(code));
                        json_object_object_add(f, "error_name", json_object_new_string(strempty(name)));
                        json_object_object_add(f, "error_message", json_object_new_string(strempty(message)));
                        if (*strempty(name))
                                emit("task-completed", path, f, "%s 0x%08X %s: %s", strempty(vm), code, name, strempty(message));
                        else
                                emit("task-completed", path, f, "%s 0x%08X %s", strempty(vm), code, _("success"));
                }
        } else if (streq_ptr(iface, "org.freedesktop.DBus.Properties") && streq_ptr(member, "PropertiesChanged") &&
                   path && strncmp(path, VPC_GUEST_PREFIX, strlen(VPC_GUEST_PREFIX)) == 0) {
                const char *changed_iface;
                Guest g = {};
                r = sd_bus_message_read(m, "s", &changed_iface);
                if (r >= 0 && streq_ptr(changed_iface, "org.vpc.GuestOS"))
                        r = properties_read(m, &g, NULL);
                if (r >= 0 && g.state) {
                        const char *vm = names_get(&mon->guests, path);
                        json_object *f = fields("vm", vm, "path", path);
                        json_object_object_add(f, "state", json_object_new_string(g.state));
                        emit("vm-state", vm ?: path, f, "%s", g.state);
                }
                guest_done(&g);
        } else if (streq_ptr(member, "NameOwnerChanged")) {
                const char *name, *old_owner, *new_owner;
                r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
                if (r >= 0 && streq_ptr(name, VPC_BUS_NAME))
                        emit(*new_owner ? "service-started" : "service-stopped", VPC_BUS_NAME,
                             fields("owner", *new_owner ? new_owner : old_owner, NULL, NULL), NULL);
        }
        if (r < 0)
                fprintf(stderr, _("vpcctl: cannot parse a %s signal from %s: %s\n"), strempty(member), strempty(path),
                        strerror(-r));
        return 0;
}

int verb_monitor(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Monitor mon = {};
        Inventory inv = {};
        int r;

        if (argc != 1) {
                fputs(_("vpcctl: monitor takes no arguments\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        /* Subscribe first, then read what exists, so nothing falls between the two. */
        r = sd_bus_add_match(bus, NULL, "type='signal',path_namespace='/org/vpc'", on_signal, &mon);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL, "type='signal',sender='org.freedesktop.DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.vpc'",
                                     on_signal, &mon);
        if (r < 0)
                return report_bus_error(_("cannot subscribe to org.vpc's signals"), NULL, r);
        r = inventory_read(bus, &inv, &error);
        if (r < 0)
                return report_bus_error(_("cannot read org.vpc's objects"), &error, r);
        for (size_t i = 0; i < inv.n_guests; i++)
                names_put(&mon.guests, inv.guests[i].path, inv.guests[i].name);
        for (size_t i = 0; i < inv.n_tasks; i++) {
                const Guest *g = inventory_guest(&inv, inv.tasks[i].target);
                names_put(&mon.task_targets, inv.tasks[i].path, g ? g->name : NULL);
        }
        /* The event names are the JSON's and stay as they are; the details are for people. */
        emit("monitoring", VPC_BUS_NAME, json_object_new_object(), _("%zu VMs, %zu tasks%s"), inv.n_guests, inv.n_tasks,
             arg.timeout_usec ? "" : _("; Ctrl-C stops"));
        inventory_done(&inv);

        uint64_t deadline = arg.timeout_usec ? now_usec(CLOCK_MONOTONIC) + arg.timeout_usec : USEC_INFINITY;
        int status = VPCCTL_EXIT_OK;
        for (;;) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        break;
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        status = report_bus_error(_("lost the bus connection"), NULL, r);
                        break;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, deadline == USEC_INFINITY ? UINT64_MAX : deadline - now);
                if (r < 0 && r != -EINTR) {
                        status = report_bus_error(_("lost the bus connection"), NULL, r);
                        break;
                }
        }
        names_done(&mon.guests);
        names_done(&mon.task_targets);
        return status;
}
