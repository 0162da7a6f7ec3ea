/* One task as a restarted daemon needs it: its fields, and their text in its state file (a JSON
 * object, task-store.h keeps the files). Read strictly: anything that is not exactly what
 * task_record_format() writes is refused. docs/architecture.md describes the format. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-json.h"
#include "domain.h"
#include "errors.h"

#define TASK_STATE_FILE_MAX (16U * 1024U)       /* bytes; a record is well below 4 KiB */
#define TASK_STATE_DESCRIPTION_MAX 256U
#define TASK_STATE_NOTICE_MAX 1024U     /* bytes of LogoffWithOptions' message */

/* Which engine runs the task, so a restarted daemon hands it to the same one. Files written
 * before Lock tasks were saved have no "kind": they are Logoffs. */
typedef enum TaskKind {
        TASK_KIND_LOGOFF = 0,
        TASK_KIND_LOCK,
} TaskKind;

/* Where the task's engine stood, as far as a restarted daemon can take it up again. */
typedef struct TaskResume {
        TaskKind kind;
        GuestOsKind os;
        int64_t guest_pid;              /* the guest program's guest-exec pid, 0 while unknown */
        bool program_exited;            /* its exit was read: the users are polled */
        bool relogin_expected;          /* it printed LOGOFF_AUTOLOGIN_MARK */
        uint64_t deadline_usec;         /* CLOCK_REALTIME */
        /* LogoffWithOptions' message ("" for none) and grace: a task restarted before its logoff
         * program started sends the message again and waits the whole grace again. Written only
         * when there are options ("notice", "grace_sec"). */
        char notice[TASK_STATE_NOTICE_MAX + 1];
        uint32_t grace_sec;
} TaskResume;

typedef struct TaskRecord {
        uint64_t id;
        char vm_uuid[UUID_STRING_MAX];
        char *vm_name;
        char *description;
        uid_t owner;
        uint64_t started_usec;          /* CLOCK_REALTIME, as the task's StartedUSec */
        unsigned percent;
        bool complete;
        TaskResume resume;              /* running tasks */
        VpcError error;                 /* finished tasks */
        char *error_message;            /* the task's ErrorMessage as sent, NULL on success */
        uint64_t finished_usec;
} TaskRecord;

void task_record_done(TaskRecord *rec);

/* The file's text for rec (a JSON object and a newline). */
int task_record_format(const TaskRecord *rec, char **ret);
/* Parses one file's text strictly: the known keys only, each of its type and within its bounds,
 * strings valid UTF-8. On failure *ret_error says why (free it). */
int task_record_parse(const char *text, size_t size, TaskRecord *ret, char **ret_error);
/* A record or store error: *ret_error the formatted reason (NULL without memory), -EBADMSG. */
int task_record_fail(char **ret_error, const char *format, ...) _printf_(2, 3);
