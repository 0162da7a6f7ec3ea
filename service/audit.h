/* The audit trail of DESIGN.md: every Logoff, Cancel and ListUsers, allowed or denied, and every task's end,
 * as structured journal records with a stable MESSAGE_ID per kind, mirrored on stderr without a
 * journal. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "errors.h"

typedef enum AuditEvent {
        AUDIT_LOGOFF_REQUEST,
        AUDIT_CANCEL_REQUEST,
        AUDIT_TASK_END,
        AUDIT_LIST_USERS_REQUEST,
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
} AuditRecord;

void audit_log(const AuditRecord *r);
