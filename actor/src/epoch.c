/*
 * Epoch-based reclamation: see epoch_int.h for the scheme.
 *
 * Advancing: the reclaimer loads every record's `active`; a record inside a section with an
 * older epoch blocks the advance. A section that began too late to be seen re-reads the global
 * epoch after publishing (act__epoch_enter), so it runs with the new epoch and sees what was
 * unlinked before the advance. Only a thread with something to free tries to advance, and only
 * when its oldest entry still needs it.
 *
 * Orphans: threads without a scheduler (main, tests) retire into a global lock-free stack; the
 * scheduler that polls next adopts them into its own limbo list, keeping their epochs.
 */
#include "epoch_int.h"

#include <stddef.h>

#include "actor/mem.h"

_Atomic uint64_t act__epoch_global = 1;

static act__epoch_rec_t *_Atomic records;   /* all records, newest first */
static act__epoch_entry_t *_Atomic orphans; /* retired by threads without a record */

void act__epoch_init(void)
{
    atomic_store_explicit(&act__epoch_global, 1, memory_order_relaxed);
    atomic_store_explicit(&records, NULL, memory_order_relaxed);
    atomic_store_explicit(&orphans, NULL, memory_order_relaxed);
}

static void run_list(act__epoch_entry_t *e)
{
    while (e != NULL) {
        act__epoch_entry_t *next = e->next;
        e->fn(e);
        e = next;
    }
}

void act__epoch_deinit(void)
{
    /* Every thread is gone: everything retired is unreachable. Callbacks may retire more
     * (a dead actor's late messages), so run until both lists stay empty. */
    for (;;) {
        bool any = false;
        act__epoch_entry_t *o = atomic_exchange_explicit(&orphans, NULL, memory_order_acquire);
        if (o) {
            any = true;
            run_list(o);
        }
        for (act__epoch_rec_t *r = atomic_load_explicit(&records, memory_order_acquire); r;
             r = r->next) {
            act__epoch_entry_t *l = r->limbo_head;
            if (l) {
                any = true;
                r->limbo_head = r->limbo_tail = NULL;
                r->pending = 0;
                run_list(l);
            }
        }
        if (!any)
            break;
    }
    act__epoch_rec_t *r = atomic_exchange_explicit(&records, NULL, memory_order_acquire);
    while (r) {
        act__epoch_rec_t *next = r->next;
        act_free(r);
        r = next;
    }
}

act__epoch_rec_t *act__epoch_register(void)
{
    for (act__epoch_rec_t *r = atomic_load_explicit(&records, memory_order_acquire); r;
         r = r->next) {
        bool expected = false;
        if (!atomic_load_explicit(&r->in_use, memory_order_relaxed) &&
            atomic_compare_exchange_strong_explicit(&r->in_use, &expected, true,
                                                    memory_order_acquire, memory_order_relaxed))
            return r;
    }
    act__epoch_rec_t *r = act_calloc_aligned(64, sizeof *r);
    if (!r)
        act_fatal("out of memory for an epoch record");
    atomic_init(&r->active, 0);
    atomic_init(&r->in_use, true);
    act__epoch_rec_t *head = atomic_load_explicit(&records, memory_order_relaxed);
    do
        r->next = head;
    while (!atomic_compare_exchange_weak_explicit(&records, &head, r, memory_order_release,
                                                  memory_order_relaxed));
    return r;
}

static void push_orphans(act__epoch_entry_t *first, act__epoch_entry_t *last)
{
    act__epoch_entry_t *head = atomic_load_explicit(&orphans, memory_order_relaxed);
    do
        last->next = head;
    while (!atomic_compare_exchange_weak_explicit(&orphans, &head, first, memory_order_release,
                                                  memory_order_relaxed));
}

void act__epoch_unregister(act__epoch_rec_t *rec)
{
    if (rec->limbo_head)
        push_orphans(rec->limbo_head, rec->limbo_tail);
    rec->limbo_head = rec->limbo_tail = NULL;
    rec->pending = 0;
    rec->depth = 0;
    atomic_store_explicit(&rec->active, 0, memory_order_release);
    atomic_store_explicit(&rec->in_use, false, memory_order_release);
}

void act__epoch_retire(act__epoch_rec_t *rec, act__epoch_entry_t *entry, act__epoch_fn fn)
{
    entry->fn = fn;
    entry->epoch = atomic_load_explicit(&act__epoch_global, memory_order_seq_cst);
    entry->next = NULL;
    if (rec == NULL) {
        push_orphans(entry, entry);
        return;
    }
    if (rec->limbo_tail)
        rec->limbo_tail->next = entry;
    else
        rec->limbo_head = entry;
    rec->limbo_tail = entry;
    rec->pending++;
}

/* Moves the orphans into rec's limbo list. Their epochs may be out of order relative to rec's
 * own entries; the free loop below stops at the first entry too young, which only delays. */
static void adopt_orphans(act__epoch_rec_t *rec)
{
    /* Only whole-list exchanges take from the stack, so pushes need no ABA protection. */
    if (atomic_load_explicit(&orphans, memory_order_relaxed) == NULL)
        return;
    act__epoch_entry_t *o = atomic_exchange_explicit(&orphans, NULL, memory_order_acquire);
    while (o) {
        act__epoch_entry_t *next = o->next;
        o->next = NULL;
        if (rec->limbo_tail)
            rec->limbo_tail->next = o;
        else
            rec->limbo_head = o;
        rec->limbo_tail = o;
        rec->pending++;
        o = next;
    }
}

static uint64_t try_advance(void)
{
    uint64_t e = atomic_load_explicit(&act__epoch_global, memory_order_seq_cst);
    for (act__epoch_rec_t *r = atomic_load_explicit(&records, memory_order_acquire); r;
         r = r->next) {
        uint64_t a = atomic_load_explicit(&r->active, memory_order_seq_cst);
        if ((a & 1) && (a >> 1) != e)
            return e;
    }
    if (atomic_compare_exchange_strong_explicit(&act__epoch_global, &e, e + 1, memory_order_seq_cst,
                                                memory_order_seq_cst))
        return e + 1;
    return e;
}

uint64_t act__epoch_poll(act__epoch_rec_t *rec)
{
    adopt_orphans(rec);
    if (rec->limbo_head == NULL)
        return 0;
    uint64_t e = atomic_load_explicit(&act__epoch_global, memory_order_seq_cst);
    if (rec->limbo_head->epoch + 2 > e)
        e = try_advance();
    /* Anything retired at epoch r is safe once the global epoch reaches r + 2. */
    while (rec->limbo_head && rec->limbo_head->epoch + 2 <= e) {
        act__epoch_entry_t *x = rec->limbo_head;
        rec->limbo_head = x->next;
        if (rec->limbo_head == NULL)
            rec->limbo_tail = NULL;
        rec->pending--;
        x->fn(x);
    }
    return rec->pending;
}
