/* See audit.h. The MESSAGE_IDs are fixed forever so journalctl MESSAGE_ID=... queries keep working. */
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "log.h"
#include "text.h"

static const struct {
        const char *kind;
        const char *message_id;
} events[] = {
        [AUDIT_LOGOFF_REQUEST] = { "logoff-request", "5c3e0a1d8b9f4e27a6d2c41f0e8b7a31" },
        [AUDIT_CANCEL_REQUEST] = { "cancel-request", "9a4b2c7e1f3d4b08b5e6a7c8d9e0f112" },
        [AUDIT_TASK_END] = { "task-end", "e17f4d2a6b8c4c93a0b1c2d3e4f50617" },
        [AUDIT_SET_POLICY_REQUEST] = { "set-policy-request", "e77fa88a26a54bfa88075738dc0750f1" },
        [AUDIT_CONSOLE_LOGOFF] = { "console-logoff", "00f7f7c5ccd443b1816be4e50a0dfdd0" },
        [AUDIT_LIST_USERS_REQUEST] = { "list-users-request", "44e547bbab0b4472be133cb5f68289c7" },
        [AUDIT_LOCK_REQUEST] = { "lock-request", "05e58a7deb3f450b8811de2ef1325184" },
};

/* Audit fields pass the same boundary as replies: a VM name or a guest's message can neither break
 * a journal field nor forge a line on stderr (controls escaped), and each field is bounded. */
static char *field(const char *s) {
        return text_sanitize(s, TEXT_MESSAGE_MAX, TEXT_ESCAPE_CONTROL);
}

void audit_log(const AuditRecord *record) {
        const char *outcome = record->result == VPC_OK ? "ok" : vpc_error_name(record->result);
        const char *kind = events[record->event].kind;
        _cleanup_free_ char *sender = field(record->sender), *vm_name = field(record->vm_name),
                            *vm_uuid = field(record->vm_uuid), *message = field(record->message),
                            *task_path = record->task_path ? field(record->task_path) : NULL,
                            *policy = record->policy ? field(record->policy) : NULL,
                            *client = record->client ? field(record->client) : NULL,
                            *options = record->options ? field(record->options) : NULL;
        const AuditRecord *r = &(AuditRecord) {
                .event = record->event,
                .uid = record->uid,
                .pid = record->pid,
                .sender = sender,
                .vm_name = vm_name,
                .vm_uuid = vm_uuid,
                .task_path = task_path,
                .result = record->result,
                .message = message,
                .policy = policy,
                .client = client,
                .options = options,
        };

        if (log_to_journal()) {
                (void) sd_journal_send("MESSAGE=%s by uid %u on VM '%s': %s", kind, (unsigned) r->uid,
                                       strempty(r->vm_name), outcome,
                                       "MESSAGE_ID=%s", events[r->event].message_id,
                                       "PRIORITY=%d", r->result == VPC_OK ? LOG_INFO : LOG_NOTICE,
                                       "VPC_EVENT=%s", kind,
                                       "VPC_CALLER_UID=%u", (unsigned) r->uid,
                                       "VPC_CALLER_PID=%d", (int) r->pid,
                                       "VPC_SENDER=%s", strempty(r->sender),
                                       "VPC_VM_NAME=%s", strempty(r->vm_name),
                                       "VPC_VM_UUID=%s", strempty(r->vm_uuid),
                                       "VPC_TASK=%s", strempty(r->task_path),
                                       "VPC_HRESULT=0x%08X", vpc_error_hresult(r->result),
                                       "VPC_ERROR_NAME=%s", vpc_error_name(r->result),
                                       "VPC_ERROR_MESSAGE=%s", strempty(r->message),
                                       "VPC_CONSOLE_POLICY=%s", strempty(r->policy),
                                       "VPC_CONSOLE_CLIENT=%s", strempty(r->client),
                                       "VPC_LOGOFF_OPTIONS=%s", strempty(r->options),
                                       NULL);
                return;
        }

        /* One key=value line, quoted where a VM name may hold spaces. */
        log_full(r->result == VPC_OK ? LOG_INFO : LOG_NOTICE,
                 "audit: event=%s message_id=%s uid=%u pid=%d sender=%s vm=\"%s\" uuid=%s task=%s "
                 "hresult=0x%08X error=%s message=\"%s\"%s%s%s%s%s%s%s%s%s",
                 kind, events[r->event].message_id, (unsigned) r->uid, (int) r->pid, strempty(r->sender),
                 strempty(r->vm_name), strempty(r->vm_uuid), r->task_path ?: "-",
                 vpc_error_hresult(r->result), r->result == VPC_OK ? "-" : vpc_error_name(r->result),
                 strempty(r->message), r->policy ? " policy=\"" : "", strempty(r->policy), r->policy ? "\"" : "",
                 r->client ? " client=\"" : "", strempty(r->client), r->client ? "\"" : "",
                 r->options ? " options=\"" : "", strempty(r->options), r->options ? "\"" : "");
}
