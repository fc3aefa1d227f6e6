/*
 * Epoch-based reclamation (Fraser; Hart et al., "Performance of memory reclamation for lockless
 * synchronization", 2007): how a dead actor is freed while senders may still hold its pointer.
 *
 * A thread reads shared pointers (the pid table) only inside a section: act__epoch_enter()
 * publishes the global epoch in the thread's record, act__epoch_exit() clears it. Memory
 * unlinked from shared structures is retired with the epoch of the moment; it is freed once
 * the global epoch has moved two steps past it, and the epoch only moves from e to e+1 when
 * every thread inside a section has seen e. So nothing retired is freed while a section that
 * could have seen it is still open. No lock anywhere; a send pays nothing for it when its
 * scheduler already holds a section (it holds one across a whole batch of actor turns).
 *
 * Written with C11 atomics (not ck_epoch's inline assembly) so ThreadSanitizer sees every
 * ordering. Entering publishes the epoch read, then reads the global epoch again and retries
 * if it moved: all sequentially consistent, so a reclaimer either sees the section or the
 * section sees the reclaimer's advance (and with it everything unlinked before).
 */
#ifndef ACT_EPOCH_INT_H
#define ACT_EPOCH_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "actor/types.h"

typedef struct act__epoch_entry act__epoch_entry_t;
typedef void (*act__epoch_fn)(act__epoch_entry_t *entry);
struct act__epoch_entry {
    act__epoch_entry_t *next;
    uint64_t epoch;
    act__epoch_fn fn;
};

typedef struct act__epoch_rec act__epoch_rec_t;
struct act__epoch_rec {
    _Alignas(64) _Atomic uint64_t active; /* 0, or (epoch << 1) | 1 inside a section */
    act__epoch_rec_t *next;               /* list of all records (append-only) */
    _Atomic bool in_use;                  /* claimed by a live thread */
    unsigned depth;                       /* section nesting (owner only) */
    act__epoch_entry_t *limbo_head;       /* retired, oldest first (owner only) */
    act__epoch_entry_t *limbo_tail;
    uint64_t pending;
};

/* Global state; act__epoch_init once per system start, act__epoch_deinit after every thread
 * that used it is gone (frees all retired memory and the records). */
void act__epoch_init(void);
void act__epoch_deinit(void);

/* A record for the calling thread (recycled from exited threads when possible). */
act__epoch_rec_t *act__epoch_register(void);
/* Gives the record back; what it retired moves to the orphan list for others to free. */
void act__epoch_unregister(act__epoch_rec_t *rec);

static inline void act__epoch_enter(act__epoch_rec_t *rec);
static inline void act__epoch_exit(act__epoch_rec_t *rec);

/* Retires entry: entry->fn(entry) runs after a grace period, on some scheduler thread (or at
 * deinit). rec may be NULL (a thread without a record): the entry joins the orphan list. */
void act__epoch_retire(act__epoch_rec_t *rec, act__epoch_entry_t *entry, act__epoch_fn fn);

/* Tries to advance the epoch and frees what rec retired long enough ago. Call outside any
 * section. Returns how many entries stay pending. */
uint64_t act__epoch_poll(act__epoch_rec_t *rec);

/* Internal: the global epoch counter. */
extern _Atomic uint64_t act__epoch_global;

static inline void act__epoch_enter(act__epoch_rec_t *rec)
{
    if (rec->depth++ > 0)
        return;
    uint64_t e = atomic_load_explicit(&act__epoch_global, memory_order_seq_cst);
    for (;;) {
        /* seq_cst exchange: the record must be visible before this thread loads any shared
         * pointer (a store->load order only a full barrier gives). */
        atomic_exchange_explicit(&rec->active, (e << 1) | 1, memory_order_seq_cst);
        /* If the epoch moved between our read and our publication, a reclaimer may have
         * advanced past us without seeing us: publish the new epoch instead. Once the re-read
         * agrees, any advance after it must see this record. */
        uint64_t again = atomic_load_explicit(&act__epoch_global, memory_order_seq_cst);
        if (ACT_LIKELY(again == e))
            return;
        e = again;
    }
}

static inline void act__epoch_exit(act__epoch_rec_t *rec)
{
    if (--rec->depth > 0)
        return;
    /* release: every load done in the section happens before a reclaimer that reads 0. */
    atomic_store_explicit(&rec->active, 0, memory_order_release);
}

#endif
