/* The Logoff sequence as a pure state machine: it says which guest-agent command to send next, or
 * how long to sleep, and is fed the replies. The task object drives it from the event loop and the
 * unit tests drive it with a scripted fake agent; it never does I/O itself. */
#pragma once

#include <stdint.h>

#include "agent-json.h"
#include "errors.h"
#include "logoff-options.h"
#include "logoff-strategy.h"

typedef enum LogoffPhase {
        LOGOFF_PHASE_LIST_INITIAL,
        LOGOFF_PHASE_LOGOFF_EXEC,
        LOGOFF_PHASE_LOGOFF_STATUS,     /* the logoff program runs: guest-exec-status until it exits */
        LOGOFF_PHASE_POLL_USERS,
        LOGOFF_PHASE_MESSAGE_EXEC,      /* LogoffWithOptions: the message program is started */
        LOGOFF_PHASE_MESSAGE_STATUS,    /* it runs: guest-exec-status until it exits */
        LOGOFF_PHASE_GRACE,             /* the users were told: the grace runs out before the logoff */
        LOGOFF_PHASE_DONE,
} LogoffPhase;

typedef enum LogoffActionKind {
        LOGOFF_ACTION_AGENT,    /* send action.command, then call logoff_machine_reply() */
        LOGOFF_ACTION_SLEEP,    /* wait action.sleep_usec, then call logoff_machine_wake() */
        LOGOFF_ACTION_DONE,     /* finished: result and message say how */
} LogoffActionKind;

typedef struct LogoffAction {
        LogoffActionKind kind;
        const char *command;    /* owned by the machine, valid until the next call */
        uint64_t sleep_usec;
} LogoffAction;

/* What came back for an agent command: a transport error (libvirt, already classified) or JSON. */
typedef struct LogoffReply {
        VpcError error;
        const char *message;
        const char *json;
} LogoffReply;

typedef struct LogoffMachine {
        LogoffPhase phase;
        GuestOsKind os;
        const LogoffStrategy *strategy;

        char **initial_users;
        size_t n_initial;
        size_t n_remaining;     /* of the initial users, still logged on at the last poll */
        size_t n_listed;        /* users listed at the last poll, anyone */
        unsigned percent;

        uint64_t deadline;      /* CLOCK_MONOTONIC µs */
        uint64_t timeout;
        uint64_t poll_interval; /* the slowest poll (--poll-interval) */
        /* The poll schedule (see logoff_machine_next_poll): the last sleep, and when something last
         * changed (the program started or exited, the count of users dropped). */
        uint64_t interval;
        uint64_t changed_at;
        int64_t exec_pid;
        char *command;
        /* The program said the guest logs a user straight back in (LOGOFF_AUTOLOGIN_MARK): nobody
         * logged on must last LOGOFF_RELOGIN_WINDOW_USEC before the Logoff is done. */
        bool relogin_expected;
        uint64_t empty_since;   /* CLOCK_MONOTONIC µs of the first empty list of a run of them, or 0 */

        /* LogoffWithOptions (logoff_machine_set_options()): the message goes out after the first
         * list of users, then the grace passes, then the logoff runs. Progress moves from 0 to
         * LOGOFF_GRACE_PERCENT during the grace and from there to 100 as the sessions end. */
        char *notice;           /* the message to the users, NULL: none */
        uint64_t grace;
        uint64_t grace_start, grace_end;        /* CLOCK_MONOTONIC µs, set once the message went out */
        unsigned base_percent;

        /* Taken up after a restart of the daemon (logoff_machine_resume()). */
        bool resumed;

        VpcError result;
        char *message;
} LogoffMachine;

void logoff_machine_init(LogoffMachine *m, GuestOsKind os, uint64_t now, uint64_t timeout_usec,
                         uint64_t poll_usec);
void logoff_machine_release(LogoffMachine *m);
/* Before logoff_machine_start(): the message and the grace of LogoffWithOptions. The deadline moves
 * on by the grace. */
int logoff_machine_set_options(LogoffMachine *m, const LogoffOptions *o);

int logoff_machine_start(LogoffMachine *m, LogoffAction *ret);
/* Takes up a Logoff that a previous run of the daemon started, after logoff_machine_init() (its
 * timeout the time left): exec_pid 0 runs the sequence again from the start (the program may not
 * have been started), else the program's guest-exec-status is read, or with program_exited the
 * users are polled. The initial users are those of the first list read; progress never goes below
 * percent. A resumed machine whose program the agent no longer knows (qemu-ga forgets a pid once
 * its exit was read, and on its own restart) polls the users, and an empty first list is success:
 * the users it was started for are gone. */
int logoff_machine_resume(LogoffMachine *m, int64_t exec_pid, bool program_exited, bool relogin_expected,
                          unsigned percent, LogoffAction *ret);
int logoff_machine_reply(LogoffMachine *m, uint64_t now, const LogoffReply *reply, LogoffAction *ret);
int logoff_machine_wake(LogoffMachine *m, uint64_t now, LogoffAction *ret);

/* The poll schedule. Polls start LOGOFF_POLL_FAST_MIN_USEC after a change and double up to
 * LOGOFF_POLL_FAST_MAX_USEC while the last change is less than LOGOFF_POLL_FAST_WINDOW_USEC old,
 * then on up to the poll interval. One agent call is in flight at a time and every poll waits at
 * least the fast minimum after the previous reply (only the sequence's own next steps go out at
 * once): at most 100 agent calls a second. */
#define LOGOFF_POLL_FAST_MIN_USEC (10 * USEC_PER_MSEC)
#define LOGOFF_POLL_FAST_MAX_USEC (20 * USEC_PER_MSEC)
#define LOGOFF_POLL_FAST_WINDOW_USEC (2 * USEC_PER_SEC)

/* What a logoff program prints when an ended session's user will be logged straight back in by the
 * guest (a getty with autologin), and how long the guest is then given to do it (a getty took 2-4 s
 * under TCG) before "nobody logged on" counts. A user back within it is still logged on: Timeout at
 * the deadline, naming him. A guest that prints the mark falsely only delays its own Logoff. */
#define LOGOFF_AUTOLOGIN_MARK "vpc-logoff: autologin"
#define LOGOFF_RELOGIN_WINDOW_USEC (10 * USEC_PER_SEC)
uint64_t logoff_machine_next_poll(LogoffMachine *m, uint64_t now);

/* The share of Progress the grace takes, when there is one. */
#define LOGOFF_GRACE_PERCENT 50U
/* The grace's Progress moves at least this often. */
#define LOGOFF_GRACE_STEP_USEC (1 * USEC_PER_SEC)

/* Share of the initial sessions that are gone, 0..100; 100 only once none remain. */
unsigned logoff_progress(size_t n_initial, size_t n_remaining);
