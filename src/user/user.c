/* `xuni user`: set-up and the run loop.
 *
 * The loop runs the CPU until it needs us: a SYSCALL is dispatched
 * (syscall.c), an exception becomes a signal (signal.c); after every exit,
 * pending signals the guest does not block are delivered. A host signal
 * for the guest stops the CPU at the next block boundary, so even a guest
 * spinning without system calls gets its SIGALRM or SIGINT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "user/user.h"
#include "user/user_proc.h"

enum { EXIT_LOAD = 1, EXIT_USAGE = 2 };

#define USER_STACK_DEFAULT (8ULL << 20)
#define USER_STACK_MIN     (128ULL << 10)
#define USER_STACK_MAX     (1ULL << 30)
#define USER_MMAP_GAP_MIN  (128ULL << 20)

extern char **environ;
struct user_proc *user_self;

static void usage(FILE *out)
{
    fputs("usage: xuni user [--argv0 NAME] [--] PROGRAM [ARGS...]\n"
          "\n"
          "Run a static x86-64 Linux program on xuni's CPU emulator, with its system\n"
          "calls served by the host (like qemu-x86_64). The program's exit status, or\n"
          "the signal that ends it, becomes xuni's.\n"
          "\n"
          "  --argv0 NAME  pass NAME as argv[0] instead of PROGRAM\n",
          out);
}

/* The guest's address-space layout, as Linux's for a 47-bit user space:
 * the stack at the top, mmaps top-down below it after a gap. */
static void layout(struct user_mm *mm)
{
    struct rlimit rl;
    uint64_t stack = USER_STACK_DEFAULT;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        stack = rl.rlim_cur;
    if (stack < USER_STACK_MIN)
        stack = USER_STACK_MIN;
    if (stack > USER_STACK_MAX || stack > mm->size / 16)
        stack = mm->size / 16 < USER_STACK_MAX ? mm->size / 16 : USER_STACK_MAX;
    mm->stack_size = user_page_up(stack);
    mm->stack_top = mm->size - USER_PAGE;
    uint64_t gap = mm->stack_size + (1ULL << 20);
    if (gap < USER_MMAP_GAP_MIN)
        gap = USER_MMAP_GAP_MIN;
    mm->mmap_top = mm->stack_top - gap;
}

/* Did the SYSCALL that just exited sit at rip - 2 (0f 05)? */
static bool syscall_before(struct user_proc *p)
{
    uint8_t insn[2];
    return p->cpu.rip >= 2 && user_copy_in(p, insn, p->cpu.rip - 2, 2) == 0 && insn[0] == 0x0f &&
           insn[1] == 0x05;
}

static int user_run(struct user_proc *p)
{
    struct x86_cpu *cpu = &p->cpu;
    while (!p->exited) {
        switch (x86_run(cpu, 0)) {
        case X86_EXIT_SYSCALL:
            /* A signal that came in while the guest ran up to the SYSCALL
             * is taken first, as on Linux (it arrived before the call);
             * the call runs when the handler returns. */
            if (p->sig.deliverable && syscall_before(p))
                cpu->rip -= 2;
            else
                user_syscall(p);
            break;
        case X86_EXIT_EXCEPTION:
            user_sig_exception(p);
            break;
        case X86_EXIT_HLT: /* privileged: #GP at the HLT */
            cpu->rip -= 1;
            cpu->exc = (struct x86_exception){.vector = X86_EXC_GP, .has_error = true};
            user_sig_exception(p);
            break;
        case X86_EXIT_BUDGET:
        case X86_EXIT_STOP:
        case X86_EXIT_SHUTDOWN: /* system mode only */
        case X86_EXIT_INTERNAL:
            break;
        }
        if (!p->exited)
            user_sig_deliver(p);
    }
    return p->exit_status;
}

static int user_setup(struct user_proc *p, const char *prog, int argc, char **argv)
{
    struct user_image img;
    if (user_mm_init(&p->mm) < 0)
        return -1;
    layout(&p->mm);
    int r = x86_cpu_init_user(&p->cpu, p->mm.base, p->mm.size);
    if (r < 0) {
        log_error("user: cannot set up the CPU: %s", strerror(-r));
        return -1;
    }
    user_syscall_init();
    if (!realpath(prog, p->exe))
        snprintf(p->exe, sizeof(p->exe), "%s", prog);
    ssize_t n = readlink("/proc/self/exe", p->xuni, sizeof(p->xuni) - 1);
    if (n <= 0)
        snprintf(p->xuni, sizeof(p->xuni), "/proc/self/exe");
    if (user_elf_load(p, prog, &img) < 0)
        return -1;
    p->mm.brk_start = p->mm.brk = img.brk;
    if (user_stack_setup(p, &img, prog, argc, argv, environ) < 0)
        return -1;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0) {
        p->rlimit_as[0] = rl.rlim_cur;
        p->rlimit_as[1] = rl.rlim_max;
    }
    if ((r = user_fault_init()) < 0) {
        log_error("user: cannot install the fault handler: %s", strerror(-r));
        return -1;
    }
    return user_sig_init(p);
}

int user_main(int argc, char **argv)
{
    const char *argv0 = NULL;
    int i = 0;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--argv0") == 0 && i + 1 < argc) {
            argv0 = argv[++i];
            continue;
        }
        log_error("user: unknown option '%s' (see 'xuni user --help')", argv[i]);
        return EXIT_USAGE;
    }
    if (i >= argc) {
        log_error("user: no program given (usage: xuni user PROGRAM [ARGS...])");
        return EXIT_USAGE;
    }
    const char *prog = argv[i];
    int gargc = argc - i;
    char **gargv = calloc((size_t)gargc + 1, sizeof(*gargv));
    struct user_proc *p = calloc(1, sizeof(*p));
    if (!gargv || !p) {
        log_error("user: out of memory");
        free(gargv);
        free(p);
        return EXIT_LOAD;
    }
    memcpy(gargv, argv + i, (size_t)gargc * sizeof(*gargv));
    if (argv0)
        gargv[0] = (char *)argv0;
    user_self = p;
    int status = EXIT_LOAD;
    if (user_setup(p, prog, gargc, gargv) == 0)
        status = user_run(p);
    user_self = NULL;
    user_fault_destroy();
    x86_cpu_destroy(&p->cpu);
    user_mm_destroy(&p->mm);
    free(p);
    free(gargv);
    return status;
}
