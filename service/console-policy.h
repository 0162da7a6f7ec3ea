/* The console-disconnect policy at work (docs/dbus-api.md, "The console-disconnect policy"): each
 * domain's console clients counted from libvirt's graphics events (console-state.h); when the last
 * one leaves and stays away past the debounce, the policy's action: lock, logoff, lock at once and
 * log off after the delay, or the message at once and log off after the delay (a Logoff task with
 * the delay as its grace). A client back, the VM stopped or the policy changed calls off what is
 * still pending. The policy and the clients are this feature's own state, reached from Domain by
 * one pointer (d->console). Event loop only. */
#pragma once

#include "console-metadata.h"
#include "console-state.h"
#include "vpc-guestosd.h"

#define CONSOLE_LOGOFF_DESCRIPTION "Logoff (console disconnected)"
#define CONSOLE_LOCK_DESCRIPTION "Lock (console disconnected)"

/* A graphics event of the domain with this UUID (HypervisorSubscriber.graphics). */
void console_policy_event(Manager *m, const char *uuid, int phase, const char *address);
/* The domain's policy is p now (from its metadata, or set through the bus). */
void console_policy_apply(Manager *m, Domain *d, const ConsolePolicy *p);
/* A domain just made: its policy as read with its first listing (no signal, nothing to call off). */
void console_policy_init(Domain *d, const ConsolePolicy *p);
/* The domain's state changed: a VM that is not running calls off its pending action, and one whose
 * QEMU is gone has no clients left (destroying a domain emits no DISCONNECT). */
void console_policy_domain_state(Manager *m, Domain *d);
/* The connection to libvirt broke: graphics events may be missed from now on, and libvirt cannot
 * list the clients connected now, so every count starts again at 0 and nothing pending stays. */
void console_policy_reset_all(Manager *m);

/* What the properties show: the domain's policy (the default one while it has none) and its
 * console clients. */
const ConsolePolicy *console_policy_of(const Domain *d);
unsigned console_policy_clients(const Domain *d);
