/*
 * Epoch-based reclamation on ck_epoch (Fraser; Hart et al., "Performance of memory reclamation
 * for lockless synchronization", 2007): how a dead actor is freed while senders may still hold
 * its pointer.
 *
 * A thread reads shared pointers (the pid table, the registry) only inside a section:
 * act__epoch_enter() makes its ck record active at the global epoch, act__epoch_exit() clears
 * it. Memory unlinked from shared structures is retired (ck_epoch_call) in the epoch of the
 * moment and freed by a later act__epoch_poll() once every section that could have seen it has
 * closed. No lock anywhere; a send pays nothing for it when its scheduler already holds a
 * section (it holds one across a whole batch of actor turns). Sections nest: only the outermost
 * pair touches the shared record.
 *
 * The rule for retiring: the removal must be visible to every thread before the epoch is read,
 * i.e. a sequentially consistent store (or RMW) unlinks the object, as act__die's clearing of
 * the slot does. ck_epoch_poll of ck 0.7.1 frees an entry as soon as every active record has
 * seen the epoch after the one it was retired in; with the removal ordered before that read, no
 * section that still sees the object can be at that epoch. On weakly ordered CPUs act__epoch
 * adds the two fences ck added after 0.7.1 (a full fence before the epoch read of a retire,
 * a load fence after the one of an enter); on x86-64 (TSO) both are free.
 *
 * Who frees: only schedulers poll. A thread without a scheduler (main, a test) retires into a
 * shared lock-free stack (ck_stack) that the next polling scheduler adopts into its own record;
 * the adopter reads the epoch after taking the entries, which only delays them. A record given
 * back (a thread exits) hands what it still holds to the same stack: ck_epoch_unregister would
 * drop it.
 *
 * Cost against the hand-written epochs this replaced (tests/bench/struct_bench, 11-15 runs
 * interleaved with the old code's, three sessions on a shared 2-vCPU VM): retiring and
 * reclaiming an object while another thread enters and leaves sections, equal within the noise
 * (median ratio new/old 0.97 to 1.08, e.g. 65 ns vs 64); entering and leaving a section, 15 ns
 * vs 10 (ck_epoch_end re-reads the record's counter just after ck_epoch_begin's exchange wrote
 * it). A scheduler opens one section per 64 actor turns, so only calls from foreign threads
 * (a send from main) pay those 5 ns.
 *
 * ThreadSanitizer: ck_epoch_poll is compiled into libck, out of TSan's sight, so the edge it
 * stands for ("every section that could see this entry ended before its callback runs") is
 * annotated: the end of a section releases act__epoch_sync, and every callback starts by
 * acquiring it (ck_int.h explains the rest).
 */
#ifndef ACT_EPOCH_INT_H
#define ACT_EPOCH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "actor/types.h"
#include "ck_int.h"

/* What a retired object embeds. Under TSan it also keeps the callback, which ck then reaches
 * through a trampoline that acquires act__epoch_sync first (see above); elsewhere it is ck's
 * entry as is, and ck calls the callback directly. */
#if defined(DYN_TSAN)
typedef struct act__epoch_entry act__epoch_entry_t;
typedef void (*act__epoch_fn)(act__epoch_entry_t *entry);
struct act__epoch_entry {
    ck_epoch_entry_t ck;
    act__epoch_fn fn;
};
#else
typedef ck_epoch_entry_t act__epoch_entry_t;
typedef void (*act__epoch_fn)(act__epoch_entry_t *entry);
#endif

typedef struct act__epoch_rec {
    ck_epoch_record_t ck; /* cache-line aligned by ck */
    unsigned depth;       /* section nesting (owner only) */
} act__epoch_rec_t;

/* Global state; act__epoch_init once per system start, act__epoch_deinit after every thread
 * that used it is gone (runs every retired callback and frees the records). */
void act__epoch_init(void);
void act__epoch_deinit(void);

/* A record for the calling thread (recycled from exited threads when possible). */
act__epoch_rec_t *act__epoch_register(void);
/* Gives the record back; what it retired moves to the shared stack for others to free. Call
 * outside any section. */
void act__epoch_unregister(act__epoch_rec_t *rec);

static inline void act__epoch_enter(act__epoch_rec_t *rec);
static inline void act__epoch_exit(act__epoch_rec_t *rec);

/* Retires entry: fn(entry) runs after a grace period, on some scheduler thread (or at deinit).
 * rec: the calling thread's record if it polls (a scheduler), else NULL. The removal must
 * already be visible (see above). */
void act__epoch_retire(act__epoch_rec_t *rec, act__epoch_entry_t *entry, act__epoch_fn fn);

/* Frees what rec retired long enough ago (and adopts the shared stack), advancing the epoch if
 * it can. Call outside any section. Returns how many entries stay pending. */
uint64_t act__epoch_poll(act__epoch_rec_t *rec);

/* Internal: TSan's stand-in for the grace period (see above). */
extern char act__epoch_sync;

static inline void act__epoch_enter(act__epoch_rec_t *rec)
{
    if (rec->depth++ > 0)
        return;
    /* On x86-64 ck publishes the record with an exchange (a full barrier) before it reads the
     * global epoch, so no load of the section passes the publication. */
    ck_epoch_begin(&rec->ck, NULL);
    /* The section's loads come after its epoch read (ck's fix after 0.7.1): a load fence,
     * which compiles to nothing on x86-64. */
    ck_pr_fence_load();
}

static inline void act__epoch_exit(act__epoch_rec_t *rec)
{
    if (--rec->depth > 0)
        return;
    ACT_TSAN_RELEASE(&act__epoch_sync);
    /* ck_epoch_end fences (release) before it clears the record: every load of the section
     * happens before a reclaimer that sees the record idle. */
    ck_epoch_end(&rec->ck, NULL);
}

#endif
