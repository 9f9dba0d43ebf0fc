/* cpudiff: the differential CPU tester's command line.
 *
 *   cpudiff [--seed S] [--count N] [--family NAME[,NAME...]] [--sample K]
 *           [--verbose] [--tap] [--reports N] [--coverage] [--self-test]
 *           [--stats] [--summary] [--list] [--all-features]
 *
 * For each family, samples 0..N-1 of seed S are built, run natively (in
 * batches, in a forked child) and in the emulator, and compared. Exits 1
 * if any sample differs. --sample K runs one sample and prints both
 * outcomes. --self-test checks the tester itself: two native runs of the
 * same samples must agree, and deliberately corrupted results must be
 * caught. --summary groups the mismatches (mnemonic, template, what
 * differs) with one sample of each to rerun; --stats shows how the native
 * runs ended (faults included); --coverage lists the emulator's dispatch
 * entries no sample reached. A mismatching sequence is reported as its
 * shortest mismatching prefix. A family whose emulator tables are not
 * linked is skipped (a TAP skip naming the reason); --all-features runs
 * templates whose CPUID feature the emulator does not advertise yet. See
 * cpudiff.h for how the pieces fit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "cpudiff.h"

struct opts {
    uint64_t seed;
    long count; /* -1: each family's default */
    const char *families;
    long sample;
    bool verbose, tap, coverage, self_test, stats, summary;
    unsigned reports;
};

static struct cd_sample *samples;
static struct cd_outcome *nat, *emu, *nat2;
static unsigned tap_n;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool family_selected(const struct opts *o, const char *name)
{
    if (!o->families)
        return true;
    size_t n = strlen(name);
    for (const char *p = o->families; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return true;
        p += len + (e ? 1 : 0);
    }
    return false;
}

static bool families_known(const char *list)
{
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        bool found = false;
        for (unsigned f = 0; f < cd_nfamilies; f++)
            found |= strlen(cd_families[f].name) == len && !strncmp(p, cd_families[f].name, len);
        if (!found)
            return false;
        p += len + (p[len] == ',');
    }
    return true;
}

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
    va_list ap;
    printf("%s %u - ", ok ? "ok" : "not ok", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* Mismatch counts per template name, for the summary. */
struct tally {
    const char *name[64];
    unsigned count[64];
    unsigned n;
};

static void tally_add(struct tally *t, const char *name)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->name[i] == name) {
            t->count[i]++;
            return;
        }
    if (t->n < 64) {
        t->name[t->n] = name;
        t->count[t->n++] = 1;
    }
}

static void tally_text(const struct tally *t, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < t->n && used + 40 < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s %u", i ? ", " : "", t->name[i],
                                 t->count[i]);
}

static const char *culprit(const struct cd_sample *s)
{
    const struct cd_unit *u = &s->unit[s->nunits - 1];
    return u->tmpl ? u->tmpl->name : "?";
}

/* Mismatches grouped by signature (--summary), with a sample to rerun. */
#define NSIG 512
static struct {
    char key[200];
    unsigned count;
    uint8_t family;
    uint32_t first;
} sigs[NSIG];
static unsigned nsigs;

static void summary_add(const struct cd_sample *s, const struct cd_outcome *n,
                        const struct cd_outcome *e)
{
    char key[200];
    cd_signature(s, n, e, key, sizeof(key));
    for (unsigned i = 0; i < nsigs; i++)
        if (!strcmp(sigs[i].key, key)) {
            sigs[i].count++;
            return;
        }
    if (nsigs < NSIG) {
        snprintf(sigs[nsigs].key, sizeof(sigs[nsigs].key), "%s", key);
        sigs[nsigs].count = 1;
        sigs[nsigs].family = s->family;
        sigs[nsigs++].first = s->index;
    }
}

static int by_count(const void *a, const void *b)
{
    const unsigned *x = (const unsigned *)((const char *)a + offsetof(__typeof__(sigs[0]), count));
    const unsigned *y = (const unsigned *)((const char *)b + offsetof(__typeof__(sigs[0]), count));
    return *x < *y ? 1 : *x > *y ? -1 : 0;
}

