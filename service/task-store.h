/* What a task leaves in the runtime directory so it survives a restart of the daemon: one small
 * file per task ("task-<id>", its record, task-record.h), rewritten atomically when the task starts,
 * when its guest program's pid is known, when that program has exited, and when it ends; removed
 * when it leaves the bus. "next-id" holds a bound above every id ever handed out (see
 * TASK_ID_BLOCK). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "task-record.h"

/* next-id is written once for every TASK_ID_BLOCK ids: a restart skips what was left of the block,
 * ids never repeat, and only one task start in TASK_ID_BLOCK pays for a second file write. */
#define TASK_ID_BLOCK 64U

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
