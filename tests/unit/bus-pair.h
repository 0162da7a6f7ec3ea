/* The unit tests' bus without a bus daemon: two sd-bus connections on a socketpair, one end the
 * service (a server connection), the other a client. The cmocka setup and teardown of a test that
 * sends calls from one to the other. Include after <cmocka.h>. */
#pragma once

#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

typedef struct Pair {
        sd_bus *service, *client;
} Pair;

/* Lets both ends read and write what is queued. */
static inline void pair_pump(Pair *p) {
        for (int i = 0; i < 4; i++) {
                while (sd_bus_process(p->service, NULL) > 0)
                        ;
                while (sd_bus_process(p->client, NULL) > 0)
                        ;
        }
}

static inline int pair_setup(void **state) {
        Pair *p = calloc(1, sizeof(*p));
        sd_id128_t id;
        int fds[2];

        assert_non_null(p);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
        assert_int_equal(sd_id128_randomize(&id), 0);
        assert_int_equal(sd_bus_new(&p->service), 0);
        assert_int_equal(sd_bus_set_fd(p->service, fds[0], fds[0]), 0);
        assert_int_equal(sd_bus_set_server(p->service, 1, id), 0);
        assert_int_equal(sd_bus_set_anonymous(p->service, 1), 0);
        assert_int_equal(sd_bus_start(p->service), 0);
        assert_int_equal(sd_bus_new(&p->client), 0);
        assert_int_equal(sd_bus_set_fd(p->client, fds[1], fds[1]), 0);
        assert_int_equal(sd_bus_set_anonymous(p->client, 1), 0);
        assert_int_equal(sd_bus_start(p->client), 0);
        *state = p;
        return 0;
}

static inline int pair_teardown(void **state) {
        Pair *p = *state;

        sd_bus_flush_close_unref(p->service);
        sd_bus_flush_close_unref(p->client);
        free(p);
        return 0;
}
