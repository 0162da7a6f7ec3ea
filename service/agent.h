/* The QEMU guest-agent protocol as the service uses it: fixed command documents built with json-c,
 * and parsers for the replies. Replies come from the guest and are untrusted: every parser bounds the
 * size, checks every type and fails with a message instead of trusting or crashing. Pure code. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* Bounds on what a guest may send us. */
#define AGENT_REPLY_MAX (256U * 1024U)  /* one reply, bytes */
#define AGENT_JSON_DEPTH 8              /* nesting of a reply */
#define AGENT_USERS_MAX 1024U           /* logged-on users in one reply */
#define AGENT_NAME_MAX 256U             /* bytes of a user or domain name */
#define AGENT_COMMANDS_MAX 512U         /* entries of guest-info's supported_commands */

typedef enum GuestOsKind {
        GUEST_OS_UNKNOWN,
        GUEST_OS_LINUX,
        GUEST_OS_WINDOWS,
} GuestOsKind;

typedef struct AgentInfo {
        bool has_exec;
        bool has_exec_status;
        bool has_get_users;
        bool has_get_osinfo;
} AgentInfo;

typedef struct AgentExecStatus {
        bool exited;
        int exit_code;          /* valid when exited and not signalled */
        bool signalled;
        int signal;
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

/* Copies at most max bytes of guest text, replacing anything not printable ASCII with '?'. */
char *agent_sanitize(const char *text, size_t max);
const char *guest_os_kind_to_string(GuestOsKind kind);
