/* See job-watch.h. */
#include <inttypes.h>

#include "job-watch.h"
#include "log.h"
#include "util.h"

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        JobWatch *w = userdata;

        w->deadline = sd_event_source_disable_unref(w->deadline);
        if (!w->answered) {
                log_warning("libvirt did not return within %" PRIu64 " s; answering the call without it",
                            w->bound_usec / USEC_PER_SEC);
                w->answered = true;
                w->expire(w, false);
        }
        return 0;
}

void job_watch_start(JobWatchList *l, JobWatch *w, uint64_t bound_usec, void (*expire)(JobWatch *w, bool stopping)) {
        int r;

        w->list = l;
        w->expire = expire;
        w->bound_usec = bound_usec;
        LIST_PREPEND(watches, l->watches, w);
        r = sd_event_add_time_relative(l->event, &w->deadline, CLOCK_MONOTONIC, bound_usec, 0, on_deadline, w);
        if (r < 0)
                log_debug("cannot arm a job's deadline: %s", strerror(-r));
}

bool job_watch_finish(JobWatch *w) {
        bool answer = !w->answered;

        if (!w->list)
                return answer;
        w->deadline = sd_event_source_disable_unref(w->deadline);
        LIST_REMOVE(watches, w->list->watches, w);
        w->list = NULL;
        w->answered = true;
        return answer;
}

void job_watch_abandon_all(JobWatchList *l) {
        LIST_FOREACH(watches, w, l->watches) {
                w->deadline = sd_event_source_disable_unref(w->deadline);
                if (!w->answered) {
                        w->answered = true;
                        w->expire(w, true);
                }
        }
}
