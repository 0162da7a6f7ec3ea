/* Reading org.vpc's GuestOS and Task objects over the public API (GetManagedObjects, GetAll) into
 * plain records, and turning them into JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vpcctl.h"

void guest_done(Guest *g) {
        free(g->path);
        free(g->name);
        free(g->uuid);
        free(g->state);
        free(g->console_policy);
        free(g->console_message);
        free(g->os_name);
        *g = (Guest) {};
}

void task_done(TaskRecord *t) {
        free(t->path);
        free(t->description);
        free(t->target);
        free(t->error_name);
        free(t->error_message);
        *t = (TaskRecord) {};
}

void inventory_done(Inventory *inv) {
        for (size_t i = 0; i < inv->n_guests; i++)
                guest_done(&inv->guests[i]);
        for (size_t i = 0; i < inv->n_tasks; i++)
                task_done(&inv->tasks[i]);
        free(inv->guests);
        free(inv->tasks);
        *inv = (Inventory) {};
}

static int read_string_variant(sd_bus_message *m, const char *type, char **ret) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "v", type, &s);
        if (r < 0)
                return r;
        char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        free(*ret);
        *ret = copy;
        return 0;
}

/* Reads one a{sv} of org.vpc.GuestOS (g) or org.vpc.Task (t); unknown properties are skipped, so a
 * newer service with more properties still works. */
