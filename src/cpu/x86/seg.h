/* Segmentation, privilege and control transfers of system mode (seg.c),
 * and interrupt and exception delivery (intr.c).
 *
 * Private to src/cpu/x86. Descriptors are read from the GDT or LDT with
 * implicit supervisor accesses (mmu.h); a load checks what the SDM's
 * pseudo-code for the instruction checks and raises #GP/#SS/#NP/#TS with
 * the selector error code. Every transfer reads and checks all it needs
 * and writes the stack before it changes a register, so a fault leaves the
 * CPU as it was.
 */
#ifndef XUNI_CPU_X86_SEG_H
#define XUNI_CPU_X86_SEG_H

#include "cpu/x86/insn.h"

/* The 8-byte descriptor for selector sel from the GDT or LDT; raises
 * #GP(sel) (or the given vector) when sel is past the table's limit. */
uint64_t x86_desc_read(struct x86_cpu *cpu, uint16_t sel, unsigned vector);
/* Decode a code or data descriptor into the hidden part of a register. */
struct x86_segment x86_desc_segment(uint64_t raw, uint16_t sel);
/* Load a segment register's hidden part and selector (no checks), with the
 * effective base the current mode gives it. */
void x86_seg_commit(struct x86_cpu *cpu, unsigned sreg, const struct x86_segment *s);
/* CS and CPL together (mode update included). */
void x86_set_cs(struct x86_cpu *cpu, const struct x86_segment *cs, unsigned cpl);

/* MOV Sreg / POP Sreg / LxS in system mode. */
void x86_seg_load_sys(struct x86_cpu *cpu, unsigned sreg, uint16_t sel);

/* Far JMP, CALL and RET. osz is the operand size (1, 2, 3) of the offset
 * and of the stack slots. */
void x86_far_jump(struct x86_cpu *cpu, uint16_t sel, uint64_t offset, unsigned osz);
void x86_far_call(struct x86_cpu *cpu, uint16_t sel, uint64_t offset, unsigned osz);
void x86_far_return(struct x86_cpu *cpu, unsigned osz, uint16_t release);

/* IRET with operand size osz. */
void x86_iret(struct x86_cpu *cpu, unsigned osz);

/* Deliver the exception in cpu->exc (x86_run's exception path); handles
 * contributory faults becoming #DF. Returns false on a triple fault. */
bool x86_deliver_exception(struct x86_cpu *cpu);
/* Deliver an NMI or an external interrupt vector (between instructions). */
void x86_deliver_event(struct x86_cpu *cpu, unsigned vector);
/* Deliver a trap the last instruction caused (the single-step #DB). */
void x86_deliver_trap(struct x86_cpu *cpu, unsigned vector);

#define X86_DR6_BS (1u << 14)

/* Raise a software interrupt (INT n, INT3, INTO): a trap whose gate DPL
 * is checked against CPL. */
_Noreturn void x86_raise_soft(struct x86_cpu *cpu, unsigned vector);

/* MOV to CR0/CR2/CR3/CR4/CR8 and LMSW, with their checks (system.c). */
void x86_write_cr(struct x86_cpu *cpu, unsigned n, uint64_t value);
/* SYSCALL's system-mode entry (system.c). */
void x86_syscall_enter(struct x86_cpu *cpu);
/* The I/O permission check of IN, OUT, INS, OUTS (system.c). */
void x86_io_check(struct x86_cpu *cpu, unsigned port, unsigned size);

/* RFLAGS bits beyond cpu.h's. */
#define X86_FLAG_IOPL (3u << 12)
#define X86_FLAG_NT   (1u << 14)
#define X86_FLAG_RF   (1u << 16)
#define X86_FLAG_VM   (1u << 17)
#define X86_FLAG_VIF  (1u << 19)
#define X86_FLAG_VIP  (1u << 20)

#endif
