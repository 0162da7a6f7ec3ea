/* bench-virt-load: the libvirt floor. virDomainGetState on one domain over one connection, either
 * sequentially or from N threads sharing that connection, reported like bench-load. */
#include <getopt.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <string.h>

#include "stats.h"

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

static void silence(void *userdata, virErrorPtr e) {
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "uri", required_argument, NULL, 'u' },
                { "domain", required_argument, NULL, 'd' },
                { "count", required_argument, NULL, 'n' },
                { "warmup", required_argument, NULL, 'w' },
                { "in-flight", required_argument, NULL, 'f' },
                {}
        };
        const char *uri = NULL, *name = NULL;
        size_t count = 1000, threads = 1;
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
                default: return 2;
                }
        }
        if (!uri || !name || threads == 0) {
                fprintf(stderr, "usage: bench-virt-load --uri URI --domain NAME [--count N] [--in-flight N]\n");
                return 2;
        }
        virSetErrorFunc(NULL, silence);
        conn = virConnectOpen(uri);
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
