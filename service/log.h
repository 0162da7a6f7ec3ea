/* Daemon logging: to the journal when stderr is connected to it (JOURNAL_STREAM), else to stderr
 * with a priority prefix that reads well in a terminal and in test logs. */
#pragma once

#include <syslog.h>

#include "util.h"

void log_set_max_level(int level);
void log_full(int priority, const char *format, ...) _printf_(2, 3);
/* True when log lines go to the journal; audit records then carry structured fields only there. */
bool log_to_journal(void);

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)
