/* The audit trail (docs/dbus-api.md, "Audit"): every request (Logoff, Cancel, ListUsers,
 * SetConsoleDisconnectPolicy), allowed or denied, every console-policy Logoff and every task's end,
 * as structured journal records with a stable MESSAGE_ID per kind, mirrored on stderr without a
 * journal. Requests are audited through bus-request.h. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "errors.h"

typedef enum AuditEvent {
        AUDIT_LOGOFF_REQUEST,
        AUDIT_CANCEL_REQUEST,
        AUDIT_TASK_END,
        AUDIT_SET_POLICY_REQUEST,       /* SetConsoleDisconnectPolicy, allowed or denied */
        AUDIT_CONSOLE_LOGOFF,           /* the console-disconnect policy started (or joined) a Logoff */
        AUDIT_LIST_USERS_REQUEST,
        AUDIT_LOCK_REQUEST,
} AuditEvent;

typedef struct AuditRecord {
        AuditEvent event;
        uid_t uid;              /* the caller (for AUDIT_TASK_END, the task's owner) */
        pid_t pid;              /* 0 when unknown */
        const char *sender;
        const char *vm_name;
        const char *vm_uuid;
        const char *task_path;  /* NULL when no task was involved (denied, failed check) */
        VpcError result;
        const char *message;    /* error message, NULL on success */
        const char *policy;     /* the console policy asked for or acted on, e.g. "logoff 30" (or NULL) */
        const char *client;     /* the console client whose leaving triggered it (or NULL) */
        const char *options;    /* LogoffWithOptions' options, the message's length only (or NULL) */
} AuditRecord;

void audit_log(const AuditRecord *r);
