/* SPDX-License-Identifier: MIT */
/*
 * The modern virtio-pci transport's queue reset (VIRTIO_F_RING_RESET,
 * spec 4.1.4.3 queue_reset) over a fake bus whose BAR is plain memory, as
 * in test_pci.c. A device thread plays QEMU: it sees 1 in queue_reset,
 * and answers with queue_enable and queue_reset 0 (the device requirement
 * of 4.1.4.3.2; a device still presenting 1 is still resetting).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "pci_vfio/pci_internal.h"

struct fake {
	struct uvio_pci_bus bus;
	uint8_t *bar;               /* 16 KiB, BAR 4 */
	atomic_bool stop;
	atomic_uint answered;       /* resets the device thread completed */
};

#define CC(f, off, type) (*(volatile type *)(void *)((f)->bar + (off)))

static int fake_map(struct uvio_pci_bus *bus, int bar, struct uvio_err *err)
{
	(void)err;
	return bus->bar[bar].va ? 0 : -ENODEV;
}

static void fake_close(struct uvio_pci_bus *bus)
{
	close(bus->cfg_fd);
}

static const struct uvio_pci_bus_ops fake_ops = {
	.name = "fake", .map_bar = fake_map, .close = fake_close,
};

static void put_cap(uint8_t *cfg, uint8_t at, uint8_t next, uint8_t type,
		    uint32_t off, uint32_t len)
{
	memcpy(cfg + at, (uint8_t[]){ PCI_CAP_ID_VNDR, next, 20, type, 4 }, 5);
	memcpy(cfg + at + 8, &off, 4);
	memcpy(cfg + at + 12, &len, 4);
}

/* Common configuration `common_len` bytes long (0x38: virtio 1.0's, no
 * queue_reset; 0x40: with it), notify at 0x3000 (multiplier 4). */
static void fake_init(struct fake *f, uint32_t common_len)
{
	uint8_t cfg[256] = { 0 };
	uint32_t mult = 4;

	memset(f, 0, sizeof(*f));
	f->bar = aligned_alloc(4096, 16384);
	assert_non_null(f->bar);
	memset(f->bar, 0, 16384);
	f->bus.ops = &fake_ops;
	f->bus.driver = UVIO_PCI_DRV_VFIO;
	snprintf(f->bus.bdf, sizeof(f->bus.bdf), "0000:09:00.0");
	for (int i = 0; i < PCI_STD_NUM_BARS; i++)
		f->bus.bar[i].fd = -1;
	f->bus.bar[4].size = f->bus.bar[4].map_len = 16384;
	f->bus.bar[4].va = f->bar;
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	put_cap(cfg, 0x40, 0x54, VIRTIO_PCI_CAP_COMMON_CFG, 0, common_len);
	put_cap(cfg, 0x54, 0, VIRTIO_PCI_CAP_NOTIFY_CFG, 0x3000, 0x1000);
	memcpy(cfg + 0x54 + 16, &mult, 4);
	f->bus.cfg_fd = memfd_create("cfg", MFD_CLOEXEC);
	assert_true(f->bus.cfg_fd >= 0);
	assert_int_equal(pwrite(f->bus.cfg_fd, cfg, sizeof(cfg), 0), (ssize_t)sizeof(cfg));
	CC(f, VIRTIO_PCI_COMMON_NUMQ, uint16_t) = 3;
	CC(f, VIRTIO_PCI_COMMON_Q_SIZE, uint16_t) = 256;
}

/* QEMU's side: a 1 in queue_reset resets the selected queue. */
static void *device(void *arg)
{
	struct fake *f = arg;

	while (!atomic_load(&f->stop)) {
		if (CC(f, VIRTIO_PCI_COMMON_Q_RESET, uint16_t) == 1) {
			usleep(2000);   /* a reset takes a while */
			CC(f, VIRTIO_PCI_COMMON_Q_ENABLE, uint16_t) = 0;
			CC(f, VIRTIO_PCI_COMMON_Q_RESET, uint16_t) = 0;
			atomic_fetch_add(&f->answered, 1);
		}
	}
	return NULL;
}

