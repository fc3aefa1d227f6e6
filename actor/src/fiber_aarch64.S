/*
 * Fiber context switch for AArch64 (AAPCS64; see fiber_arch_int.h for the contract).
 *
 * A suspended context is its stack pointer (act__fiber_t.sp, offset 0) and this 160-byte
 * frame on its own stack, lowest address first:
 *
 *     +0    x19 x20 x21 x22 x23 x24 x25 x26 x27 x28
 *     +80   x29 (frame pointer), x30 (where the swap returns to)
 *     +96   d8 .. d15
 *
 * Only the callee-saved registers are kept (the switch is an ordinary call for the compiler);
 * sp stays 16-byte aligned throughout, as the architecture checks. FPCR is left alone, as
 * Boost.Context does: AAPCS64 treats its modes as thread-wide state.
 *
 * act__fiber_arch_make() writes the same frame on a fresh stack with x19 = the fiber,
 * x20 = the C entry, x29 = 0 (ends frame-pointer chains) and x30 = the trampoline, so the first
 * swap "returns" into it; the trampoline calls entry(fiber) and is the outermost frame for
 * unwinders (its CFI marks x30 undefined).
 *
 * Branch protection: with BTI the entry points begin with a landing pad and the object says
 * so in its GNU property note; PAC needs nothing here since nothing signs or authenticates x30
 * in this file (the C callers sign their own frames on their own stacks).
 */

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define BTI_C hint 34 /* bti c */
#define PROP_BTI 1
#else
#define BTI_C
#define PROP_BTI 0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
#define PROP_PAC 2
#else
#define PROP_PAC 0
#endif

	.text

/* void act__fiber_arch_swap(act__fiber_t *from (x0), act__fiber_t *to (x1)) */
	.globl	act__fiber_arch_swap
	.hidden	act__fiber_arch_swap
	.type	act__fiber_arch_swap, %function
	.p2align 4
act__fiber_arch_swap:
	.cfi_startproc
	BTI_C
	sub	sp, sp, #160
	.cfi_adjust_cfa_offset 160
	stp	x19, x20, [sp, #0]
	stp	x21, x22, [sp, #16]
	stp	x23, x24, [sp, #32]
	stp	x25, x26, [sp, #48]
	stp	x27, x28, [sp, #64]
	stp	x29, x30, [sp, #80]
	.cfi_rel_offset x19, 0
	.cfi_rel_offset x20, 8
	.cfi_rel_offset x21, 16
	.cfi_rel_offset x22, 24
	.cfi_rel_offset x23, 32
	.cfi_rel_offset x24, 40
	.cfi_rel_offset x25, 48
	.cfi_rel_offset x26, 56
	.cfi_rel_offset x27, 64
	.cfi_rel_offset x28, 72
	.cfi_rel_offset x29, 80
	.cfi_rel_offset x30, 88
	stp	d8, d9, [sp, #96]
	stp	d10, d11, [sp, #112]
	stp	d12, d13, [sp, #128]
	stp	d14, d15, [sp, #144]

	mov	x9, sp
	str	x9, [x0]
	ldr	x9, [x1]
	mov	sp, x9
	/* From here on sp is `to`'s, whose frame has the same shape: the CFI above holds. */

	ldp	x19, x20, [sp, #0]
	ldp	x21, x22, [sp, #16]
	ldp	x23, x24, [sp, #32]
	ldp	x25, x26, [sp, #48]
	ldp	x27, x28, [sp, #64]
	ldp	x29, x30, [sp, #80]
	ldp	d8, d9, [sp, #96]
	ldp	d10, d11, [sp, #112]
	ldp	d12, d13, [sp, #128]
	ldp	d14, d15, [sp, #144]
	add	sp, sp, #160
	.cfi_adjust_cfa_offset -160
	.cfi_restore x19
	.cfi_restore x20
	.cfi_restore x21
	.cfi_restore x22
	.cfi_restore x23
	.cfi_restore x24
	.cfi_restore x25
	.cfi_restore x26
	.cfi_restore x27
	.cfi_restore x28
	.cfi_restore x29
	.cfi_restore x30
	ret
	.cfi_endproc
	.size	act__fiber_arch_swap, .-act__fiber_arch_swap

/* void act__fiber_arch_make(act__fiber_t *f (x0), void *lo (x1), void *top (x2),
 *                           void (*start)(act__fiber_t *) (x3)) */
	.globl	act__fiber_arch_make
	.hidden	act__fiber_arch_make
	.type	act__fiber_arch_make, %function
	.p2align 4
act__fiber_arch_make:
	.cfi_startproc
	BTI_C
	and	x2, x2, #~15
	sub	x2, x2, #160
	stp	x0, x3, [x2, #0]	/* x19 = the fiber, x20 = the C entry */
	stp	xzr, xzr, [x2, #16]
	stp	xzr, xzr, [x2, #32]
	stp	xzr, xzr, [x2, #48]
	stp	xzr, xzr, [x2, #64]
	adr	x9, .Ltrampoline_entry
	stp	xzr, x9, [x2, #80]	/* x29 = 0, x30 = the trampoline */
	stp	xzr, xzr, [x2, #96]
	stp	xzr, xzr, [x2, #112]
	stp	xzr, xzr, [x2, #128]
	stp	xzr, xzr, [x2, #144]
	str	x2, [x0]
	ret
	.cfi_endproc
	.size	act__fiber_arch_make, .-act__fiber_arch_make

/* Entered at .Ltrampoline_entry by the first swap's ret, with sp = top (16-byte aligned),
 * x19 = fiber, x20 = entry. A ret is not an indirect branch for BTI, so no landing pad. The
 * nop matters: unwinders look up the instruction before a return address, which must still be
 * inside this function for its CFI (the outermost frame) to apply while the first swap runs. */
	.type	act__fiber_trampoline, %function
	.p2align 4
act__fiber_trampoline:
	.cfi_startproc
	.cfi_undefined x30
	nop
.Ltrampoline_entry:
	mov	x0, x19
	blr	x20
	/* The entry never returns (fiber.c stops the process first). */
	brk	#1
	.cfi_endproc
	.size	act__fiber_trampoline, .-act__fiber_trampoline

#if PROP_BTI || PROP_PAC
	/* NT_GNU_PROPERTY_TYPE_0 with GNU_PROPERTY_AARCH64_FEATURE_1_AND. */
	.section .note.gnu.property, "a"
	.p2align 3
	.long	4		/* name size */
	.long	16		/* descriptor size */
	.long	5		/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000000	/* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
	.long	4		/* property data size */
	.long	PROP_BTI | PROP_PAC
	.p2align 3
#endif

	.section .note.GNU-stack, "", %progbits
