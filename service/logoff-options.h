/* LogoffWithOptions' options (a{sv}): the message shown to the guest's users before the logoff and
 * the grace between the message and the logoff. The message is a caller's text that reaches every
 * terminal of the guest: bounded, valid UTF-8, its control characters (but newline and tab)
 * stripped, so it cannot move a cursor, clear a screen or send a terminal escape sequence. */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#define LOGOFF_MESSAGE_MAX 1024U        /* bytes of the caller's text */
/* An hour: longer is a schedule, not a warning, and the domain's Logoff slot stays taken (a
 * Logoff meanwhile joins this task) for all of it. */
#define LOGOFF_GRACE_MAX_SEC 3600U

typedef struct LogoffOptions {
        char *message;          /* NULL or "": no message */
        uint32_t grace_sec;
} LogoffOptions;

void logoff_options_done(LogoffOptions *o);
int logoff_options_copy(const LogoffOptions *o, LogoffOptions *ret);

/* The message as it goes to the guest: text valid UTF-8 of at most LOGOFF_MESSAGE_MAX bytes (else
 * -EINVAL), controls other than '\n' and '\t' dropped, C1 controls (U+0080..U+009F) included. */
int logoff_message_clean(const char *text, char **ret);

/* Reads call's a{sv} into *ret. An unknown key, a wrong type or a bad value: -EINVAL and *ret_error
 * a message naming the key (for InvalidArgs); other errors are sd-bus's. */
int logoff_options_read(sd_bus_message *call, LogoffOptions *ret, char **ret_error);
/* The same, with only the keys in `keys` known (SetConsoleDisconnectPolicyWithOptions takes the
 * message alone: its delay is the grace). */
#define LOGOFF_OPTION_MESSAGE 1U
#define LOGOFF_OPTION_GRACE 2U
int logoff_options_read_keys(sd_bus_message *call, unsigned keys, LogoffOptions *ret, char **ret_error);

/* "message=12 bytes, grace=30 s" for the audit: the message's length, never its text. */
char *logoff_options_describe(const LogoffOptions *o);
