/*
 * Epoch-based reclamation on ck_epoch: see epoch_int.h for the scheme.
 *
 * Polling: ck_epoch_poll runs the callbacks whose grace period has passed as it walks them, one
 * pass over the retired objects (ck_epoch_poll_deferred, which hands them back in a stack to
 * walk again, costs a second cache miss per object: with it skynet on two schedulers used 10%
 * more CPU and spawn_idle's shutdown took a quarter longer). We poll outside any section, so a
 * callback may send (a dead actor's drains its mailbox). Only a record with something pending
 * polls: ck scans every record to advance the epoch.
 */
#include "epoch_int.h"

#include <stddef.h>

#include "actor/mem.h"

char act__epoch_sync;

static ck_epoch_t global;
static ck_stack_t orphans; /* retired by threads that do not poll, and by exited records */

void act__epoch_init(void)
{
    ck_epoch_init(&global);
    ck_stack_init(&orphans);
}

static act__epoch_rec_t *rec_of(ck_epoch_record_t *r)
{
    return ACT_CONTAINER_OF(r, act__epoch_rec_t, ck);
}

#if defined(DYN_TSAN)
static void tsan_trampoline(ck_epoch_entry_t *c)
{
    act__epoch_entry_t *e = ACT_CONTAINER_OF(c, act__epoch_entry_t, ck);
    ACT_TSAN_ACQUIRE(&act__epoch_sync);
    e->fn(e);
}

static ck_epoch_entry_t *ck_of(act__epoch_entry_t *e)
{
    return &e->ck;
}

/* The callback ck is given for e. */
static ck_epoch_cb_t *cb_of(act__epoch_entry_t *e, act__epoch_fn fn)
{
    e->fn = fn;
    return tsan_trampoline;
}
#else
static ck_epoch_entry_t *ck_of(act__epoch_entry_t *e)
{
    return e;
}

static ck_epoch_cb_t *cb_of(act__epoch_entry_t *e, act__epoch_fn fn)
{
    (void)e;
    return fn;
}
#endif

static ck_epoch_entry_t *entry_of(ck_stack_entry_t *s)
{
    return ACT_CONTAINER_OF(s, ck_epoch_entry_t, stack_entry);
}

/* Runs the callbacks of a stack of entries (deinit: no section is open anywhere). */
static void run_stack(ck_stack_entry_t *s)
{
    while (s) {
        ck_stack_entry_t *next = CK_STACK_NEXT(s);
        ck_epoch_entry_t *c = entry_of(s);
        c->function(c);
        s = next;
    }
}

void act__epoch_deinit(void)
{
    /* Every thread is gone: everything retired is unreachable. Callbacks may retire more (a
     * dead actor's late messages), so run until nothing is left anywhere. */
    for (;;) {
        bool any = false;
        ck_stack_entry_t *o = ck_stack_batch_pop_upmc(&orphans);
        if (o) {
            any = true;
            run_stack(o);
        }
        ck_stack_entry_t *c;
        CK_STACK_FOREACH(&global.records, c)
        {
            ck_epoch_record_t *r = ACT_CONTAINER_OF(c, ck_epoch_record_t, record_next);
            if (r->n_pending) {
                any = true;
                ck_epoch_reclaim(r);
            }
        }
        if (!any)
            break;
    }
    ck_stack_entry_t *c = ck_stack_batch_pop_upmc(&global.records);
    while (c) {
        ck_stack_entry_t *next = CK_STACK_NEXT(c);
        act_free(rec_of(ACT_CONTAINER_OF(c, ck_epoch_record_t, record_next)));
        c = next;
    }
}

act__epoch_rec_t *act__epoch_register(void)
{
    ck_epoch_record_t *r = ck_epoch_recycle(&global, NULL);
    if (r) {
        /* The previous owner's unregister happens before (an exchange inside libck). */
        ACT_TSAN_ACQUIRE(r);
        act__epoch_rec_t *rec = rec_of(r);
        rec->depth = 0;
        return rec;
    }
    act__epoch_rec_t *rec = act_calloc_aligned(CK_MD_CACHELINE, sizeof *rec);
    if (!rec)
        act_fatal("out of memory for an epoch record");
    ck_epoch_register(&global, &rec->ck, NULL);
    return rec;
}

static void push_orphan(ck_epoch_entry_t *c)
{
    /* release (a CAS inside): the retirer's writes happen before the adopter's callback. */
    ck_stack_push_upmc(&orphans, &c->stack_entry);
}

void act__epoch_unregister(act__epoch_rec_t *rec)
{
    if (rec->ck.n_pending) {
        for (unsigned i = 0; i < CK_EPOCH_LENGTH; i++) {
            ck_stack_entry_t *s = ck_stack_batch_pop_upmc(&rec->ck.pending[i]);
            while (s) {
                ck_stack_entry_t *next = CK_STACK_NEXT(s);
                push_orphan(entry_of(s));
                s = next;
            }
        }
    }
    rec->depth = 0;
    ACT_TSAN_RELEASE(&rec->ck);
    ck_epoch_unregister(&rec->ck);
}

void act__epoch_retire(act__epoch_rec_t *rec, act__epoch_entry_t *entry, act__epoch_fn fn)
{
#if !defined(CK_MD_TSO)
    /* The removal before the epoch read (ck's fix after 0.7.1; skipped on x86-64, where the
     * unlinking store is already a locked instruction and the fence would cost an mfence). */
    ck_pr_fence_memory();
#endif
    ck_epoch_cb_t *cb = cb_of(entry, fn);
    if (rec == NULL) {
        ck_of(entry)->function = cb;
        push_orphan(ck_of(entry));
        return;
    }
    ck_epoch_call(&rec->ck, ck_of(entry), cb);
}

/* Moves the shared stack's entries into rec: filed under the epoch of now (read after the
 * exchange that took them, so after their removal), which only delays them. */
static void adopt_orphans(act__epoch_rec_t *rec)
{
    if (ck_pr_load_ptr(&orphans.head) == NULL)
        return;
    ck_stack_entry_t *s = ck_stack_batch_pop_upmc(&orphans);
    while (s) {
        ck_stack_entry_t *next = CK_STACK_NEXT(s);
        ck_epoch_entry_t *c = entry_of(s);
        ck_epoch_call(&rec->ck, c, c->function);
        s = next;
    }
}

uint64_t act__epoch_poll(act__epoch_rec_t *rec)
{
    adopt_orphans(rec);
    if (rec->ck.n_pending == 0)
        return 0;
    ck_epoch_poll(&rec->ck);
    return rec->ck.n_pending;
}
