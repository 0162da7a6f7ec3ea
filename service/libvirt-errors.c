/* libvirt error -> error table. libvirt reports both "agent not connected" and "agent did not answer
 * in time" as VIR_ERR_AGENT_UNRESPONSIVE; the elapsed time and the message tell them apart. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt-errors.h"
#include "text.h"

VpcError vpc_error_from_libvirt(int code, const char *message, bool timed_out) {
        const char *m = strempty(message);

        switch (code) {
        case VIR_ERR_NO_DOMAIN:
                return VPC_ERROR_VM_UNKNOWN;

        case VIR_ERR_OPERATION_INVALID:
                /* "domain is not running" and its relatives */
                if (strstr(m, "not running") || strstr(m, "inactive") || strstr(m, "paused"))
                        return VPC_ERROR_VM_NOT_RUNNING;
                return VPC_ERROR_EXCEPTION;

        case VIR_ERR_NO_SUPPORT:                /* driver without a guest agent (test, lxc, ...) */
        case VIR_ERR_ARGUMENT_UNSUPPORTED:      /* "QEMU guest agent is not configured" */
                return VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE;

        case VIR_ERR_AGENT_UNRESPONSIVE:
                /* Every text starts "Guest agent is not responding: "; the rest says which. */
                if (timed_out)
                        return VPC_ERROR_TIMEOUT;
                if (strstr(m, "not connected") || strstr(m, "due to an error"))
                        return VPC_ERROR_ADDITIONS_FEATURE_NOT_AVAILABLE;
                return VPC_ERROR_TIMEOUT;       /* "Guest agent not available for now" */

        case VIR_ERR_OPERATION_TIMEOUT:
        case VIR_ERR_AGENT_UNSYNCED:
                return VPC_ERROR_TIMEOUT;

        default:
                return timed_out ? VPC_ERROR_TIMEOUT : VPC_ERROR_EXCEPTION;
        }
}

VpcError vpc_error_from_last_libvirt_error(bool timed_out, char **ret_message) {
        virErrorPtr e = virGetLastError();
        const char *text = e && e->message ? e->message : "unknown libvirt error";

        /* libvirt quotes the guest agent (its error "desc", a reply it could not parse): text from
         * the guest, made sendable and bounded where it enters. */
        if (ret_message)
                *ret_message = text_sanitize(text, TEXT_EXCERPT_MAX * 2, TEXT_ESCAPE_CONTROL);
        return vpc_error_from_libvirt(e ? e->code : -1, text, timed_out);
}