static void summary_print(uint64_t seed)
{
    qsort(sigs, nsigs, sizeof(sigs[0]), by_count);
    printf("# mismatch summary (%u kinds): count, family/sample to rerun, signature\n", nsigs);
    for (unsigned i = 0; i < nsigs; i++)
        printf("# %6u  %s --seed %" PRIu64 " --sample %u: %s\n", sigs[i].count,
               cd_families[sigs[i].family].name, seed, sigs[i].first, sigs[i].key);
}

/* How the native runs ended, per family (--stats): a check that the
 * generator reaches faults as well as normal completions. */
static unsigned ends[40];

static void stats_add(const struct cd_outcome *o)
{
    ends[o->end == CD_END_EXC ? o->vector & 31 : 32 + o->end]++;
}

static void stats_print(const char *fam)
{
    static const char *const names[32] = {
        [0] = "#DE",  [1] = "#DB",  [3] = "#BP",  [6] = "#UD",  [12] = "#SS",
        [13] = "#GP", [14] = "#PF", [16] = "#MF", [17] = "#AC", [19] = "#XM"};
    printf("# %s native outcomes:", fam);
    for (unsigned i = 0; i < 40; i++)
        if (ends[i])
            printf(" %s %u", i < 32 && names[i] ? names[i] : "other", ends[i]);
    printf("\n");
    memset(ends, 0, sizeof(ends));
}

/* The shortest prefix of a mismatching sequence that still mismatches:
 * units 0..k with the code after them cut off (int3). Bounded, since each
 * try forks a child. */
static struct cd_sample mini;
static struct cd_outcome mini_nat, mini_emu;
static unsigned minimized;

static bool minimize(const struct cd_sample *s)
{
    if (minimized >= 2000)
        return false;
    minimized++;
    for (unsigned k = 0; k + 1 < s->nunits; k++) {
        mini = *s;
        mini.nunits = (uint8_t)(k + 1);
        mini.code_len = s->unit[k + 1].start;
        mini.u_end = 0;
        for (unsigned j = 0; j <= k; j++)
            mini.u_end |= s->unit[j].u_out;
        if (cd_native_start(&mini, 1))
            exit(2);
        cd_emu_run(&mini, &mini_emu);
        if (cd_native_finish(&mini_nat))
            exit(2);
        if (!cd_compare(&mini, &mini_nat, &mini_emu, NULL, 0))
            return true;
    }
    return false;
}

/* Run samples [first, first + n) of a family; returns the mismatches. */
static unsigned run_range(const struct opts *o, unsigned fam, uint32_t first, uint32_t n,
                          struct tally *t, unsigned *reported)
{
    unsigned bad = 0;
    for (uint32_t base = 0; base < n; base += CD_BATCH_MAX) {
        unsigned b = n - base < CD_BATCH_MAX ? n - base : CD_BATCH_MAX;
        for (unsigned i = 0; i < b; i++)
            cd_build(fam, o->seed, first + base + i, &samples[i]);
        if (cd_native_start(samples, b))
            exit(2);
        for (unsigned i = 0; i < b; i++) {
            cd_emu_run(&samples[i], &emu[i]);
            if (o->coverage)
                cd_emu_cover(&samples[i]);
        }
        if (cd_native_finish(nat))
            exit(2);
        for (unsigned i = 0; i < b; i++) {
            if (o->stats)
                stats_add(&nat[i]);
            if (o->sample >= 0) {
                cd_print_sample(stdout, &samples[i]);
                cd_print_outcome(stdout, "native", &nat[i]);
                cd_print_outcome(stdout, "emu", &emu[i]);
            }
            if (cd_compare(&samples[i], &nat[i], &emu[i], NULL, 0))
                continue;
            bad++;
            /* A sequence: report its shortest prefix that differs. */
            const struct cd_sample *rs = &samples[i];
            const struct cd_outcome *rn = &nat[i], *re = &emu[i];
            if (rs->nunits > 1 && minimize(rs)) {
                rs = &mini;
                rn = &mini_nat;
                re = &mini_emu;
            }
            tally_add(t, culprit(rs));
            if (o->summary)
                summary_add(rs, rn, re);
            if (o->verbose || (*reported)++ < o->reports) {
                if (o->tap) { /* as TAP comments: tests/run.sh shows only the summary */
                    char *buf;
                    size_t len;
                    FILE *m = open_memstream(&buf, &len);
                    cd_report(m, rs, rn, re);
                    fclose(m);
                    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
                        printf("# %s\n", line);
                    free(buf);
                } else {
                    cd_report(stdout, rs, rn, re);
                }
            }
        }
    }
    return bad;
}

