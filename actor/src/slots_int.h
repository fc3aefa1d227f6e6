/*
 * The pid table: slot index -> actor, with a generation per slot.
 *
 * Slots live in pages of 64K allocated on demand and never freed while the system runs, so a
 * lookup is two loads and no lock: page = pages[idx >> 16], actor = page[idx & 0xffff].actor,
 * then the actor's own pid must equal the pid asked for (a reused slot holds an actor with a
 * newer generation). Readers hold an epoch section, so the actor they found is not freed under
 * them even if it dies meanwhile.
 *
 * Free indices: a lock-free stack (Treiber, with a 32-bit tag against ABA) shared by all
 * threads, in front of which every thread keeps a small private cache, so spawn/exit storms on
 * one scheduler touch no shared cache line. Index 0 is never used (pid 0 means "none").
 *
 * Why not Concurrency Kit's ck_stack (push_mpmc/pop_mpmc): its links are pointers and its ABA
 * guard a 16-byte CAS, so every slot would grow from 16 to 24 bytes (8 more per actor, against
 * an idle actor's 177) for no speed. tests/bench/struct_bench `slots`, two threads allocating
 * and freeing through the shared stack, medians of 9 runs on a shared 2-vCPU VM: 46 ns per
 * operation here, 55 on ck_stack.
 */
#ifndef ACT_SLOTS_INT_H
#define ACT_SLOTS_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "actor/types.h"

typedef struct act__actor act__actor_t;

typedef struct act__slot {
    act__actor_t *_Atomic actor; /* live occupant, or NULL */
    _Atomic uint32_t gen;        /* generation of the latest occupant */
    _Atomic uint32_t next_free;  /* free-stack link */
} act__slot_t;

#define ACT__SLOT_PAGE_BITS 16
#define ACT__SLOT_PAGE_SIZE (1u << ACT__SLOT_PAGE_BITS)
#define ACT__SLOT_MAX_PAGES 4096 /* 268M slots at most */
#define ACT__SLOT_CACHE 2048

typedef struct act__slot_cache {
    uint32_t n;
    uint32_t idx[ACT__SLOT_CACHE];
} act__slot_cache_t;

extern act__slot_t *_Atomic act__slot_pages[ACT__SLOT_MAX_PAGES];

int act__slots_init(uint32_t max_slots);
void act__slots_deinit(void);

/* A free slot index; the slot's generation is bumped and returned in *pid (with the index).
 * cache may be NULL. Returns 0 or ACT_ETOOMANY / ACT_ENOMEM. */
int act__slot_alloc(act__slot_cache_t *cache, act_pid_t *pid);
/* Gives the index back (its actor pointer must already be NULL). */
void act__slot_free(act__slot_cache_t *cache, uint32_t idx);
/* Empties a cache into the shared stack (thread exit). */
void act__slot_cache_flush(act__slot_cache_t *cache);

static inline act__slot_t *act__slot_at(uint32_t idx)
{
    if (ACT_UNLIKELY((idx >> ACT__SLOT_PAGE_BITS) >= ACT__SLOT_MAX_PAGES))
        return NULL;
    /* acquire: pairs with the release that published the page's initialized slots. */
    act__slot_t *page =
        atomic_load_explicit(&act__slot_pages[idx >> ACT__SLOT_PAGE_BITS], memory_order_acquire);
    return page ? &page[idx & (ACT__SLOT_PAGE_SIZE - 1)] : NULL;
}

/* Every slot index ever handed out is below this (for scans at system stop). */
uint32_t act__slot_high_water(void);

#endif
