/* The console-disconnect policy as it lives in a domain's libvirt <metadata> (docs/dbus-api.md,
 * "The console-disconnect policy"): <policy console-disconnect='logoff' delay='30'/> under
 * CONSOLE_METADATA_URI. The element comes from whoever can edit the domain (virsh metadata), so its parser is strict and
 * bounded; reading and writing it are libvirt calls, made on the hypervisor's control worker. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>

#define CONSOLE_METADATA_URI "https://vpc.org/xmlns/guestos/1"
#define CONSOLE_METADATA_PREFIX "vpc"
#define CONSOLE_DELAY_MAX_SEC 86400U
/* When the element leaves the delay out. */
#define CONSOLE_DELAY_DEFAULT_SEC 30U
/* Longer metadata than this is not ours to parse. */
#define CONSOLE_METADATA_MAX 1024U

typedef enum ConsoleDisconnectAction {
        CONSOLE_DISCONNECT_NONE,
        CONSOLE_DISCONNECT_LOGOFF,
        _CONSOLE_DISCONNECT_MAX,
} ConsoleDisconnectAction;

typedef struct ConsolePolicy {
        ConsoleDisconnectAction action;
        unsigned delay_sec;
} ConsolePolicy;

const char *console_disconnect_action_to_string(ConsoleDisconnectAction a);
/* -EINVAL for anything but "none" and "logoff". */
int console_disconnect_action_from_string(const char *s, ConsoleDisconnectAction *ret);

/* Parses the element as virDomainGetMetadata() returns it (a namespace prefix and xmlns attributes
 * allowed, nothing else): 0, or -EBADMSG for anything else (*ret is then untouched). */
int console_policy_parse(const char *xml, ConsolePolicy *ret);
/* The element to store, without a prefix (libvirt adds it); a new string, NULL when out of memory. */
char *console_policy_format(const ConsolePolicy *p);

/* On a worker: the domain's policy. No element reads as none; an element we cannot parse too
 * (-EBADMSG, *ret set to none); -EIO when libvirt failed (its last error tells why). */
int console_metadata_read(virDomainPtr d, ConsolePolicy *ret);
/* On a worker: stores p in the domain's config (persistent) and live state (running), as libvirt
 * allows each kind of domain (none is stored too, with its delay). -EIO when libvirt failed. */
int console_metadata_write(virDomainPtr d, const ConsolePolicy *p);
