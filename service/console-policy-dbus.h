/* The console-disconnect policy on org.vpc.GuestOS: the properties ConsoleDisconnectPolicy,
 * ConsoleDisconnectDelaySec, ConsoleDisconnectMessage and ConsoleClients, and
 * SetConsoleDisconnectPolicy(WithOptions) (polkit
 * org.vpc.guestos.set-policy), which writes the domain's metadata on the control worker. guestos.c
 * puts them in its vtable. */
#pragma once

#include <systemd/sd-bus.h>

int console_policy_property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error);
int console_policy_method_set(sd_bus_message *call, void *userdata, sd_bus_error *error);
/* The same with a{sv} options: "Message" (s), checked as LogoffWithOptions' message is. */
int console_policy_method_set_with_options(sd_bus_message *call, void *userdata, sd_bus_error *error);
