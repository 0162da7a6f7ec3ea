/* The Manager's life (see vpc-guestosd.h for its state): set-up, start-up and tear-down; the
 * domains kept in step with libvirt; every bus object registered once. */
#pragma once

#include "vpc-guestosd.h"

int manager_new(sd_event *event, sd_bus *bus, const ManagerOptions *options, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Registers every object and the argument guard; then starts libvirt. The
 * name org.vpc is requested once the first connection attempt ended, so a client that sees the
 * name appear finds the domains already there. */
int manager_start(Manager *m);