/* Whether any template of the family (or of a sequence's sources) may
 * run: the CPUID features it needs are there. */
static bool any_template(const struct cd_family *fam)
{
    if (fam->seq) {
        for (unsigned i = 0; i < fam->src_n; i++)
            if (any_template(&cd_families[fam->src_lo + i]))
                return true;
        return false;
    }
    for (const struct cd_tmpl *t = fam->tmpl; t->gen; t++)
        if (cd_feature_ok(t->feature))
            return true;
    return false;
}

/* The emulator tables of a family that are not linked, for messages. */
static void missing_tables(const struct cd_family *fam, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (const char *p = fam->emu; p && *p && used + 40 < len;) {
        size_t n = strcspn(p, ",");
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)n, p);
        if (!cd_emu_table_built(name))
            used +=
                (size_t)snprintf(buf + used, len - used, "%sx86_ops_%s", used ? ", " : "", name);
        p += n + (p[n] == ',');
    }
}

static int run_families(const struct opts *o)
{
    unsigned total_bad = 0, total = 0;
    double t0 = now();
    for (unsigned f = 0; f < cd_nfamilies; f++) {
        const struct cd_family *fam = &cd_families[f];
        if (!family_selected(o, fam->name))
            continue;
        int built = cd_family_built(fam);
        char missing[256];
        missing_tables(fam, missing, sizeof(missing));
        if (!built) {
            if (o->tap)
                printf("ok %u - %s # SKIP %s: emulator family not built (no %s)\n", ++tap_n,
                       fam->name, fam->name, missing);
            else
                printf("%-8s skipped: emulator family not built (no %s)\n", fam->name, missing);
            continue;
        }
        if (!any_template(fam)) {
            if (o->tap)
                printf("ok %u - %s # SKIP %s: the emulator's CPUID has none of its features "
                       "(--all-features runs them)\n",
                       ++tap_n, fam->name, fam->name);
            else
                printf("%-8s skipped: the emulator's CPUID has none of its features\n", fam->name);
            continue;
        }
        if (built == 1)
            printf("# %s: %s not built: the instructions they would register are left out\n",
                   fam->name, missing);
        uint32_t first = o->sample >= 0 ? (uint32_t)o->sample : 0;
        uint32_t n = o->sample >= 0 ? 1 : o->count >= 0 ? (uint32_t)o->count : fam->count;
        struct tally t = {.n = 0};
        unsigned reported = 0;
        double t1 = now();
        unsigned bad = run_range(o, f, first, n, &t, &reported);
        double dt = now() - t1;
        char why[512];
        tally_text(&t, why, sizeof(why));
        total += n;
        total_bad += bad;
        if (o->stats)
            stats_print(fam->name);
        if (o->tap)
            tap(!bad, "%s: %u samples, %u mismatches%s%s", fam->name, n, bad, bad ? ": " : "", why);
        else
            printf("%-8s %7u samples %6u mismatches  %5.2fs%s%s\n", fam->name, n, bad, dt,
                   bad ? "  " : "", why);
    }
    double dt = now() - t0;
    printf("# %u samples in %.2fs (%.0f samples/s), %u mismatches, seed %" PRIu64 "\n", total, dt,
           dt > 0 ? total / dt : 0, total_bad, o->seed);
    if (o->summary)
        summary_print(o->seed);
    if (o->coverage)
        cd_emu_cover_report();
    return total_bad ? 1 : 0;
}

