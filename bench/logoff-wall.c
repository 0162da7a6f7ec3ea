/* bench-logoff-wall: a Logoff's wall time (the call to its task's completion) against its floor, the
 * same logoff program run directly through the guest agent with tight polling (guest-exec, then
 * guest-exec-status and guest-get-users back to back until the program exited and nobody is left),
 * in rotating order on one guest. Under TCG, back-to-back agent calls take the guest's one vCPU
 * from the program itself, so the floor is also taken with a short pause between the calls
 * ("paced"). Before each measurement the users log in again through the guest's own login program.
 * Prints {"daemon_ms": [...], "floor_ms": [...], "paced_ms": [...]} as one JSON line. */
#include <errno.h>
#include <getopt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdbool.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "agent-json.h"
#include "logoff-strategy.h"
#include "stats.h"

#define AGENT_TIMEOUT_SEC 10

static void silence(void *userdata, virErrorPtr e) {
}

static char *agent(virDomainPtr dom, const char *command) {
        char *reply = virDomainQemuAgentCommand(dom, command, AGENT_TIMEOUT_SEC, 0);

        if (!reply)
                fprintf(stderr, "bench-logoff-wall: %s: %s\n", command, virGetLastErrorMessage());
        return reply;
}

static unsigned pause_usec;      /* between the floor's polls; 0 for tight polling */

/* Runs argv to its end through the agent, polling tightly; returns its exit status or -1. */
static int run_program(virDomainPtr dom, const char *command) {
        _cleanup_free_ char *reply = agent(dom, command), *status_cmd = NULL;
        AgentExecStatus st = {};
        int64_t pid;

        if (!reply || agent_parse_exec(reply, &pid, NULL) < 0)
                return -1;
        status_cmd = agent_command_exec_status(pid);
        while (!st.exited) {
                _cleanup_free_ char *s = agent(dom, status_cmd);

                if (!s || agent_parse_exec_status(s, &st, NULL) < 0)
                        return -1;
                if (!st.exited && pause_usec > 0)
                        usleep(pause_usec);
        }
        return st.signalled ? -1 : (int) st.exit_code;
}

static int count_users(virDomainPtr dom) {
        _cleanup_free_ char *reply = agent(dom, AGENT_COMMAND_GET_USERS);
        _cleanup_strv_free_ char **users = NULL;

        if (!reply || agent_parse_users(reply, &users, NULL) < 0)
                return -1;
        return (int) strv_length(users);
}

static int login_all(virDomainPtr dom, const char *login, char **users, unsigned *tty) {
        size_t n = strv_length(users);

        for (size_t i = 0; i < n; i++) {
                char tty_name[32];
                const char *argv[] = { users[i], tty_name, NULL };
                _cleanup_free_ char *cmd = NULL;

                /* The same terminal for the same user each time, as on a real machine: utmp reuses
                 * the slot of a terminal, so it does not grow from round to round. */
                snprintf(tty_name, sizeof(tty_name), "pts/%zu", *tty + i);
                cmd = agent_command_exec(login, argv);
                if (!cmd || run_program(dom, cmd) != 0)
                        return -EIO;
        }
        /* Until the agent lists them all, then a moment for the guest to settle. */
        for (unsigned i = 0; i < 400; i++) {
                int k = count_users(dom);

                if (k < 0)
                        return -EIO;
                if ((size_t) k == n) {
                        usleep(300 * 1000);
                        return 0;
                }
                usleep(50 * 1000);
        }
        return -ETIMEDOUT;
}

static int64_t measure_floor(virDomainPtr dom, const char *program, unsigned pause) {
        uint64_t t0 = bench_now_ns();
        int k;

        pause_usec = pause;
        if (run_program(dom, program) != 0)
                return -EIO;
        while ((k = count_users(dom)) > 0)
                if (pause_usec > 0)
                        usleep(pause_usec);
        if (k < 0)
                return -EIO;
        return (int64_t) (bench_now_ns() - t0);
}

static int64_t measure_daemon(sd_bus *bus, const char *path) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *task = NULL;
        uint64_t t0 = bench_now_ns(), t1;
        uint32_t code = 1;
        char *task_path = NULL;
        int complete = 0, r;

        r = sd_bus_call_method(bus, "org.vpc", path, "org.vpc.GuestOS", "Logoff", &error, &reply, "");
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &task);
        if (r >= 0)
                task_path = strdup(task);
        reply = sd_bus_message_unref(reply);
        if (r >= 0 && task_path) {
                sd_bus_message *m = NULL;

                /* Past the daemon's --logoff-timeout, so a Timeout is seen as such. */
                r = sd_bus_message_new_method_call(bus, &m, "org.vpc", task_path, "org.vpc.Task", "WaitForCompletion");
                if (r >= 0)
                        r = sd_bus_message_append(m, "i", 120000);
                if (r >= 0)
                        r = sd_bus_call(bus, m, 130 * 1000000ULL, &error, &reply);
                sd_bus_message_unref(m);
        }
        t1 = bench_now_ns();
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &complete);
        reply = sd_bus_message_unref(reply);
        if (r >= 0)
                r = sd_bus_get_property_trivial(bus, "org.vpc", task_path, "org.vpc.Task", "ErrorCode", &error, 'u', &code);
        if (r < 0 || !complete || code != 0) {
                fprintf(stderr, "bench-logoff-wall: Logoff on %s: %s (complete %d, ErrorCode 0x%08x)\n", path,
                        error.message ?: strerror(-r), complete, code);
                r = -EIO;
        }
        sd_bus_error_free(&error);
        free(task_path);
        return r < 0 ? r : (int64_t) (t1 - t0);
}

