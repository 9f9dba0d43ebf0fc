# Debian guest images (tools/guest-images.sh): `make guest` builds the
# kernels of Debian 12's linux-image-amd64 and linux-image-cloud-amd64 with
# busybox initramfs archives into build/images, the same for every MODE.
# The script decides what is stale (package versions, its own files), so
# the target always runs it; an unchanged set costs one apt-get update.
# `make guest-check` boots them under QEMU TCG as a reference.
IMAGES := build/images
GUEST_KERNEL_GENERIC := $(IMAGES)/vmlinuz-generic
GUEST_KERNEL_CLOUD := $(IMAGES)/vmlinuz-cloud
GUEST_INITRD_GENERIC := $(IMAGES)/initramfs-generic.cpio.gz
GUEST_INITRD_CLOUD := $(IMAGES)/initramfs-cloud.cpio.gz
GUEST_INITRD_POWEROFF := $(IMAGES)/initramfs-poweroff.cpio.gz

.PHONY: guest guest-check
guest:
	tools/guest-images.sh $(IMAGES)

guest-check: guest
	tools/guest-check-qemu.sh $(IMAGES)
