/* The fixed programs that end user sessions inside a guest, one per kind of guest OS. They are
 * constants: no string from a caller or from the guest is ever spliced into them. docs/logoff.md
 * lists them. */
#pragma once

#include "agent-json.h"

typedef enum LogoffStrategyKind {
        LOGOFF_STRATEGY_LINUX,          /* linux-logind's or linux-plain's text, as the guest has logind */
        LOGOFF_STRATEGY_LINUX_LOGIND,
        LOGOFF_STRATEGY_LINUX_PLAIN,
        LOGOFF_STRATEGY_WINDOWS,
        _LOGOFF_STRATEGY_MAX,
} LogoffStrategyKind;

typedef struct LogoffStrategy {
        const char *name;
        const char *path;
        const char *const *argv;   /* arguments after path, NULL-terminated */
} LogoffStrategy;

const LogoffStrategy *logoff_strategy_get(LogoffStrategyKind kind);
