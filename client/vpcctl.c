/* vpcctl: the command-line client of vpc-guestosd. Lists the VMs, logs their users off with a
 * progress display, follows and cancels tasks, over the public org.vpc D-Bus API, locally or -H. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "text.h"
#include "vpcctl.h"

typedef struct Verb {
        const char *name;
        int (*run)(sd_bus *bus, int argc, char **argv);
} Verb;

static const Verb verbs[] = {
        { "list", verb_list },
        { "status", verb_status },
        { "logoff", verb_logoff },
        { "tasks", verb_tasks },
        { "wait", verb_wait },
        { "cancel", verb_cancel },
        { "monitor", verb_monitor },
        { "set-policy", verb_set_policy },
        { "users", verb_users },
        { "lock", verb_lock },
};

static void help(void) {
        /* In four pieces, so a translator meets one section at a time. */
        fputs(_("vpcctl [OPTIONS...] COMMAND ...\n\n"
                "Log off the users of libvirt guests through vpc-guestosd (org.vpc on the system bus).\n\n"), stdout);
        fputs(_("Commands:\n"
                "  list                 List the VMs: name, state, UUID\n"
                "  status VM            Show a VM: state, agent, OS, users, tasks\n"
                "  users VM             List who is logged on in a VM's guest\n"
                "  logoff VM...         Log off every user of each VM; waits and shows progress\n"
                "  logoff --all         ... of every running VM\n"
                "  logoff VM --message TEXT [--grace SEC]\n"
                "                       ... showing TEXT to the users first, SEC seconds before\n"
                "  lock VM...           Lock every user session of each VM; waits for it\n"
                "  tasks                List the tasks\n"
                "  wait TASK...         Wait for tasks to end, showing progress\n"
                "  cancel TASK          Cancel a task\n"
                "  monitor              Show VM and task events as they happen\n"
                "  set-policy VM --console-disconnect=ACTION [--delay SEC] [--message TEXT]\n"
                "                       What happens when the VM's last console client leaves\n\n"), stdout);
        fputs(_("Options:\n"
                "  -h --help            Show this help\n"
                "     --version         Show the version\n"
                "     --json            Print JSON (JSON lines for monitor)\n"
                "  -q --quiet           Print only errors (list, tasks: only names, paths)\n"
                "     --no-legend       No table header and footer\n"
                "     --no-wait         logoff: print the tasks and return at once\n"
                "     --timeout SEC     Stop waiting after SEC seconds (monitor: stop after SEC)\n"
                "     --all             logoff: every running VM\n"
                "     --no-ask-password Do not ask for a password (no polkit agent)\n"
                "  -H --host [USER@]HOST[:PORT]  Operate on a remote host, over SSH\n"
                "     --address ADDRESS Connect to this D-Bus address instead of the system bus\n"
                "     --console-disconnect=ACTION  set-policy: none, lock, logoff, lock-then-logoff,\n"
                "                       warn-then-logoff\n"
                "     --delay SEC       set-policy: seconds before it (0..86400; default: keep the VM's)\n"
                "     --message TEXT    logoff, set-policy: show TEXT to every user first (at most 1024 bytes)\n"
                "     --grace SEC       logoff: seconds between the message and the logoff (0..3600)\n\n"), stdout);
        fputs(_("Exit status: 0 success, 1 failure, 2 usage, 3 nobody was logged on, 4 VM not running,\n"
                "5 no guest agent, 6 no such VM or task, 7 cancelled, 8 timed out in the service,\n"
                "9 still running after --timeout, 10 access denied, 11 service unreachable.\n"
                "See vpcctl(1).\n"), stdout);
}

