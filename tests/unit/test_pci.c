/* SPDX-License-Identifier: MIT */
/*
 * lib/pci_vfio without a device: PCI addresses, probe/scan/bind against a
 * fake sysfs tree ($UVIO_SYSFS_ROOT), and the virtio-pci transports
 * (modern and legacy) over a fake bus whose BARs are plain memory and
 * whose config space is a memfd. The fake device does not react: the tests
 * check what the transport writes where (spec 4.1.4), and what it refuses.
 * And removal: a BAR mapping that faults (a truncated memfd) reads all
 * ones through the process's SIGBUS handler, which passes other faults on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>

#include <uvio/pci.h>

#include "pci_vfio/pci_internal.h"

/* ---- addresses ------------------------------------------------------------ */

static void test_addr_parse(void **state)
{
	struct uvio_pci_addr a;
	char buf[UVIO_PCI_ADDR_LEN];

	(void)state;
	assert_int_equal(uvio_pci_addr_parse("0000:01:00.0", &a), 0);
	assert_int_equal(a.domain, 0);
	assert_int_equal(a.bus, 1);
	assert_int_equal(a.dev, 0);
	assert_int_equal(a.func, 0);
	assert_int_equal(uvio_pci_addr_parse("abcd:fe:1f.7", &a), 0);
	assert_int_equal(a.domain, 0xabcd);
	assert_int_equal(a.bus, 0xfe);
	assert_int_equal(a.dev, 0x1f);
	assert_int_equal(a.func, 7);
	uvio_pci_addr_format(&a, buf);
	assert_string_equal(buf, "abcd:fe:1f.7");
	assert_int_equal(uvio_pci_addr_parse("03:02.1", &a), 0);
	assert_int_equal(a.domain, 0);
	assert_int_equal(a.bus, 3);
	assert_int_equal(a.dev, 2);
	assert_int_equal(a.func, 1);
	uvio_pci_addr_format(&a, buf);
	assert_string_equal(buf, "0000:03:02.1");

	const char *bad[] = { "", "0000:01:00", "0000:01:20.0", "0000:01:00.8",
			      "0000:01:00.0x", "100:00.0", "00000:01:00.0",
			      "0000:001:00.0", "g000:01:00.0", ":01:00.0",
			      "0000::00.0", "01:00.", NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(uvio_pci_addr_parse(bad[i], &a), -EINVAL);
	assert_int_equal(uvio_pci_addr_parse(NULL, &a), -EINVAL);
}

/* ---- a fake sysfs --------------------------------------------------------- */

static char root[64];

static void put(const char *rel, const char *val)
{
	char path[512];
	FILE *f;

	uvio_pci_fmt(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(val, f);
	fclose(f);
}

static void mkdirs(const char *rel)
{
	char path[512], *p;

	uvio_pci_fmt(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void link_to(const char *target, const char *rel)
{
	char path[512];

	uvio_pci_fmt(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* A config space with the four virtio vendor capabilities (spec 4.1.4). */
static void modern_config(uint8_t cfg[256])
{
	memset(cfg, 0, 256);
	cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	/* common: BAR 4 @0, 0x38 bytes */
	memcpy(cfg + 0x40, (uint8_t[]){ PCI_CAP_ID_VNDR, 0x50, 16, VIRTIO_PCI_CAP_COMMON_CFG, 4 }, 5);
	*(uint32_t *)(void *)(cfg + 0x48) = 0;
	*(uint32_t *)(void *)(cfg + 0x4c) = 0x38;
	/* notify: BAR 4 @0x3000, 0x1000 bytes, multiplier 4 */
	memcpy(cfg + 0x50, (uint8_t[]){ PCI_CAP_ID_VNDR, 0x68, 20, VIRTIO_PCI_CAP_NOTIFY_CFG, 4 }, 5);
	*(uint32_t *)(void *)(cfg + 0x58) = 0x3000;
	*(uint32_t *)(void *)(cfg + 0x5c) = 0x1000;
	*(uint32_t *)(void *)(cfg + 0x60) = 4;
	/* isr: BAR 4 @0x1000 */
	memcpy(cfg + 0x68, (uint8_t[]){ PCI_CAP_ID_VNDR, 0x78, 16, VIRTIO_PCI_CAP_ISR_CFG, 4 }, 5);
	*(uint32_t *)(void *)(cfg + 0x70) = 0x1000;
	*(uint32_t *)(void *)(cfg + 0x74) = 0x1000;
	/* device: BAR 4 @0x2000, 0x100 bytes */
	memcpy(cfg + 0x78, (uint8_t[]){ PCI_CAP_ID_VNDR, 0, 16, VIRTIO_PCI_CAP_DEVICE_CFG, 4 }, 5);
	*(uint32_t *)(void *)(cfg + 0x80) = 0x2000;
	*(uint32_t *)(void *)(cfg + 0x84) = 0x100;
}

static void fake_device(const char *bdf, const char *vendor, const char *device,
			const char *subdev, const char *driver, const char *group,
			bool modern)
{
	char rel[256], path[512];
	uint8_t cfg[256];
	FILE *f;

	uvio_pci_fmt(rel, sizeof(rel), "bus/pci/devices/%s", bdf);
	mkdirs(rel);
	uvio_pci_fmt(path, sizeof(path), "%s/vendor", rel);
	put(path, vendor);
	uvio_pci_fmt(path, sizeof(path), "%s/device", rel);
	put(path, device);
	uvio_pci_fmt(path, sizeof(path), "%s/subsystem_device", rel);
	put(path, subdev);
	uvio_pci_fmt(path, sizeof(path), "%s/numa_node", rel);
	put(path, "-1\n");
	if (driver) {
		char target[256];

		uvio_pci_fmt(path, sizeof(path), "bus/pci/drivers/%s", driver);
		mkdirs(path);
		uvio_pci_fmt(target, sizeof(target), "../../../../bus/pci/drivers/%s", driver);
		uvio_pci_fmt(path, sizeof(path), "%s/driver", rel);
		link_to(target, path);
	}
	if (group) {
		char target[256];

		uvio_pci_fmt(path, sizeof(path), "kernel/iommu_groups/%s", group);
		mkdirs(path);
		uvio_pci_fmt(target, sizeof(target), "../../../../kernel/iommu_groups/%s", group);
		uvio_pci_fmt(path, sizeof(path), "%s/iommu_group", rel);
		link_to(target, path);
	}
	if (modern)
		modern_config(cfg);
	else
		memset(cfg, 0, sizeof(cfg));
	uvio_pci_fmt(path, sizeof(path), "%s/%s/config", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(cfg, 1, sizeof(cfg), f);
	fclose(f);
}

static int sysfs_setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/uvio-test-sysfs.XXXXXX");
	assert_non_null(mkdtemp(root));
	setenv("UVIO_SYSFS_ROOT", root, 1);
	fake_device("0000:00:00.0", "0x8086\n", "0x29c0\n", "0x1100\n", NULL, "0", false);
	fake_device("0000:02:00.0", "0x1af4\n", "0x1041\n", "0x1100\n", "vfio-pci", "5", true);
	fake_device("0000:01:00.0", "0x1af4\n", "0x1001\n", "0x0002\n", "virtio-pci", "4", true);
	fake_device("0000:03:00.0", "0x1af4\n", "0x1000\n", "0x0001\n", "uio_pci_generic", NULL, false);
	return 0;
}

static int sysfs_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	unsetenv("UVIO_SYSFS_ROOT");
	return 0;
}

static void test_probe(void **state)
{
	struct uvio_pci_addr a;
	struct uvio_pci_info info;
	struct uvio_err err;

	(void)state;
	uvio_pci_addr_parse("0000:02:00.0", &a);
	assert_int_equal(uvio_pci_probe(&a, &info, &err), 0);
	assert_int_equal(info.virtio_type, VIRTIO_ID_NET);
	assert_false(info.legacy_capable);
	assert_true(info.modern_capable);
	assert_int_equal(info.driver, UVIO_PCI_DRV_VFIO);
	assert_string_equal(info.driver_name, "vfio-pci");
	assert_int_equal(info.iommu_group, 5);
	assert_int_equal(info.numa_node, -1);

	uvio_pci_addr_parse("0000:01:00.0", &a);
	assert_int_equal(uvio_pci_probe(&a, &info, &err), 0);
	assert_int_equal(info.virtio_type, VIRTIO_ID_BLOCK);  /* from subsystem id */
	assert_true(info.legacy_capable);
	assert_true(info.modern_capable);
	assert_int_equal(info.driver, UVIO_PCI_DRV_KERNEL);

	uvio_pci_addr_parse("0000:03:00.0", &a);
	assert_int_equal(uvio_pci_probe(&a, &info, &err), 0);
	assert_true(info.legacy_capable);
	assert_false(info.modern_capable);
	assert_int_equal(info.driver, UVIO_PCI_DRV_UIO);
	assert_int_equal(info.iommu_group, -1);

	uvio_pci_addr_parse("0000:00:00.0", &a);
	assert_int_equal(uvio_pci_probe(&a, &info, &err), -ENOTSUP);
	assert_string_equal(err.msg, "0000:00:00.0: not a virtio device (vendor 8086 device 29c0)");

	uvio_pci_addr_parse("0000:00:1f.7", &a);
	assert_int_equal(uvio_pci_probe(&a, &info, &err), -ENODEV);
	assert_string_equal(err.msg,
			    "0000:00:1f.7: no such PCI device (see 'uvio-devbind --status')");
}

static void test_scan(void **state)
{
	struct uvio_pci_info devs[8];
	struct uvio_err err;
	char bdf[UVIO_PCI_ADDR_LEN];

	(void)state;
	assert_int_equal(uvio_pci_scan(devs, 8, &err), 3);   /* not the host bridge */
	uvio_pci_addr_format(&devs[0].addr, bdf);
	assert_string_equal(bdf, "0000:01:00.0");            /* sorted */
	uvio_pci_addr_format(&devs[2].addr, bdf);
	assert_string_equal(bdf, "0000:03:00.0");
	assert_int_equal(uvio_pci_scan(devs, 1, &err), 3);   /* count beyond max */
}

static void test_bind_errors(void **state)
{
	struct uvio_pci_addr a;
	struct uvio_err err;

	(void)state;
	/* already there: nothing to do */
	uvio_pci_addr_parse("0000:02:00.0", &a);
	assert_int_equal(uvio_pci_bind(&a, UVIO_PCI_DRV_VFIO, false, &err), 0);
	/* a driver that is not loaded */
	uvio_pci_addr_parse("0000:01:00.0", &a);
	{
		char path[512];

		uvio_pci_fmt(path, sizeof(path), "%s/bus/pci/drivers/uio_pci_generic", root);
		assert_int_equal(rmdir(path), 0);
	}
	assert_int_equal(uvio_pci_bind(&a, UVIO_PCI_DRV_UIO, false, &err), -ENOENT);
	assert_string_equal(err.msg,
			    "0000:01:00.0: driver uio_pci_generic is not loaded; run 'modprobe uio_pci_generic'");
	mkdirs("bus/pci/drivers/uio_pci_generic");
	/* only to vfio-pci or uio_pci_generic */
	assert_int_equal(uvio_pci_bind(&a, UVIO_PCI_DRV_KERNEL, false, &err), -EINVAL);
	/* open refuses a device the kernel still drives */
	{
		struct uvio_dev *dev = NULL;

		assert_int_equal(uvio_pci_open(&a, &dev, &err), -EBUSY);
		assert_string_equal(err.msg,
				    "0000:01:00.0: bound to kernel driver virtio-pci; run 'uvio-devbind --bind vfio-pci 0000:01:00.0' first");
		assert_null(dev);
	}
}

/* ---- the transports over a fake bus --------------------------------------- */

struct fake {
	struct uvio_pci_bus bus;
	uint8_t *bar;       /* 16 KiB, BAR 4 (modern) or BAR 0 (legacy) */
	int closed;
};

static int fake_map(struct uvio_pci_bus *bus, int bar, struct uvio_err *err)
{
	(void)err;
	return bus->bar[bar].va ? 0 : -ENODEV;
}

static void fake_close(struct uvio_pci_bus *bus)
{
	struct fake *f = (struct fake *)bus;

	close(bus->cfg_fd);
	free(f->bar);
	f->closed++;
	free(f);
}

static const struct uvio_pci_bus_ops fake_ops = {
	.name = "fake", .map_bar = fake_map, .close = fake_close,
};

static struct fake *fake_bus(bool modern)
{
	struct fake *f = calloc(1, sizeof(*f));
	uint8_t cfg[256];
	int barno = modern ? 4 : 0;

	assert_non_null(f);
	f->bar = aligned_alloc(4096, 16384);
	assert_non_null(f->bar);
	memset(f->bar, 0, 16384);
	f->bus.ops = &fake_ops;
	f->bus.driver = UVIO_PCI_DRV_VFIO;
	f->bus.info.legacy_capable = !modern;
	snprintf(f->bus.bdf, sizeof(f->bus.bdf), "0000:09:00.0");
	for (int i = 0; i < PCI_STD_NUM_BARS; i++)
		f->bus.bar[i].fd = -1;
	f->bus.bar[barno].size = 16384;
	f->bus.bar[barno].va = f->bar;
	f->bus.bar[barno].map_len = 16384;
	f->bus.cfg_fd = memfd_create("cfg", MFD_CLOEXEC);
	assert_true(f->bus.cfg_fd >= 0);
	if (modern)
		modern_config(cfg);
	else
		memset(cfg, 0, sizeof(cfg));
	assert_int_equal(pwrite(f->bus.cfg_fd, cfg, sizeof(cfg), 0), (ssize_t)sizeof(cfg));
	return f;
}

#define CC(f, off, type) (*(volatile type *)(void *)((f)->bar + (off)))

static void test_modern_transport(void **state)
{
	struct fake *f = fake_bus(true);
	const struct uvio_transport_ops *ops;
	struct uvio_err err;
	void *t;
	uint8_t mac[6];

	(void)state;
	CC(f, VIRTIO_PCI_COMMON_NUMQ, uint16_t) = 3;
	CC(f, VIRTIO_PCI_COMMON_Q_SIZE, uint16_t) = 256;
	CC(f, VIRTIO_PCI_COMMON_Q_NOFF, uint16_t) = 2;
	memcpy(f->bar + 0x2000, "\x52\x54\x00\x12\x34\x56", 6);
	assert_int_equal(uvio_virtio_pci_create(&f->bus, &ops, &t, &err), 0);
	assert_string_equal(ops->name, "vfio");
	assert_false(ops->is_legacy(t));
	assert_ptr_equal(uvio_virtio_pci_bus(ops, t), &f->bus);
	assert_true(uvio_virtio_pci_has_modern_caps(&f->bus));
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_MSIX, uint16_t), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(ops->max_queues(t), 3);
	assert_int_equal(ops->queue_max_size(t, 3), 0);

	/* device config: in the DEVICE_CFG structure, bounded by its length */
	assert_int_equal(ops->read_config(t, 0, mac, 6), 0);
	assert_memory_equal(mac, "\x52\x54\x00\x12\x34\x56", 6);
	assert_int_equal(ops->read_config(t, 0xfe, mac, 4), -EINVAL);

	/* features: the high word goes through the select register */
	assert_int_equal(ops->set_features(t, 1ULL << VIRTIO_F_VERSION_1 | 0x20), 0);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_GFSELECT, uint32_t), 1);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_GF, uint32_t), 1);

	/* a queue: 64-bit addresses, no MSI-X vector, enabled last */
	struct uvio_vq_addrs a = { 0x123456789000ULL, 0x12345678a000ULL, 0x12345678b000ULL };

	assert_int_equal(ops->setup_queue(t, 1, 512, &a), -EINVAL);   /* > max */
	assert_int_equal(ops->setup_queue(t, 1, 128, &a), 0);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_Q_SELECT, uint16_t), 1);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_Q_SIZE, uint16_t), 128);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_Q_MSIX, uint16_t), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_Q_DESCLO, uint32_t), 0x56789000);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_Q_DESCHI, uint32_t), 0x1234);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_Q_AVAILLO, uint32_t), 0x5678a000);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_Q_USEDHI, uint32_t), 0x1234);
	assert_int_equal(CC(f, VIRTIO_PCI_COMMON_Q_ENABLE, uint16_t), 1);
	/* an enabled queue is not set up again */
	assert_int_equal(ops->setup_queue(t, 1, 128, &a), -EBUSY);

	/* notify: cap offset 0x3000 + queue_notify_off 2 * multiplier 4 */
	ops->notify_queue(t, 1, 1);
	assert_int_equal(CC(f, 0x3008, uint16_t), 1);

	/* NOTIFICATION_DATA: the full 32-bit value */
	CC(f, VIRTIO_PCI_COMMON_Q_ENABLE, uint16_t) = 0;
	assert_int_equal(ops->set_features(t, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 38), 0);
	assert_int_equal(ops->setup_queue(t, 1, 128, &a), 0);
	ops->notify_queue(t, 1, 0x80050001u);
	assert_int_equal(CC(f, 0x3008, uint32_t), 0x80050001u);

	/* a queue_notify_off beyond the notify structure is refused */
	CC(f, VIRTIO_PCI_COMMON_Q_ENABLE, uint16_t) = 0;
	CC(f, VIRTIO_PCI_COMMON_Q_NOFF, uint16_t) = 0x400;
	assert_int_equal(ops->setup_queue(t, 2, 128, &a), -EIO);

	/* reset: writes 0, reads 0 back */
	CC(f, VIRTIO_PCI_COMMON_STATUS, uint8_t) = 0x0f;
	assert_int_equal(ops->reset(t), 0);
	assert_int_equal(ops->get_status(t), 0);
	ops->destroy(t);
}

