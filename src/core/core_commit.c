/*
 * core_commit.c - group commit: the committer thread, waiters and tickets
 * (the contract is in core.h).
 *
 * Why: an audit record per operation made every read a write transaction
 * of its own (50-55 % of the server's CPU on Get and unwrap, most of it
 * SQLite writing the same few pages again per record), and durability
 * meant an fsync per answer. Here the records of reads are queued; one
 * thread writes whatever is queued in one transaction, then fsyncs the WAL
 * once for every commit made so far by anybody (workers' writes commit
 * without fsync), and releases the answers that waited for them. Under
 * load a batch holds as many records as requests arrived meanwhile; alone,
 * a request costs what it did before.
 *
 * Two threads: the writer takes the queue, writes it in one transaction
 * and raises each ticket's need to that commit's number; the syncer, while
 * a ticket waits for a commit not yet durable, fdatasyncs the WAL once for
 * every commit so far. The writer writes the next batch during the fsync.
 *
 * Ordering: a commit numbered n (store_last_commit) is durable once a
 * store_sync that started after it returned; store_sync snapshots the
 * number before its fdatasync. A ticket is settled when its queued records
 * were written (pending == 0) and its commits are durable (need <= synced).
 *
 * Locking: one mutex (K->mu) guards the queue, the tickets' pending, need and
 * failed fields, the list of tickets waiting and every waiter's list of
 * settled tickets. A ticket's need is raised by its owner (core_commit)
 * and by the writer (the batch that holds its record). Callbacks
 * run on the waiter's thread (core_waiter_run), never under the mutex.
 *
 * Failure is sticky where it must be: a failed batch fails its tickets
 * (their answers become "audit unavailable"); a failed fsync marks the
 * committer broken and every later ticket fails, as PostgreSQL does since
 * "fsyncgate": after a write-back error the kernel may have dropped the
 * dirty pages, and only a restart (recovery from the WAL on disk) gives a
 * state that is known to be on disk.
 */
#include "core/core_audit_int.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

/* Checkpoint the WAL (into the database file) this often. */
#define CHECKPOINT_MS 500

struct core_ticket {
    core_waiter *w;
    core_ticket_fn fn;
    void *arg;
    uint64_t need;              /* store commit number that must be durable */
    unsigned pending;           /* records queued, not yet written */
    bool failed;
    cf_status st;               /* once settled: CF_OK or CF_ERR_AUDIT */
    struct core_ticket *next;   /* K->waiting, then w's settled list */
};

struct core_waiter {
    struct core_committer *K;
    void (*wake)(void *arg);
    void *arg;
    pthread_cond_t cv;          /* drain: a ticket settled */
    core_ticket *done, **done_tail;
    unsigned outstanding;       /* submitted, callback not run yet */
};

struct qrec {
    struct qrec *next;
    core_ticket *t;
    audit_record r;             /* its strings follow in the same block */
    struct core_audit_build b;
};

struct core_committer {
    core_audit *A;
    store *st;
    bool sync;                  /* answers wait for fsync */
    pthread_t th, sth;          /* the writer, the syncer */
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* the writer: records queued, stop */
    pthread_cond_t scv;         /* the syncer: a commit awaited, writer done */
    struct qrec *q, **qtail;
    core_ticket *waiting;
    uint64_t synced, want;      /* durable commit number; the highest awaited */
    bool stop, writer_done, broken;
};

bool core_committer_syncs(const struct core_committer *K) { return K->sync; }

/* --------------------------------------------------------- records */

#define STR_FIELDS 17
static const size_t str_field[STR_FIELDS] = {
    offsetof(audit_record, chain),          offsetof(audit_record, tenant),
    offsetof(audit_record, identity.id),    offsetof(audit_record, identity.name),
    offsetof(audit_record, identity.cert_sha256),
    offsetof(audit_record, identity.subject), offsetof(audit_record, source),
    offsetof(audit_record, frontend),       offsetof(audit_record, operation),
    offsetof(audit_record, object_id),      offsetof(audit_record, object_tenant),
    offsetof(audit_record, result),         offsetof(audit_record, reason),
    offsetof(audit_record, request_id),     offsetof(audit_record, batch_item_id),
    offsetof(audit_record, hmac_name),      offsetof(audit_record, hmac_aad),
};

static const char **field(audit_record *r, size_t i)
{
    return (const char **)(void *)((char *)r + str_field[i]);
}

