#include "accel/accel.h"

#include "util/log.h"

static void dump_seg(const char *name, const struct boot_segment *s)
{
    log_error("  %-3s %04x base %016llx limit %08x type %x s%u dpl%u p%u db%u l%u g%u", name,
              s->selector, (unsigned long long)s->base, s->limit, s->type, s->s, s->dpl, s->present,
              s->db, s->l, s->g);
}

void accel_dump_regs(const struct accel_regs *r)
{
    log_error("  rip %016llx rflags %016llx", (unsigned long long)r->rip,
              (unsigned long long)r->rflags);
    log_error("  rax %016llx rbx %016llx rcx %016llx rdx %016llx", (unsigned long long)r->rax,
              (unsigned long long)r->rbx, (unsigned long long)r->rcx, (unsigned long long)r->rdx);
    log_error("  rsi %016llx rdi %016llx rbp %016llx rsp %016llx", (unsigned long long)r->rsi,
              (unsigned long long)r->rdi, (unsigned long long)r->rbp, (unsigned long long)r->rsp);
    log_error("  r8  %016llx r9  %016llx r10 %016llx r11 %016llx", (unsigned long long)r->r8,
              (unsigned long long)r->r9, (unsigned long long)r->r10, (unsigned long long)r->r11);
    log_error("  r12 %016llx r13 %016llx r14 %016llx r15 %016llx", (unsigned long long)r->r12,
              (unsigned long long)r->r13, (unsigned long long)r->r14, (unsigned long long)r->r15);
    log_error("  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx", (unsigned long long)r->cr0,
              (unsigned long long)r->cr2, (unsigned long long)r->cr3, (unsigned long long)r->cr4);
    log_error("  cr8 %016llx efer %016llx", (unsigned long long)r->cr8,
              (unsigned long long)r->efer);
    log_error("  gdt %016llx/%04x idt %016llx/%04x", (unsigned long long)r->gdt_base, r->gdt_limit,
              (unsigned long long)r->idt_base, r->idt_limit);
    dump_seg("cs", &r->cs);
    dump_seg("ds", &r->ds);
    dump_seg("es", &r->es);
    dump_seg("fs", &r->fs);
    dump_seg("gs", &r->gs);
    dump_seg("ss", &r->ss);
    dump_seg("tr", &r->tr);
    dump_seg("ldt", &r->ldt);
}