static void test_modern_bad_caps(void **state)
{
	struct fake *f = fake_bus(true);
	const struct uvio_transport_ops *ops;
	struct uvio_err err;
	void *t;

	(void)state;
	/* the common structure reaching past its BAR: not usable, and with
	 * no legacy interface the device is refused */
	uint32_t off = 16384 - 8;

	assert_int_equal(pwrite(f->bus.cfg_fd, &off, 4, 0x48), 4);
	assert_int_equal(uvio_virtio_pci_create(&f->bus, &ops, &t, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "without the virtio-pci capabilities"));
	fake_close(&f->bus);
}

static void test_legacy_transport(void **state)
{
	struct fake *f = fake_bus(false);
	const struct uvio_transport_ops *ops;
	struct uvio_err err;
	void *t;
	uint32_t cap;

	(void)state;
	CC(f, VIRTIO_PCI_QUEUE_NUM, uint16_t) = 256;   /* every queue: 256 */
	CC(f, VIRTIO_PCI_HOST_FEATURES, uint32_t) = 0x30000020;
	memcpy(f->bar + VIRTIO_PCI_CONFIG_OFF(0), "\x52\x54\x00\xab\xcd\xef", 6);
	assert_int_equal(uvio_virtio_pci_create(&f->bus, &ops, &t, &err), 0);
	assert_true(ops->is_legacy(t));
	assert_null(ops->config_generation);
	/* the fake answers 256 for every index: probing stops at the limit */
	assert_int_equal(ops->max_queues(t), 1024);
	assert_int_equal(ops->get_features(t), 0x30000020);
	assert_int_equal(ops->set_features(t, 1ULL << 32), -EINVAL);
	assert_int_equal(ops->read_config(t, 0, &cap, 4), 0);
	assert_memory_equal(&cap, "\x52\x54\x00\xab", 4);

	/* the legacy layout: avail after the table, used at the next 4 KiB */
	uint64_t desc = 0x10000;
	uint64_t avail = desc + 256 * 16;
	uint64_t used = (avail + 2 * (3 + 256) + 4095) & ~4095ULL;
	struct uvio_vq_addrs a = { desc, avail, used };

	assert_int_equal(ops->setup_queue(t, 0, 128, &a), -EINVAL);    /* not its size */
	a.device += 4096;
	assert_int_equal(ops->setup_queue(t, 0, 256, &a), -EINVAL);    /* bad layout */
	a.device = used;
	assert_int_equal(ops->setup_queue(t, 0, 256, &a), 0);
	assert_int_equal(CC(f, VIRTIO_PCI_QUEUE_PFN, uint32_t), 0x10);
	/* above the 32-bit PFN limit (2^44): a clear -ERANGE */
	a.desc = 1ULL << 44;
	a.driver = a.desc + 256 * 16;
	a.device = (a.driver + 2 * (3 + 256) + 4095) & ~4095ULL;
	assert_int_equal(ops->setup_queue(t, 0, 256, &a), -ERANGE);

	ops->notify_queue(t, 5, 5);
	assert_int_equal(CC(f, VIRTIO_PCI_QUEUE_NOTIFY, uint16_t), 5);
	ops->destroy(t);
}

