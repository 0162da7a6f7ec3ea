/* See console-state.h. A handful of connections per VM: a flat array searched in order is enough. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "console-state.h"
#include "util.h"

static void copy_address(char dest[CONSOLE_ADDRESS_MAX], const char *address) {
        snprintf(dest, CONSOLE_ADDRESS_MAX, "%s", address ?: "");
}

/* The oldest connection of this address in the state wanted, or -1. */
static ssize_t find(const ConsoleState *s, const char *address, bool initialized) {
        char key[CONSOLE_ADDRESS_MAX];

        copy_address(key, address);
        for (size_t i = 0; i < s->n_connections; i++)
                if (s->connections[i].initialized == initialized && strcmp(s->connections[i].address, key) == 0)
                        return (ssize_t) i;
        return -1;
}

static int add(ConsoleState *s, const char *address, bool initialized) {
        if (s->n_connections >= CONSOLE_CONNECTIONS_MAX)
                return -ENOBUFS;
        if (!s->connections) {
                s->connections = calloc(CONSOLE_CONNECTIONS_MAX, sizeof(ConsoleConnection));
                if (!s->connections)
                        return -ENOMEM;
        }
        copy_address(s->connections[s->n_connections].address, address);
        s->connections[s->n_connections].initialized = initialized;
        s->n_connections++;
        return 0;
}

static void drop(ConsoleState *s, size_t i) {
        memmove(s->connections + i, s->connections + i + 1, (s->n_connections - i - 1) * sizeof(ConsoleConnection));
        s->n_connections--;
}

bool console_state_apply(ConsoleState *s, ConsolePhase phase, const char *address) {
        ssize_t i;

        switch (phase) {
        case CONSOLE_PHASE_CONNECT:
                (void) add(s, address, false);
                return false;

        case CONSOLE_PHASE_INITIALIZE:
                i = find(s, address, false);
                if (i >= 0)
                        s->connections[i].initialized = true;
                /* Its CONNECT came before we listened (the daemon started in between). */
                else if (add(s, address, true) < 0)
                        return false;
                s->n_clients++;
                return true;

        case CONSOLE_PHASE_DISCONNECT:
                /* One that never passed its handshake first: see console-state.h. */
                i = find(s, address, false);
                if (i >= 0) {
                        drop(s, (size_t) i);
                        return false;
                }
                i = find(s, address, true);
                if (i < 0)
                        return false;   /* connected before we listened: never counted */
                drop(s, (size_t) i);
                s->n_clients--;
                return true;
        }
        return false;
}

bool console_state_reset(ConsoleState *s) {
        bool had = s->n_clients > 0;

        s->n_connections = 0;
        s->n_clients = 0;
        return had;
}

uint64_t console_state_deadline(const ConsoleState *s, unsigned delay_sec) {
        uint64_t debounce_end = s->left_usec + CONSOLE_RECONNECT_DEBOUNCE_USEC;

        return s->debounced ? debounce_end + (uint64_t) delay_sec * 1000000U : debounce_end;
}

void console_state_clear(ConsoleState *s) {
        free(s->connections);
        s->connections = NULL;
        s->n_connections = 0;
        s->n_clients = 0;
        s->timer = sd_event_source_disable_unref(s->timer);
}