int properties_read(sd_bus_message *m, Guest *g, TaskRecord *t) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (g && streq_ptr(name, "Name"))
                        r = read_string_variant(m, "s", &g->name);
                else if (g && streq_ptr(name, "UUID"))
                        r = read_string_variant(m, "s", &g->uuid);
                else if (g && streq_ptr(name, "State"))
                        r = read_string_variant(m, "s", &g->state);
                else if (g && streq_ptr(name, "ConsoleDisconnectPolicy")) {
                        r = read_string_variant(m, "s", &g->console_policy);
                        g->has_console = true;
                } else if (g && streq_ptr(name, "ConsoleDisconnectMessage"))
                        r = read_string_variant(m, "s", &g->console_message);
                else if (g && streq_ptr(name, "ConsoleDisconnectDelaySec"))
                        r = sd_bus_message_read(m, "v", "u", &g->console_delay_sec);
                else if (g && streq_ptr(name, "ConsoleClients"))
                        r = sd_bus_message_read(m, "v", "u", &g->console_clients);
                else if (g && streq_ptr(name, "OSName"))
                        r = read_string_variant(m, "s", &g->os_name);
                else if (g && streq_ptr(name, "AgentConnected")) {
                        int b;
                        r = sd_bus_message_read(m, "v", "b", &b);
                        g->agent_connected = b;
                }
                else if (t && streq_ptr(name, "Description"))
                        r = read_string_variant(m, "s", &t->description);
                else if (t && streq_ptr(name, "Target"))
                        r = read_string_variant(m, "o", &t->target);
                else if (t && streq_ptr(name, "ErrorName"))
                        r = read_string_variant(m, "s", &t->error_name);
                else if (t && streq_ptr(name, "ErrorMessage"))
                        r = read_string_variant(m, "s", &t->error_message);
                else if (t && streq_ptr(name, "Owner"))
                        r = sd_bus_message_read(m, "v", "u", &t->owner);
                else if (t && streq_ptr(name, "PercentCompleted"))
                        r = sd_bus_message_read(m, "v", "u", &t->percent);
                else if (t && streq_ptr(name, "ErrorCode"))
                        r = sd_bus_message_read(m, "v", "u", &t->error_code);
                else if (t && streq_ptr(name, "StartedUSec"))
                        r = sd_bus_message_read(m, "v", "t", &t->started_usec);
                else if (t && streq_ptr(name, "FinishedUSec"))
                        r = sd_bus_message_read(m, "v", "t", &t->finished_usec);
                else if (t && streq_ptr(name, "IsComplete")) {
                        int b;
                        r = sd_bus_message_read(m, "v", "b", &b);
                        t->complete = b;
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int guest_cmp(const void *a, const void *b) {
        return strcmp(strempty(((const Guest *) a)->name), strempty(((const Guest *) b)->name));
}

static unsigned long task_number(const char *path) {
        if (!path || strncmp(path, VPC_TASK_PREFIX, strlen(VPC_TASK_PREFIX)) != 0)
                return 0;
        return strtoul(path + strlen(VPC_TASK_PREFIX), NULL, 10);
}

static int task_cmp(const void *a, const void *b) {
        unsigned long x = task_number(((const TaskRecord *) a)->path), y = task_number(((const TaskRecord *) b)->path);
        return x < y ? -1 : x > y;
}

static int inventory_add_guest(Inventory *inv, const char *path, Guest **ret) {
        Guest *n = realloc(inv->guests, (inv->n_guests + 1) * sizeof(Guest));
        if (!n)
                return -ENOMEM;
        inv->guests = n;
        *ret = &inv->guests[inv->n_guests++];
        **ret = (Guest) { .path = strdup(path) };
        return (*ret)->path ? 0 : -ENOMEM;
}

static int inventory_add_task(Inventory *inv, const char *path, TaskRecord **ret) {
        TaskRecord *n = realloc(inv->tasks, (inv->n_tasks + 1) * sizeof(TaskRecord));
        if (!n)
                return -ENOMEM;
        inv->tasks = n;
        *ret = &inv->tasks[inv->n_tasks++];
        **ret = (TaskRecord) { .path = strdup(path) };
        return (*ret)->path ? 0 : -ENOMEM;
}

int object_interfaces_read(sd_bus_message *m, ObjectInterfaceFunc f, void *userdata) {
        const char *path;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                const char *iface;

                r = sd_bus_message_read(m, "s", &iface);
                if (r < 0)
                        return r;
                r = f(m, path, iface, userdata);
                if (r == 0)
                        r = sd_bus_message_skip(m, "a{sv}");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* An object's GuestOS or Task interface goes into the inventory, others are skipped. */
static int inventory_add_interface(sd_bus_message *m, const char *path, const char *iface, void *userdata) {
        Inventory *inv = userdata;
        Guest *g = NULL;
        TaskRecord *t = NULL;
        int r;

        if (streq_ptr(iface, "org.vpc.GuestOS"))
                r = inventory_add_guest(inv, path, &g);
        else if (streq_ptr(iface, "org.vpc.Task"))
                r = inventory_add_task(inv, path, &t);
        else
                return 0;
        if (r < 0)
                return r;
        r = properties_read(m, g, t);
        return r < 0 ? r : 1;
}

static int inventory_parse(sd_bus_message *m, Inventory *inv) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}")) > 0) {
                r = object_interfaces_read(m, inventory_add_interface, inv);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* One GetManagedObjects call: every GuestOS (in name order) and every Task (in number order). */
int inventory_read(sd_bus *bus, Inventory *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Inventory inv = {};
        int r;

        r = sd_bus_call_method(bus, VPC_BUS_NAME, VPC_MANAGER_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", error, &reply, "");
        if (r < 0)
                return r;
        r = inventory_parse(reply, &inv);
        if (r < 0) {
                /* A reply vpcctl cannot read is the service's fault, not the caller's. */
                inventory_done(&inv);
                return sd_bus_error_set_errnof(error, -r, "cannot parse the GetManagedObjects reply: %s", strerror_english(r));
        }
        if (inv.n_guests > 0)
                qsort(inv.guests, inv.n_guests, sizeof(Guest), guest_cmp);
        if (inv.n_tasks > 0)
                qsort(inv.tasks, inv.n_tasks, sizeof(TaskRecord), task_cmp);
        *ret = inv;
        return 0;
}

const Guest *inventory_guest(const Inventory *inv, const char *path) {
        for (size_t i = 0; i < inv->n_guests; i++)
                if (streq_ptr(inv->guests[i].path, path))
                        return &inv->guests[i];
        return NULL;
}

static int get_all(sd_bus *bus, const char *path, const char *iface, Guest *g, TaskRecord *t, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, VPC_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                               error, &reply, "s", iface);
        if (r < 0)
                return r;
        r = properties_read(reply, g, t);
        if (r < 0)
                return sd_bus_error_set_errnof(error, -r, "cannot parse the properties of %s", path);
        return 0;
}

int task_read(sd_bus *bus, const char *path, TaskRecord *t, sd_bus_error *error) {
        TaskRecord n = { .path = strdup(path) };
        int r;

        if (!n.path)
                return -ENOMEM;
        r = get_all(bus, path, "org.vpc.Task", NULL, &n, error);
        if (r < 0) {
                task_done(&n);
                return r;
        }
        task_done(t);
        *t = n;
        return 0;
}

int guest_read(sd_bus *bus, const char *path, Guest *g, sd_bus_error *error) {
        Guest n = { .path = strdup(path) };
        int r;

        if (!n.path)
                return -ENOMEM;
        r = get_all(bus, path, "org.vpc.GuestOS", &n, NULL, error);
        if (r < 0) {
                guest_done(&n);
                return r;
        }
        guest_done(g);
        *g = n;
        return 0;
}

json_object *guest_to_json(const Guest *g) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(strempty(g->name)));
        json_object_object_add(o, "uuid", json_object_new_string(strempty(g->uuid)));
        json_object_object_add(o, "state", json_object_new_string(strempty(g->state)));
        json_object_object_add(o, "path", json_object_new_string(strempty(g->path)));
        if (g->has_console) {
                json_object_object_add(o, "console_disconnect_policy", json_object_new_string(strempty(g->console_policy)));
                json_object_object_add(o, "console_disconnect_delay_sec", json_object_new_int64(g->console_delay_sec));
                json_object_object_add(o, "console_disconnect_message", json_object_new_string(strempty(g->console_message)));
                json_object_object_add(o, "console_clients", json_object_new_int64(g->console_clients));
        }
        json_object_object_add(o, "agent_connected", json_object_new_boolean(g->agent_connected));
        json_object_object_add(o, "os_name", json_object_new_string(strempty(g->os_name)));
        return o;
}