/* ---- removal: a BAR that faults reads all ones, and says so ------------------ */

/* A bus of our own: BAR 0 is a shared mapping of a memfd, which faults
 * (SIGBUS) once the memfd is truncated, as a revoked BAR mapping does. */
struct rmfake {
	struct uvio_pci_bus bus;
	int memfd;
};

static void rmfake_close(struct uvio_pci_bus *bus)
{
	struct rmfake *f = (struct rmfake *)bus;

	uvio_pci_rm_detach(bus);
	munmap((void *)bus->bar[0].va, bus->bar[0].map_len);
	close(bus->cfg_fd);
	close(f->memfd);
	free(f);
}

static int rmfake_release(struct uvio_pci_bus *bus)
{
	return uvio_pci_fd_to_null(bus->cfg_fd);
}

static const struct uvio_pci_bus_ops rmfake_ops = {
	.name = "rmfake", .map_bar = fake_map, .close = rmfake_close,
	.release = rmfake_release,
};

static struct rmfake *rmfake_bus(uint16_t vendor)
{
	struct rmfake *f = calloc(1, sizeof(*f));
	struct uvio_err err;
	void *va;

	assert_non_null(f);
	f->bus.ops = &rmfake_ops;
	f->bus.driver = UVIO_PCI_DRV_UIO;
	snprintf(f->bus.bdf, sizeof(f->bus.bdf), "0000:0a:00.0");
	for (int i = 0; i < PCI_STD_NUM_BARS; i++)
		f->bus.bar[i].fd = -1;
	f->bus.cfg_fd = memfd_create("cfg", MFD_CLOEXEC);
	assert_true(f->bus.cfg_fd >= 0);
	assert_int_equal(pwrite(f->bus.cfg_fd, &vendor, 2, PCI_VENDOR_ID), 2);
	f->memfd = memfd_create("bar", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, 8192), 0);
	va = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	assert_true(va != MAP_FAILED);
	f->bus.bar[0].va = va;
	f->bus.bar[0].size = f->bus.bar[0].map_len = 8192;
	assert_int_equal(uvio_pci_rm_attach(&f->bus, &err), 0);
	uvio_pci_rm_add_bar(&f->bus, 0);
	return f;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static sigjmp_buf other_fault;