static const struct uvio_vq_addrs addrs = { 0x10000, 0x11000, 0x12000 };

static void test_reset_and_reenable(void **state)
{
	const struct uvio_transport_ops *ops;
	struct uvio_err err;
	struct fake f;
	pthread_t th;
	void *t;

	(void)state;
	fake_init(&f, 0x40);
	assert_int_equal(uvio_virtio_pci_create(&f.bus, &ops, &t, &err), 0);
	assert_non_null(ops->reset_queue);
	/* Not negotiated: refused, nothing written. */
	assert_int_equal(ops->set_features(t, 1ULL << VIRTIO_F_VERSION_1), 0);
	assert_int_equal(ops->reset_queue(t, 1), -ENOTSUP);
	assert_int_equal(CC(&f, VIRTIO_PCI_COMMON_Q_RESET, uint16_t), 0);
	assert_int_equal(ops->set_features(t, 1ULL << VIRTIO_F_VERSION_1 |
					      1ULL << VIRTIO_F_RING_RESET), 0);
	assert_int_equal(ops->setup_queue(t, 1, 256, &addrs), 0);
	assert_int_equal(ops->reset_queue(t, 7), -ENOENT);
	assert_int_equal(pthread_create(&th, NULL, device, &f), 0);
	assert_int_equal(ops->reset_queue(t, 1), 0);
	assert_int_equal(atomic_load(&f.answered), 1);
	assert_int_equal(CC(&f, VIRTIO_PCI_COMMON_Q_SELECT, uint16_t), 1);
	/* Re-enabled with a new size (spec 2.6.1.2). */
	assert_int_equal(ops->setup_queue(t, 1, 64, &addrs), 0);
	assert_int_equal(CC(&f, VIRTIO_PCI_COMMON_Q_SIZE, uint16_t), 64);
	assert_int_equal(CC(&f, VIRTIO_PCI_COMMON_Q_ENABLE, uint16_t), 1);
	atomic_store(&f.stop, true);
	pthread_join(th, NULL);
	ops->destroy(t);
	free(f.bar);
}

/* A device that keeps presenting 1 is still resetting: -ETIMEDOUT, not a
 * reset taken for done while it may still use the ring. */
static void test_reset_never_completes(void **state)
{
	const struct uvio_transport_ops *ops;
	struct uvio_err err;
	struct fake f;
	void *t;

	(void)state;
	fake_init(&f, 0x40);
	assert_int_equal(uvio_virtio_pci_create(&f.bus, &ops, &t, &err), 0);
	assert_int_equal(ops->set_features(t, 1ULL << VIRTIO_F_VERSION_1 |
					      1ULL << VIRTIO_F_RING_RESET), 0);
	assert_int_equal(ops->setup_queue(t, 2, 128, &addrs), 0);
	assert_int_equal(ops->reset_queue(t, 2), -ETIMEDOUT);
	assert_int_equal(CC(&f, VIRTIO_PCI_COMMON_Q_RESET, uint16_t), 1);
	ops->destroy(t);
	free(f.bar);
}

/* A virtio 1.0 common configuration has no queue_reset field. */
static void test_reset_without_the_field(void **state)
{
	const struct uvio_transport_ops *ops;
	struct uvio_err err;
	struct fake f;
	void *t;

	(void)state;
	fake_init(&f, 0x38);
	assert_int_equal(uvio_virtio_pci_create(&f.bus, &ops, &t, &err), 0);
	assert_int_equal(ops->set_features(t, 1ULL << VIRTIO_F_VERSION_1 |
					      1ULL << VIRTIO_F_RING_RESET), 0);
	assert_int_equal(ops->reset_queue(t, 0), -ENOTSUP);
	assert_int_equal(CC(&f, VIRTIO_PCI_COMMON_Q_RESET, uint16_t), 0);
	ops->destroy(t);
	free(f.bar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_and_reenable),
		cmocka_unit_test(test_reset_never_completes),
		cmocka_unit_test(test_reset_without_the_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
