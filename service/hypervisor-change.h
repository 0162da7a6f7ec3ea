/* A change to one domain (the daemon's own metadata element) on the hypervisor's control worker, in
 * order with the lifecycle refreshes, answered once within a bound: by its result or, when libvirtd
 * does not return, by its deadline (the worker keeps the job until it does). The owner names the
 * domain by UUID and never holds a libvirt handle: the lookup, the libvirt calls and the mapping of
 * libvirt's errors are here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "hypervisor.h"

/* Control worker: changes d. < 0 on failure: -ENOMEM, or another errno with libvirt's last error
 * saying why. arg: the job's own copy of what the owner passed. */
typedef int (*domain_change_t)(Hypervisor *h, virDomainPtr d, const void *arg);

/* Event loop, once: VPC_OK, or an error of the table with its message (VmUnknown when the domain is
 * gone, Timeout when libvirt did not answer in time, Exception when the daemon stops: then stopping
 * is true and the owner only frees its state). */
typedef void (*domain_changed_t)(bool stopping, VpcError error, const char *message, void *userdata);

int hypervisor_change_domain(Hypervisor *h, const char *uuid, domain_change_t change, const void *arg,
                             size_t arg_size, domain_changed_t done, void *userdata);

/* Stores xml (one element, without a namespace prefix) as the domain's element under the
 * subscriber's metadata_uri: in its config (persistent) and live state (running), as libvirt allows
 * each kind of domain. The metadata-change event follows as for any other edit. */
int hypervisor_write_metadata(Hypervisor *h, const char *uuid, const char *xml, domain_changed_t done, void *userdata);
