/*
 * Fiber context switch for x86-64 System V (see fiber_arch_int.h for the contract).
 *
 * A suspended context is its stack pointer (act__fiber_t.sp, offset 0) and this 64-byte frame
 * on its own stack, lowest address first:
 *
 *     +0   MXCSR (4 bytes), x87 control word (2 bytes), padding
 *     +8   r15, r14, r13, r12, rbx, rbp
 *     +56  return address
 *
 * Only the callee-saved state is kept: the switch is an ordinary call for the compiler, which
 * has already saved whatever else it needs. The MXCSR control bits and the x87 control word
 * are callee-saved in the ABI, so each fiber keeps its own rounding mode and exception masks,
 * as Boost.Context does. As in Boost.Context, the switch resumes the other context with an
 * indirect jmp rather than a ret (see the end of act__fiber_arch_swap).
 *
 * act__fiber_arch_make() writes the same frame on a fresh stack with rbx = the fiber, r12 = the
 * C entry and a return address pointing into the trampoline, so the first swap "returns" into
 * it; the trampoline then calls entry(fiber) with rsp 16-byte aligned before the call, as the
 * ABI wants. It is the outermost frame: rbp is 0 for frame-pointer unwinders (ASan's) and its
 * CFI marks the return address undefined for gdb and libunwind.
 *
 * CET: with -fcf-protection the entry points start with endbr64, the switch resumes with a
 * (slower) ret, as IBT forbids jumping to a return address, and the object claims IBT in its
 * GNU property note, but never SHSTK: a switch returns on another stack than it was called
 * on, which a shadow stack forbids, so the linker keeps shadow stacks off for any binary that
 * contains this file.
 */

#if defined(__CET__) && (__CET__ & 1)
#define ENDBR endbr64
#else
#define ENDBR
#endif

	.text

/* void act__fiber_arch_swap(act__fiber_t *from (rdi), act__fiber_t *to (rsi)) */
	.globl	act__fiber_arch_swap
	.hidden	act__fiber_arch_swap
	.type	act__fiber_arch_swap, @function
	.p2align 4
act__fiber_arch_swap:
	.cfi_startproc
	ENDBR
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	pushq	%rbx
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbx, 0
	pushq	%r12
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r12, 0
	pushq	%r13
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r13, 0
	pushq	%r14
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r14, 0
	pushq	%r15
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %r15, 0
	subq	$8, %rsp
	.cfi_adjust_cfa_offset 8
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movl	(%rsp), %eax
	movzwl	4(%rsp), %ecx

	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	/* From here on rsp is `to`'s, whose frame has the same shape: the CFI above holds. */

	/* ldmxcsr and fldcw cost about a nanosecond together, and contexts nearly always run
	 * with the same modes: load them only when a control bit differs. The MXCSR status
	 * flags (bits 0-5) are caller-saved in the ABI, so they may carry over. */
	xorl	(%rsp), %eax
	andl	$0xffc0, %eax
	xorw	4(%rsp), %cx
	orw	%cx, %ax
	jz	1f
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
1:
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%r15
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r15
	popq	%r14
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r14
	popq	%r13
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r13
	popq	%r12
	.cfi_adjust_cfa_offset -8
	.cfi_restore %r12
	popq	%rbx
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rbx
	popq	%rbp
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rbp
#if defined(__CET__) && (__CET__ & 1)
	/* IBT: an indirect jmp must land on endbr64, which return addresses lack. */
	ret
#else
	/* A ret would always mispredict (the return-stack predictor expects the caller of this
	 * call, not the other context's), which cost 8 ns per switch where measured; an
	 * indirect jmp is predicted from its history, and resumption points repeat. */
	popq	%rcx
	.cfi_adjust_cfa_offset -8
	.cfi_register %rip, %rcx
	jmp	*%rcx
#endif
	.cfi_endproc
	.size	act__fiber_arch_swap, .-act__fiber_arch_swap

/* void act__fiber_arch_make(act__fiber_t *f (rdi), void *lo (rsi), void *top (rdx),
 *                           void (*start)(act__fiber_t *) (rcx)) */
	.globl	act__fiber_arch_make
	.hidden	act__fiber_arch_make
	.type	act__fiber_arch_make, @function
	.p2align 4
act__fiber_arch_make:
	.cfi_startproc
	ENDBR
	andq	$-16, %rdx
	leaq	-64(%rdx), %rax
	leaq	.Ltrampoline_entry(%rip), %r8
	movq	%r8, 56(%rax)		/* return address */
	movq	$0, 48(%rax)		/* rbp: ends frame-pointer chains */
	movq	%rdi, 40(%rax)		/* rbx: the fiber */
	movq	%rcx, 32(%rax)		/* r12: the C entry */
	movq	$0, 24(%rax)		/* r13 */
	movq	$0, 16(%rax)		/* r14 */
	movq	$0, 8(%rax)		/* r15 */
	/* A new fiber starts with its creator's floating-point modes. */
	movq	$0, (%rax)
	stmxcsr	(%rax)
	fnstcw	4(%rax)
	movq	%rax, (%rdi)
	ret
	.cfi_endproc
	.size	act__fiber_arch_make, .-act__fiber_arch_make

/* Entered at .Ltrampoline_entry by the first swap, with rsp = top (16-byte aligned), rbx = the
 * fiber, r12 = the entry. No endbr64: only IBT builds need one, and they arrive with a ret. The
 * nop matters: unwinders look up the instruction before a return address, which must still be
 * inside this function for its CFI (the outermost frame) to apply while the first swap runs. */
	.type	act__fiber_trampoline, @function
	.p2align 4
act__fiber_trampoline:
	.cfi_startproc
	.cfi_undefined %rip
	nop
.Ltrampoline_entry:
	movq	%rbx, %rdi
	call	*%r12
	/* The entry never returns (fiber.c stops the process first). */
	ud2
	.cfi_endproc
	.size	act__fiber_trampoline, .-act__fiber_trampoline

#if defined(__CET__) && (__CET__ & 1)
	/* NT_GNU_PROPERTY_TYPE_0 with GNU_PROPERTY_X86_FEATURE_1_AND = IBT (bit 0) only. */
	.section .note.gnu.property, "a"
	.p2align 3
	.long	4		/* name size */
	.long	16		/* descriptor size */
	.long	5		/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.long	0xc0000002	/* GNU_PROPERTY_X86_FEATURE_1_AND */
	.long	4		/* property data size */
	.long	1		/* GNU_PROPERTY_X86_FEATURE_1_IBT */
	.p2align 3
#endif

	.section .note.GNU-stack, "", %progbits