static volatile sig_atomic_t other_faults;

static void other_sigbus(int sig)
{
	(void)sig;
	other_faults++;
	siglongjmp(other_fault, 1);
}

static void test_removal_sigbus(void **state)
{
	struct sigaction sa = { .sa_handler = other_sigbus }, old;
	struct rmfake *f, *g;
	volatile uint8_t *va;
	void *elsewhere;
	int efd;

	(void)state;
	/* A handler that was there first: faults that are not ours go to it. */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGBUS, &sa, &old), 0);
	f = rmfake_bus(UVIO_PCI_VENDOR_VIRTIO);
	va = f->bus.bar[0].va;
	efd = uvio_pci_bus_removal_fd(&f->bus);
	assert_true(efd >= 0);

	/* A live device: plain loads and stores, not removed. */
	assert_int_equal(uvio_pci_bar_write32(&f->bus, 0, 0x10, 0x12345678u), 0);
	assert_int_equal(uvio_pci_bar_read32(&f->bus, 0, 0x10), 0x12345678u);
	assert_false(uvio_pci_bus_poll_removed(&f->bus));
	assert_false(readable(efd));

	/* Revoked: the next load faults, and reads all ones instead. */
	assert_int_equal(ftruncate(f->memfd, 0), 0);
	assert_int_equal(va[0x10], 0xff);
	assert_true(uvio_pci_bus_removed(&f->bus));
	assert_true(readable(efd));
	/* Every BAR of the device was replaced: a store (a notify) lands in
	 * our memory; accessors no longer touch it at all. */
	va[0x1000] = 1;
	assert_int_equal(uvio_pci_bar_read16(&f->bus, 0, 0x1000), 0xffff);
	assert_int_equal(uvio_pci_bar_write8(&f->bus, 0, 0, 0), -ENODEV);

	/* A fault outside any BAR goes to the previous handler. */
	g = rmfake_bus(UVIO_PCI_VENDOR_VIRTIO);
	elsewhere = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd, 0);
	assert_true(elsewhere != MAP_FAILED);
	assert_int_equal(ftruncate(g->memfd, 0), 0);
	if (sigsetjmp(other_fault, 1) == 0)
		(void)*(volatile uint8_t *)elsewhere;
	assert_int_equal(other_faults, 1);
	assert_false(uvio_pci_bus_removed(&g->bus));
	munmap(elsewhere, 4096);

	/* Release: marks removed, config access now reaches /dev/null. */
	assert_int_equal(uvio_pci_bus_release(&g->bus), 0);
	assert_true(uvio_pci_bus_removed(&g->bus));
	assert_true(readable(uvio_pci_bus_removal_fd(&g->bus)));
	assert_int_equal(*(volatile uint32_t *)(void *)g->bus.bar[0].va, 0xffffffffu);
	uint16_t v;
	assert_int_not_equal(uvio_pci_cfg_read16(&g->bus, PCI_VENDOR_ID, &v), 0);
	assert_int_equal(uvio_pci_bus_release(&g->bus), 0);   /* once is enough */

	rmfake_close(&f->bus);
	rmfake_close(&g->bus);
	assert_int_equal(sigaction(SIGBUS, &old, NULL), 0);
}

