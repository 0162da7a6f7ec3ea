/* The message program of LogoffWithOptions: a fixed program per guest OS that reads the grace and
 * the message from its stdin (guest-exec's input-data) and shows it to every session. The message
 * is data on stdin, never part of a program text or an argument. docs/logoff.md shows the programs. */
#pragma once

#include <stdint.h>

#include "guest-os.h"

/* The program's name for messages ("message-linux", "message-windows"), NULL for no program. */
const char *logoff_message_program_name(GuestOsKind os);

/* The guest-exec command: the program for os, its stdin "<grace_sec>\n<text>". -EOPNOTSUPP for an
 * OS without one. */
int logoff_message_command(GuestOsKind os, const char *text, uint64_t grace_sec, char **ret);

/* Standard base64 of n bytes (guest-exec's input-data). */
char *logoff_message_base64(const void *data, size_t n);
