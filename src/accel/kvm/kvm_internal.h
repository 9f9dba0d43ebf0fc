/* State shared by the kvm accelerator's files; private to accel/kvm. */
#ifndef XUNI_ACCEL_KVM_INTERNAL_H
#define XUNI_ACCEL_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "accel/accel.h"

#define KVM_MSI_ROUTES 64

/* An MSI message with its own GSI and irqfd (kvm_irqfd.c). */
struct kvm_msi_route {
    uint64_t addr;
    uint32_t data;
    int fd; /* -1: the slot is free */
};

struct kvm_state {
    int kvm_fd;
    int vm_fd;
    size_t run_size;                     /* of each vCPU's shared struct kvm_run */
    struct kvm_cpuid2 *cpuid;            /* KVM_GET_SUPPORTED_CPUID, adjusted per vCPU */
    struct kvm_irq_routing *base_routes; /* the IOAPIC and PIC pins */
    bool fast_paths;                     /* kvm_fast_paths_init() ran */
    bool has_ioeventfd, ioeventfd_any_length, has_irqfd;
    struct kvm_msi_route msi_routes[KVM_MSI_ROUTES];
    unsigned msi_next;                   /* the slot the next new route takes */
    uint64_t msi_by_irqfd, msi_by_ioctl; /* for XUNI_STATS */
};

struct accel_vcpu {
    struct vm *vm;
    struct kvm_state *kvm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    volatile bool running; /* thread is set: kicks may signal it */
};

/* /dev/kvm, or XUNI_KVM_DEVICE (so tests can show the error for a host
 * without KVM on a host with it). */
const char *kvm_device_path(void);
/* The --accel auto probe (kvm_probe.c). */
bool kvm_runs_at_hardware_speed(char *why, size_t len);

/* kvm_irqfd.c: the ioeventfd and irqfd fast paths (device lock held). */
int kvm_fast_paths_init(struct kvm_state *k);
void kvm_fast_paths_destroy(struct kvm_state *k);
int kvm_ioeventfd(struct vm *vm, uint64_t gpa, int fd, bool assign);
int kvm_msi(struct vm *vm, uint64_t addr, uint32_t data);

int kvm_vcpu_setup_cpuid(struct accel_vcpu *vcpu);

int kvm_vcpu_create(struct vm *vm, unsigned index, struct accel_vcpu **out);
int kvm_vcpu_reset(struct accel_vcpu *vcpu, const struct boot_entry *entry);
int kvm_vcpu_run(struct accel_vcpu *vcpu);
void kvm_vcpu_kick(struct accel_vcpu *vcpu);
int kvm_vcpu_get_regs(struct accel_vcpu *vcpu, struct accel_regs *regs);

#endif
