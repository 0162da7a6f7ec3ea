/* See bus-object.h. */
#include "bus-object.h"
#include "errors.h"

int bus_add_implementation(sd_bus *bus, const BusObjectImplementation *impl, void *userdata) {
        int r;

        if (impl->fallback) {
                r = sd_bus_add_fallback(bus, NULL, impl->path, impl->fallback, userdata);
                if (r < 0)
                        return r;
        }
        if (impl->find)
                r = sd_bus_add_fallback_vtable(bus, NULL, impl->path, impl->interface, impl->vtable, impl->find,
                                               userdata);
        else
                r = sd_bus_add_object_vtable(bus, NULL, impl->path, impl->interface, impl->vtable, userdata);
        if (r < 0)
                return r;
        if (impl->node_enumerator) {
                r = sd_bus_add_node_enumerator(bus, NULL, impl->path, impl->node_enumerator, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *expected_signature(const BusSignatureGuard *g, const char *interface, const char *member) {
        for (const BusObjectImplementation *const *i = g->impls; *i; i++) {
                if (interface && !streq_ptr(interface, (*i)->interface))
                        continue;
                for (const sd_bus_vtable *v = (*i)->vtable; v->type != _SD_BUS_VTABLE_END; v++)
                        if (v->type == _SD_BUS_VTABLE_METHOD && streq_ptr(v->x.method.member, member))
                                return strempty(v->x.method.signature);
        }
        return NULL;
}

static int signature_guard(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const BusSignatureGuard *g = userdata;
        const char *path, *expected, *signature;

        if (!sd_bus_message_is_method_call(m, NULL, NULL))
                return 0;
        path = sd_bus_message_get_path(m);
        if (!path || strncmp(path, g->prefix, strlen(g->prefix)) != 0)
                return 0;
        expected = expected_signature(g, sd_bus_message_get_interface(m), sd_bus_message_get_member(m));
        if (!expected)
                return 0;
        signature = strempty(sd_bus_message_get_signature(m, true));
        if (streq_ptr(signature, expected))
                return 0;

        (void) vpc_error_reply(m, VPC_ERROR_INVALID_ARGS, "%s takes arguments '%s', got '%s'",
                               sd_bus_message_get_member(m), expected, signature);
        return 1;
}

int bus_add_signature_guard(sd_bus *bus, const BusSignatureGuard *guard) {
        return sd_bus_add_filter(bus, NULL, signature_guard, (void *) guard);
}
