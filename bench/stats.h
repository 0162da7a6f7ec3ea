/* Latency statistics shared by the bench's load generators: percentiles of a sample and the one-line
 * JSON report that bench/bench.py reads. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t bench_now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* Sleeps until CLOCK_MONOTONIC reaches at_ns, so several processes start their load together. */
static inline void bench_sleep_until(uint64_t at_ns) {
        struct timespec ts = { .tv_sec = (time_t) (at_ns / 1000000000ULL), .tv_nsec = (long) (at_ns % 1000000000ULL) };

        if (at_ns > 0)
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
                        ;
}

static inline int bench_compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static inline double bench_percentile_us(const uint64_t *sorted_ns, size_t n, double p) {
        size_t i;

        if (n == 0)
                return 0;
        i = (size_t) (p * (double) (n - 1) + 0.5);
        return (double) sorted_ns[i] / 1000.0;
}

/* Prints the report's common part without the closing brace, so a caller can add its own fields. */
static inline void bench_report_open(uint64_t *lat_ns, size_t n, uint64_t start_ns, uint64_t end_ns) {
        double sum = 0, wall = (double) (end_ns - start_ns) / 1e9;

        qsort(lat_ns, n, sizeof(uint64_t), bench_compare_u64);
        for (size_t i = 0; i < n; i++)
                sum += (double) lat_ns[i];
        printf("{\"n\": %zu, \"start_ns\": %llu, \"end_ns\": %llu, \"wall_s\": %.6f, \"rate\": %.1f, "
               "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, \"mean_us\": %.1f",
               n, (unsigned long long) start_ns, (unsigned long long) end_ns, wall, wall > 0 ? (double) n / wall : 0,
               bench_percentile_us(lat_ns, n, 0.50), bench_percentile_us(lat_ns, n, 0.90),
               bench_percentile_us(lat_ns, n, 0.99), n ? (double) lat_ns[n - 1] / 1000.0 : 0,
               n ? sum / (double) n / 1000.0 : 0);
}
