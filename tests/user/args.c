/* argv, envp and the auxiliary vector as the program sees them at entry:
 * the entries native and emulated runs must agree on, in a fixed order. */
#include "ulib.h"

extern char __ehdr_start[];
void _start(void);

static void put_str(const char *name, const char *v)
{
    put(name);
    put("=");
    put(v ? v : "(null)");
    put("\n");
}

int main(int argc, char **argv, char **envp)
{
    put_kv("argc", argc);
    for (int i = 0; i < argc; i++) {
        put("argv[");
        put_num(i);
        put("]=");
        put(argv[i]);
        put("\n");
    }
    put_kv("argv_null", argv[argc] == 0);
    put_kv("rsp_aligned", (entry_rsp & 15) == 0);
    int envc = 0;
    while (envp[envc])
        envc++;
    put_kv("envc", envc);
    put_str("XUNI_TEST_ENV", getenv_from(envp, "XUNI_TEST_ENV"));

    uint64_t aux[64] = {0};
    int seen_random = 0, seen_hwcap = 0;
    for (uint64_t *a = (uint64_t *)(envp + envc + 1); a[0] != AT_NULL; a += 2) {
        if (a[0] < 64)
            aux[a[0]] = a[1];
        seen_random |= a[0] == AT_RANDOM;
        seen_hwcap |= a[0] == AT_HWCAP;
    }
    static const struct {
        int type;
        const char *name;
    } nums[] = {{AT_PAGESZ, "pagesz"}, {AT_UID, "uid"},     {AT_EUID, "euid"},
                {AT_GID, "gid"},       {AT_EGID, "egid"},   {AT_SECURE, "secure"},
                {AT_CLKTCK, "clktck"}, {AT_PHENT, "phent"}, {AT_PHNUM, "phnum"}};
    for (unsigned i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        put_kv(nums[i].name, (long)aux[nums[i].type]);
    put_kv("uid_matches", aux[AT_UID] == (uint64_t)sys0(__NR_getuid));
    put_kv("entry_is_start", aux[AT_ENTRY] == (uint64_t)(uintptr_t)_start);
    uint64_t phoff = *(uint64_t *)(__ehdr_start + 32);
    put_kv("phdr_matches", aux[AT_PHDR] == (uint64_t)(uintptr_t)__ehdr_start + phoff);
    put_kv("random_present", seen_random && aux[AT_RANDOM] > (uint64_t)(uintptr_t)argv);
    put_kv("hwcap_present", seen_hwcap);
    put_str("execfn", (const char *)(uintptr_t)aux[AT_EXECFN]);
    put_str("platform", (const char *)(uintptr_t)aux[AT_PLATFORM]);
    return argc;
}
