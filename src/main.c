/* xuni: command line -> vm config -> run. The only place that exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/chardev.h"
#include "user/user.h"
#include "util/log.h"
#include "vm/config.h"
#include "vm/vm.h"

#define XUNI_VERSION "0.1"

enum { EXIT_ERROR = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
    fputs("usage: xuni COMMAND [options]\n"
          "\n"
          "Commands:\n"
          "  run      boot a kernel in a virtual machine ('xuni run --help')\n"
          "  user     run a static x86-64 Linux program on the CPU emulator ('xuni user --help')\n"
          "  version  print the version\n"
          "\n"
          "xuni is a type-2 hypervisor and x86-64 machine emulator: one process per VM, one\n"
          "thread per vCPU, on KVM (--accel kvm) or its own CPU emulator (--accel emu).\n"
          "QEMU-style invocations without a command ('xuni -kernel FILE ...') mean 'run'.\n",
          out);
}

static void fatal_signal(int sig)
{
    /* Put the terminal back before the default action ends us. */
    chardev_stdio_restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signal_handlers(void)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP,  SIGQUIT,
#ifndef __SANITIZE_ADDRESS__
                               SIGSEGV, SIGBUS, SIGABRT, SIGFPE,
                               SIGILL
#endif
    };
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], fatal_signal);
    /* A closed stdout pipe must not kill the VM mid-write. */
    signal(SIGPIPE, SIG_IGN);
    atexit(chardev_stdio_restore_terminal);
}

static int cmd_run(int argc, char **argv)
{
    struct vm_config cfg;
    int r = vm_config_parse(&cfg, argc, argv, stdout, stderr);
    if (r != 0) {
        vm_config_free(&cfg);
        return r > 0 ? 0 : EXIT_USAGE;
    }
    install_signal_handlers();
    struct vm vm;
    int status;
    r = vm_build(&vm, &cfg);
    if (r < 0)
        status = EXIT_ERROR;
    else
        status = vm_run(&vm);
    vm_destroy(&vm);
    vm_config_free(&cfg);
    return status;
}

int main(int argc, char **argv)
{
    const char *env = getenv("XUNI_LOG");
    if (env && strcmp(env, "debug") == 0)
        log_set_level(LOG_DEBUG);
    else if (env && strcmp(env, "info") == 0)
        log_set_level(LOG_INFO);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "user") == 0)
        return user_main(argc - 2, argv + 2);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("xuni %s\n", XUNI_VERSION);
        return 0;
    }
    if (cmd[0] == '-')
        return cmd_run(argc - 1, argv + 1);
    fprintf(stderr, "xuni: error: unknown command '%s' (see 'xuni --help')\n", cmd);
    return EXIT_USAGE;
}
