/* The console-disconnect policy at work (docs/dbus-api.md, "The console-disconnect policy"): each
 * domain's console clients counted from libvirt's graphics events (console-state.h), and when the
 * last one leaves a domain whose policy is logoff, the ordinary Logoff task after the policy's delay, unless a client
 * came back, the VM stopped or the policy changed meanwhile. Also where a policy read from the
 * domain's metadata (or just set) takes effect. Event loop only. */
#pragma once

#include "console-metadata.h"
#include "vpc-guestosd.h"

#define CONSOLE_LOGOFF_DESCRIPTION "Logoff (console disconnected)"

/* A graphics event of the domain with this UUID (HypervisorSubscriber.graphics). */
void console_policy_event(Manager *m, const char *uuid, int phase, const char *address);
/* The domain's policy is p now (from its metadata, or set through the bus). */
void console_policy_apply(Manager *m, Domain *d, const ConsolePolicy *p);
/* The domain's state changed: a VM that is not running calls off its pending Logoff, and one whose
 * QEMU is gone has no clients left (destroying a domain emits no DISCONNECT). */
void console_policy_domain_state(Manager *m, Domain *d);
/* The connection to libvirt broke: graphics events may be missed from now on, and libvirt cannot
 * list the clients connected now, so every count starts again at 0 and nothing pending stays. */
void console_policy_reset_all(Manager *m);
