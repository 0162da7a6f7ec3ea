/* vpc-guestosd: start-up and shut-down. Parses the options, joins the system bus, publishes the
 * objects, takes the name org.vpc and runs the event loop until SIGTERM/SIGINT or the bus goes away. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "errors.h"
#include "log.h"
#include "manager.h"

static void help(void) {
        printf("Usage: vpc-guestosd [OPTIONS...]\n\n"
               "Logs off the users of libvirt guests on request over D-Bus (org.vpc on the system bus).\n\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the version\n"
               "  -c --connect URI          libvirt URI (default: qemu:///system)\n"
               "     --agent-timeout SEC    Give up on a guest-agent call after SEC seconds (default: 5)\n"
               "     --logoff-timeout SEC   Give a Logoff SEC seconds to end every session (default: 60)\n"
               "     --task-retention SEC   Keep a finished task SEC seconds (default: 300)\n"
               "     --max-tasks N          Keep at most N finished tasks (default: 1024)\n"
               "     --poll-interval MSEC   Poll the guest's users at least every MSEC ms during a Logoff (default: 500)\n"
               "     --agent-threads N      Guest-agent calls in flight at once, all VMs (default: 3)\n"
               "     --polkit-timeout SEC   Deny when polkit has not answered in SEC seconds (default: 25)\n"
               "  -v --verbose              Log debug messages\n\n"
               "See vpc-guestosd(8).\n");
}

enum {
        ARG_VERSION = 0x100,
        ARG_AGENT_TIMEOUT,
        ARG_LOGOFF_TIMEOUT,
        ARG_TASK_RETENTION,
        ARG_MAX_TASKS,
        ARG_POLL_INTERVAL,
        ARG_AGENT_THREADS,
        ARG_POLKIT_TIMEOUT,
};

static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!s || !*s || *s == '-' || *s == '+')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != 0)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

/* Returns 1 to run, 0 to exit successfully (--help, --version), < 0 on a bad option. */
static int parse_argv(int argc, char *argv[], ManagerOptions *o) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "connect", required_argument, NULL, 'c' },
                { "agent-timeout", required_argument, NULL, ARG_AGENT_TIMEOUT },
                { "logoff-timeout", required_argument, NULL, ARG_LOGOFF_TIMEOUT },
                { "task-retention", required_argument, NULL, ARG_TASK_RETENTION },
                { "max-tasks", required_argument, NULL, ARG_MAX_TASKS },
                { "poll-interval", required_argument, NULL, ARG_POLL_INTERVAL },
                { "agent-threads", required_argument, NULL, ARG_AGENT_THREADS },
                { "polkit-timeout", required_argument, NULL, ARG_POLKIT_TIMEOUT },
                { "verbose", no_argument, NULL, 'v' },
                {}
        };
        const char *name = NULL;
        unsigned *target, min, max;
        int c, r;

        while ((c = getopt_long(argc, argv, "hc:v", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("vpc-guestosd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        if (!*optarg) {
                                fprintf(stderr, "vpc-guestosd: --connect needs a libvirt URI\n");
                                return -EINVAL;
                        }
                        o->uri = optarg;
                        continue;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        continue;
                case ARG_AGENT_TIMEOUT:
                        name = "--agent-timeout", target = &o->agent_timeout_sec, min = 1, max = 3600;
                        break;
                case ARG_LOGOFF_TIMEOUT:
                        name = "--logoff-timeout", target = &o->logoff_timeout_sec, min = 1, max = 86400;
                        break;
                case ARG_TASK_RETENTION:
                        name = "--task-retention", target = &o->task_retention_sec, min = 0, max = 30 * 86400;
                        break;
                case ARG_MAX_TASKS:
                        name = "--max-tasks", target = &o->max_tasks, min = 0, max = 1000000;
                        break;
                case ARG_POLL_INTERVAL:
                        name = "--poll-interval", target = &o->poll_interval_msec, min = 10, max = 60000;
                        break;
                case ARG_AGENT_THREADS:
                        name = "--agent-threads", target = &o->agent_threads, min = 1, max = 64;
                        break;
                case ARG_POLKIT_TIMEOUT:
                        name = "--polkit-timeout", target = &o->polkit_timeout_sec, min = 1, max = 3600;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }

                r = parse_unsigned(optarg, min, max, target);
                if (r < 0) {
                        fprintf(stderr, "vpc-guestosd: %s takes a whole number from %u to %u, not '%s'\n", name, min,
                                max, optarg);
                        return r;
                }
        }

        if (optind < argc) {
                fprintf(stderr, "vpc-guestosd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        *(bool *) userdata = true;
        log_info("received %s, stopping", strsignal((int) si->ssi_signo));
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(manager_freep) Manager *manager = NULL;
        ManagerOptions options = {
                .uri = "qemu:///system",
                .agent_timeout_sec = 5,
                .logoff_timeout_sec = 60,
                .task_retention_sec = 300,
                .max_tasks = 1024,
                .poll_interval_msec = 500,
                .agent_threads = 3,             /* below libvirtd's default max_client_requests (5) */
                .agent_queue_max = 256,
                .polkit_timeout_sec = 25,
                .max_pending_auth = 4096,
                .max_pending_auth_per_sender = 128,
                .max_waiters = 65536,
                .max_waiters_per_sender = 4096,
        };
        bool signalled = false;
        sigset_t mask;
        int r;

        r = parse_argv(argc, argv, &options);
        if (r <= 0)
                return r;

        /* Blocked before any thread starts, so only the event loop's signalfd sees them. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGPIPE);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&event);
        if (r < 0)
                return log_error("cannot create the event loop: %s", strerror(-r)), r;
        (void) sd_event_add_signal(event, NULL, SIGTERM, on_signal, &signalled);
        (void) sd_event_add_signal(event, NULL, SIGINT, on_signal, &signalled);

        r = vpc_error_register_map();
        if (r < 0)
                return r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error("cannot connect to the system bus: %s", strerror(-r)), r;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        /* Without the bus there is nothing to serve: leave, and let systemd restart us. */
        r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return r;
        /* sd-bus would close the connection as the loop exits, before manager_free() answers the
         * calls still parked (on a frozen libvirtd, say): the bus is flushed and closed below, after
         * the manager is gone. */
        r = sd_bus_set_close_on_exit(bus, false);
        if (r < 0)
                return r;

        r = manager_new(event, bus, &options, &manager);
        if (r < 0)
                return log_error("cannot set up: %s", strerror(-r)), r;
        r = manager_start(manager);
        if (r < 0)
                return log_error("cannot publish the objects: %s", strerror(-r)), r;

        r = sd_event_loop(event);
        if (r < 0)
                return log_error("event loop failed: %s", strerror(-r)), r;
        if (!signalled) {
                /* Only a lost bus connection ends the loop without a signal. */
                log_error("lost the connection to the system bus, exiting");
                return -ECONNRESET;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        int r = run(argc, argv);

        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