static void print_list(const char *name, const int64_t *v, unsigned n, bool last) {
        printf("\"%s\": [", name);
        for (unsigned i = 0; i < n; i++)
                printf("%s%.3f", i ? ", " : "", (double) v[i] / 1e6);
        printf("]%s", last ? "" : ", ");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "uri", required_argument, NULL, 'u' },
                { "domain", required_argument, NULL, 'd' },
                { "path", required_argument, NULL, 'p' },
                { "strategy", required_argument, NULL, 's' },
                { "users", required_argument, NULL, 'U' },
                { "login", required_argument, NULL, 'l' },
                { "rounds", required_argument, NULL, 'n' },
                { "pause-ms", required_argument, NULL, 'P' },
                {}
        };
        const char *uri = "qemu:///system", *domain = NULL, *path = NULL, *strategy = "linux-plain",
                   *users_arg = "alice,bob", *login = "/etc/vpc-login";
        const LogoffStrategy *s = NULL;
        _cleanup_strv_free_ char **users = NULL;
        _cleanup_free_ char *program = NULL;
        int64_t ns_of[3][64];
        unsigned rounds = 5, tty = 20, pause = 5000;
        virConnectPtr conn;
        virDomainPtr dom;
        sd_bus *bus = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'u': uri = optarg; break;
                case 'd': domain = optarg; break;
                case 'p': path = optarg; break;
                case 's': strategy = optarg; break;
                case 'U': users_arg = optarg; break;
                case 'l': login = optarg; break;
                case 'n': rounds = (unsigned) atoi(optarg); break;
                case 'P': pause = (unsigned) atoi(optarg) * 1000; break;
                default: return 2;
                }
        if (!domain || !path || rounds == 0 || rounds > 64) {
                fprintf(stderr, "usage: bench-logoff-wall --domain NAME --path GUESTOS_PATH [--strategy NAME] "
                        "[--users U1,U2] [--login PATH] [--rounds N<=64] [--pause-ms MS] [--uri URI]\n");
                return 2;
        }
        for (int k = 0; k < _LOGOFF_STRATEGY_MAX; k++)
                if (streq_ptr(logoff_strategy_get(k)->name, strategy))
                        s = logoff_strategy_get(k);
        if (!s) {
                fprintf(stderr, "bench-logoff-wall: no strategy %s\n", strategy);
                return 2;
        }
        /* The very command the daemon sends. */
        program = agent_command_exec(s->path, s->argv);
        users = calloc(64, sizeof(char *));
        if (!program || !users)
                return 1;
        {
                _cleanup_free_ char *copy = strdup(users_arg);
                size_t n = 0;

                for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && n < 63; t = strtok_r(NULL, ",", &save))
                        users[n++] = strdup(t);
        }

        virSetErrorFunc(NULL, silence);
        conn = virConnectOpen(uri);
        dom = conn ? virDomainLookupByName(conn, domain) : NULL;
        if (!dom) {
                fprintf(stderr, "bench-logoff-wall: cannot open %s on %s\n", domain, uri);
                return 1;
        }
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "bench-logoff-wall: system bus: %s\n", strerror(-r));
                return 1;
        }

        for (unsigned i = 0; i < rounds; i++)
                /* Rotate which goes first, so a drift of the machine hits all three alike. */
                for (unsigned k = 0; k < 3; k++) {
                        unsigned what = (i + k) % 3;
                        int64_t ns;

                        r = login_all(dom, login, users, &tty);
                        if (r < 0) {
                                fprintf(stderr, "bench-logoff-wall: logging the users in failed: %s\n", strerror(-r));
                                return 1;
                        }
                        ns = what == 0 ? measure_daemon(bus, path) : measure_floor(dom, program, what == 1 ? 0 : pause);
                        if (ns < 0)
                                return 1;
                        ns_of[what][i] = ns;
                }

        printf("{");
        print_list("daemon_ms", ns_of[0], rounds, false);
        print_list("floor_ms", ns_of[1], rounds, false);
        print_list("paced_ms", ns_of[2], rounds, true);
        printf("}\n");
        sd_bus_unref(bus);
        virDomainFree(dom);
        virConnectClose(conn);
        return 0;
}
