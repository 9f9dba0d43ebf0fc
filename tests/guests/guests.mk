# Test guests: freestanding multiboot kernels built with the host toolchain
# (gcc, as, ld, objcopy), the same for every MODE: they run inside the VM,
# not in xuni. Each guest is one C file, tests/guests/NAME.c, linked with
# the runtime in tests/guests/lib/ at 1 MiB as ELF64, then converted to
# ELF32 (what multiboot loaders -- xuni, QEMU -kernel -- accept), as
# kvm-unit-tests does. One guest is not multiboot: linuxboot is a Linux
# bzImage (see below).
GUEST_BUILD := build/guests
GUEST_SRC := tests/guests
DEFAULT_GUEST := $(GUEST_BUILD)/hello.elf

GUEST_NAMES := hello modules ioport timer smp triplefault probe-intn poweroff reset \
	modes paging exceptions smc tsc-cpuid softint syscall ring3 irqwindow iret legacy gates \
	nmi-shadow virtio-rng virtio-blk kvmclock
GUEST_ELFS := $(GUEST_NAMES:%=$(GUEST_BUILD)/%.elf)
GUEST_LIB_SRCS := $(sort $(wildcard $(GUEST_SRC)/lib/*.c $(GUEST_SRC)/lib/*.S))
GUEST_LIB_OBJS := $(patsubst $(GUEST_SRC)/lib/%,$(GUEST_BUILD)/obj/lib/%.o,$(GUEST_LIB_SRCS))
# Boot modules for the modules guest, generated so their content is known.
GUEST_DATA := $(GUEST_BUILD)/mod1.bin $(GUEST_BUILD)/mod2.bin $(GUEST_BUILD)/linuxboot-initrd.bin \
	$(GUEST_BUILD)/virtio-blk.img

GUEST_CC := gcc
# min-pagesize=0: guests read fixed low addresses (BIOS data area), which
# gcc 12 otherwise takes for null-pointer arithmetic (-Warray-bounds).
GUEST_CFLAGS := -m64 -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-pic -fno-pie \
	-mcmodel=small -mno-red-zone -mno-sse -mno-mmx -mgeneral-regs-only -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fcf-protection=none -nostdlib -I$(GUEST_SRC)/lib -MMD -MP \
	--param=min-pagesize=0
GUEST_ASFLAGS := -m64 -g -I$(GUEST_SRC)/lib -MMD -MP
GUEST_LDFLAGS := -m elf_x86_64 -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
	-T $(GUEST_SRC)/guest.ld

guests: $(GUEST_ELFS) $(GUEST_BUILD)/linuxboot.bzImage $(GUEST_DATA)

# Every output also depends on this file: changing a flag rebuilds.
GUEST_MK := $(GUEST_SRC)/guests.mk

$(GUEST_BUILD)/obj/lib/%.c.o: $(GUEST_SRC)/lib/%.c $(GUEST_MK)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_BUILD)/obj/lib/%.S.o: $(GUEST_SRC)/lib/%.S $(GUEST_MK)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -c -o $@ $<

$(GUEST_BUILD)/obj/%.o: $(GUEST_SRC)/%.c $(GUEST_MK)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

# A guest may have assembly beside its C file: tests/guests/NAME.S.
GUEST_ASM_OBJS := $(patsubst $(GUEST_SRC)/%.S,$(GUEST_BUILD)/obj/%.S.o, \
	$(filter $(GUEST_NAMES:%=$(GUEST_SRC)/%.S),$(wildcard $(GUEST_SRC)/*.S)))

$(GUEST_ASM_OBJS): $(GUEST_BUILD)/obj/%.S.o: $(GUEST_SRC)/%.S $(GUEST_MK)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -c -o $@ $<

$(foreach o,$(GUEST_ASM_OBJS),$(eval $(o:$(GUEST_BUILD)/obj/%.S.o=$(GUEST_BUILD)/%.elf64): $(o)))

$(GUEST_BUILD)/%.elf64: $(GUEST_BUILD)/obj/%.o $(GUEST_LIB_OBJS) $(GUEST_SRC)/guest.ld
	ld $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

$(GUEST_BUILD)/%.elf: $(GUEST_BUILD)/%.elf64
	objcopy -O elf32-i386 $< $@

# The virtio-blk guest's disk: 64 KiB, sector 0 starting with a known line
# (virtio-blk.c reads it; it writes sectors 8-15 itself).
$(GUEST_BUILD)/virtio-blk.img: $(GUEST_MK)
	@mkdir -p $(dir $@)
	printf 'xuni virtio-blk guest image\n' > $@
	truncate -s 64K $@

# mod1: 320 numbered 16-byte lines (5120 bytes, two pages); mod2: one line.
# modules.c checks both.
$(GUEST_BUILD)/mod1.bin: $(GUEST_MK)
	@mkdir -p $(dir $@)
	seq -f 'mod1 line %05g' 1 320 > $@
$(GUEST_BUILD)/mod2.bin: $(GUEST_MK)
	@mkdir -p $(dir $@)
	printf 'xuni-module-two\n' > $@

# linuxboot: a bzImage for xuni's Linux loader (tests/guests/linuxboot.h).
# The payload -- linuxboot-head.S (entry points) and linuxboot.c, with the
# lib files that need neither multiboot nor an IDT -- is linked at
# pref_address and flattened; linuxboot-setup.S puts the setup header in
# front of it (.incbin), computing setup_sects and syssize itself.
LINUXBOOT_OBJS := $(GUEST_BUILD)/obj/linuxboot-head.S.o $(GUEST_BUILD)/obj/linuxboot.o \
	$(patsubst %,$(GUEST_BUILD)/obj/lib/%.c.o,runtime serial printf string)

$(GUEST_BUILD)/obj/linuxboot-head.S.o: $(GUEST_SRC)/linuxboot-head.S $(GUEST_MK)
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -c -o $@ $<

$(GUEST_BUILD)/linuxboot.payload.elf: $(LINUXBOOT_OBJS) $(GUEST_SRC)/linuxboot.ld
	ld -m elf_x86_64 -nostdlib -static -z max-page-size=0x1000 -z noexecstack \
		-T $(GUEST_SRC)/linuxboot.ld -o $@ $(LINUXBOOT_OBJS)

$(GUEST_BUILD)/linuxboot.payload: $(GUEST_BUILD)/linuxboot.payload.elf
	objcopy -O binary $< $@

$(GUEST_BUILD)/obj/linuxboot-setup.S.o: $(GUEST_SRC)/linuxboot-setup.S \
		$(GUEST_BUILD)/linuxboot.payload $(GUEST_MK)
	$(GUEST_CC) $(GUEST_ASFLAGS) -Wa,-I$(GUEST_BUILD) -c -o $@ $<

$(GUEST_BUILD)/linuxboot.bzImage: $(GUEST_BUILD)/obj/linuxboot-setup.S.o
	ld -m elf_x86_64 -nostdlib -static -Ttext=0 -e 0 --oformat binary -o $@ $<

# The initrd: 320 numbered 16-byte lines, checked by linuxboot.c.
$(GUEST_BUILD)/linuxboot-initrd.bin: $(GUEST_MK)
	@mkdir -p $(dir $@)
	seq -f 'initrd %08g' 1 320 > $@

# Keep the objects and ELF64 files make would otherwise delete as
# intermediates (they give incremental builds and symbols for debugging).
.SECONDARY: $(GUEST_LIB_OBJS) $(GUEST_NAMES:%=$(GUEST_BUILD)/obj/%.o) $(GUEST_ELFS:.elf=.elf64) \
	$(GUEST_ASM_OBJS) \
	$(LINUXBOOT_OBJS) $(GUEST_BUILD)/obj/linuxboot-setup.S.o $(GUEST_BUILD)/linuxboot.payload.elf \
	$(GUEST_BUILD)/linuxboot.payload

-include $(GUEST_LIB_OBJS:.o=.d) $(GUEST_NAMES:%=$(GUEST_BUILD)/obj/%.d) $(GUEST_ASM_OBJS:.o=.d)
-include $(LINUXBOOT_OBJS:.o=.d) $(GUEST_BUILD)/obj/linuxboot-setup.S.d
