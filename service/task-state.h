/* What a task leaves in the runtime directory so it survives a restart of the daemon: one small
 * JSON file per task ("task-<id>"), rewritten atomically when the task starts, when its guest
 * program's pid is known, when that program has exited, and when it ends; removed when it leaves
 * the bus. "next-id" holds a bound above every id ever handed out (see TASK_ID_BLOCK). The files
 * are read strictly: anything that is not exactly what task_record_format() writes is skipped.
 * docs/architecture.md describes the format. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-json.h"
#include "domain.h"
#include "errors.h"

#define TASK_STATE_FILE_MAX (16U * 1024U)       /* bytes; a record is well below 4 KiB */
#define TASK_STATE_DESCRIPTION_MAX 256U
/* next-id is written once for every TASK_ID_BLOCK ids: a restart skips what was left of the block,
 * ids never repeat, and only one task start in TASK_ID_BLOCK pays for a second file write. */
#define TASK_ID_BLOCK 64U
#define TASK_STATE_NOTICE_MAX 1024U     /* bytes of LogoffWithOptions' message */

/* Where the task's engine stood, as far as a restarted daemon can take it up again. */
typedef struct TaskResume {
        GuestOsKind os;
        int64_t guest_pid;              /* the logoff program's guest-exec pid, 0 while unknown */
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

/* The directory, opened once at start (NULL path: none usable). */
typedef struct TaskStore {
        int dir_fd;
        char *path;
        uint64_t id_reserved;           /* next-id as last written: ids below it may be in use */
        bool failed_logged;             /* a write failed: said once in the log */
} TaskStore;

/* Opens the directory $RUNTIME_DIRECTORY names (its first path), else /run/vpc-guestosd. Returns
 * -errno (and logs that tasks will not survive a restart) when it is missing or not ours; the
 * daemon serves anyway. */
int task_store_open(TaskStore *s);
void task_store_close(TaskStore *s);
bool task_store_usable(const TaskStore *s);

/* Writes rec atomically (temporary file, fsync, rename, fsync of the directory). */
int task_store_save(TaskStore *s, const TaskRecord *rec);
int task_store_delete(TaskStore *s, uint64_t id);
/* The next id to hand out after id: writes a new next-id first whenever id reaches the reserved
 * bound, so a crash right after never reuses it. */
int task_store_reserve(TaskStore *s, uint64_t id);

/* Calls f for every record in the directory that parses, in no order; logs and skips the others
 * (a file not owned by the daemon's user, a symlink, too big, malformed). *ret_next_id: the
 * lowest id a new task may take. */
typedef void (*TaskStoreVisit)(const TaskRecord *rec, void *userdata);
int task_store_load(TaskStore *s, TaskStoreVisit f, void *userdata, uint64_t *ret_next_id);

/* Reads one file of the directory as task_store_load() does (for the tests): regular, ours, not
 * linked elsewhere, at most TASK_STATE_FILE_MAX bytes. */
int task_store_read_file(int dir_fd, const char *name, char **ret_text, size_t *ret_size, char **ret_error);
