/* See bus-object.h. */
#include "bus-object.h"

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
