# Longer runs of the randomized tests: make fuzz [FUZZ_ITERS=N] [FUZZ_SEEDS="1 2 3"]
# Every unit test named tests/unit/test_*_fuzz.c is a seeded randomized test
# that reads XUNI_FUZZ_SEED and XUNI_FUZZ_ITERS (make test runs each with its
# small default). Here each runs FUZZ_ITERS iterations per seed in the
# sanitizer build (AddressSanitizer + UBSan), so any memory error aborts it.
FUZZ_ITERS ?= 1000000
FUZZ_SEEDS ?= 1
FUZZ_BINS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(wildcard tests/unit/test_*_fuzz.c))

.PHONY: fuzz
fuzz:
	$(MAKE) MODE=asan $(FUZZ_BINS)
	@status=0; for t in $(FUZZ_BINS); do for seed in $(FUZZ_SEEDS); do \
		echo "== $$t: seed $$seed, $(FUZZ_ITERS) iterations"; \
		XUNI_FUZZ_SEED=$$seed XUNI_FUZZ_ITERS=$(FUZZ_ITERS) $$t || status=1; \
	done; done; exit $$status