/* ---- the tester's own checks ------------------------------------------- */

/* Change one compared field of an outcome; returns what was changed. */
static const char *corrupt(const struct cd_sample *s, struct cd_outcome *o, unsigned k)
{
    struct cd_fxsave *fx = &o->st.fx;
    switch (k % 10) {
    case 0:
        o->st.gpr[k / 6 % 16] ^= 1ULL << (k % 64);
        return "register";
    case 1:
        o->st.rip += 1;
        return "rip";
    case 2: {
        uint64_t m = cd_flag_mask(s, o) & CD_FLAGS_ARITH;
        if (!m)
            m = X86_FLAG_DF;
        o->st.rflags ^= m & -m;
        return "flag";
    }
    case 3: { /* a byte outside any fault zone (those are not compared) */
        unsigned at = (k * 7919) % CD_DATA_SIZE;
        for (unsigned u = 0; u < s->nunits; u++)
            if (at >= s->unit[u].fz_lo && at < s->unit[u].fz_hi)
                at = s->unit[u].fz_hi;
        if (at >= CD_DATA_SIZE) { /* the whole area is a fault zone */
            o->st.gpr[X86_RAX] ^= 1;
            return "register";
        }
        o->data[at] ^= 0x10;
        return "memory";
    }
    case 4:
        o->vector = o->vector == X86_EXC_UD ? X86_EXC_BP : X86_EXC_UD;
        return "outcome";
    case 5:
        fx->xmm[k % 16][k % 7] ^= 4;
        return "xmm";
    case 6:
        fx->mxcsr ^= 1u << (k / 10 % 16);
        return "mxcsr";
    case 7: { /* a valid x87 register, else the tag word */
        unsigned p = k / 10 % 8;
        for (unsigned i = 0; i < 8 && !(fx->ftw >> p & 1); i++)
            p = (p + 1) & 7;
        if (!(fx->ftw >> p & 1)) {
            fx->ftw ^= 1;
            return "x87 tags";
        }
        fx->st[(p - CD_FSW_TOP(fx->fsw)) & 7][k / 80 % 10] ^= 0x20;
        return "x87 register";
    }
    case 8: { /* an FSW bit always compared (ES, the exception flags) */
        static const uint16_t bits[] = {CD_FSW_ES, 1, 1u << 2, 1u << 5};
        fx->fsw ^= bits[k / 10 % 4];
        return "fsw";
    }
    default:
        fx->fcw ^= 1u << (k / 10 % 6);
        return "fcw";
    }
}

static int self_test(const struct opts *o)
{
    int failed = 0;
    for (unsigned f = 0; f < cd_nfamilies; f++) {
        const struct cd_family *fam = &cd_families[f];
        if (!family_selected(o, fam->name))
            continue;
        unsigned n = o->count >= 0 ? (unsigned)o->count : 1000;
        if (n > CD_BATCH_MAX)
            n = CD_BATCH_MAX;
        for (unsigned i = 0; i < n; i++)
            cd_build(f, o->seed, i, &samples[i]);
        if (cd_native_start(samples, n) || cd_native_finish(nat) || cd_native_start(samples, n) ||
            cd_native_finish(nat2))
            exit(2);
        unsigned differ = 0, missed = 0;
        const char *what = "", *missed_what = "";
        for (unsigned i = 0; i < n; i++) {
            if (!cd_compare(&samples[i], &nat[i], &nat2[i], NULL, 0)) {
                if (!differ++ && o->verbose)
                    cd_report(stdout, &samples[i], &nat[i], &nat2[i]);
                continue;
            }
            memcpy(&emu[i], &nat[i], sizeof(emu[i]));
            what = corrupt(&samples[i], &emu[i], i);
            if (!cd_compare(&samples[i], &nat[i], &emu[i], NULL, 0) || missed++)
                continue;
            missed_what = what;
            if (o->verbose) {
                printf("# corrupting the %s of sample %u went unnoticed:\n", what, i);
                cd_print_sample(stdout, &samples[i]);
                cd_print_outcome(stdout, "native", &nat[i]);
            }
        }
        tap(!differ, "self-test %s: two native runs of %u samples agree (%u differ)", fam->name, n,
            differ);
        tap(!missed, "self-test %s: corrupted results are caught (%u missed%s%s)", fam->name,
            missed, missed ? ", first: " : "", missed_what);
        failed |= differ || missed;
    }
    return failed;
}

