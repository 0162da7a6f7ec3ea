/* Classifies a libvirt error into the service's error table. Pure, so the mapping is unit-tested. */
#pragma once

#include <stdbool.h>

#include "errors.h"

/* code and message are virError's; timed_out says the call took its whole timeout. */
VpcError vpc_error_from_libvirt(int code, const char *message, bool timed_out);
