/* Worker threads with a FIFO of items and a second FIFO of finished items that an eventfd hands
 * back to the sd-event loop. Threads never touch the bus; the loop never waits on a thread. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>

#include "log.h"
#include "util.h"
#include "workqueue.h"

typedef struct WorkList {
        Job *head, *tail;
} WorkList;

struct WorkQueue {
        pthread_mutex_t lock;
        pthread_cond_t wakeup;
        WorkList todo, finished;
        unsigned n_busy;
        sd_event *event;
        LIST_HEAD(Job) bounded; /* event loop only: jobs with a deadline, until given back */
        bool stopping;
        bool joined;

        int event_fd;
        sd_event_source *event_source;

        pthread_t *threads;
        unsigned n_threads;
        unsigned n_joined;      /* threads[0..n_joined) are joined */
        char *name;
};

static void work_list_append(WorkList *l, Job *i) {
        i->next = NULL;
        if (l->tail)
                l->tail->next = i;
        else
                l->head = i;
        l->tail = i;
}

static Job *work_list_pop(WorkList *l) {
        Job *i = l->head;

        if (!i)
                return NULL;
        l->head = i->next;
        if (!l->head)
                l->tail = NULL;
        return i;
}

static void *worker_main(void *userdata) {
        WorkQueue *q = userdata;

        pthread_mutex_lock(&q->lock);
        for (;;) {
                Job *i;

                while (!q->stopping && !q->todo.head)
                        pthread_cond_wait(&q->wakeup, &q->lock);
                if (q->stopping)
                        break;

                i = work_list_pop(&q->todo);
                pthread_mutex_unlock(&q->lock);

                if (i->ops->run)
                        i->ops->run(i);

                pthread_mutex_lock(&q->lock);
                work_list_append(&q->finished, i);
                (void) eventfd_write(q->event_fd, 1);
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

/* Event loop: the job is back from its worker (or never ran): answer its owner unless that happened
 * already, then let it go. */
static void job_give_back(WorkQueue *q, Job *j, bool stopping) {
        if (j->bound_usec > 0) {       /* linked at submit */
                j->deadline = sd_event_source_disable_unref(j->deadline);
                LIST_REMOVE(bounded, q->bounded, j);
        }
        if (!j->answered) {
                j->answered = true;
                if (j->ops->done)
                        j->ops->done(j, stopping ? JOB_STOPPING : JOB_FINISHED);
        }
        if (j->ops->release)
                j->ops->release(j, stopping);
}

static void deliver_finished(WorkQueue *q, bool stopping) {
        WorkList finished;

        pthread_mutex_lock(&q->lock);
        finished = q->finished;
        q->finished = (WorkList) {};
        pthread_mutex_unlock(&q->lock);

        for (Job *i = finished.head, *next; i; i = next) {
                next = i->next;
                pthread_mutex_lock(&q->lock);
                q->n_busy--;
                pthread_mutex_unlock(&q->lock);
                job_give_back(q, i, stopping);
        }
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;

        j->deadline = sd_event_source_disable_unref(j->deadline);
        if (!j->answered) {
                log_warning("%s: a job did not return within %" PRIu64 " s; answering its caller without it",
                            j->queue->name, j->bound_usec / USEC_PER_SEC);
                j->answered = true;
                if (j->ops->done)
                        j->ops->done(j, JOB_EXPIRED);
        }
        return 0;
}

static int on_event_fd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WorkQueue *q = userdata;
        eventfd_t value;

        (void) eventfd_read(fd, &value);
        deliver_finished(q, false);
        return 0;
}

int workqueue_new(sd_event *event, const char *name, unsigned n_threads, WorkQueue **ret) {
        _cleanup_(workqueue_freep) WorkQueue *q = NULL;
        sigset_t all, saved;
        int r;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        pthread_mutex_init(&q->lock, NULL);
        pthread_cond_init(&q->wakeup, NULL);
        q->event_fd = -EBADF;
        q->event = event;
        q->name = strdup(name);
        if (!q->name)
                return -ENOMEM;

        q->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (q->event_fd < 0)
                return -errno;
        r = sd_event_add_io(event, &q->event_source, q->event_fd, EPOLLIN, on_event_fd, q);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(q->event_source, q->name);

        q->threads = calloc(n_threads, sizeof(pthread_t));
        if (!q->threads)
                return -ENOMEM;

        /* Signals belong to the event loop's signalfd, never to a worker. */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &saved);
        for (; q->n_threads < n_threads; q->n_threads++) {
                r = -pthread_create(&q->threads[q->n_threads], NULL, worker_main, q);
                if (r < 0)
                        break;
                (void) pthread_setname_np(q->threads[q->n_threads], q->name);
        }
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(q);
        return 0;
}

