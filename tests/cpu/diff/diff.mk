# The differential CPU tester (tests/cpu/diff): xuni's emulator against the
# host CPU, instruction by instruction. Built per MODE as
# $(BUILD)/tests/cpu/cpudiff; tests/run.sh runs it through
# tests/cpu/diff/run-diff.sh (a fixed seed set, TAP); longer runs:
#   make fuzz-cpu SEEDS="1 2 3" COUNT=100000 [FAMILY=alu,seq,x87,fpseq]
# The library is linked whole: the tester reaches the emulator through weak
# references (so it links while the CPU core is incomplete), and weak
# references pull nothing out of an archive by themselves.
CPUDIFF_SRCS := $(sort $(wildcard tests/cpu/diff/*.c))
CPUDIFF_OBJS := $(CPUDIFF_SRCS:%.c=$(BUILD)/obj/%.o)
CPUDIFF := $(BUILD)/tests/cpu/cpudiff
TEST_EXTRA += $(CPUDIFF)

$(CPUDIFF): $(CPUDIFF_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(CPUDIFF_OBJS) -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive \
		$(LDLIBS) -lZydis

SEEDS ?= 1
COUNT ?=
FAMILY ?=
.PHONY: fuzz-cpu
fuzz-cpu: $(CPUDIFF)
	@status=0; for seed in $(SEEDS); do \
		echo "== cpudiff seed $$seed"; \
		$(CPUDIFF) --seed $$seed --all-features $(if $(COUNT),--count $(COUNT)) \
			$(if $(FAMILY),--family $(FAMILY)) || status=1; \
	done; exit $$status

-include $(CPUDIFF_OBJS:.o=.d)
