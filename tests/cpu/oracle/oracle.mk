# The decoder oracle (tests/cpu/oracle): xuni's x86_decode() against
# libzydis, run by run-oracle.sh in every build. Needs libzydis-dev
# (tools/install-deps.sh); without it the oracle is not built and its tests
# are skipped.
#
#   make fuzz-decode [SEEDS="1 2 3"] [COUNT=20000000]   a longer random run
ORACLE_BIN := $(BUILD)/tests/cpu/oracle/oracle
ORACLE_OBJS := $(BUILD)/obj/tests/cpu/oracle/oracle.o $(BUILD)/obj/tests/cpu/oracle/hostprobe.o

ifneq ($(wildcard /usr/include/Zydis/Zydis.h),)
TEST_EXTRA += $(ORACLE_BIN)
endif

$(ORACLE_BIN): $(ORACLE_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(ORACLE_OBJS) $(LIB_WHOLE) $(LDLIBS) -lZydis

FUZZ_DECODE_SEEDS = $(or $(SEEDS),$(shell date +%s))
FUZZ_DECODE_COUNT = $(or $(COUNT),20000000)

.PHONY: fuzz-decode
fuzz-decode: $(ORACLE_BIN)
	@set -e; for s in $(FUZZ_DECODE_SEEDS); do \
	    $(ORACLE_BIN) --seed $$s --count $(FUZZ_DECODE_COUNT); \
	    $(ORACLE_BIN) --seed $$s --count $(FUZZ_DECODE_COUNT) --amd-branches; \
	    $(ORACLE_BIN) --seed $$s --count $(FUZZ_DECODE_COUNT) --mode 32; \
	done

-include $(ORACLE_OBJS:.o=.d)
