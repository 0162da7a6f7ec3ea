/* bench-load: the bench's D-Bus load generator. Keeps N method calls in flight on one sd-bus
 * connection (or parks them, --hold) and reports latency percentiles and calls/s as one JSON line. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "stats.h"

typedef struct Load {
        sd_bus *bus;
        const char *dest, *iface, *member, *sig;
        /* --alt: every other call goes to this method instead, so the two are sampled under the
         * same conditions of a noisy machine (a service call and its floor, side by side). */
        const char *alt_dest, *alt_path, *alt_iface, *alt_member, *alt_sig, *alt_arg;
        uint64_t *alt_lat_ns;
        size_t n_alt_lat;
        char **paths;
        size_t n_paths;
        char **args;
        size_t n_args;
        const char *polkit_action;
        char **details;                 /* key=value */
        size_t n_details;
        char **subjects;                /* polkit subjects (bus names), one per call in turn */
        size_t n_subjects;

        size_t count, warmup, total, in_flight_max;
        size_t sent, done, in_flight;
        uint64_t *start_ns, *lat_ns;
        size_t n_lat;
        uint64_t timeout_usec;

        /* error names and how often each came */
        char *error_names[16];
        size_t error_counts[16];
        size_t n_error_kinds, n_errors, n_ok;
} Load;

static void count_error(Load *l, const char *name) {
        for (size_t i = 0; i < l->n_error_kinds; i++)
                if (strcmp(l->error_names[i], name) == 0) {
                        l->error_counts[i]++;
                        return;
                }
        if (l->n_error_kinds < 16) {
                l->error_names[l->n_error_kinds] = strdup(name);
                l->error_counts[l->n_error_kinds++] = 1;
        }
}

