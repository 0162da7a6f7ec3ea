/* Classifies a libvirt error into the service's error table. vpc_error_from_libvirt() is pure, so the
 * mapping is unit-tested; vpc_error_from_last_libvirt_error() applies it to the calling thread's
 * last libvirt error. */
#pragma once

#include <stdbool.h>

#include "errors.h"

/* code and message are virError's; timed_out says the call took its whole timeout. */
VpcError vpc_error_from_libvirt(int code, const char *message, bool timed_out);

/* The calling thread's last libvirt error, classified; *ret_message (if asked) gets its text. */
VpcError vpc_error_from_last_libvirt_error(bool timed_out, char **ret_message);
