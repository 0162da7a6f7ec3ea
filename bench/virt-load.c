/* bench-virt-load: the libvirt floor. virDomainGetState on one domain over one connection, either
 * sequentially or from N threads sharing that connection, reported like bench-load. */
#include <getopt.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <string.h>

#include "stats.h"
#include "virt-client.h"

typedef struct Shared {
        virDomainPtr domain;
        size_t per_thread, warmup;
        uint64_t *lat_ns;
        size_t errors;
        pthread_mutex_t lock;
        pthread_barrier_t barrier;
} Shared;

typedef struct Worker {
        Shared *s;
        size_t index;
} Worker;

static void *worker_main(void *userdata) {
        Worker *w = userdata;
        Shared *s = w->s;
        int state, reason;

        for (size_t i = 0; i < s->warmup; i++)
                (void) virDomainGetState(s->domain, &state, &reason, 0);
        pthread_barrier_wait(&s->barrier);
        for (size_t i = 0; i < s->per_thread; i++) {
                uint64_t t0 = bench_now_ns();

                if (virDomainGetState(s->domain, &state, &reason, 0) < 0) {
                        pthread_mutex_lock(&s->lock);
                        s->errors++;
                        pthread_mutex_unlock(&s->lock);
                }
                s->lat_ns[w->index * s->per_thread + i] = bench_now_ns() - t0;
        }
        pthread_barrier_wait(&s->barrier);
        return NULL;
}

/* --list: what a service pays to learn N domains and their states at start-up, the libvirt way:
 * open, list every domain, then one state query per domain or one bulk stats call. */
static int list_domains(const char *uri) {
        virDomainStatsRecordPtr *stats = NULL;
        virDomainPtr *list = NULL;
        uint64_t t0, t1, t2, t3, t4;
        virConnectPtr conn;
        int n, state, reason, m;

        t0 = bench_now_ns();
        conn = virConnectOpen(uri);
        if (!conn)
                return 1;
        t1 = bench_now_ns();
        n = virConnectListAllDomains(conn, &list, 0);
        if (n < 0)
                return 1;
        t2 = bench_now_ns();
        for (int i = 0; i < n; i++)
                (void) virDomainGetState(list[i], &state, &reason, 0);
        t3 = bench_now_ns();
        m = virConnectGetAllDomainStats(conn, VIR_DOMAIN_STATS_STATE, &stats, 0);
        t4 = bench_now_ns();
        printf("{\"n\": %d, \"open_ms\": %.3f, \"list_ms\": %.3f, \"states_each_ms\": %.3f, "
               "\"states_bulk_ms\": %.3f, \"bulk_n\": %d}\n",
               n, (double) (t1 - t0) / 1e6, (double) (t2 - t1) / 1e6, (double) (t3 - t2) / 1e6,
               (double) (t4 - t3) / 1e6, m);
        if (stats)
                virDomainStatsRecordListFree(stats);
        for (int i = 0; i < n; i++)
                virDomainFree(list[i]);
        free(list);
        virConnectClose(conn);
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "uri", required_argument, NULL, 'u' },
                { "domain", required_argument, NULL, 'd' },
                { "count", required_argument, NULL, 'n' },
                { "warmup", required_argument, NULL, 'w' },
                { "in-flight", required_argument, NULL, 'f' },
                { "events", no_argument, NULL, 'e' },
                { "list", no_argument, NULL, 'l' },
                {}
        };
        const char *uri = NULL, *name = NULL;
        size_t count = 1000, threads = 1;
        int events = 0, list = 0;
        Shared s = { .warmup = 20 };
        pthread_t *tids;
        Worker *workers;
        virConnectPtr conn;
        uint64_t start, end;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'u': uri = optarg; break;
                case 'd': name = optarg; break;
                case 'n': count = strtoul(optarg, NULL, 10); break;
                case 'w': s.warmup = strtoul(optarg, NULL, 10); break;
                case 'f': threads = strtoul(optarg, NULL, 10); break;
                case 'e': events = 1; break;
                case 'l': list = 1; break;
                default: return 2;
                }
        }
        bench_virt_silence_errors();
        if (uri && list)
                return list_domains(uri);
        if (!uri || !name || threads == 0) {
                fprintf(stderr, "usage: bench-virt-load --uri URI (--domain NAME [--count N] [--in-flight N] [--events] | --list)\n");
                return 2;
        }
        /* --events: the connection as the daemon's; without it the floor is a bare client. */
        if (events && bench_virt_start_event_loop() < 0)
                return 1;
        conn = virConnectOpen(uri);
        if (conn && events)
                bench_virt_follow_events(conn);
        if (!conn || !(s.domain = virDomainLookupByName(conn, name))) {
                fprintf(stderr, "bench-virt-load: %s\n", virGetLastErrorMessage());
                return 1;
        }
        s.per_thread = (count + threads - 1) / threads;
        s.lat_ns = calloc(s.per_thread * threads, sizeof(uint64_t));
        tids = calloc(threads, sizeof(pthread_t));
        workers = calloc(threads, sizeof(Worker));
        if (!s.lat_ns || !tids || !workers)
                return 1;
        pthread_mutex_init(&s.lock, NULL);
        pthread_barrier_init(&s.barrier, NULL, (unsigned) threads + 1);
        for (size_t i = 0; i < threads; i++) {
                workers[i] = (Worker) { .s = &s, .index = i };
                pthread_create(&tids[i], NULL, worker_main, &workers[i]);
        }
        pthread_barrier_wait(&s.barrier);
        start = bench_now_ns();
        pthread_barrier_wait(&s.barrier);
        end = bench_now_ns();
        for (size_t i = 0; i < threads; i++)
                pthread_join(tids[i], NULL);

        bench_report_open(s.lat_ns, s.per_thread * threads, start, end);
        printf(", \"ok\": %zu, \"errors\": {\"libvirt\": %zu}}\n", s.per_thread * threads - s.errors, s.errors);
        virDomainFree(s.domain);
        virConnectClose(conn);
        return 0;
}