/* Nobody asks (UIO): config space that reads all ones, or fails, says the
 * device is gone, and the removal fd turns readable. */
static void test_removal_config(void **state)
{
	struct rmfake *f = rmfake_bus(0xffff);
	struct uvio_dev *dev = NULL;

	(void)state;
	assert_false(readable(uvio_pci_bus_removal_fd(&f->bus)));
	assert_true(uvio_pci_bus_poll_removed(&f->bus));
	assert_true(readable(uvio_pci_bus_removal_fd(&f->bus)));
	assert_int_equal(uvio_pci_bar_read8(&f->bus, 0, 0), 0xff);
	rmfake_close(&f->bus);

	/* Not a PCI device: no fd, never removed, release refused. */
	assert_int_equal(uvio_pci_removal_fd(dev), -1);
	assert_false(uvio_pci_is_removed(dev));
	assert_int_equal(uvio_pci_release(dev), -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test_setup_teardown(test_probe, sysfs_setup, sysfs_teardown),
		cmocka_unit_test_setup_teardown(test_scan, sysfs_setup, sysfs_teardown),
		cmocka_unit_test_setup_teardown(test_bind_errors, sysfs_setup, sysfs_teardown),
		cmocka_unit_test(test_modern_transport),
		cmocka_unit_test(test_modern_bad_caps),
		cmocka_unit_test(test_legacy_transport),
		cmocka_unit_test(test_removal_sigbus),
		cmocka_unit_test(test_removal_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
