/* org.vpc.Manager at /org/vpc (see manager-dbus.h). */
#include <ctype.h>
#include <errno.h>

#include "config.h"
#include "manager-dbus.h"

static bool looks_like_uuid(const char *s) {
        static const char pattern[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

        if (strlen(s) != sizeof(pattern) - 1)
                return false;
        for (size_t i = 0; pattern[i]; i++)
                if (pattern[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

static Domain *find_by_name_or_uuid(Manager *m, const char *key) {
        Domain *d = domain_registry_find_by_name(&m->domains, key);

        if (!d && looks_like_uuid(key)) {
                char lower[UUID_STRING_MAX];

                for (size_t i = 0; i < UUID_STRING_MAX; i++)
                        lower[i] = (char) tolower((unsigned char) key[i]);
                d = domain_registry_find_by_uuid(&m->domains, lower);
        }
        return d;
}

static int method_get_guest_os(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *key;
        Domain *d;
        int r;

        r = sd_bus_message_read(call, "s", &key);
        if (r < 0)
                return r;
        d = find_by_name_or_uuid(m, key);
        if (!d)
                return vpc_error_set(error, VPC_ERROR_VM_UNKNOWN, "no domain with name or UUID '%s'", key);
        return vpc_reply_return(call, "o", d->path);
}

static void append_guest(Domain *d, void *userdata) {
        sd_bus_message *reply = userdata;

        (void) sd_bus_message_append(reply, "(sso)", d->name, d->uuid, d->path);
}

static int method_list_guest_os(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sso)");
        if (r < 0)
                return r;
        domain_registry_foreach(&m->domains, append_guest, reply);
        r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? vpc_reply_fallback(call, r) : r;
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        if (streq_ptr(property, "Version"))
                return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
        if (streq_ptr(property, "HypervisorURI"))
                return sd_bus_message_append(reply, "s", m->options.uri);
        return -EINVAL;
}

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("HypervisorURI", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("GetGuestOS", SD_BUS_ARGS("s", name_or_uuid), SD_BUS_RESULT("o", guest),
                                method_get_guest_os, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListGuestOS", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sso)", guests),
                                method_list_guest_os, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectImplementation manager_object = {
        .path = MANAGER_PATH,
        .interface = "org.vpc.Manager",
        .vtable = manager_vtable,
};
