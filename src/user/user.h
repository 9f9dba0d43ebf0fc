/* `xuni user`: run a static x86-64 Linux program under the CPU emulator,
 * with a Linux system-call layer (like qemu-x86_64).
 *
 * The guest shares the host process: its address space is one reserved
 * host region, its system calls are the host's (translated where they carry
 * guest pointers), its signals are host signals forwarded into emulated
 * signal frames. See user_proc.h for how the pieces fit.
 */
#ifndef XUNI_USER_USER_H
#define XUNI_USER_USER_H

/* `xuni user [--argv0 NAME] [--] PROGRAM [ARGS...]`: argv holds the words
 * after "user". Returns the guest's exit status (or dies by the guest's
 * fatal signal, as the program would natively), 1 when the program cannot
 * be loaded, 2 for usage errors. */
int user_main(int argc, char **argv);

#endif