/* r and every string it points to, in one block: the request's arena is
 * reset as soon as its answer is built. */
static struct qrec *qrec_copy(const audit_record *r)
{
    audit_record tmp = *r;
    size_t total = sizeof(struct qrec), len[STR_FIELDS];
    struct qrec *q;
    char *w;

    for (size_t i = 0; i < STR_FIELDS; i++) {
        const char *v = *field(&tmp, i);
        len[i] = v ? strlen(v) + 1 : 0;
        total += len[i];
    }
    if ((q = calloc(1, total)) == NULL)
        return NULL;
    q->r = tmp;
    w = (char *)(q + 1);
    for (size_t i = 0; i < STR_FIELDS; i++) {
        if (len[i] == 0)
            continue;
        memcpy(w, *field(&tmp, i), len[i]);
        *field(&q->r, i) = w;
        w += len[i];
    }
    return q;
}

static void qrec_free(struct qrec *q)
{
    core_audit_build_clear(&q->b);
    free(q);
}

cf_status core_committer_enqueue(struct core_committer *K, core_ticket *t, const audit_record *r)
{
    struct qrec *q = qrec_copy(r);
    if (q == NULL) {
        CF_LOGE("audit: no memory to queue the record of %s: refused", r->operation);
        return CF_ERR_AUDIT;
    }
    q->t = t;
    pthread_mutex_lock(&K->mu);
    if (t != NULL)
        t->pending++;
    *K->qtail = q;
    K->qtail = &q->next;
    pthread_cond_signal(&K->cv);
    pthread_mutex_unlock(&K->mu);
    return CF_OK;
}

void core_ticket_need(core_ticket *t, uint64_t commit)
{
    struct core_committer *K;
    if (t == NULL)
        return;
    K = t->w->K; /* the writer raises need too (a record's batch) */
    pthread_mutex_lock(&K->mu);
    if (commit > t->need)
        t->need = commit;
    pthread_mutex_unlock(&K->mu);
}

/* ------------------------------------------------------- the thread */

static void mirror_all(void *arg)
{
    for (struct qrec *q = arg; q != NULL; q = q->next)
        core_audit_mirror_then(&q->b);
}

/* Every record of the batch in one transaction; false: none written. */
static bool write_batch(struct core_committer *K, struct qrec *batch)
{
    cf_status st = store_begin(K->st);

    for (struct qrec *q = batch; q != NULL && st == CF_OK; q = q->next) {
        q->b = (struct core_audit_build){.A = K->A, .r = &q->r, .chain = q->r.chain};
        st = core_audit_append_txn(K->st, &q->b);
    }
    if (st == CF_OK)
        st = store_commit_then(K->st, mirror_all, batch);
    if (st != CF_OK) {
        store_rollback(K->st);
        CF_LOGE("audit: a batch of records could not be written (%s): their operations are "
                "refused", cf_status_str(st));
        return false;
    }
    for (struct qrec *q = batch; q != NULL; q = q->next)
        if (q->b.mirror_rc != CF_OK)
            return false;
    return true;
}

/* Under K->mu. A ticket with a record still queued is never settled: the
 * committer will touch it when it writes that record. */
static bool settled(const struct core_committer *K, core_ticket *t)
{
    if (t->pending > 0)
        return false;
    if (t->failed || K->broken) {
        t->st = CF_ERR_AUDIT;
        return true;
    }
    t->st = CF_OK;
    return !K->sync || t->need <= K->synced;
}

