/* A domain's remote console clients as libvirt's graphics events tell them (CONNECT, INITIALIZE,
 * DISCONNECT per connection; SPICE sends one triple per channel), and the timer that runs between
 * the last client leaving and the console-disconnect Logoff. Pure counting; console-policy.c acts.
 *
 * libvirt names a connection only by its remote address, and every client of a UNIX socket has the
 * same one (QEMU reports an empty path), so a DISCONNECT cannot always say which connection ended.
 * It then ends one that never passed its handshake before a counted one: a wrong guess only keeps
 * the count up until the other connection leaves too, it never lets a Logoff start while a client
 * that passed its handshake is still connected. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Connections tracked per domain; more are not counted (and their DISCONNECT ends a tracked one
 * with the same address, which keeps the same guarantee). */
#define CONSOLE_CONNECTIONS_MAX 64U
#define CONSOLE_ADDRESS_MAX 160U
/* A console client back this soon after the last one left is no disconnect: SPICE and VNC clients
 * drop and reopen their connection on a network blip or a resize, and a policy must not lock or
 * log off a user for that. */
#define CONSOLE_RECONNECT_DEBOUNCE_USEC (2U * 1000000U)

/* The values of libvirt's virDomainEventGraphicsPhase. */
typedef enum ConsolePhase {
        CONSOLE_PHASE_CONNECT = 0,
        CONSOLE_PHASE_INITIALIZE,
        CONSOLE_PHASE_DISCONNECT,
} ConsolePhase;

typedef struct ConsoleConnection {
        char address[CONSOLE_ADDRESS_MAX];
        bool initialized;
} ConsoleConnection;

typedef struct ConsoleState {
        ConsoleConnection *connections;
        size_t n_connections;
        unsigned n_clients;             /* connections past INITIALIZE: ConsoleClients */

        sd_event_source *timer;         /* armed while the debounce or the delay runs */
        uint64_t left_usec;             /* CLOCK_MONOTONIC when the last client left */
        bool debounced;                 /* the debounce passed: it is a disconnect, the delay runs */
        char left_address[CONSOLE_ADDRESS_MAX]; /* and who it was, for the audit */
        unsigned generation;            /* bumped whenever a pending Logoff is called off */
        bool resume_pending;            /* a delay was called off by a pause: run it again on resume */
} ConsoleState;

/* Applies one graphics event; returns true when n_clients changed. -ENOMEM reads as "no change"
 * (the connection is not tracked). */
bool console_state_apply(ConsoleState *s, ConsolePhase phase, const char *address);
/* Forgets every connection (the VM stopped, libvirt reconnected); returns true when n_clients was
 * not 0. The timer is the caller's to cancel. */
bool console_state_reset(ConsoleState *s);
/* CLOCK_MONOTONIC when the pending step is due: the end of the debounce after the last client left,
 * and once it passed (debounced), delay_sec after that. */
uint64_t console_state_deadline(const ConsoleState *s, unsigned delay_sec);
/* Frees the connections and the timer. */
void console_state_clear(ConsoleState *s);
