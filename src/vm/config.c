#include "vm/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm/layout.h"

#define CONFIG_DEFAULT_MEM (256ULL << 20)

int config_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    unsigned shift = 20; /* bare numbers are MiB, as QEMU's -m */
    if (*end) {
        static const char units[] = "bkmgt"; /* shift 0, 10, 20, 30, 40 */
        const char *u = strchr(units, *end | 0x20);
        if (!u)
            return -EINVAL;
        shift = 10 * (unsigned)(u - units);
        end++;
        if (shift && (*end == 'b' || *end == 'B')) /* "512MB" */
            end++;
        if (*end)
            return -EINVAL;
    }
    if (v > (~0ULL >> shift))
        return -EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

void vm_config_usage(FILE *out)
{
    fputs("usage: xuni run --kernel FILE [options]\n"
          "\n"
          "Boot a kernel (Linux bzImage, ELF64 vmlinux, or multiboot ELF32) in a VM.\n"
          "\n"
          "  --kernel FILE        kernel to boot (format detected from the file)\n"
          "  --initrd FILE[,...]  initrd (Linux: several are concatenated) or multiboot\n"
          "                       modules, one per comma-separated \"FILE [ARGS]\"\n"
          "  --append STRING      kernel command line\n"
          "  --mem SIZE           guest RAM, e.g. 512M or 2G (default 256M; a bare number\n"
          "                       is MiB)\n"
          "  --smp N              number of vCPUs (1-64, default 1)\n"
          "  --accel kvm|emu|auto accelerator (default auto: kvm if usable, else emu)\n"
          "  --serial stdio|file:PATH\n"
          "                       where the console goes (default stdio; Ctrl-A x quits)\n"
          "  --console serial|virtio\n"
          "                       the console device: the COM1 UART (default; Linux\n"
          "                       console=ttyS0), or a virtio-console (console=hvc0), which\n"
          "                       then gets --serial while the UART's output goes nowhere\n"
          "  --kernel-decompress host|guest\n"
          "                       who unpacks a compressed bzImage: xuni, before the guest\n"
          "                       starts (default), or the kernel's own decompressor\n"
          "  --drive file=IMG[,readonly=on][,cache=none|writeback][,serial=ID]\n"
          "          [,aio=io_uring|threads]\n"
          "                       a virtio-blk disk on a raw image (repeat for more disks;\n"
          "                       the image is locked against a second writer); cache=none\n"
          "                       bypasses the host page cache (O_DIRECT), writeback (the\n"
          "                       default) uses it; a flush in the guest is an fdatasync\n"
          "  --net user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...\n"
          "  --net tap[,ifname=NAME]\n"
          "                       a virtio-net NIC: user is a private NAT network\n"
          "                       (10.0.2.0/24, gateway and host 10.0.2.2, DNS 10.0.2.3,\n"
          "                       DHCP from 10.0.2.15; hostfwd forwards a host port to\n"
          "                       the guest, guest address default 10.0.2.15); tap uses\n"
          "                       a host tap interface (needs CAP_NET_ADMIN); ,mac=MAC\n"
          "  --mac MAC            the NIC's MAC address (default 52:54:00:12:34:56)\n"
          "  --help               this text\n"
          "\n"
          "QEMU spellings work too: -kernel -initrd -append -m -smp -accel -enable-kvm\n"
          "-serial -drive -nic, and -nographic (accepted; xuni has no display).\n"
          "\n"
          "Exit status: the guest's debug-exit value (port 0xf4: (v << 1) | 1), 0 after a\n"
          "power-off or reset, 1 on errors, 2 for bad usage, 4 for a triple fault or an\n"
          "internal error of the accelerator.\n",
          out);
}