json_object *task_to_json(const TaskRecord *t, const char *target_name) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "path", json_object_new_string(strempty(t->path)));
        json_object_object_add(o, "id", json_object_new_int64((int64_t) task_number(t->path)));
        json_object_object_add(o, "description", json_object_new_string(strempty(t->description)));
        json_object_object_add(o, "target", json_object_new_string(strempty(t->target)));
        json_object_object_add(o, "vm", target_name ? json_object_new_string(target_name) : NULL);
        json_object_object_add(o, "owner", json_object_new_int64(t->owner));
        json_object_object_add(o, "complete", json_object_new_boolean(t->complete));
        json_object_object_add(o, "percent", json_object_new_int(t->percent));
        json_object_object_add(o, "error_code", json_object_new_int64(t->error_code));
        json_object_object_add(o, "hresult", json_hresult(t->error_code));
        json_object_object_add(o, "error_name", json_object_new_string(strempty(t->error_name)));
        json_object_object_add(o, "error_message", json_object_new_string(strempty(t->error_message)));
        json_object_object_add(o, "started_usec", json_object_new_int64((int64_t) t->started_usec));
        json_object_object_add(o, "finished_usec", json_object_new_int64((int64_t) t->finished_usec));
        return o;
}

/* "7" and "/org/vpc/Task/7" both name task 7. */
char *task_path_from_arg(const char *s) {
        char *p = NULL;

        if (s[0] == '/')
                return sd_bus_object_path_is_valid(s) ? strdup(s) : NULL;
        if (strspn(s, "0123456789") != strlen(s) || !*s)
                return NULL;
        if (asprintf(&p, VPC_TASK_PREFIX "%s", s) < 0)
                return NULL;
        return p;
}
