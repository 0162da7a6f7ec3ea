/* set-policy: a VM's console-disconnect policy (GuestOS.SetConsoleDisconnectPolicy, or
 * ...WithOptions when --message is given). Without
 * --delay the VM's current delay stays, so switching the action on and off keeps it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "vpcctl.h"

int verb_set_policy(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *what = NULL, *path = NULL;
        const char *p;
        uint32_t delay;
        int r;

        if (argc != 2 || !arg.console_disconnect) {
                fputs(_("vpcctl: set-policy takes one VM name or UUID and --console-disconnect=ACTION\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        if (asprintf(&what, _("cannot set the console policy of '%s'"), argv[1]) < 0)
                return VPCCTL_EXIT_FAILED;

        r = sd_bus_call_method(bus, VPC_BUS_NAME, VPC_MANAGER_PATH, "org.vpc.Manager", "GetGuestOS", &error, &reply,
                               "s", argv[1]);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return report_bus_error(what, &error, r);
        path = strdup(p);
        if (!path)
                return VPCCTL_EXIT_FAILED;

        if (arg.delay_sec >= 0)
                delay = (uint32_t) arg.delay_sec;
        else {
                r = sd_bus_get_property_trivial(bus, VPC_BUS_NAME, path, "org.vpc.GuestOS", "ConsoleDisconnectDelaySec",
                                                &error, 'u', &delay);
                if (r < 0)
                        return report_bus_error(what, &error, r);
        }

        polkit_agent_open_if_enabled();
        if (arg.message)
                r = sd_bus_call_method(bus, VPC_BUS_NAME, path, "org.vpc.GuestOS", "SetConsoleDisconnectPolicyWithOptions",
                                       &error, NULL, "sua{sv}", arg.console_disconnect, delay, 1, "Message", "s",
                                       arg.message);
        else
                r = sd_bus_call_method(bus, VPC_BUS_NAME, path, "org.vpc.GuestOS", "SetConsoleDisconnectPolicy", &error,
                                       NULL, "su", arg.console_disconnect, delay);
        polkit_agent_close();
        if (r < 0)
                return report_bus_error(what, &error, r);
        if (!arg.quiet && !arg.json) {
                _cleanup_free_ char *name = display_escape(argv[1]);
                if (streq_ptr(arg.console_disconnect, "logoff"))
                        printf(_("%s: log off %" PRIu32 " s after the last console client leaves\n"), strempty(name), delay);
                else if (streq_ptr(arg.console_disconnect, "none"))
                        printf(_("%s: nothing happens when the console disconnects\n"), strempty(name));
                else
                        /* TRANSLATORS: the second %s is the action's name (lock, lock-then-logoff, ...). */
                        printf(_("%s: %s, %" PRIu32 " s after the last console client leaves\n"), strempty(name),
                               arg.console_disconnect, delay);
        }
        return VPCCTL_EXIT_OK;
}