int workqueue_stop_until(WorkQueue *q, uint64_t deadline) {
        if (!q || q->joined)
                return 0;

        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_broadcast(&q->wakeup);
        pthread_mutex_unlock(&q->lock);

        /* A worker inside a libvirt call finishes it first. Calls have timeouts and keepalives, but
         * not every libvirt call does (virConnectOpen() on a frozen libvirtd waits forever). */
        for (; q->n_joined < q->n_threads; q->n_joined++) {
                pthread_t t = q->threads[q->n_joined];

                if (deadline == USEC_INFINITY)
                        pthread_join(t, NULL);
                else {
                        /* pthread_timedjoin_np() takes CLOCK_REALTIME: translate the deadline. */
                        uint64_t now = now_usec(CLOCK_MONOTONIC);
                        uint64_t at = now_usec(CLOCK_REALTIME) + (deadline > now ? deadline - now : 0);
                        struct timespec ts = { .tv_sec = (time_t) (at / USEC_PER_SEC),
                                               .tv_nsec = (long) (at % USEC_PER_SEC * NSEC_PER_USEC) };

                        if (pthread_timedjoin_np(t, NULL, &ts) != 0)
                                return -ETIMEDOUT;
                }
        }
        q->joined = true;
        return 0;
}

void workqueue_stop(WorkQueue *q) {
        (void) workqueue_stop_until(q, USEC_INFINITY);
}

void workqueue_abandon(WorkQueue *q) {
        WorkList todo;

        if (!q)
                return;
        /* Owners first: a job stuck in its worker is answered now and stays linked for the worker. */
        LIST_FOREACH(bounded, j, q->bounded) {
                j->deadline = sd_event_source_disable_unref(j->deadline);
                if (!j->answered) {
                        j->answered = true;
                        if (j->ops->done)
                                j->ops->done(j, JOB_STOPPING);
                }
        }
        pthread_mutex_lock(&q->lock);
        todo = q->todo;
        q->todo = (WorkList) {};
        pthread_mutex_unlock(&q->lock);
        for (Job *i = todo.head, *next; i; i = next) {
                next = i->next;
                job_give_back(q, i, true);
        }
        /* Finished ones too: their owners may hold memory the process would report as leaked. */
        deliver_finished(q, true);
}

WorkQueue *workqueue_free(WorkQueue *q) {
        if (!q)
                return NULL;

        workqueue_stop(q);

        /* Items that never ran are handed back too, so their owners free them. */
        pthread_mutex_lock(&q->lock);
        for (Job *i; (i = work_list_pop(&q->todo)); )
                work_list_append(&q->finished, i);
        pthread_mutex_unlock(&q->lock);
        deliver_finished(q, true);

        sd_event_source_disable_unref(q->event_source);
        closep(&q->event_fd);
        pthread_cond_destroy(&q->wakeup);
        pthread_mutex_destroy(&q->lock);
        free(q->threads);
        free(q->name);
        free(q);
        return NULL;
}

int workqueue_submit(WorkQueue *q, Job *j) {
        int r;

        j->next = NULL;
        j->queue = q;
        j->answered = false;
        j->deadline = NULL;
        j->bounded_prev = j->bounded_next = NULL;

        pthread_mutex_lock(&q->lock);
        if (q->stopping) {
                pthread_mutex_unlock(&q->lock);
                return -ESHUTDOWN;
        }
        q->n_busy++;
        /* Armed before the worker can see the job: its return is delivered on this same loop. */
        if (j->bound_usec > 0) {
                LIST_PREPEND(bounded, q->bounded, j);
                r = sd_event_add_time_relative(q->event, &j->deadline, CLOCK_MONOTONIC, j->bound_usec, 0,
                                               on_deadline, j);
                if (r < 0)
                        log_debug("%s: cannot arm a job's deadline: %s", q->name, strerror(-r));
        }
        if (j->ops->run) {
                work_list_append(&q->todo, j);
                pthread_cond_signal(&q->wakeup);
        } else {
                work_list_append(&q->finished, j);
                (void) eventfd_write(q->event_fd, 1);
        }
        pthread_mutex_unlock(&q->lock);
        return 0;
}

unsigned workqueue_busy(WorkQueue *q) {
        unsigned n;

        pthread_mutex_lock(&q->lock);
        n = q->n_busy;
        pthread_mutex_unlock(&q->lock);
        return n;
}