enum opt_id {
    OPT_KERNEL,
    OPT_INITRD,
    OPT_APPEND,
    OPT_MEM,
    OPT_SMP,
    OPT_ACCEL,
    OPT_SERIAL,
    OPT_CONSOLE,
    OPT_KERNEL_DECOMPRESS,
    OPT_DRIVE,
    OPT_NET,
    OPT_MAC,
    OPT_ENABLE_KVM,
    OPT_NOGRAPHIC,
    OPT_HELP
};

struct opt {
    const char *long_name; /* --name */
    const char *qemu_name; /* -name, or NULL */
    enum opt_id id;
    int has_arg;
};

static const struct opt options[] = {
    {"kernel", "kernel", OPT_KERNEL, 1},
    {"initrd", "initrd", OPT_INITRD, 1},
    {"append", "append", OPT_APPEND, 1},
    {"mem", "m", OPT_MEM, 1},
    {"smp", "smp", OPT_SMP, 1},
    {"accel", "accel", OPT_ACCEL, 1},
    {"serial", "serial", OPT_SERIAL, 1},
    {"console", NULL, OPT_CONSOLE, 1},
    {"kernel-decompress", NULL, OPT_KERNEL_DECOMPRESS, 1},
    {"drive", "drive", OPT_DRIVE, 1},
    {"net", "nic", OPT_NET, 1},
    {"mac", NULL, OPT_MAC, 1},
    {"enable-kvm", "enable-kvm", OPT_ENABLE_KVM, 0},
    {"nographic", "nographic", OPT_NOGRAPHIC, 0},
    {"help", "h", OPT_HELP, 0},
};

/* Match "--name", "--name=value" or "-qemu_name"; set *inline_arg for "=". */
static const struct opt *find_option(const char *arg, const char **inline_arg)
{
    *inline_arg = NULL;
    int dashes = arg[1] == '-' ? 2 : 1;
    const char *name = arg + dashes;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        const char *want = dashes == 2 ? options[i].long_name : options[i].qemu_name;
        /* QEMU accepts --opt as well as -opt for its own names. */
        if (!want || strlen(want) != len || strncmp(want, name, len) != 0) {
            want = options[i].qemu_name;
            if (!want || strlen(want) != len || strncmp(want, name, len) != 0)
                continue;
        }
        if (eq)
            *inline_arg = eq + 1;
        return &options[i];
    }
    return NULL;
}

static int parse_smp(const char *s, unsigned *out)
{
    /* QEMU's "-smp 2" or "-smp cpus=2[,...]": take the CPU count. */
    if (strncmp(s, "cpus=", 5) == 0)
        s += 5;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || (*end && *end != ',') || v < 1 || v > LAYOUT_MAX_VCPUS)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int split_initrds(struct vm_config *cfg, const char *list, FILE *err)
{
    free(cfg->initrd_list);
    cfg->initrd_list = strdup(list);
    cfg->ninitrds = 0;
    if (!cfg->initrd_list)
        return -ENOMEM;
    char *save = NULL;
    for (char *item = strtok_r(cfg->initrd_list, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        if (cfg->ninitrds == CONFIG_MAX_INITRDS) {
            fprintf(err, "xuni: error: too many --initrd files (at most %d)\n", CONFIG_MAX_INITRDS);
            return -EINVAL;
        }
        cfg->initrds[cfg->ninitrds++] = item;
    }
    if (cfg->ninitrds == 0) {
        fprintf(err, "xuni: error: --initrd needs a file name\n");
        return -EINVAL;
    }
    return 0;
}

/* Cut the next item off a QEMU-style "a=b,c=d" list, in place; ",," is a
 * literal comma. NULL when the list is used up. */
static char *next_item(char **list)
{
    char *item = *list, *w = item, *r = item;
    if (!item)
        return NULL;
    for (;;) {
        if (r[0] == ',' && r[1] == ',') {
            *w++ = ',';
            r += 2;
        } else if (*r == ',' || *r == '\0') {
            *list = *r ? r + 1 : NULL;
            *w = '\0';
            return item;
        } else {
            *w++ = *r++;
        }
    }
}

static int parse_onoff(const char *v, bool *out)
{
    static const char *const yes[] = {"on", "yes", "true"}, *const no[] = {"off", "no", "false"};
    for (unsigned i = 0; i < 3; i++) {
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
            *out = strcmp(v, yes[i]) == 0;
            return 0;
        }
    }
    return -EINVAL;
}

