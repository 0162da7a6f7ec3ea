/* Logoff sequence: list the users; start the guest OS's fixed logoff program; wait for it to exit;
 * poll the users until none remain or the deadline passes. See logoff.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "logoff-message.h"
#include "logoff.h"

/* The Timeout message names at most this many of the users still there. */
#define TIMEOUT_NAMES_MAX 8
#define TIMEOUT_NAME_BYTES 64

void logoff_machine_init(LogoffMachine *m, GuestOsKind os, uint64_t now, uint64_t timeout_usec,
                         uint64_t poll_usec) {
        *m = (LogoffMachine) {
                .phase = LOGOFF_PHASE_LIST_INITIAL,
                .os = os,
                .deadline = now + timeout_usec,
                .timeout = timeout_usec,
                .poll_interval = poll_usec,
                .changed_at = now,
                .result = VPC_OK,
        };
}

void logoff_machine_release(LogoffMachine *m) {
        strv_free(m->initial_users);
        free(m->command);
        free(m->message);
        free(m->notice);
        *m = (LogoffMachine) {};
}

int logoff_machine_set_options(LogoffMachine *m, const LogoffOptions *o) {
        free(m->notice);
        m->notice = NULL;
        if (o->message && o->message[0]) {
                m->notice = strdup(o->message);
                if (!m->notice)
                        return -ENOMEM;
        }
        m->grace = (uint64_t) o->grace_sec * USEC_PER_SEC;
        m->deadline += m->grace;
        m->base_percent = m->grace > 0 ? LOGOFF_GRACE_PERCENT : 0;
        return 0;
}

/* Progress of the logoff itself (0..100) on the share left after the grace. */
static unsigned logoff_share(const LogoffMachine *m, unsigned percent) {
        if (percent >= 100)
                return 100;
        return m->base_percent + percent * (100 - m->base_percent) / 100;
}

unsigned logoff_progress(size_t n_initial, size_t n_remaining) {
        if (n_initial == 0 || n_remaining == 0)
                return 100;
        if (n_remaining >= n_initial)
                return 0;
        /* Never report 100 while someone is still logged on. */
        return (unsigned) (((n_initial - n_remaining) * 100) / n_initial);
}

uint64_t logoff_machine_next_poll(LogoffMachine *m, uint64_t now) {
        uint64_t cap = m->poll_interval;

        /* Sessions end in a burst right after the program ran: poll fast then, and back off to
         * --poll-interval once nothing has changed for a while. */
        if (now - m->changed_at < LOGOFF_POLL_FAST_WINDOW_USEC && cap > LOGOFF_POLL_FAST_MAX_USEC)
                cap = LOGOFF_POLL_FAST_MAX_USEC;
        m->interval = m->interval == 0 ? LOGOFF_POLL_FAST_MIN_USEC : m->interval * 2;
        if (m->interval > cap)
                m->interval = cap;
        return m->interval;
}

static void poll_changed(LogoffMachine *m, uint64_t now) {
        m->changed_at = now;
        m->interval = 0;
}

static int finish(LogoffMachine *m, VpcError result, LogoffAction *ret, const char *format, ...)
        _printf_(4, 5);
static int finish(LogoffMachine *m, VpcError result, LogoffAction *ret, const char *format, ...) {
        va_list ap;

        m->phase = LOGOFF_PHASE_DONE;
        m->result = result;
        free(m->message);
        m->message = NULL;
        if (format) {
                va_start(ap, format);
                if (vasprintf(&m->message, format, ap) < 0)
                        m->message = NULL;
                va_end(ap);
        }
        *ret = (LogoffAction) { .kind = LOGOFF_ACTION_DONE };
        return 0;
}

static int send_command(LogoffMachine *m, LogoffPhase phase, char *command, LogoffAction *ret) {
        if (!command)
                return -ENOMEM;
        free(m->command);
        m->command = command;
        m->phase = phase;
        *ret = (LogoffAction) { .kind = LOGOFF_ACTION_AGENT, .command = m->command };
        return 0;
}

static int send_exec(LogoffMachine *m, LogoffPhase phase, const LogoffStrategy *s, LogoffAction *ret) {
        return send_command(m, phase, agent_command_exec(s->path, s->argv), ret);
}

static int sleep_for(LogoffMachine *m, uint64_t now, uint64_t usec, LogoffAction *ret) {
        if (now + usec > m->deadline)
                usec = m->deadline > now ? m->deadline - now : 0;
        *ret = (LogoffAction) { .kind = LOGOFF_ACTION_SLEEP, .sleep_usec = usec };
        return 0;
}

int logoff_machine_start(LogoffMachine *m, LogoffAction *ret) {
        return send_command(m, LOGOFF_PHASE_LIST_INITIAL, strdup(AGENT_COMMAND_GET_USERS), ret);
}

