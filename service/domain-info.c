/* See domain-info.h. */
#include <errno.h>
#include <libvirt/virterror.h>
#include <stdlib.h>

#include "domain-info.h"
#include "log.h"
#include "text.h"

/* A domain's name is an identifier that must round-trip (GetGuestOS, the object path), so valid
 * UTF-8 stays exactly as libvirt has it; only a name that is not (libvirt's XML parser makes that
 * unlikely, but the remote protocol does not check) goes through the boundary. Objects are found by
 * UUID, so the altered name still names the right domain. */
static char *domain_name_sanitize(const char *name) {
        if (text_is_valid_utf8(name) && strlen(name) <= TEXT_NAME_MAX)
                return strdup(name);
        return text_sanitize(name, TEXT_NAME_MAX, TEXT_ESCAPE_CONTROL);
}

int domain_info_fill(virDomainPtr d, DomainInfo *ret) {
        const char *name = virDomainGetName(d);
        int state, reason;

        if (!name || virDomainGetUUIDString(d, ret->uuid) < 0)
                return -EIO;
        if (virDomainGetState(d, &state, &reason, 0) < 0)
                return -EIO;
        ret->name = domain_name_sanitize(name);
        if (!ret->name)
                return -ENOMEM;
        ret->state = state >= 0 && state < _DOMAIN_STATE_MAX ? (DomainState) state : DOMAIN_STATE_NOSTATE;
        return 0;
}

void domain_info_read_metadata(virDomainPtr d, const char *uri, DomainInfo *ret) {
        char *xml;
        virErrorPtr e;

        free(ret->metadata);
        ret->metadata = NULL;
        xml = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, uri, 0);
        if (!xml) {
                e = virGetLastError();
                ret->metadata_known = e && e->code == VIR_ERR_NO_DOMAIN_METADATA;
                virResetLastError();
                return;
        }
        ret->metadata_known = true;
        ret->metadata = xml;
}

/* libvirt formats the channel's target as <target type='virtio' name='org.qemu.guest_agent.0'
 * state='connected'/> (virDomainChrTargetDefFormat: always in this order and quoting). Only what
 * follows <devices> is searched: <metadata>, which may hold any XML a domain's author chose, is
 * formatted before it, and nothing after it holds raw XML. */
bool domain_xml_agent_connected(const char *xml) {
        static const char target[] = "<target type='virtio' name='org.qemu.guest_agent.0'";
        const char *p, *end;

        p = xml ? strstr(xml, "<devices>") : NULL;
        if (!p)
                return false;
        for (p = strstr(p, target); p; p = strstr(end, target)) {
                const char *state;

                p += strlen(target);
                end = strchr(p, '>');
                if (!end)
                        return false;
                /* An attribute after the name, of this element only. */
                state = strstr(p, " state='connected'");
                if (state && state < end)
                        return true;
        }
        return false;
}

int domain_info_read_agent(virDomainPtr d, DomainInfo *info) {
        _cleanup_free_ char *xml = NULL;

        info->agent_known = true;
        info->agent_connected = false;
        if (info->state != DOMAIN_STATE_RUNNING && info->state != DOMAIN_STATE_PAUSED)
                return 0;
        xml = virDomainGetXMLDesc(d, 0);
        if (!xml) {
                info->agent_known = false;
                return -EIO;
        }
        info->agent_connected = domain_xml_agent_connected(xml);
        return 0;
}

void domain_infos_free(DomainInfo *infos, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(infos[i].name);
                free(infos[i].metadata);
        }
        free(infos);
}

/* The last libvirt error of this thread says the domain no longer exists. */
bool domain_vanished(void) {
        virErrorPtr e = virGetLastError();

        return e && e->code == VIR_ERR_NO_DOMAIN;
}

static int compare_known_state(const void *a, const void *b) {
        return memcmp(((const KnownState *) a)->uuid, ((const KnownState *) b)->uuid, VIR_UUID_BUFLEN);
}

KnownState *bulk_states(virConnectPtr c, size_t *ret_n) {
        virDomainStatsRecordPtr *stats = NULL;
        KnownState *known;
        size_t k = 0;
        int n;

        n = virConnectGetAllDomainStats(c, VIR_DOMAIN_STATS_STATE, &stats, 0);
        if (n <= 0) {
                /* No domain is still an allocated, empty list (found by valgrind and LeakSanitizer). */
                virDomainStatsRecordListFree(stats);
                return NULL;
        }
        known = calloc(n, sizeof(KnownState));
        for (int i = 0; known && i < n; i++)
                if (virDomainGetUUID(stats[i]->dom, known[k].uuid) >= 0 &&
                    virTypedParamsGetInt(stats[i]->params, stats[i]->nparams, "state.state", &known[k].state) > 0)
                        k++;
        virDomainStatsRecordListFree(stats);
        if (known)
                qsort(known, k, sizeof(KnownState), compare_known_state);
        *ret_n = k;
        return known;
}

int domain_info_fill_known(virDomainPtr d, const KnownState *known, size_t n_known, DomainInfo *ret) {
        KnownState key;
        const KnownState *found = NULL;
        const char *name = virDomainGetName(d);

        if (known && virDomainGetUUID(d, key.uuid) >= 0)
                found = bsearch(&key, known, n_known, sizeof(KnownState), compare_known_state);
        if (!found)
                return domain_info_fill(d, ret);
        if (!name || virDomainGetUUIDString(d, ret->uuid) < 0)
                return -EIO;
        ret->name = domain_name_sanitize(name);
        if (!ret->name)
                return -ENOMEM;
        ret->state = found->state >= 0 && found->state < _DOMAIN_STATE_MAX ? (DomainState) found->state
                                                                           : DOMAIN_STATE_NOSTATE;
        return 0;
}