static bool serial_ok(const char *v)
{
    if (strlen(v) > 20) /* VIRTIO_BLK_ID_BYTES */
        return false;
    for (; *v; v++)
        if (*v < 0x20 || *v > 0x7e)
            return false;
    return true;
}

/* One "key=value" of --drive into d; a message names what is wrong. */
static const char *drive_key(struct drive_config *d, const char *key, const char *v)
{
    bool on;
    if (strcmp(key, "file") == 0)
        d->file = *v ? v : NULL;
    else if (strcmp(key, "readonly") == 0) {
        if (parse_onoff(v, &on) < 0)
            return "readonly= takes on or off";
        d->readonly = on;
    } else if (strcmp(key, "cache") == 0) {
        if (strcmp(v, "none") == 0)
            d->cache = BLOCK_CACHE_NONE;
        else if (strcmp(v, "writeback") == 0)
            d->cache = BLOCK_CACHE_WRITEBACK;
        else
            return "cache= takes none or writeback";
    } else if (strcmp(key, "aio") == 0) {
        if (strcmp(v, "io_uring") == 0)
            d->aio = BLOCK_ENGINE_URING;
        else if (strcmp(v, "threads") == 0)
            d->aio = BLOCK_ENGINE_THREADS;
        else
            return "aio= takes io_uring or threads";
    } else if (strcmp(key, "serial") == 0) {
        if (!serial_ok(v))
            return "serial= takes at most 20 printable ASCII characters";
        d->serial = v;
    } else if (strcmp(key, "format") == 0) {
        if (strcmp(v, "raw") != 0)
            return "only format=raw images are supported";
    } else if (strcmp(key, "if") == 0) {
        if (strcmp(v, "virtio") != 0)
            return "only if=virtio disks are supported";
    } else {
        return NULL;
    }
    return "";
}

static int parse_drive(struct vm_config *cfg, const char *val, FILE *err)
{
    if (cfg->ndrives == CONFIG_MAX_DRIVES) {
        fprintf(err, "xuni: error: too many --drive options (at most %d)\n", CONFIG_MAX_DRIVES);
        return -EINVAL;
    }
    char *text = strdup(val);
    if (!text)
        return -ENOMEM;
    cfg->drive_text[cfg->ndrives] = text;
    struct drive_config *d = &cfg->drives[cfg->ndrives++];
    *d = (struct drive_config){.cache = BLOCK_CACHE_WRITEBACK, .aio = BLOCK_ENGINE_AUTO};
    for (char *item; (item = next_item(&text));) {
        if (!*item)
            continue; /* "file=a," */
        char *eq = strchr(item, '=');
        if (eq)
            *eq = '\0';
        /* A bare "readonly" means readonly=on, as in QEMU. */
        const char *why = drive_key(d, item, eq ? eq + 1 : strcmp(item, "readonly") ? "" : "on");
        if (!why) {
            fprintf(err, "xuni: error: invalid --drive '%s': unknown option '%s'\n", val, item);
            return -EINVAL;
        }
        if (*why) {
            fprintf(err, "xuni: error: invalid --drive '%s': %s\n", val, why);
            return -EINVAL;
        }
    }
    if (!d->file) {
        fprintf(err, "xuni: error: invalid --drive '%s': no file=IMG given\n", val);
        return -EINVAL;
    }
    return 0;
}

