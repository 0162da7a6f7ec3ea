/* Reading domains from libvirt, on the hypervisor's worker threads: one domain's name, UUID and
 * state, and every domain's state in one call for the listing. Names pass the text boundary. */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stddef.h>

#include "domain.h"

typedef struct DomainInfo {
        char *name;
        char uuid[UUID_STRING_MAX];
        DomainState state;
        /* The raw XML of the daemon's own metadata element (NULL: none), as libvirt has it. */
        char *metadata;
        bool metadata_known;            /* false when not read (the listing) or libvirt failed: keep what we have */
        /* Whether the guest agent is connected, where the reader asked (agent_known). */
        bool agent_known;
        bool agent_connected;
} DomainInfo;

int domain_info_fill(virDomainPtr d, DomainInfo *ret);
/* The element under uri of d's <metadata>, into ret->metadata. One more call per domain (libvirt
 * has no bulk read of metadata), so the listing leaves it out (hypervisor-events-metadata.c's scan
 * reads it after) and a refresh adds it. No element is metadata_known with metadata NULL; a failed
 * read leaves metadata_known false. */
void domain_info_read_metadata(virDomainPtr d, const char *uri, DomainInfo *ret);
void domain_infos_free(DomainInfo *infos, size_t n);
/* Reads the agent channel's state of a running domain from its live XML into info (agent_known,
 * agent_connected); a domain that does not run has none connected. -EIO when libvirt fails. */
int domain_info_read_agent(virDomainPtr d, DomainInfo *info);
/* Pure: whether libvirt's live domain XML shows the org.qemu.guest_agent.0 channel connected. */
bool domain_xml_agent_connected(const char *xml);

/* The last libvirt error of this thread says the domain no longer exists. */
bool domain_vanished(void);

/* The states of all domains from one virConnectGetAllDomainStats() call, sorted by UUID; a state
 * query per domain costs a round trip each (about 1 s for 10,000 domains). Some drivers leave
 * domains out of it (the test driver, inactive ones): domain_info_fill_known() asks those one by
 * one. NULL when there are none or the call failed. */
typedef struct KnownState {
        unsigned char uuid[VIR_UUID_BUFLEN];
        int state;
} KnownState;

KnownState *bulk_states(virConnectPtr c, size_t *ret_n);
int domain_info_fill_known(virDomainPtr d, const KnownState *known, size_t n_known, DomainInfo *ret);