/* Under K->mu: move settled tickets to their waiters and wake them. */
static void settle(struct core_committer *K)
{
    core_ticket **pp = &K->waiting, *t;
    K->want = 0;
    while ((t = *pp) != NULL) {
        if (!settled(K, t)) {
            if (t->need > K->want)
                K->want = t->need;
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        t->next = NULL;
        *t->w->done_tail = t;
        t->w->done_tail = &t->next;
        pthread_cond_broadcast(&t->w->cv);
        if (t->w->wake != NULL)
            t->w->wake(t->w->arg);
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait on cv until `until_ms` (monotonic) at the latest. */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(cv, mu, &until);
}

/* The writer: every queued record in one transaction, then the tickets
 * learn the batch's commit number; the syncer makes it durable while the
 * writer already writes the next batch (two phases, as a database's WAL
 * writer and flusher: a round costs max(write, fsync), not their sum). */
static void *committer_main(void *arg)
{
    struct core_committer *K = arg;
    int64_t ckpt_at = mono_ms();

    pthread_mutex_lock(&K->mu);
    for (;;) {
        struct qrec *batch;
        uint64_t commit;
        bool ok = true;

        while (K->q == NULL && !K->stop) {
            wait_until(&K->cv, &K->mu, 200);
            if (K->q == NULL && mono_ms() - ckpt_at >= CHECKPOINT_MS)
                break;
        }
        if (K->stop && K->q == NULL)
            break;
        batch = K->q;
        K->q = NULL;
        K->qtail = &K->q;
        pthread_mutex_unlock(&K->mu);

        if (batch != NULL)
            ok = write_batch(K, batch);
        commit = store_last_commit(K->st);
        /* Copy the WAL into the database now and then (workers never do:
         * store_set_deferred_sync), off the workers' threads. */
        if (mono_ms() - ckpt_at >= CHECKPOINT_MS) {
            (void)store_checkpoint(K->st);
            ckpt_at = mono_ms();
        }

        pthread_mutex_lock(&K->mu);
        while (batch != NULL) {
            struct qrec *q = batch;
            batch = q->next;
            if (q->t != NULL) {
                q->t->pending--;
                if (!ok)
                    q->t->failed = true;
                else if (commit > q->t->need)
                    q->t->need = commit;
                if (q->t->need > K->want)
                    K->want = q->t->need;
            }
            qrec_free(q);
        }
        settle(K);
        pthread_cond_signal(&K->scv);
    }
    K->writer_done = true;
    pthread_cond_signal(&K->scv);
    pthread_mutex_unlock(&K->mu);
    return NULL;
}

/* The syncer: whenever a ticket waits for a commit not yet durable, one
 * fdatasync of the WAL (and of the mirror file) for every commit so far. */
static void *syncer_main(void *arg)
{
    struct core_committer *K = arg;

    pthread_mutex_lock(&K->mu);
    for (;;) {
        uint64_t synced = 0;
        bool failed = false;

        while (!(K->want > K->synced && !K->broken) && !K->writer_done)
            pthread_cond_wait(&K->scv, &K->mu);
        if (!(K->want > K->synced && !K->broken) && K->writer_done)
            break;
        pthread_mutex_unlock(&K->mu);
        if (store_sync(K->st, &synced) != CF_OK ||
            (K->A->fd >= 0 && fdatasync(K->A->fd) != 0))
            failed = true;
        pthread_mutex_lock(&K->mu);
        if (failed && !K->broken) {
            K->broken = true;
            CF_LOGE("audit: the store could not be made durable (fsync failed): every "
                    "operation is refused until Coffre is restarted");
        } else if (!failed && synced > K->synced) {
            K->synced = synced;
        }
        settle(K);
    }
    pthread_mutex_unlock(&K->mu);
    return NULL;
}

cf_status core_audit_committer_start(core_audit *A, store *own)
{
    struct core_committer *K;
    uint64_t synced;
    cf_status st;

    if (A == NULL || A->K != NULL) {
        store_close(own);
        return CF_ERR_INTERNAL;
    }
    if ((K = calloc(1, sizeof *K)) == NULL) {
        store_close(own);
        return CF_ERR_NOMEM;
    }
    K->A = A;
    K->st = own;
    K->sync = A->o.sync == CORE_AUDIT_SYNC_FULL;
    K->qtail = &K->q;
    pthread_mutex_init(&K->mu, NULL);
    pthread_cond_init(&K->cv, NULL);
    pthread_cond_init(&K->scv, NULL);
    /* The first store_sync opens the WAL's descriptor here, before the
     * syncer thread shares the connection with the writer (it then only
     * calls fdatasync on that descriptor). */
    if ((st = store_set_deferred_sync(own, true)) != CF_OK ||
        (st = store_sync(own, &synced)) != CF_OK)
        goto fail;
    K->synced = synced;
    if (pthread_create(&K->th, NULL, committer_main, K) != 0) {
        st = CF_ERR_INTERNAL;
        goto fail;
    }
    if (pthread_create(&K->sth, NULL, syncer_main, K) != 0) {
        pthread_mutex_lock(&K->mu);
        K->stop = true;
        pthread_cond_signal(&K->cv);
        pthread_mutex_unlock(&K->mu);
        pthread_join(K->th, NULL);
        st = CF_ERR_INTERNAL;
        goto fail;
    }
    A->K = K;
    CF_LOGI("audit: group commit on (%s)", K->sync ? "answers wait for fsync" : "no fsync wait");
    return CF_OK;
fail:
    pthread_cond_destroy(&K->scv);
    pthread_cond_destroy(&K->cv);
    pthread_mutex_destroy(&K->mu);
    store_close(own);
    free(K);
    return st;
}

void core_audit_committer_stop(core_audit *A)
{
    struct core_committer *K = A ? A->K : NULL;
    if (K == NULL)
        return;
    pthread_mutex_lock(&K->mu);
    K->stop = true;
    pthread_cond_signal(&K->cv);
    pthread_mutex_unlock(&K->mu);
    pthread_join(K->th, NULL);  /* writes what is queued, then ends the syncer */
    pthread_join(K->sth, NULL); /* which syncs what is awaited first */
    (void)store_checkpoint(K->st);
    store_close(K->st);
    pthread_cond_destroy(&K->scv);
    pthread_cond_destroy(&K->cv);
    pthread_mutex_destroy(&K->mu);
    free(K);
    A->K = NULL;
}

/* ----------------------------------------------------------- waiters */

cf_status core_waiter_new(core_audit *A, void (*wake)(void *arg), void *arg, core_waiter **out)
{
    core_waiter *w;
    *out = NULL;
    if (A == NULL || A->K == NULL)
        return CF_OK;
    if ((w = calloc(1, sizeof *w)) == NULL)
        return CF_ERR_NOMEM;
    w->K = A->K;
    w->wake = wake;
    w->arg = arg;
    w->done_tail = &w->done;
    pthread_cond_init(&w->cv, NULL);
    *out = w;
    return CF_OK;
}

/* Run the callbacks of the settled tickets of w; how many ran. */
static unsigned run_settled(core_waiter *w)
{
    struct core_committer *K = w->K;
    core_ticket *list, *t;
    unsigned n = 0;

    pthread_mutex_lock(&K->mu);
    list = w->done;
    w->done = NULL;
    w->done_tail = &w->done;
    pthread_mutex_unlock(&K->mu);
    while ((t = list) != NULL) {
        list = t->next;
        if (t->fn != NULL)
            t->fn(t->arg, t->st);
        free(t);
        n++;
    }
    if (n > 0) {
        pthread_mutex_lock(&K->mu);
        w->outstanding -= n;
        pthread_mutex_unlock(&K->mu);
    }
    return n;
}

void core_waiter_run(core_waiter *w)
{
    if (w != NULL)
        (void)run_settled(w);
}

void core_waiter_drain(core_waiter *w)
{
    struct core_committer *K;
    if (w == NULL)
        return;
    K = w->K;
    pthread_mutex_lock(&K->mu);
    while (w->outstanding > 0) {
        while (w->done == NULL)
            pthread_cond_wait(&w->cv, &K->mu);
        pthread_mutex_unlock(&K->mu);
        (void)run_settled(w);
        pthread_mutex_lock(&K->mu);
    }
    pthread_mutex_unlock(&K->mu);
}

void core_waiter_free(core_waiter *w)
{
    if (w == NULL)
        return;
    core_waiter_drain(w);
    pthread_cond_destroy(&w->cv);
    free(w);
}

/* ----------------------------------------------------------- tickets */

core_ticket *core_ticket_new(core_waiter *w)
{
    core_ticket *t;
    if (w == NULL || (t = calloc(1, sizeof *t)) == NULL)
        return NULL;
    t->w = w;
    return t;
}

bool core_ticket_submit(core_ticket *t, core_ticket_fn fn, void *arg, cf_status *now)
{
    struct core_committer *K;

    *now = CF_OK;
    if (t == NULL)
        return true;
    K = t->w->K;
    pthread_mutex_lock(&K->mu);
    if (settled(K, t)) {
        *now = t->st;
        pthread_mutex_unlock(&K->mu);
        free(t);
        return true;
    }
    t->fn = fn;
    t->arg = arg;
    t->next = K->waiting;
    K->waiting = t;
    t->w->outstanding++;
    if (t->need > K->want) {
        K->want = t->need;
        pthread_cond_signal(&K->scv);
    }
    pthread_mutex_unlock(&K->mu);
    return false;
}