/* One "key=value" of --net into n; a message names what is wrong. */
static const char *net_key(struct net_config *n, const char *key, const char *v)
{
    if (strcmp(key, "hostfwd") == 0) {
        if (n->kind != NET_USER)
            return "hostfwd= is for --net user";
        if (n->nfwd == NET_MAX_HOSTFWD)
            return "too many hostfwd= rules";
        if (net_parse_hostfwd(v, &n->fwd[n->nfwd]) < 0)
            return "hostfwd= takes [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT";
        n->nfwd++;
    } else if (strcmp(key, "ifname") == 0) {
        if (n->kind != NET_TAP)
            return "ifname= is for --net tap";
        if (!*v)
            return "ifname= needs an interface name";
        n->ifname = v;
    } else if (strcmp(key, "mac") == 0) {
        if (net_parse_mac(v, n->mac) < 0)
            return "mac= takes a unicast address like 52:54:00:12:34:56";
        n->mac_set = true;
    } else if (strcmp(key, "model") == 0) {
        if (strcmp(v, "virtio") != 0 && strcmp(v, "virtio-net-pci") != 0)
            return "only model=virtio NICs are supported";
    } else {
        return NULL;
    }
    return "";
}

static int parse_net(struct vm_config *cfg, const char *val, FILE *err)
{
    if (cfg->net_text) {
        fprintf(err, "xuni: error: only one --net is supported\n");
        return -EINVAL;
    }
    char *text = cfg->net_text = strdup(val);
    if (!text)
        return -ENOMEM;
    struct net_config *n = &cfg->net;
    const char *kind = next_item(&text);
    n->kind = strcmp(kind, "user") == 0 ? NET_USER : strcmp(kind, "tap") == 0 ? NET_TAP : NET_NONE;
    if (n->kind == NET_NONE) {
        fprintf(err, "xuni: error: invalid --net '%s': the type is user or tap\n", val);
        return -EINVAL;
    }
    for (char *item; (item = next_item(&text));) {
        if (!*item)
            continue;
        char *eq = strchr(item, '=');
        if (eq)
            *eq = '\0';
        const char *why = net_key(n, item, eq ? eq + 1 : "");
        if (!why) {
            fprintf(err, "xuni: error: invalid --net '%s': unknown option '%s'\n", val, item);
            return -EINVAL;
        }
        if (*why) {
            fprintf(err, "xuni: error: invalid --net '%s': %s\n", val, why);
            return -EINVAL;
        }
    }
    return 0;
}

