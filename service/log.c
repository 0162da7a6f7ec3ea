/* See log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-journal.h>

#include "log.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

bool log_to_journal(void) {
        static int cached = -1;

        if (cached < 0)
                cached = getenv("JOURNAL_STREAM") != NULL;
        return cached;
}

void log_full(int priority, const char *format, ...) {
        static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
        va_list ap;

        if (priority > max_level)
                return;

        va_start(ap, format);
        if (log_to_journal())
                sd_journal_printv(priority, format, ap);
        else {
                fprintf(stderr, "vpc-guestosd[%d] %s: ", (int) getpid(), names[priority & 7]);
                vfprintf(stderr, format, ap);
                fputc('\n', stderr);
        }
        va_end(ap);
}
