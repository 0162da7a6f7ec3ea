/* The console-disconnect policy as it lives in a domain's libvirt <metadata> (docs/dbus-api.md,
 * "The console-disconnect policy"): <policy console-disconnect='logoff' delay='30'/> under
 * CONSOLE_METADATA_URI, with an optional message='...' (the warning's text; an element without it,
 * as older versions wrote, reads as a policy without a message). The element comes from whoever can edit the domain (virsh metadata), so its parser is strict and
 * bounded; the hypervisor layer reads and writes its raw XML (hypervisor_write_metadata()). */
#pragma once

#include <stdbool.h>

#include "logoff-options.h"

#define CONSOLE_METADATA_URI "https://vpc.org/xmlns/guestos/1"
#define CONSOLE_DELAY_MAX_SEC 86400U
/* When the element leaves the delay out. */
#define CONSOLE_DELAY_DEFAULT_SEC 30U
/* Longer metadata than this is not ours to parse: room for a message of LOGOFF_MESSAGE_MAX bytes
 * written as character references. */
#define CONSOLE_METADATA_MAX 16384U

typedef enum ConsoleDisconnectAction {
        CONSOLE_DISCONNECT_NONE,
        CONSOLE_DISCONNECT_LOGOFF,
        CONSOLE_DISCONNECT_LOCK,
        CONSOLE_DISCONNECT_LOCK_THEN_LOGOFF,    /* lock at the disconnect, log off after the delay */
        CONSOLE_DISCONNECT_WARN_THEN_LOGOFF,    /* the message at the disconnect, log off after the delay */
        _CONSOLE_DISCONNECT_MAX,
} ConsoleDisconnectAction;

typedef struct ConsolePolicy {
        ConsoleDisconnectAction action;
        unsigned delay_sec;
        char message[LOGOFF_MESSAGE_MAX + 1];   /* "" for none; clean (logoff_message_clean()) */
} ConsolePolicy;

const char *console_disconnect_action_to_string(ConsoleDisconnectAction a);
/* -EINVAL for anything but the actions' names. */
int console_disconnect_action_from_string(const char *s, ConsoleDisconnectAction *ret);

/* Parses the element as virDomainGetMetadata() returns it (a namespace prefix and xmlns attributes
 * allowed, nothing else): 0, or -EBADMSG for anything else (*ret is then untouched). */
int console_policy_parse(const char *xml, ConsolePolicy *ret);
/* The element to store, without a prefix (libvirt adds it); a new string, NULL when out of memory. */
char *console_policy_format(const ConsolePolicy *p);
