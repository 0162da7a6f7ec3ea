/* The QEMU guest-agent protocol as the service uses it: fixed command documents built with json-c,
 * and parsers for the replies. Replies come from the guest and are untrusted: every parser bounds the
 * size, checks every type and fails with a message instead of trusting or crashing. Pure code. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "guest-os.h"
#include "util.h"

/* Bounds on what a guest may send us. */
#define AGENT_REPLY_MAX (256U * 1024U)  /* one reply, bytes */
#define AGENT_JSON_DEPTH 8              /* nesting of a reply */
#define AGENT_USERS_MAX 1024U           /* logged-on users in one reply */
#define AGENT_NAME_MAX 256U             /* bytes of a user or domain name */
#define AGENT_COMMANDS_MAX 512U         /* entries of guest-info's supported_commands */
#define AGENT_OS_NAME_MAX 256U          /* bytes of an OS name as the daemon shows it */

typedef struct AgentInfo {
        bool has_exec;
        bool has_exec_status;
        bool has_get_users;
        bool has_get_osinfo;
} AgentInfo;

#define AGENT_EXCERPT_MAX 200U       /* bytes of a program's output kept for a message */

/* guest-exec-status. A Linux qemu-ga reports WEXITSTATUS or WTERMSIG. A Windows qemu-ga reports the
 * process's 32-bit exit code, as a signed gint, in "exitcode" below 0xC0000000 and in "signal" from
 * there (an NTSTATUS such as 0xC000013A): so either may be negative or, from agents that send it
 * unsigned, above INT32_MAX. Both are kept as sent, within [INT32_MIN, UINT32_MAX]. */
typedef struct AgentExecStatus {
        bool exited;
        int64_t exit_code;      /* valid when exited and not signalled */
        bool signalled;
        int64_t signal;
        bool out_truncated;     /* the agent dropped output past its own bound */
        bool err_truncated;
        /* The start of the decoded out-data and err-data, printable ASCII only (see agent_excerpt). */
        char out[AGENT_EXCERPT_MAX + 1];
        char err[AGENT_EXCERPT_MAX + 1];
} AgentExecStatus;

/* The commands are constants or built from integers: nothing from a caller or a guest is spliced in. */
extern const char AGENT_COMMAND_INFO[];
extern const char AGENT_COMMAND_GET_USERS[];
extern const char AGENT_COMMAND_GET_OSINFO[];
char *agent_command_exec(const char *path, const char *const *argv);
char *agent_command_exec_status(int64_t pid);

/* Each parser returns 0 on success; -E2BIG for an oversized reply; -EBADMSG for malformed JSON or a
 * wrong type; -EREMOTEIO when the agent answered with an error object. On failure *ret_error (if
 * not NULL) gets a printable description, with any guest text sanitized and truncated. */
int agent_parse_info(const char *reply, AgentInfo *ret, char **ret_error);
int agent_parse_users(const char *reply, char ***ret_users, char **ret_error);
int agent_parse_osinfo(const char *reply, GuestOsKind *ret, char **ret_error);
int agent_parse_exec(const char *reply, int64_t *ret_pid, char **ret_error);
int agent_parse_exec_status(const char *reply, AgentExecStatus *ret, char **ret_error);

/* One logged-on user as ListUsers() reports it: user and domain ("" for none) sanitized for the
 * bus (valid UTF-8, controls escaped, bounded), login time in µs since the epoch (0 when the agent
 * gave none, or one before the epoch). */
typedef struct AgentUser {
        char *user;
        char *domain;
        uint64_t login_usec;
} AgentUser;

/* guest-get-users as a list of AgentUser, in the agent's order. */
int agent_parse_user_list(const char *reply, AgentUser **ret_users, size_t *ret_n, char **ret_error);
void agent_users_free(AgentUser *users, size_t n);
/* guest-get-osinfo's "pretty-name", else its "name", sanitized for the bus; "" when it has neither. */
int agent_parse_os_name(const char *reply, char **ret_name, char **ret_error);

/* Copies at most max bytes of guest text, replacing anything not printable ASCII with '?'. */
char *agent_sanitize(const char *text, size_t max);
/* Like agent_sanitize into a caller's buffer of size max + 1, for a program's output: line breaks
 * and tabs become one space, trailing space is dropped. */
void agent_excerpt(const uint8_t *data, size_t n, char *buf, size_t max);
/* The exit status as the guest's OS names it, e.g. "exit status 3", "signal 9",
 * "NTSTATUS 0xC000013A"; buf of at least 48 bytes. */
const char *agent_exec_status_to_string(const AgentExecStatus *st, GuestOsKind os, char *buf, size_t size);
const char *guest_os_kind_to_string(GuestOsKind kind);