static int append_args(Load *l, sd_bus_message *m, size_t index) {
        const char *unique;
        int r;

        if (l->polkit_action) {
                /* Without --subject the caller asks about itself (polkitd then refuses details). */
                if (l->n_subjects > 0)
                        unique = l->subjects[index % l->n_subjects];
                else {
                        r = sd_bus_get_unique_name(l->bus, &unique);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s", unique, l->polkit_action);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(m, 'a', "{ss}");
                for (size_t i = 0; r >= 0 && i < l->n_details; i++) {
                        char *eq = strchr(l->details[i], '=');
                        char key[256];

                        snprintf(key, sizeof(key), "%.*s", eq ? (int) (eq - l->details[i]) : 0, l->details[i]);
                        r = sd_bus_message_append(m, "{ss}", key, eq ? eq + 1 : "");
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "us", 0, "");
                return r;
        }

        for (size_t i = 0; l->sig && l->sig[i]; i++) {
                const char *a = i < l->n_args ? l->args[i] : "";

                switch (l->sig[i]) {
                case 's':
                        r = sd_bus_message_append(m, "s", a);
                        break;
                case 'o':
                        r = sd_bus_message_append(m, "o", a);
                        break;
                case 'i':
                        r = sd_bus_message_append(m, "i", (int32_t) strtol(a, NULL, 0));
                        break;
                case 'u':
                        r = sd_bus_message_append(m, "u", (uint32_t) strtoul(a, NULL, 0));
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

static int send_one(Load *l) {
        sd_bus_message *m = NULL;
        size_t i = l->sent;
        int r;

        if (l->alt_dest && i % 2 == 1) {
                r = sd_bus_message_new_method_call(l->bus, &m, l->alt_dest, l->alt_path, l->alt_iface, l->alt_member);
                if (r >= 0 && l->alt_sig && *l->alt_sig == 's')
                        r = sd_bus_message_append(m, "s", l->alt_arg ?: "");
                else if (r >= 0 && l->alt_sig && *l->alt_sig == 'i')
                        r = sd_bus_message_append(m, "i", (int32_t) strtol(l->alt_arg ?: "0", NULL, 0));
        } else {
                r = sd_bus_message_new_method_call(l->bus, &m, l->dest, l->paths[i % l->n_paths], l->iface,
                                                   l->member);
                if (r >= 0)
                        r = append_args(l, m, i);
        }
        if (r >= 0) {
                l->start_ns[i] = bench_now_ns();
                r = sd_bus_call_async(l->bus, NULL, m, on_reply, (void *) (uintptr_t) (i + 1), l->timeout_usec);
        }
        sd_bus_message_unref(m);
        if (r < 0)
                return r;
        l->sent++;
        l->in_flight++;
        return 0;
}

static Load *the_load;

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Load *l = the_load;
        size_t i = (size_t) (uintptr_t) userdata - 1;
        uint64_t now = bench_now_ns();
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        l->in_flight--;
        l->done++;
        if (i >= l->warmup)
        {
                if (l->alt_dest && i % 2 == 1)
                        l->alt_lat_ns[l->n_alt_lat++] = now - l->start_ns[i];
                else
                        l->lat_ns[l->n_lat++] = now - l->start_ns[i];
        }
        if (e) {
                /* dbus-daemon answers itself when a connection passes its limits: say who refused. */
                const char *sender = sd_bus_message_get_sender(reply);
                char name[256];

                snprintf(name, sizeof(name), "%s%s", e->name,
                         sender && strcmp(sender, "org.freedesktop.DBus") == 0 ? " (bus)" : "");
                count_error(l, name);
                l->n_errors++;
        } else if (l->polkit_action) {
                int authorized = 0, challenge = 0;

                if (sd_bus_message_enter_container(reply, 'r', "bba{ss}") > 0 &&
                    sd_bus_message_read(reply, "bb", &authorized, &challenge) >= 0 && authorized)
                        l->n_ok++;
                else {
                        count_error(l, "bench.NotAuthorized");
                        l->n_errors++;
                }
        } else
                l->n_ok++;
        return 0;
}

static int fill(Load *l, size_t limit) {
        int r;

        while (l->in_flight < l->in_flight_max && l->sent < limit) {
                r = send_one(l);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int run_load(Load *l, uint64_t start_at) {
        uint64_t start = 0, end;
        int r;

        while (l->done < l->total) {
                /* The measured window starts when the warm-up calls are answered. */
                if (l->done >= l->warmup && !start) {
                        bench_sleep_until(start_at);
                        start = bench_now_ns();
                }
                /* Warm-up calls are all answered before the measured ones go out. */
                r = fill(l, l->done < l->warmup ? l->warmup : l->total);
                if (r < 0)
                        return r;
                r = sd_bus_process(l->bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = sd_bus_wait(l->bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return r;
        }

        end = bench_now_ns();
        if (l->alt_dest) {
                bench_report_open(l->alt_lat_ns, l->n_alt_lat, start, end);
                printf("}\n");
        }
        bench_report_open(l->lat_ns, l->n_lat, start, end);
        printf(", \"ok\": %zu, \"errors\": {", l->n_ok);
        for (size_t i = 0; i < l->n_error_kinds; i++)
                printf("%s\"%s\": %zu", i ? ", " : "", l->error_names[i], l->error_counts[i]);
        printf("}}\n");
        return 0;
}

/* Parks count calls (e.g. WaitForCompletion(-1)) and keeps them until stdin closes; prints "ready"
 * once the server has read them all, which a Ping sent after them proves (one connection is
 * served in order). */
static int run_hold(Load *l) {
        char buf[64];
        int r;

        l->in_flight_max = l->total;
        r = fill(l, l->total);
        if (r < 0)
                return r;
        r = sd_bus_call_method(l->bus, l->dest, "/", "org.freedesktop.DBus.Peer", "Ping", NULL, NULL, NULL);
        if (r < 0)
                return r;
        printf("{\"held\": %zu, \"answered\": %zu}\n", l->in_flight, l->done);
        fflush(stdout);
        while (fgets(buf, sizeof(buf), stdin))
                ;
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) >= 0 && *new_owner) {
                printf("%llu\n", (unsigned long long) bench_now_ns());
                fflush(stdout);
                *(bool *) userdata = true;
        }
        return 0;
}

/* Prints "ready" once the match is in place, then the CLOCK_MONOTONIC time (ns) at which name got an
 * owner: bench.py starts the daemon in between and so times its start-up to the name. */
static int run_wait_owner(sd_bus *bus, const char *name) {
        bool seen = false;
        char match[256];
        int r;

        snprintf(match, sizeof(match),
                 "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'", name);
        r = sd_bus_add_match(bus, NULL, match, on_owner_changed, &seen);
        if (r < 0)
                return r;
        printf("ready\n");
        fflush(stdout);
        while (!seen) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        return -EIO;
        }
        return 0;
}

static void usage(void) {
        fprintf(stderr,
                "usage: bench-load --dest NAME --path PATH [--path PATH...] --iface IFACE --member NAME\n"
                "                  [--sig SIG ARG...] [--polkit ACTION --detail KEY=VALUE... --subject NAME...]\n"
                "                  [--count N] [--warmup N] [--in-flight N] [--start-at NS] [--hold]\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "dest", required_argument, NULL, 'd' },
                { "path", required_argument, NULL, 'p' },
                { "iface", required_argument, NULL, 'i' },
                { "member", required_argument, NULL, 'm' },
                { "sig", required_argument, NULL, 's' },
                { "polkit", required_argument, NULL, 'P' },
                { "detail", required_argument, NULL, 'D' },
                { "count", required_argument, NULL, 'n' },
                { "warmup", required_argument, NULL, 'w' },
                { "in-flight", required_argument, NULL, 'f' },
                { "start-at", required_argument, NULL, 'S' },
                { "timeout", required_argument, NULL, 't' },
                { "hold", no_argument, NULL, 'H' },
                { "subject", required_argument, NULL, 'J' },
                { "wait-owner", required_argument, NULL, 'O' },
                { "alt-dest", required_argument, NULL, 0x100 },
                { "alt-path", required_argument, NULL, 0x101 },
                { "alt-iface", required_argument, NULL, 0x102 },
                { "alt-member", required_argument, NULL, 0x103 },
                { "alt-sig", required_argument, NULL, 0x104 },
                { "alt-arg", required_argument, NULL, 0x105 },
                {}
        };
        Load l = { .count = 1000, .warmup = 50, .in_flight_max = 1, .timeout_usec = 120ULL * 1000000ULL };
        char *paths[4096], *details[16], *subjects[64];
        uint64_t start_at = 0;
        const char *wait_owner = NULL;
        bool hold = false;
        int c, r;

        l.paths = paths;
        l.details = details;
        l.subjects = subjects;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'd': l.dest = optarg; break;
                case 'p': if (l.n_paths < 4096) paths[l.n_paths++] = optarg; break;
                case 'i': l.iface = optarg; break;
                case 'm': l.member = optarg; break;
                case 's': l.sig = optarg; break;
                case 'P': l.polkit_action = optarg; break;
                case 'D': if (l.n_details < 16) details[l.n_details++] = optarg; break;
                case 'n': l.count = strtoul(optarg, NULL, 10); break;
                case 'w': l.warmup = strtoul(optarg, NULL, 10); break;
                case 'f': l.in_flight_max = strtoul(optarg, NULL, 10); break;
                case 'S': start_at = strtoull(optarg, NULL, 10); break;
                case 't': l.timeout_usec = strtoull(optarg, NULL, 10) * 1000ULL; break;
                case 'H': hold = true; break;
                case 'O': wait_owner = optarg; break;
                case 0x100: l.alt_dest = optarg; break;
                case 0x101: l.alt_path = optarg; break;
                case 0x102: l.alt_iface = optarg; break;
                case 0x103: l.alt_member = optarg; break;
                case 0x104: l.alt_sig = optarg; break;
                case 0x105: l.alt_arg = optarg; break;
                case 'J': if (l.n_subjects < 64) subjects[l.n_subjects++] = optarg; break;
                default: usage(); return 2;
                }
        }
        if (wait_owner) {
                r = sd_bus_open_system(&l.bus);
                if (r >= 0)
                        r = run_wait_owner(l.bus, wait_owner);
                if (r < 0)
                        fprintf(stderr, "bench-load: %s\n", strerror(-r));
                return r < 0;
        }
        l.args = argv + optind;
        l.n_args = (size_t) (argc - optind);
        if (!l.dest || !l.n_paths || !l.iface || !l.member || l.in_flight_max == 0) {
                usage();
                return 2;
        }
        if (hold)
                l.warmup = 0;
        l.total = (l.alt_dest ? 2 * l.count : l.count) + l.warmup;
        l.start_ns = calloc(l.total, sizeof(uint64_t));
        l.lat_ns = calloc(l.total, sizeof(uint64_t));
        l.alt_lat_ns = calloc(l.total, sizeof(uint64_t));
        if (l.alt_dest && (!l.alt_path || !l.alt_iface || !l.alt_member)) {
                usage();
                return 2;
        }
        if (!l.start_ns || !l.lat_ns || !l.alt_lat_ns)
                return 1;
        the_load = &l;
        signal(SIGPIPE, SIG_IGN);

        r = sd_bus_open_system(&l.bus);
        if (r < 0) {
                fprintf(stderr, "bench-load: cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
        }
        r = hold ? run_hold(&l) : run_load(&l, start_at);
        if (r < 0) {
                fprintf(stderr, "bench-load: %s\n", strerror(-r));
                return 1;
        }
        sd_bus_flush_close_unref(l.bus);
        return 0;
}
