/*
 * Concurrency Kit (Debian libck-dev), as the runtime includes it: every ck header comes in
 * through this one, so the whole runtime sees ck built the same way.
 *
 * ThreadSanitizer. ck's atomics are inline assembly, which TSan cannot see: a handoff through a
 * ck ring would look like two threads touching the same actor with no order between them, and a
 * race hidden behind ck would go unseen. Under TSan (DYN_TSAN) the ck headers are therefore
 * built on the compiler's builtins (CK_USE_CC_BUILTINS, which ck_pr.h honours), and the
 * primitives that stay plain accesses there (loads and stores through volatile, the emulated
 * fetch-and-store) are mapped on __atomic builtins TSan models: a ck load becomes an acquire
 * load, a store a release store, a fetch-and-store an acq_rel exchange. ck pairs a relaxed
 * access with an explicit fence everywhere it needs an order (ck_ring: store fence, then the
 * producer's tail store; load of the tail, then a load fence); TSan ignores fences, and the
 * acquire/release accesses are how it sees the same edges. Everything else in the headers
 * (CAS, fetch-and-add) is already a __sync builtin there.
 *
 * What stays invisible is compiled into libck itself (ck_epoch_poll...): epoch.c annotates the
 * edges those functions create with ACT_TSAN_ACQUIRE/RELEASE. tests/actor/tsan_plant.c shows
 * TSan still reports races planted across these structures.
 */
#ifndef ACT_CK_INT_H
#define ACT_CK_INT_H

#if defined(CK_PR_H)
#error "include ck headers through ck_int.h only"
#endif

#if defined(DYN_TSAN)
#define CK_USE_CC_BUILTINS 1
#endif
#include <ck_pr.h>

#if defined(DYN_TSAN)
#include <sanitizer/tsan_interface.h>

#define ACT__CK_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ACT__CK_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define ACT__CK_FAS(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)

#undef ck_pr_load_ptr
#undef ck_pr_load_char
#undef ck_pr_load_uint
#undef ck_pr_load_int
#undef ck_pr_load_64
#undef ck_pr_load_32
#undef ck_pr_load_16
#undef ck_pr_load_8
#define ck_pr_load_ptr(p) ACT__CK_LOAD(p)
#define ck_pr_load_char(p) ACT__CK_LOAD(p)
#define ck_pr_load_uint(p) ACT__CK_LOAD(p)
#define ck_pr_load_int(p) ACT__CK_LOAD(p)
#define ck_pr_load_64(p) ACT__CK_LOAD(p)
#define ck_pr_load_32(p) ACT__CK_LOAD(p)
#define ck_pr_load_16(p) ACT__CK_LOAD(p)
#define ck_pr_load_8(p) ACT__CK_LOAD(p)

#undef ck_pr_store_ptr
#undef ck_pr_store_ptr_unsafe
#undef ck_pr_store_char
#undef ck_pr_store_uint
#undef ck_pr_store_int
#undef ck_pr_store_64
#undef ck_pr_store_32
#undef ck_pr_store_16
#undef ck_pr_store_8
#define ck_pr_store_ptr(p, v) ACT__CK_STORE((p), (v))
#define ck_pr_store_ptr_unsafe(p, v) ACT__CK_STORE((void **)(p), (void *)(v))
#define ck_pr_store_char(p, v) ACT__CK_STORE((p), (v))
#define ck_pr_store_uint(p, v) ACT__CK_STORE((p), (v))
#define ck_pr_store_int(p, v) ACT__CK_STORE((p), (v))
#define ck_pr_store_64(p, v) ACT__CK_STORE((p), (v))
#define ck_pr_store_32(p, v) ACT__CK_STORE((p), (v))
#define ck_pr_store_16(p, v) ACT__CK_STORE((p), (v))
#define ck_pr_store_8(p, v) ACT__CK_STORE((p), (v))

/* The builtins port emulates these with a plain load and a CAS loop: map them whole. */
#define ck_pr_fas_ptr(p, v) ACT__CK_FAS((void **)(p), (void *)(v))
#define ck_pr_fas_uint(p, v) ACT__CK_FAS((p), (v))
#define ck_pr_fas_int(p, v) ACT__CK_FAS((p), (v))
#define ck_pr_fas_32(p, v) ACT__CK_FAS((p), (v))
#define ck_pr_fas_64(p, v) ACT__CK_FAS((p), (v))

/* Happens-before edges TSan cannot see (see above). */
#define ACT_TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#define ACT_TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#else
#define ACT_TSAN_ACQUIRE(addr) ((void)(addr))
#define ACT_TSAN_RELEASE(addr) ((void)(addr))
#endif

#include <ck_epoch.h>
#include <ck_spinlock.h>
#include <ck_stack.h>

#if defined(DYN_TSAN)
/* A multi-consumer ck_ring dequeue copies the slot at the consumer head before its CAS claims
 * it; when another consumer claimed it first and the producer has already reused the slot, the
 * CAS fails and the copy is thrown away. That speculative copy races with the producer's write
 * by design (a seqlock's read), so under TSan a pointer-sized slot copy is a pair of relaxed
 * atomic accesses: no order added, none of the ring's real edges hidden. */
#include <string.h>
static inline void *act__ck_slot_copy(void *dst, const void *src, size_t n)
{
    if (n != sizeof(void *))
        return memcpy(dst, src, n);
    __atomic_store_n((void **)dst, __atomic_load_n((void *const *)src, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
    return dst;
}
#define memcpy(dst, src, n) act__ck_slot_copy((dst), (src), (n))
#include <ck_ring.h>
#undef memcpy
#else
#include <ck_ring.h>
#endif

#endif
