# Real programs for `xuni user`: C programs linked statically with glibc
# (gcc -O2 -static, the host toolchain's defaults otherwise), built the
# same for every MODE, beside the xuni that run-progs.sh is given. Each runs
# natively and under xuni; the outputs must be the same.
PROGS_SRC := tests/user/progs
PROGS_BUILD := $(BUILD)/tests/user/progs
PROGS_NAMES := fp strings recurse sys
PROGS_BINS := $(PROGS_NAMES:%=$(PROGS_BUILD)/%)

$(PROGS_BUILD)/%: $(PROGS_SRC)/%.c $(PROGS_SRC)/progs.mk
	@mkdir -p $(dir $@)
	gcc -std=gnu11 -O2 -static -Wall -Wextra -Werror -o $@ $< -lm

TEST_EXTRA += $(PROGS_BINS)