/* Outcome arrays are large and written while a native child runs: keep
 * them out of the child (no copy-on-write faults in the parent). */
static struct cd_outcome *outcome_array(void)
{
    size_t len = CD_BATCH_MAX * sizeof(struct cd_outcome);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, len, MADV_DONTFORK);
    return p;
}

static void usage(void)
{
    fprintf(stderr, "usage: cpudiff [--seed S] [--count N] [--family NAME[,NAME]] "
                    "[--sample K] [--verbose] [--tap] [--reports N] [--coverage] "
                    "[--self-test] [--stats] [--summary] [--list] [--all-features]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct opts o = {.seed = 1, .count = -1, .sample = -1, .reports = 3};
    static const struct option longopts[] = {
        {"seed", required_argument, 0, 's'},    {"count", required_argument, 0, 'n'},
        {"family", required_argument, 0, 'f'},  {"sample", required_argument, 0, 'k'},
        {"verbose", no_argument, 0, 'v'},       {"tap", no_argument, 0, 't'},
        {"reports", required_argument, 0, 'r'}, {"coverage", no_argument, 0, 'c'},
        {"self-test", no_argument, 0, 'S'},     {"list", no_argument, 0, 'l'},
        {"stats", no_argument, 0, 'x'},         {"summary", no_argument, 0, 'y'},
        {"all-features", no_argument, 0, 'A'},  {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o.seed = strtoull(optarg, NULL, 0);
            break;
        case 'n':
            o.count = strtol(optarg, NULL, 0);
            break;
        case 'f':
            o.families = optarg;
            break;
        case 'k':
            o.sample = strtol(optarg, NULL, 0);
            o.verbose = true;
            break;
        case 'v':
            o.verbose = true;
            break;
        case 't':
            o.tap = true;
            break;
        case 'r':
            o.reports = (unsigned)strtoul(optarg, NULL, 0);
            break;
        case 'c':
            o.coverage = true;
            break;
        case 'S':
            o.self_test = true;
            break;
        case 'x':
            o.stats = true;
            break;
        case 'y':
            o.summary = true;
            break;
        case 'A':
            cd_ignore_emu_cpuid = true;
            break;
        case 'l':
            for (unsigned f = 0; f < cd_nfamilies; f++)
                printf("%-8s %u samples by default\n", cd_families[f].name, cd_families[f].count);
            return 0;
        default:
            usage();
        }
    }
    if (optind < argc)
        usage();
    if (o.sample >= 0 && (!o.families || strchr(o.families, ',')))
        usage(); /* --sample needs exactly one --family */
    if (o.families && !families_known(o.families)) {
        fprintf(stderr, "cpudiff: unknown family in '%s' (see --list)\n", o.families);
        return 2;
    }
    samples = calloc(CD_BATCH_MAX, sizeof(*samples));
    nat = outcome_array();
    emu = outcome_array();
    nat2 = outcome_array();
    if (!samples || !nat || !emu || !nat2) {
        fprintf(stderr, "cpudiff: out of memory\n");
        return 2;
    }
    cd_features_init();
    if (cd_layout_init())
        return 2;
    if (o.self_test)
        return self_test(&o);
    int err = cd_emu_init();
    if (err) {
        const char *why =
            err == -ENOSYS ? "the CPU core (x86_run) is not linked yet" : strerror(-err);
        if (o.tap)
            tap(false, "emulator: %s", why);
        else
            fprintf(stderr, "cpudiff: emulator: %s\n", why);
        return 1;
    }
    return run_families(&o);
}