static int parse_seconds(const char *s, uint64_t *ret) {
        char *end;
        double d;

        errno = 0;
        d = strtod(s, &end);
        if (errno != 0 || end == s || *end || !(d > 0) || d > 31536000.0)
                return -EINVAL;
        *ret = (uint64_t) (d * (double) USEC_PER_SEC);
        return 0;
}

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_NO_LEGEND,
                ARG_NO_WAIT,
                ARG_TIMEOUT,
                ARG_ALL,
                ARG_NO_ASK_PASSWORD,
                ARG_ADDRESS,
                ARG_CONSOLE_DISCONNECT,
                ARG_DELAY,
                ARG_MESSAGE,
                ARG_GRACE,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "quiet", no_argument, NULL, 'q' },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "no-wait", no_argument, NULL, ARG_NO_WAIT },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "all", no_argument, NULL, ARG_ALL },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                { "host", required_argument, NULL, 'H' },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "console-disconnect", required_argument, NULL, ARG_CONSOLE_DISCONNECT },
                { "delay", required_argument, NULL, ARG_DELAY },
                { "message", required_argument, NULL, ARG_MESSAGE },
                { "grace", required_argument, NULL, ARG_GRACE },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hqH:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        exit(0);
                case ARG_VERSION:
                        printf("vpcctl %s\n", PACKAGE_VERSION);
                        exit(0);
                case ARG_JSON:
                        arg.json = true;
                        break;
                case 'q':
                        arg.quiet = true;
                        break;
                case ARG_NO_LEGEND:
                        arg.legend = false;
                        break;
                case ARG_NO_WAIT:
                        arg.wait = false;
                        break;
                case ARG_TIMEOUT:
                        if (parse_seconds(optarg, &arg.timeout_usec) < 0) {
                                fprintf(stderr, _("vpcctl: --timeout wants a positive number of seconds, not '%s'\n"), optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_ALL:
                        arg.all = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg.ask_password = false;
                        break;
                case 'H':
                        arg.host = optarg;
                        break;
                case ARG_ADDRESS:
                        arg.address = optarg;
                        break;
                case ARG_CONSOLE_DISCONNECT:
                        if (!streq_ptr(optarg, "none") && !streq_ptr(optarg, "lock") && !streq_ptr(optarg, "logoff") &&
                            !streq_ptr(optarg, "lock-then-logoff") && !streq_ptr(optarg, "warn-then-logoff")) {
                                fprintf(stderr, _("vpcctl: --console-disconnect wants none, lock, logoff, lock-then-logoff or "
                                                  "warn-then-logoff, not '%s'\n"), optarg);
                                return -EINVAL;
                        }
                        arg.console_disconnect = optarg;
                        break;
                case ARG_DELAY: {
                        char *end;
                        unsigned long long v;

                        errno = 0;
                        v = strtoull(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-' || v > 86400) {
                                fprintf(stderr, _("vpcctl: --delay wants 0..86400 seconds, not '%s'\n"), optarg);
                                return -EINVAL;
                        }
                        arg.delay_sec = (int64_t) v;
                        break;
                }
                case ARG_MESSAGE:
                        /* The service says the same; said here, the text is not sent first. */
                        if (strlen(optarg) > 1024 || !text_is_valid_utf8(optarg)) {
                                fputs(_("vpcctl: --message wants UTF-8 text of at most 1024 bytes\n"), stderr);
                                return -EINVAL;
                        }
                        arg.message = optarg;
                        break;
                case ARG_GRACE: {
                        char *end;
                        unsigned long long v;

                        errno = 0;
                        v = strtoull(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-' || v > 3600) {
                                fprintf(stderr, _("vpcctl: --grace wants 0..3600 seconds, not '%s'\n"), optarg);
                                return -EINVAL;
                        }
                        arg.grace_sec = (int64_t) v;
                        break;
                }
                default:
                        return -EINVAL;
                }
        if (arg.host && arg.address) {
                fputs(_("vpcctl: -H and --address exclude each other\n"), stderr);
                return -EINVAL;
        }
        return 0;
}

static int bus_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (arg.host)
                r = sd_bus_open_system_remote(&bus, arg.host);
        else if (arg.address) {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, arg.address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
        } else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        /* Like systemctl: polkit may ask for a password, through pkttyagent on a terminal. */
        r = sd_bus_set_allow_interactive_authorization(bus, arg.ask_password);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

/* The translations: the installed catalogue, or VPCCTL_LOCALEDIR's (the build tree's, for the tests;
 * ignored when vpcctl runs with privileges it was not started with). */
static void locale_setup(void) {
        const char *dir = secure_getenv("VPCCTL_LOCALEDIR");

        setlocale(LC_ALL, "");
        /* Numbers on the command line (--timeout 0.5) and in JSON keep the C locale's decimal point. */
        setlocale(LC_NUMERIC, "C");
        bindtextdomain(GETTEXT_PACKAGE, dir && *dir ? dir : VPCCTL_LOCALEDIR);
        textdomain(GETTEXT_PACKAGE);
}

int main(int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb = NULL;
        int r;

        locale_setup();
        if (parse_argv(argc, argv) < 0)
                return VPCCTL_EXIT_USAGE;
        if (optind >= argc) {
                fputs(_("vpcctl: a command is needed; see vpcctl --help\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq_ptr(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb) {
                fprintf(stderr, _("vpcctl: unknown command '%s'; see vpcctl --help\n"), argv[optind]);
                return VPCCTL_EXIT_USAGE;
        }
        if (arg.all && verb->run != verb_logoff) {
                fputs(_("vpcctl: --all goes with logoff only\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        if ((arg.grace_sec >= 0 && verb->run != verb_logoff) ||
            (arg.message && verb->run != verb_logoff && verb->run != verb_set_policy)) {
                fputs(_("vpcctl: --grace goes with logoff only, --message with logoff and set-policy\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }
        if ((arg.console_disconnect || arg.delay_sec >= 0) != (verb->run == verb_set_policy)) {
                fputs(_("vpcctl: set-policy needs --console-disconnect (and maybe --delay), which go with it only\n"), stderr);
                return VPCCTL_EXIT_USAGE;
        }

        r = bus_connect(&bus);
        if (r < 0) {
                _cleanup_free_ char *what = NULL;
                if (asprintf(&what, _("cannot connect to %s"), arg.host ?: arg.address ?: _("the system bus")) < 0)
                        what = NULL;
                return report_bus_error(what ?: _("cannot connect"), NULL, r);
        }
        return verb->run(bus, argc - optind, argv + optind);
}
