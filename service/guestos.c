/* org.vpc.GuestOS (see guestos.h). Logoff: authorize (polkit, re-dispatched) -> logoff-request.c
 * (check the guest on a worker, start or join the domain's Logoff task, reply with its path). */
#include <errno.h>

#include "console-policy-dbus.h"
#include "guestos-osname.h"
#include "guestos-users.h"
#include "guestos.h"
#include "lock-request.h"
#include "log.h"
#include "logoff-options.h"
#include "logoff-request.h"

static int method_logoff(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        BusRequest req = { .kind = &logoff_request_kind, .call = call, .vm_name = d->name, .vm_uuid = d->uuid };
        int r;

        /* Authorization comes before any libvirt work. */
        r = bus_request_authorize(m->authorizer, &req, UID_INVALID);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        logoff_request(m, d, &req);
        return 1;
}

static int method_lock(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        BusRequest req = { .kind = &lock_request_kind, .call = call, .vm_name = d->name, .vm_uuid = d->uuid };
        int r;

        r = bus_request_authorize(m->authorizer, &req, UID_INVALID);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        lock_request(m, d, &req);
        return 1;
}

/* The options are read before the polkit check (it re-runs this handler) but refused only after it:
 * an unauthorized caller learns nothing from them, as SetConsoleDisconnectPolicy's arguments. */
static int method_logoff_with_options(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Manager *m = d->manager;
        _cleanup_(logoff_options_done) LogoffOptions options = {};
        _cleanup_free_ char *invalid = NULL, *described = NULL;
        BusRequest req = { .kind = &logoff_with_options_request_kind, .call = call, .vm_name = d->name,
                           .vm_uuid = d->uuid };
        int r;

        r = logoff_options_read(call, &options, &invalid);
        if (r < 0 && r != -EINVAL)
                return r;
        described = r < 0 ? strdup("invalid") : logoff_options_describe(&options);
        if (!described)
                return -ENOMEM;
        req.options = described;

        r = bus_request_authorize(m->authorizer, &req, UID_INVALID);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;

        if (invalid) {
                bus_request_refuse(&req, VPC_ERROR_INVALID_ARGS, invalid);
                return 1;
        }
        logoff_request(m, d, &req);
        return 1;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;

        if (streq_ptr(property, "Name"))
                return sd_bus_message_append(reply, "s", d->name);
        if (streq_ptr(property, "UUID"))
                return sd_bus_message_append(reply, "s", d->uuid);
        if (streq_ptr(property, "State"))
                return sd_bus_message_append(reply, "s", domain_state_to_string(d->state));
        if (streq_ptr(property, "AgentConnected"))
                return sd_bus_message_append(reply, "b", guestos_osname_agent_connected(d));
        if (streq_ptr(property, "OSName"))
                return sd_bus_message_append(reply, "s", guestos_osname_name(d));
        return -EINVAL;
}

const sd_bus_vtable guestos_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UUID", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Logoff", SD_BUS_NO_ARGS, SD_BUS_RESULT("o", task), method_logoff,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("ConsoleDisconnectPolicy", "s", console_policy_property_get, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConsoleDisconnectDelaySec", "u", console_policy_property_get, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConsoleDisconnectMessage", "s", console_policy_property_get, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConsoleClients", "u", console_policy_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("SetConsoleDisconnectPolicy", SD_BUS_ARGS("s", policy, "u", delay_sec), SD_BUS_NO_RESULT,
                                console_policy_method_set, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetConsoleDisconnectPolicyWithOptions",
                                SD_BUS_ARGS("s", policy, "u", delay_sec, "a{sv}", options), SD_BUS_NO_RESULT,
                                console_policy_method_set_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("AgentConnected", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OSName", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListUsers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sst)", users),
                                guestos_method_list_users, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Lock", SD_BUS_NO_ARGS, SD_BUS_RESULT("o", task), method_lock,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("LogoffWithOptions", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("o", task),
                                method_logoff_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int guestos_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **found, sd_bus_error *error) {
        Domain *d = domain_registry_find_by_path(&((Manager *) userdata)->domains, path);

        if (!d)
                return 0;
        *found = d;
        return 1;
}

/* A call on the path of a domain that is gone (or never was) says VmUnknown, like GetGuestOS,
 * rather than sd-bus's generic UnknownObject/UnknownInterface. Runs before the vtable; declines
 * Introspect, Peer and paths of existing domains. */
static int guestos_unknown_fallback(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *path = sd_bus_message_get_path(call);
        _cleanup_free_ char *name = NULL;

        if (!sd_bus_message_is_method_call(call, "org.vpc.GuestOS", NULL) &&
            !sd_bus_message_is_method_call(call, "org.freedesktop.DBus.Properties", NULL))
                return 0;
        if (domain_registry_find_by_path(&m->domains, path))
                return 0;
        if (guestos_path_to_name(path, &name) < 0)
                return 0;
        return vpc_error_set(error, VPC_ERROR_VM_UNKNOWN, "no domain '%s'", name);
}

typedef struct NodeList {
        char **nodes;
        size_t n;
        int error;
} NodeList;

static void list_one(Domain *d, void *userdata) {
        NodeList *l = userdata;

        if (l->error < 0)
                return;
        l->nodes[l->n] = strdup(d->path);
        if (l->nodes[l->n])
                l->n++;
        else
                l->error = -ENOMEM;
}

static int guestos_node_enumerator(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
                                   sd_bus_error *error) {
        Manager *m = userdata;
        NodeList l = {};

        l.nodes = calloc(m->domains.n_domains + 1, sizeof(char *));
        if (!l.nodes)
                return -ENOMEM;
        domain_registry_foreach(&m->domains, list_one, &l);
        if (l.error < 0) {
                strv_free(l.nodes);
                return l.error;
        }
        *nodes = l.nodes;
        return 0;
}

const BusObjectImplementation guestos_object = {
        .path = GUESTOS_PATH_PREFIX,
        .interface = "org.vpc.GuestOS",
        .vtable = guestos_vtable,
        .find = guestos_object_find,
        .node_enumerator = guestos_node_enumerator,
        .fallback = guestos_unknown_fallback,
};

void guestos_emit_state_changed(Manager *m, Domain *d) {
        (void) sd_bus_emit_properties_changed(m->bus, d->path, "org.vpc.GuestOS", "State", NULL);
}
