/* bench-cycle: a Logoff call and every floor it pays, sampled in turn by one process (bus Ping, the bus
 * daemon's GetConnectionCredentials, polkit's CheckAuthorization, libvirt's virDomainGetState), so a
 * noisy machine's drift hits the call and its floors alike; prints each one's percentiles as JSON. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "stats.h"
#include "virt-client.h"

enum { LOGOFF, PING, CREDS, POLKIT, LIBVIRT, _KIND_MAX };
static const char *const kind_names[_KIND_MAX] = { "logoff", "ping", "creds", "polkit", "libvirt" };

/* Becomes user for good (groups too); the connections opened before stay root's. */
static int become(const char *user) {
        struct passwd *pw = getpwnam(user);
        gid_t groups[64];
        int n = 64;

        if (!pw || getgrouplist(user, pw->pw_gid, groups, &n) < 0 || setgroups((size_t) n, groups) < 0 ||
            setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 || setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
                return -errno ?: -EINVAL;
        return 0;
}

static int check_authorization(sd_bus *bus, const char *subject, const char *action, const char *vm_name,
                               const char *vm_uuid) {
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int authorized = 0, challenge = 0, r;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", subject, action, 2,
                                          "vm.name", vm_name, "vm.uuid", vm_uuid, 0, "");
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r >= 0 && sd_bus_message_enter_container(reply, 'r', "bba{ss}") > 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return r < 0 ? r : authorized ? 0 : -EACCES;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "uri", required_argument, NULL, 'u' },
                { "domain", required_argument, NULL, 'd' },
                { "uuid", required_argument, NULL, 'U' },
                { "path", required_argument, NULL, 'p' },
                { "user", required_argument, NULL, 'a' },
                { "count", required_argument, NULL, 'n' },
                { "expect-error", required_argument, NULL, 'e' },
                {}
        };
        const char *uri = NULL, *domain_name = NULL, *uuid = "", *path = NULL, *user = NULL, *expect = NULL;
        sd_bus *root_bus = NULL, *caller_bus = NULL;
        const char *caller_name;
        size_t count = 200, unexpected = 0;
        uint64_t *lat[_KIND_MAX];
        virConnectPtr conn;
        virDomainPtr domain;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'u': uri = optarg; break;
                case 'd': domain_name = optarg; break;
                case 'U': uuid = optarg; break;
                case 'p': path = optarg; break;
                case 'a': user = optarg; break;
                case 'n': count = strtoul(optarg, NULL, 10); break;
                case 'e': expect = optarg; break;
                default: return 2;
                }
        }
        if (!uri || !domain_name || !path || count == 0) {
                fprintf(stderr, "usage: bench-cycle --uri URI --domain NAME --path GUESTOS_PATH [--uuid UUID] "
                                "[--user USER] [--count N] [--expect-error NAME]\n");
                return 2;
        }

        /* libvirt as the daemon has it: event loop thread, keepalive, a lifecycle callback. */
        bench_virt_silence_errors();
        if (bench_virt_start_event_loop() < 0)
                return 1;
        conn = virConnectOpen(uri);
        if (!conn || !(domain = virDomainLookupByName(conn, domain_name))) {
                fprintf(stderr, "bench-cycle: %s\n", virGetLastErrorMessage());
                return 1;
        }
        bench_virt_follow_events(conn);

        /* The root connection plays the daemon's part (credentials, polkit); the caller's connection
         * is root's too, or the user's when --user says so. */
        r = sd_bus_open_system(&root_bus);
        if (r >= 0 && user)
                r = become(user);
        if (r >= 0)
                r = user ? sd_bus_open_system(&caller_bus) : 0;
        if (r < 0) {
                fprintf(stderr, "bench-cycle: %s\n", strerror(-r));
                return 1;
        }
        if (!caller_bus)
                caller_bus = sd_bus_ref(root_bus);
        r = sd_bus_get_unique_name(caller_bus, &caller_name);
        if (r < 0)
                return 1;

        for (size_t k = 0; k < _KIND_MAX; k++)
                lat[k] = calloc(count, sizeof(uint64_t));

        /* Root's Logoff pays no polkit check, so root's cycle leaves it out. */
        for (size_t i = 0; i < count + 10; i++)
                for (size_t k = 0; k < _KIND_MAX; k++) {
                        sd_bus_error error = SD_BUS_ERROR_NULL;
                        uint64_t t0 = bench_now_ns();
                        int state, reason;

                        if (k == POLKIT && !user)
                                continue;
                        switch (k) {
                        case LOGOFF:
                                r = sd_bus_call_method(caller_bus, "org.vpc", path, "org.vpc.GuestOS", "Logoff", &error,
                                                       NULL, NULL);
                                if (r >= 0 ? expect != NULL : !expect || !sd_bus_error_has_name(&error, expect))
                                        unexpected++;
                                break;
                        case PING:
                                r = sd_bus_call_method(caller_bus, "org.vpc.bench.Floor", "/org/vpc/bench/Floor",
                                                       "org.freedesktop.DBus.Peer", "Ping", &error, NULL, NULL);
                                if (r < 0)
                                        unexpected++;
                                break;
                        case CREDS:
                                r = sd_bus_call_method(root_bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                                       "org.freedesktop.DBus", "GetConnectionCredentials", &error,
                                                       NULL, "s", caller_name);
                                if (r < 0)
                                        unexpected++;
                                break;
                        case POLKIT:
                                if (check_authorization(root_bus, caller_name, "org.vpc.guestos.logoff", domain_name,
                                                        uuid) < 0)
                                        unexpected++;
                                break;
                        case LIBVIRT:
                                if (virDomainGetState(domain, &state, &reason, 0) < 0)
                                        unexpected++;
                                break;
                        }
                        sd_bus_error_free(&error);
                        if (i >= 10)
                                lat[k][i - 10] = bench_now_ns() - t0;
                }

        printf("{\"count\": %zu, \"unexpected\": %zu", count, unexpected);
        for (size_t k = 0; k < _KIND_MAX; k++) {
                if (k == POLKIT && !user)
                        continue;
                qsort(lat[k], count, sizeof(uint64_t), bench_compare_u64);
                printf(", \"%s\": {\"p50_us\": %.1f, \"p99_us\": %.1f}", kind_names[k],
                       bench_percentile_us(lat[k], count, 0.50), bench_percentile_us(lat[k], count, 0.99));
        }
        printf("}\n");
        return unexpected ? 3 : 0;
}