int logoff_machine_resume(LogoffMachine *m, int64_t exec_pid, bool program_exited, bool relogin_expected,
                          unsigned percent, LogoffAction *ret) {
        m->resumed = true;
        m->percent = percent < 100 ? percent : 99;
        if (exec_pid <= 0)
                return logoff_machine_start(m, ret);
        m->strategy = logoff_strategy_get(m->os == GUEST_OS_WINDOWS ? LOGOFF_STRATEGY_WINDOWS : LOGOFF_STRATEGY_LINUX);
        m->exec_pid = exec_pid;
        if (program_exited) {
                m->relogin_expected = relogin_expected;
                return send_command(m, LOGOFF_PHASE_POLL_USERS, strdup(AGENT_COMMAND_GET_USERS), ret);
        }
        return send_command(m, LOGOFF_PHASE_LOGOFF_STATUS, agent_command_exec_status(exec_pid), ret);
}

static bool user_in(char **users, const char *name) {
        for (char **u = users; u && *u; u++)
                if (streq_ptr(*u, name))
                        return true;
        return false;
}

static int start_logoff(LogoffMachine *m, LogoffStrategyKind kind, LogoffAction *ret) {
        m->strategy = logoff_strategy_get(kind);
        return send_exec(m, LOGOFF_PHASE_LOGOFF_EXEC, m->strategy, ret);
}

static int start_logoff_for_os(LogoffMachine *m, LogoffAction *ret);

static int start_message(LogoffMachine *m, LogoffAction *ret) {
        char *command;
        int r;

        r = logoff_message_command(m->os, m->notice, m->grace / USEC_PER_SEC, &command);
        if (r == -EOPNOTSUPP)
                return finish(m, VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE, ret,
                              "no message program for this guest operating system");
        if (r < 0)
                return r;
        return send_command(m, LOGOFF_PHASE_MESSAGE_EXEC, command, ret);
}

/* The grace: Progress moves from 0 to base_percent by LOGOFF_GRACE_STEP_USEC, then the logoff. */
static int grace_step(LogoffMachine *m, uint64_t now, LogoffAction *ret) {
        uint64_t left;

        if (now >= m->grace_end) {
                m->percent = m->base_percent;
                return start_logoff_for_os(m, ret);
        }
        if (m->grace > 0) {
                unsigned p = (unsigned) ((now - m->grace_start) * m->base_percent / m->grace);

                if (p > m->percent)
                        m->percent = p;
        }
        left = m->grace_end - now;
        *ret = (LogoffAction) { .kind = LOGOFF_ACTION_SLEEP,
                                .sleep_usec = left < LOGOFF_GRACE_STEP_USEC ? left : LOGOFF_GRACE_STEP_USEC };
        return 0;
}

static int start_grace(LogoffMachine *m, uint64_t now, LogoffAction *ret) {
        m->phase = LOGOFF_PHASE_GRACE;
        m->grace_start = now;
        m->grace_end = now + m->grace;
        return grace_step(m, now, ret);
}

static int on_message_status(LogoffMachine *m, uint64_t now, const AgentExecStatus *status, LogoffAction *ret) {
        const char *name = logoff_message_program_name(m->os);
        char what[64];

        if (!status->exited) {
                if (now >= m->deadline)
                        return finish(m, VPC_ERROR_TIMEOUT, ret, "the message program '%s' did not finish within %" PRIu64 " s",
                                      name, m->timeout / USEC_PER_SEC);
                return sleep_for(m, now, logoff_machine_next_poll(m, now), ret);
        }
        /* Nobody is logged off unwarned: a message that did not go out ends the task. */
        if (status->signalled || status->exit_code != 0) {
                const char *said = status->err[0] ? status->err : status->out;

                return finish(m, VPC_ERROR_EXCEPTION, ret, "the message program '%s' failed (%s)%s%s",
                              name, agent_exec_status_to_string(status, m->os, what, sizeof(what)),
                              said[0] ? ": " : "", said);
        }
        return start_grace(m, now, ret);
}