static int apply(struct vm_config *cfg, const struct opt *o, const char *val, FILE *err)
{
    switch (o->id) {
    case OPT_KERNEL:
        cfg->kernel = val;
        return 0;
    case OPT_INITRD:
        return split_initrds(cfg, val, err);
    case OPT_APPEND:
        cfg->append = val;
        return 0;
    case OPT_MEM:
        if (strncmp(val, "size=", 5) == 0)
            val += 5;
        if (config_parse_size(val, &cfg->mem_size) < 0 || cfg->mem_size < (1ULL << 20) ||
            (cfg->mem_size & 0xfff)) {
            fprintf(err,
                    "xuni: error: invalid memory size '%s' (use e.g. 512M or 2G; at least 1M)\n",
                    val);
            return -EINVAL;
        }
        return 0;
    case OPT_SMP:
        if (parse_smp(val, &cfg->smp) < 0) {
            fprintf(err, "xuni: error: invalid --smp '%s': give a CPU count from 1 to %d\n", val,
                    LAYOUT_MAX_VCPUS);
            return -EINVAL;
        }
        return 0;
    case OPT_ACCEL:
        if (strcmp(val, "kvm") == 0)
            cfg->accel = ACCEL_KVM;
        else if (strcmp(val, "emu") == 0 || strcmp(val, "tcg") == 0)
            cfg->accel = ACCEL_EMU;
        else if (strcmp(val, "auto") == 0)
            cfg->accel = ACCEL_AUTO;
        else {
            fprintf(err, "xuni: error: unknown accelerator '%s' (choose kvm, emu or auto)\n", val);
            return -EINVAL;
        }
        return 0;
    case OPT_SERIAL:
        if (strcmp(val, "stdio") != 0 && !(strncmp(val, "file:", 5) == 0 && val[5])) {
            fprintf(err, "xuni: error: invalid --serial '%s' (use stdio or file:PATH)\n", val);
            return -EINVAL;
        }
        cfg->serial = val;
        return 0;
    case OPT_CONSOLE:
        if (strcmp(val, "serial") == 0)
            cfg->console = CONSOLE_SERIAL;
        else if (strcmp(val, "virtio") == 0)
            cfg->console = CONSOLE_VIRTIO;
        else {
            fprintf(err, "xuni: error: invalid --console '%s' (choose serial or virtio)\n", val);
            return -EINVAL;
        }
        return 0;
    case OPT_KERNEL_DECOMPRESS:
        if (strcmp(val, "host") == 0)
            cfg->kernel_decompress = KERNEL_DECOMPRESS_HOST;
        else if (strcmp(val, "guest") == 0)
            cfg->kernel_decompress = KERNEL_DECOMPRESS_GUEST;
        else {
            fprintf(err, "xuni: error: invalid --kernel-decompress '%s' (choose host or guest)\n",
                    val);
            return -EINVAL;
        }
        return 0;
    case OPT_DRIVE:
        return parse_drive(cfg, val, err);
    case OPT_NET:
        return parse_net(cfg, val, err);
    case OPT_MAC:
        if (net_parse_mac(val, cfg->net.mac) < 0) {
            fprintf(err,
                    "xuni: error: invalid --mac '%s' (a unicast address like "
                    "52:54:00:12:34:56)\n",
                    val);
            return -EINVAL;
        }
        cfg->net.mac_set = true;
        return 0;
    case OPT_ENABLE_KVM:
        cfg->accel = ACCEL_KVM;
        return 0;
    case OPT_NOGRAPHIC:
    case OPT_HELP:
        return 0;
    }
    return -EINVAL;
}

int vm_config_parse(struct vm_config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mem_size = CONFIG_DEFAULT_MEM;
    cfg->smp = 1;
    cfg->accel = ACCEL_AUTO;
    cfg->serial = "stdio";
    cfg->kernel_decompress = KERNEL_DECOMPRESS_HOST;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *val;
        const struct opt *o = arg[0] == '-' && arg[1] ? find_option(arg, &val) : NULL;
        if (!o) {
            fprintf(err, "xuni: error: %s '%s' (see 'xuni run --help')\n",
                    arg[0] == '-' ? "unknown option" : "unexpected argument", arg);
            return -EINVAL;
        }
        if (o->id == OPT_HELP) {
            vm_config_usage(out);
            return 1;
        }
        if (o->has_arg && !val) {
            if (i + 1 >= argc) {
                fprintf(err, "xuni: error: option %s needs an argument\n", arg);
                return -EINVAL;
            }
            val = argv[++i];
        } else if (!o->has_arg && val) {
            fprintf(err, "xuni: error: option --%s takes no argument\n", o->long_name);
            return -EINVAL;
        }
        int r = apply(cfg, o, val, err);
        if (r < 0)
            return r;
    }
    if (!cfg->net.mac_set)
        memcpy(cfg->net.mac, net_default_mac, sizeof(cfg->net.mac));
    if (!cfg->kernel) {
        fprintf(err, "xuni: error: no kernel given: use --kernel FILE (see 'xuni run --help')\n");
        return -EINVAL;
    }
    return 0;
}

void vm_config_free(struct vm_config *cfg)
{
    free(cfg->initrd_list);
    cfg->initrd_list = NULL;
    for (unsigned i = 0; i < cfg->ndrives; i++) {
        free(cfg->drive_text[i]);
        cfg->drive_text[i] = NULL;
    }
    cfg->ndrives = 0;
    free(cfg->net_text);
    cfg->net_text = NULL;
}