static int on_initial_users(LogoffMachine *m, uint64_t now, const char *json, LogoffAction *ret) {
        _cleanup_free_ char *error = NULL;
        char **users = NULL;
        int r;

        r = agent_parse_users(json, &users, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return finish(m, VPC_ERROR_EXCEPTION, ret, "%s", error ?: "guest-get-users failed");

        m->initial_users = users;
        m->n_initial = m->n_remaining = m->n_listed = strv_length(users);
        /* Resumed: the previous run may have started the program already and it did its work. */
        if (m->n_initial == 0 && m->resumed) {
                m->percent = 100;
                return finish(m, VPC_OK, ret, NULL);
        }
        if (m->n_initial == 0)
                return finish(m, VPC_ERROR_NO_SUCH_LOGON_SESSION, ret, "no user is logged on to the guest");
        if (m->notice)
                return start_message(m, ret);
        if (m->grace > 0)
                return start_grace(m, now, ret);
        return start_logoff_for_os(m, ret);
}

static int start_logoff_for_os(LogoffMachine *m, LogoffAction *ret) {
        switch (m->os) {
        case GUEST_OS_WINDOWS:
                return start_logoff(m, LOGOFF_STRATEGY_WINDOWS, ret);
        case GUEST_OS_LINUX:
                return start_logoff(m, LOGOFF_STRATEGY_LINUX, ret);
        default:
                return finish(m, VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE, ret,
                              "no logoff program for this guest operating system");
        }
}

/* "alice, CORP\\bob, ..." for a message: the first few names, sanitized and cut. */
static char *names_excerpt(char **users) {
        size_t n = strv_length(users), len = 0;
        char *s = malloc(TIMEOUT_NAMES_MAX * (TIMEOUT_NAME_BYTES + 2) + 8);

        if (!s)
                return NULL;
        s[0] = 0;
        for (size_t i = 0; i < n && i < TIMEOUT_NAMES_MAX; i++) {
                _cleanup_free_ char *clean = agent_sanitize(users[i], TIMEOUT_NAME_BYTES);

                if (!clean) {
                        free(s);
                        return NULL;
                }
                len += (size_t) sprintf(s + len, "%s%s", i ? ", " : "", clean);
        }
        if (n > TIMEOUT_NAMES_MAX)
                strcpy(s + len, ", ...");
        return s;
}

static int on_remaining_users(LogoffMachine *m, uint64_t now, const char *json, LogoffAction *ret) {
        _cleanup_free_ char *error = NULL;
        _cleanup_strv_free_ char **users = NULL;
        size_t remaining = 0, listed;
        int r;

        r = agent_parse_users(json, &users, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return finish(m, VPC_ERROR_EXCEPTION, ret, "%s", error ?: "guest-get-users failed");

        /* Resumed without the first list: the users of this one are those the Logoff waits for. */
        if (m->resumed && !m->initial_users && users[0]) {
                m->initial_users = strv_copy(users);
                if (!m->initial_users)
                        return -ENOMEM;
                m->n_initial = m->n_listed = strv_length(users);
        }
        for (size_t i = 0; i < m->n_initial; i++)
                if (user_in(users, m->initial_users[i]))
                        remaining++;
        m->n_remaining = remaining;

        if (!users[0]) {
                if (!m->relogin_expected || (m->empty_since > 0 && now - m->empty_since >= LOGOFF_RELOGIN_WINDOW_USEC) ||
                    now >= m->deadline) {
                        m->percent = 100;
                        return finish(m, VPC_OK, ret, NULL);
                }
                /* Nobody, for now: the guest said it logs someone straight back in. */
                if (m->empty_since == 0)
                        m->empty_since = now;
                if (m->percent < 99)
                        m->percent = 99;
                m->n_listed = 0;
                return sleep_for(m, now, logoff_machine_next_poll(m, now), ret);
        }
        m->empty_since = 0;
        /* Initial users all gone but someone else logged on meanwhile: not done yet. A user who
         * left and came back counts as remaining again, but progress never goes back. */
        unsigned percent = remaining == 0 ? 99 : logoff_share(m, logoff_progress(m->n_initial, remaining));
        if (percent > m->percent)
                m->percent = percent;

        /* Sessions are ending: keep polling fast. */
        listed = strv_length(users);
        if (listed < m->n_listed)
                poll_changed(m, now);
        m->n_listed = listed;

        if (now >= m->deadline) {
                _cleanup_free_ char *names = names_excerpt(users);

                if (!names)
                        return -ENOMEM;
                return finish(m, VPC_ERROR_TIMEOUT, ret, "%zu user(s) still logged on after %" PRIu64 " s: %s",
                              listed, m->timeout / USEC_PER_SEC, names);
        }
        return sleep_for(m, now, logoff_machine_next_poll(m, now), ret);
}

/* The logoff program's guest-exec-status: wait for it to exit, then read the users at once. */
static int on_logoff_status(LogoffMachine *m, uint64_t now, const AgentExecStatus *status, LogoffAction *ret) {
        char what[64];

        if (!status->exited) {
                if (now >= m->deadline)
                        return finish(m, VPC_ERROR_TIMEOUT, ret, "the logoff program '%s' did not finish within %" PRIu64 " s",
                                      m->strategy->name, m->timeout / USEC_PER_SEC);
                return sleep_for(m, now, logoff_machine_next_poll(m, now), ret);
        }
        if (status->signalled || status->exit_code != 0) {
                /* What the program said about it: its stderr, else its stdout (already sanitized). */
                const char *said = status->err[0] ? status->err : status->out;

                return finish(m, VPC_ERROR_EXCEPTION, ret, "the logoff program '%s' failed (%s)%s%s%s",
                              m->strategy->name, agent_exec_status_to_string(status, m->os, what, sizeof(what)),
                              said[0] ? ": " : "", said,
                              said[0] && (status->err[0] ? status->err_truncated : status->out_truncated) ? " ..." : "");
        }
        m->relogin_expected = strstr(status->out, LOGOFF_AUTOLOGIN_MARK) != NULL;
        poll_changed(m, now);
        return send_command(m, LOGOFF_PHASE_POLL_USERS, strdup(AGENT_COMMAND_GET_USERS), ret);
}

int logoff_machine_reply(LogoffMachine *m, uint64_t now, const LogoffReply *reply, LogoffAction *ret) {
        _cleanup_free_ char *error = NULL;
        AgentExecStatus status;
        int r;

        if (m->phase == LOGOFF_PHASE_DONE)
                return -ESTALE;

        if (reply->error != VPC_OK && m->resumed && m->phase == LOGOFF_PHASE_LOGOFF_STATUS &&
            reply->error == VPC_ERROR_EXCEPTION) {
                /* The agent no longer knows the pid: what counts now is whether the users are gone. */
                poll_changed(m, now);
                return send_command(m, LOGOFF_PHASE_POLL_USERS, strdup(AGENT_COMMAND_GET_USERS), ret);
        }
        if (reply->error != VPC_OK) {
                /* The VM stopping or the agent going silent keep their own codes; anything else the
                 * transport reports mid-sequence is unexpected. */
                VpcError e = reply->error;

                if (e != VPC_ERROR_VM_NOT_RUNNING && e != VPC_ERROR_TIMEOUT && e != VPC_ERROR_VM_UNKNOWN)
                        e = VPC_ERROR_EXCEPTION;
                if (e == VPC_ERROR_VM_UNKNOWN)
                        e = VPC_ERROR_VM_NOT_RUNNING;
                return finish(m, e, ret, "%s", reply->message ?: "guest agent call failed");
        }

        switch (m->phase) {
        case LOGOFF_PHASE_LIST_INITIAL:
                return on_initial_users(m, now, reply->json, ret);

        case LOGOFF_PHASE_MESSAGE_EXEC:
                r = agent_parse_exec(reply->json, &m->exec_pid, &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return finish(m, VPC_ERROR_EXCEPTION, ret, "%s", error);
                m->phase = LOGOFF_PHASE_MESSAGE_STATUS;
                poll_changed(m, now);
                return sleep_for(m, now, logoff_machine_next_poll(m, now), ret);

        case LOGOFF_PHASE_MESSAGE_STATUS:
                r = agent_parse_exec_status(reply->json, &status, &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return finish(m, VPC_ERROR_EXCEPTION, ret, "%s", error);
                return on_message_status(m, now, &status, ret);

        case LOGOFF_PHASE_LOGOFF_EXEC:
                r = agent_parse_exec(reply->json, &m->exec_pid, &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return finish(m, VPC_ERROR_EXCEPTION, ret, "%s", error);
                /* Its exit status is read before the users: a program that failed says why. */
                m->phase = LOGOFF_PHASE_LOGOFF_STATUS;
                poll_changed(m, now);
                return sleep_for(m, now, logoff_machine_next_poll(m, now), ret);

        case LOGOFF_PHASE_LOGOFF_STATUS:
                r = agent_parse_exec_status(reply->json, &status, &error);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return finish(m, VPC_ERROR_EXCEPTION, ret, "%s", error);
                return on_logoff_status(m, now, &status, ret);

        case LOGOFF_PHASE_POLL_USERS:
                return on_remaining_users(m, now, reply->json, ret);

        default:
                return -EINVAL;
        }
}

int logoff_machine_wake(LogoffMachine *m, uint64_t now, LogoffAction *ret) {
        switch (m->phase) {
        case LOGOFF_PHASE_MESSAGE_STATUS:
                return send_command(m, m->phase, agent_command_exec_status(m->exec_pid), ret);
        case LOGOFF_PHASE_GRACE:
                return grace_step(m, now, ret);
        case LOGOFF_PHASE_LOGOFF_STATUS:
                return send_command(m, m->phase, agent_command_exec_status(m->exec_pid), ret);
        case LOGOFF_PHASE_POLL_USERS:
                return send_command(m, LOGOFF_PHASE_POLL_USERS, strdup(AGENT_COMMAND_GET_USERS), ret);
        default:
                return -ESTALE;
        }
}
