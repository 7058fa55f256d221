/* SPDX-License-Identifier: MIT */
/*
 * PCI bus access through VFIO (Documentation/driver-api/vfio.rst).
 *
 * Process-wide state: one VFIO container for every group the process
 * opens, as DPDK does. A container has one IOMMU address space, and uvio's
 * DMA memory is process-wide (dma.h), so every segment is mapped once into
 * the container by one DMA listener and every device sees all of it. The
 * container, its groups and the listener live in `vfio` below, under its
 * mutex; the only other global state in lib/pci_vfio is the table of
 * removal records that the SIGBUS handler reads (removal.c).
 *
 * A container is either type1 (an IOMMU translates: IOVA = VA) or no-IOMMU
 * (the device sees physical memory: IOVA = PA, nothing to map). The two
 * cannot be mixed in one process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vfio.h>
#include <uvio/dma.h>

#include "dma/dma_internal.h"
#include "pci_internal.h"

#define VFIO_MAX_GROUPS 64

struct vfio_group {
	int no;          /* IOMMU group number */
	int fd;          /* /dev/vfio/N or /dev/vfio/noiommu-N */
	unsigned refs;   /* open devices in the group */
};

static struct {
	pthread_mutex_t lock;
	int fd;                  /* /dev/vfio/vfio; -1 while no group is open */
	int iommu_type;          /* VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU, VFIO_NOIOMMU_IOMMU */
	bool listening;          /* DMA listener registered (type1 only) */
	uint64_t iova_max;       /* highest IOVA the type1 IOMMU maps */
	struct vfio_group groups[VFIO_MAX_GROUPS];
	unsigned ngroups;
} vfio = { .lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

struct vfio_bus {
	struct uvio_pci_bus bus;      /* first: the bus handle given out */
	int dev_fd;
	int group_no;
	bool group_held;              /* a reference on the group (until release) */
	struct vfio_region_info region[PCI_STD_NUM_BARS];
};

static const struct uvio_pci_bus_ops vfio_bus_ops;

static struct vfio_bus *to_vfio(struct uvio_pci_bus *bus)
{
	return bus && bus->ops == &vfio_bus_ops ? (struct vfio_bus *)bus : NULL;
}

bool uvio_vfio_container_noiommu(void)
{
	bool r;

	pthread_mutex_lock(&vfio.lock);
	r = vfio.iommu_type == VFIO_NOIOMMU_IOMMU;
	pthread_mutex_unlock(&vfio.lock);
	return r;
}

/* ---- DMA listener: every segment into the type1 container ---------------- */

static int map_one(void *va, uint64_t iova, size_t len, bool map)
{
	if (map) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)va,
			.iova = iova,
			.size = len,
		};

		if (ioctl(vfio.fd, VFIO_IOMMU_MAP_DMA, &m) && errno != EEXIST)
			return -errno;
	} else {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u),
			.iova = iova,
			.size = len,
		};

		ioctl(vfio.fd, VFIO_IOMMU_UNMAP_DMA, &u);
	}
	return 0;
}

/*
 * Map a segment at its device addresses. In VA mode that is one mapping
 * (IOVA = VA). In PA mode (chosen for legacy devices, see
 * dma_setup_locked) IOVA is the physical address, contiguous only within
 * a hugepage: map run by run. dma.c publishes a segment, with its
 * physical addresses, before it announces it, so uvio_dma_iova() knows
 * them here.
 */
static int dma_map_runs(const struct uvio_dma_seg *seg, bool map)
{
	size_t step = 0, off = 0;
	int rc = 0;

	if (uvio_dma_iova_mode() != UVIO_IOVA_PA)
		return map_one(seg->va, (uintptr_t)seg->va, seg->len, map);
	if (uvio_dma_contig_size(&step, NULL) || step == 0)
		return -EINVAL;
	while (off < seg->len && !rc) {
		uint8_t *va = (uint8_t *)seg->va + off;
		uint64_t pa = uvio_dma_iova(va);
		size_t len = step;

		if (pa == UINT64_MAX)
			return -EFAULT;
		/* Merge hugepages that happen to be contiguous. */
		while (off + len < seg->len && uvio_dma_iova(va + len) == pa + len)
			len += step;
		if (off + len > seg->len)
			len = seg->len - off;
		rc = map_one(va, pa, len, map);
		off += len;
	}
	return rc;
}

/* Called by dma.c under its lock; vfio.fd is stable while listening. */
static int dma_map(void *ctx, const struct uvio_dma_seg *seg, struct uvio_err *err)
{
	(void)ctx;
	(void)err;  /* dma.c's line (RLIMIT_MEMLOCK, IOMMU limits) says it */
	return dma_map_runs(seg, true);
}

static void dma_unmap(void *ctx, const struct uvio_dma_seg *seg)
{
	(void)ctx;
	dma_map_runs(seg, false);
}

static const struct uvio_dma_listener vfio_dma_listener = {
	.map = dma_map,
	.unmap = dma_unmap,
};

/* ---- container and groups (vfio.lock held) ------------------------------- */

static void container_put_locked(void)
{
	if (vfio.ngroups)
		return;
	if (vfio.listening)
		uvio_dma_unlisten(&vfio_dma_listener);
	vfio.listening = false;
	if (vfio.fd >= 0)
		close(vfio.fd);
	vfio.fd = -1;
	vfio.iommu_type = 0;
}

static int container_open_locked(struct uvio_err *err)
{
	int fd;

	if (vfio.fd >= 0)
		return 0;
	fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = -errno;

		if (e == -ENOENT)
			return uvio_err_set(err, e,
					    "no /dev/vfio/vfio: run 'modprobe vfio-pci'");
		if (e == -EACCES || e == -EPERM)
			return uvio_err_set(err, e,
					    "need root (or access to /dev/vfio/vfio)");
		return uvio_err_set(err, e, "cannot open /dev/vfio/vfio: %s",
				    strerror(-e));
	}
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		close(fd);
		return uvio_err_set(err, -ENOTSUP, "unsupported VFIO API version");
	}
	vfio.fd = fd;
	return 0;
}

static struct vfio_group *group_find_locked(int no)
{
	for (unsigned i = 0; i < vfio.ngroups; i++)
		if (vfio.groups[i].no == no)
			return &vfio.groups[i];
	return NULL;
}

static void group_put_locked(int no)
{
	struct vfio_group *g = group_find_locked(no);

	if (!g || --g->refs)
		return;
	close(g->fd);   /* also takes the group out of the container */
	*g = vfio.groups[--vfio.ngroups];
	container_put_locked();
}


/* The highest IOVA in an IOVA-range capability of `room` bytes. */
static uint64_t iova_ranges_end(const char *cap, size_t room, uint64_t max)
{
	struct vfio_iommu_type1_info_cap_iova_range r;
	struct vfio_iova_range range;

	if (room < sizeof(r))
		return max;
	memcpy(&r, cap, sizeof(r));
	for (uint32_t i = 0; i < r.nr_iovas &&
	     sizeof(r) + (i + 1) * sizeof(range) <= room; i++) {
		memcpy(&range, cap + sizeof(r) + i * sizeof(range), sizeof(range));
		if (range.end > max)
			max = range.end;
	}
	return max;
}

/* The highest IOVA the IOMMU can map (VFIO_IOMMU_GET_INFO's IOVA ranges,
 * Linux 5.4+); UINT64_MAX when the kernel does not say. */
static uint64_t type1_iova_max_locked(void)
{
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	struct vfio_iommu_type1_info *info;
	uint64_t max = 0;
	uint32_t off;

	if (ioctl(vfio.fd, VFIO_IOMMU_GET_INFO, &probe) ||
	    !(probe.flags & VFIO_IOMMU_INFO_CAPS) || probe.argsz <= sizeof(probe))
		return UINT64_MAX;
	info = calloc(1, probe.argsz);
	if (!info)
		return UINT64_MAX;
	info->argsz = probe.argsz;
	if (ioctl(vfio.fd, VFIO_IOMMU_GET_INFO, info)) {
		free(info);
		return UINT64_MAX;
	}
	/* Capabilities sit at any offset the kernel chose: copy them out
	 * rather than reading them in place (they may be misaligned). */
	for (off = info->cap_offset; off && off + sizeof(struct vfio_info_cap_header) <= info->argsz;) {
		const char *base = (const char *)info + off;
		struct vfio_info_cap_header h;

		memcpy(&h, base, sizeof(h));
		if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			max = iova_ranges_end(base, info->argsz - off, max);
		if (h.next <= off)
			break;
		off = h.next;
	}
	free(info);
	return max ? max : UINT64_MAX;
}

/* The IOMMU type of a fresh container holding its first group. */
static int set_iommu_locked(bool noiommu, const char *bdf, struct uvio_err *err)
{
	int type;

	if (noiommu)
		type = VFIO_NOIOMMU_IOMMU;
	else if (ioctl(vfio.fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0)
		type = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(vfio.fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0)
		type = VFIO_TYPE1_IOMMU;
	else
		return uvio_err_set(err, -ENOTSUP,
				    "%s: VFIO has no type1 IOMMU driver: run 'modprobe vfio_iommu_type1'",
				    bdf);
	if (ioctl(vfio.fd, VFIO_SET_IOMMU, type))
		return uvio_err_set(err, -errno, "%s: VFIO_SET_IOMMU failed: %s",
				    bdf, strerror(errno));
	vfio.iommu_type = type;
	vfio.iova_max = type == VFIO_NOIOMMU_IOMMU ? UINT64_MAX : type1_iova_max_locked();
	return 0;
}

/* Open (or take another reference on) the group of a device and attach it
 * to the container. */
static int group_get_locked(int no, const char *bdf, struct uvio_err *err)
{
	char path[64], npath[64];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_group *g = group_find_locked(no);
	bool noiommu = false;
	int fd, rc;

	if (g) {
		g->refs++;
		return 0;
	}
	if (vfio.ngroups == VFIO_MAX_GROUPS)
		return uvio_err_set(err, -ENOSPC, "%s: too many VFIO groups open", bdf);
	snprintf(path, sizeof(path), "/dev/vfio/%d", no);
	snprintf(npath, sizeof(npath), "/dev/vfio/noiommu-%d", no);
	if (access(path, F_OK) != 0 && access(npath, F_OK) == 0) {
		noiommu = true;
		memcpy(path, npath, sizeof(path));
	}
	if ((vfio.iommu_type == VFIO_NOIOMMU_IOMMU) != noiommu && vfio.iommu_type)
		return uvio_err_set(err, -EINVAL,
				    "%s: cannot mix VFIO no-IOMMU and IOMMU groups in one process",
				    bdf);
	rc = container_open_locked(err);
	if (rc)
		return rc;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		container_put_locked();
		if (rc == -EACCES || rc == -EPERM)
			return uvio_err_set(err, rc, "need root (or access to %s)", path);
		if (rc == -EBUSY)
			return uvio_err_set(err, rc,
					    "%s: device is in use by another process (%s is open)",
					    bdf, path);
		if (rc == -ENOENT)
			return uvio_err_set(err, rc,
					    "%s: no %s: run 'uvio-devbind --bind vfio-pci %s' first",
					    bdf, path, bdf);
		return uvio_err_set(err, rc, "%s: cannot open %s: %s", bdf, path,
				    strerror(-rc));
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st)) {
		rc = uvio_err_set(err, -errno, "%s: VFIO_GROUP_GET_STATUS: %s", bdf,
				  strerror(errno));
		goto fail;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		rc = uvio_err_set(err, -EPERM,
				  "IOMMU group %d is not viable: bind every device in /sys/kernel/iommu_groups/%d/devices to vfio-pci (or unbind them)",
				  no, no);
		goto fail;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET) &&
	    ioctl(fd, VFIO_GROUP_SET_CONTAINER, &vfio.fd)) {
		rc = uvio_err_set(err, -errno, "%s: VFIO_GROUP_SET_CONTAINER: %s", bdf,
				  strerror(errno));
		goto fail;
	}
	if (!vfio.iommu_type) {
		rc = set_iommu_locked(noiommu, bdf, err);
		if (rc)
			goto fail;
	}
	vfio.groups[vfio.ngroups++] = (struct vfio_group){ .no = no, .fd = fd, .refs = 1 };
	return 0;
fail:
	close(fd);
	container_put_locked();
	return rc;
}

/* Top of the user address space on x86-64 and arm64 (4-level tables). */
#define USER_VA_MAX ((1ULL << 47) - 1)

/*
 * Fix the IOVA mode and, for type1, map all DMA memory (now and later).
 *
 * VFIO no-IOMMU: the device sees physical memory, so PA. Type1: the
 * IOMMU maps whatever IOVA we choose and VA is the simple choice, but not
 * always a possible one:
 * - a virtio device without VIRTIO_F_ACCESS_PLATFORM "uses physical
 *   addresses" (spec 6.1): QEMU's emulated device bypasses the vIOMMU.
 *   Every legacy device is one of those;
 * - an IOMMU with a 39-bit address width (QEMU's intel-iommu default, many
 *   client chips) cannot map addresses near 2^47.
 * Then PA, which the type1 IOMMU maps too (IOVA = PA -> VA).
 */
static int dma_setup_locked(bool need_pa, const char *bdf, struct uvio_err *err)
{
	enum uvio_iova_mode mode = uvio_dma_iova_mode();
	int rc;

	if (vfio.iommu_type == VFIO_NOIOMMU_IOMMU) {
		mode = UVIO_IOVA_PA;
	} else if (need_pa) {
		if (mode == UVIO_IOVA_VA)
			return uvio_err_set(err, -EEXIST,
					    "%s: the device does not offer VIRTIO_F_ACCESS_PLATFORM, so it DMAs to physical addresses, but this process already uses virtual ones: open it first (or give QEMU iommu_platform=on)",
					    bdf);
		mode = UVIO_IOVA_PA;
	} else if (mode == UVIO_IOVA_UNSET) {
		mode = vfio.iova_max < USER_VA_MAX ? UVIO_IOVA_PA : UVIO_IOVA_VA;
	} else if (mode == UVIO_IOVA_VA && vfio.iova_max < USER_VA_MAX) {
		return uvio_err_set(err, -ERANGE,
				    "%s: the IOMMU maps IOVAs up to 0x%llx only, below this process's virtual addresses: open this device first (uvio then uses physical addresses as IOVAs)",
				    bdf, (unsigned long long)vfio.iova_max);
	}
	rc = uvio_dma_set_iova_mode(mode, err);
	if (rc)
		return rc;
	if (vfio.iommu_type == VFIO_NOIOMMU_IOMMU || vfio.listening)
		return 0;
	rc = uvio_dma_listen(&vfio_dma_listener, err);
	if (rc) {
		if (err && err->msg[0] == '\0')
			uvio_err_set(err, rc, "%s: cannot map DMA memory into VFIO: %s",
				     bdf, strerror(-rc));
		return rc;
	}
	vfio.listening = true;
	return 0;
}

/* ---- the device ------------------------------------------------------------ */

static int vfio_map_bar(struct uvio_pci_bus *bus, int bar, struct uvio_err *err)
{
	struct vfio_bus *vb = to_vfio(bus);
	struct uvio_pci_bar *b = &bus->bar[bar];
	const struct vfio_region_info *r = &vb->region[bar];
	void *va;

	if (b->va || b->fd >= 0)
		return 0;
	if (!b->size || !(r->flags & VFIO_REGION_INFO_FLAG_READ))
		return uvio_err_set(err, -ENODEV, "%s: BAR %d is not implemented",
				    bus->bdf, bar);
	if (!b->is_io && (r->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
		va = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			  vb->dev_fd, (off_t)r->offset);
		if (va != MAP_FAILED) {
			b->va = va;
			b->map_len = b->size;
			uvio_pci_rm_add_bar(bus, bar);
			return 0;
		}
	}
	/* I/O ports, or a region VFIO will not map (e.g. one holding the
	 * MSI-X table on an old kernel): pread/pwrite on the device fd. */
	b->fd = vb->dev_fd;
	b->off = (off_t)r->offset;
	return 0;
}

static void vfio_close(struct uvio_pci_bus *bus)
{
	struct vfio_bus *vb = to_vfio(bus);

	if (!vb)
		return;
	uvio_pci_rm_detach(bus);
	for (int i = 0; i < PCI_STD_NUM_BARS; i++)
		if (bus->bar[i].va)
			munmap((void *)bus->bar[i].va, bus->bar[i].map_len);
	if (vb->dev_fd >= 0)
		close(vb->dev_fd);
	if (vb->group_held) {
		pthread_mutex_lock(&vfio.lock);
		group_put_locked(vb->group_no);
		pthread_mutex_unlock(&vfio.lock);
	}
	free(vb);
}

/*
 * The kernel's unplug (vfio_unregister_group_dev) waits until the device
 * file is released: its fd closed and no mapping of it left (removal.c
 * has replaced the BAR mappings). The fd number stays, pointing at
 * /dev/null, for threads that may still pread/pwrite an I/O BAR; the
 * group goes too, so nothing of the device is held. Closing the device
 * makes VFIO disable it (no more DMA) before our memory is freed.
 */
static int vfio_release(struct uvio_pci_bus *bus)
{
	struct vfio_bus *vb = to_vfio(bus);
	int rc;

	if (!vb)
		return -EINVAL;
	rc = uvio_pci_fd_to_null(vb->dev_fd);
	if (vb->group_held) {
		pthread_mutex_lock(&vfio.lock);
		group_put_locked(vb->group_no);
		pthread_mutex_unlock(&vfio.lock);
		vb->group_held = false;
	}
	return rc;
}

static int vfio_request_eventfd(struct uvio_pci_bus *bus)
{
	return uvio_vfio_req_eventfd(bus, NULL);
}

static const struct uvio_pci_bus_ops vfio_bus_ops = {
	.name = "vfio",
	.map_bar = vfio_map_bar,
	.close = vfio_close,
	.release = vfio_release,
	.request_eventfd = vfio_request_eventfd,
};

static int read_regions(struct vfio_bus *vb, struct uvio_err *err)
{
	struct uvio_pci_bus *bus = &vb->bus;
	struct vfio_region_info cfg = { .argsz = sizeof(cfg),
					.index = VFIO_PCI_CONFIG_REGION_INDEX };
	struct vfio_device_info di = { .argsz = sizeof(di) };

	if (ioctl(vb->dev_fd, VFIO_DEVICE_GET_INFO, &di) ||
	    !(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return uvio_err_set(err, -EIO, "%s: VFIO does not see a PCI device",
				    bus->bdf);
	if (ioctl(vb->dev_fd, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		return uvio_err_set(err, -errno, "%s: no VFIO config region: %s",
				    bus->bdf, strerror(errno));
	bus->cfg_fd = vb->dev_fd;
	bus->cfg_off = (off_t)cfg.offset;
	for (int i = 0; i < PCI_STD_NUM_BARS; i++) {
		struct vfio_region_info *r = &vb->region[i];
		uint32_t bar = 0;

		r->argsz = sizeof(*r);
		r->index = VFIO_PCI_BAR0_REGION_INDEX + (uint32_t)i;
		if (ioctl(vb->dev_fd, VFIO_DEVICE_GET_REGION_INFO, r))
			memset(r, 0, sizeof(*r));
		bus->bar[i].fd = -1;
		bus->bar[i].size = r->size;
		uvio_pci_cfg_read32(bus, PCI_BASE_ADDRESS_0 + 4u * (unsigned)i, &bar);
		bus->bar[i].is_io = r->size && (bar & PCI_BASE_ADDRESS_SPACE_IO);
	}
	return 0;
}

int uvio_vfio_open(const struct uvio_pci_info *info,
		   struct uvio_pci_bus **out, struct uvio_err *err)
{
	char bdf[UVIO_PCI_ADDR_LEN];
	struct vfio_bus *vb;
	struct vfio_group *g;
	int rc, fd;

	uvio_pci_addr_format(&info->addr, bdf);
	if (info->iommu_group < 0)
		return uvio_err_set(err, -ENODEV,
				    "%s: no IOMMU group; rebind with 'uvio-devbind --bind vfio-pci %s'",
				    bdf, bdf);
	vb = calloc(1, sizeof(*vb));
	if (!vb)
		return uvio_err_set(err, -ENOMEM, "%s: out of memory", bdf);
	vb->bus.ops = &vfio_bus_ops;
	vb->bus.addr = info->addr;
	vb->bus.info = *info;
	vb->bus.driver = UVIO_PCI_DRV_VFIO;
	memcpy(vb->bus.bdf, bdf, sizeof(bdf));
	vb->dev_fd = -1;
	vb->group_no = info->iommu_group;

	pthread_mutex_lock(&vfio.lock);
	rc = group_get_locked(info->iommu_group, bdf, err);
	if (rc) {
		pthread_mutex_unlock(&vfio.lock);
		free(vb);
		return rc;
	}
	vb->group_held = true;
	g = group_find_locked(info->iommu_group);
	fd = ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (fd < 0) {
		rc = -errno;
		if (rc == -EBUSY)
			uvio_err_set(err, rc, "%s: device is in use by another process",
				     bdf);
		else
			uvio_err_set(err, rc, "%s: VFIO_GROUP_GET_DEVICE_FD: %s", bdf,
				     strerror(-rc));
		goto fail_locked;
	}
	vb->dev_fd = fd;
	vb->bus.noiommu = vfio.iommu_type == VFIO_NOIOMMU_IOMMU;
	pthread_mutex_unlock(&vfio.lock);

	rc = read_regions(vb, err);
	if (rc) {
		vfio_close(&vb->bus);
		return rc;
	}
	*out = &vb->bus;
	return 0;

fail_locked:
	group_put_locked(info->iommu_group);
	pthread_mutex_unlock(&vfio.lock);
	free(vb);
	return rc;
}

int uvio_vfio_dma_setup(struct uvio_pci_bus *bus, bool need_pa,
			struct uvio_err *err)
{
	int rc;

	if (!to_vfio(bus))
		return -EINVAL;
	pthread_mutex_lock(&vfio.lock);
	rc = dma_setup_locked(need_pa, bus->bdf, err);
	pthread_mutex_unlock(&vfio.lock);
	return rc;
}

/* ---- interrupts (uvio polls: only the device request is used) -------------- */

unsigned uvio_vfio_msix_count(struct uvio_pci_bus *bus)
{
	struct vfio_bus *vb = to_vfio(bus);
	struct vfio_irq_info ii = { .argsz = sizeof(ii),
				    .index = VFIO_PCI_MSIX_IRQ_INDEX };

	if (!vb || ioctl(vb->dev_fd, VFIO_DEVICE_GET_IRQ_INFO, &ii))
		return 0;
	return ii.count;
}

static int set_irqs(struct vfio_bus *vb, uint32_t index, uint32_t flags,
		    const int *efds, unsigned n)
{
	size_t sz = sizeof(struct vfio_irq_set) + n * sizeof(int32_t);
	struct vfio_irq_set *s = calloc(1, sz);
	int rc = 0;

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->flags = flags;
	s->index = index;
	s->start = 0;
	s->count = n;
	if (n)
		memcpy(s->data, efds, n * sizeof(int32_t));
	if (ioctl(vb->dev_fd, VFIO_DEVICE_SET_IRQS, s))
		rc = -errno;
	free(s);
	return rc;
}

int uvio_vfio_msix_enable(struct uvio_pci_bus *bus, const int *efds,
			  unsigned n, struct uvio_err *err)
{
	struct vfio_bus *vb = to_vfio(bus);
	unsigned max = uvio_vfio_msix_count(bus);
	int rc;

	if (!vb)
		return uvio_err_set(err, -ENOTSUP, "MSI-X eventfds need VFIO");
	if (n == 0 || n > max)
		return uvio_err_set(err, -EINVAL, "%s: %u MSI-X vectors asked, device has %u",
				    bus->bdf, n, max);
	rc = set_irqs(vb, VFIO_PCI_MSIX_IRQ_INDEX,
		      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, efds, n);
	if (rc)
		return uvio_err_set(err, rc, "%s: cannot enable MSI-X: %s", bus->bdf,
				    strerror(-rc));
	return 0;
}

int uvio_vfio_msix_disable(struct uvio_pci_bus *bus)
{
	struct vfio_bus *vb = to_vfio(bus);

	if (!vb)
		return -ENOTSUP;
	return set_irqs(vb, VFIO_PCI_MSIX_IRQ_INDEX,
			VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
}

int uvio_vfio_req_eventfd(struct uvio_pci_bus *bus, struct uvio_err *err)
{
	struct vfio_bus *vb = to_vfio(bus);
	struct vfio_irq_info ii = { .argsz = sizeof(ii),
				    .index = VFIO_PCI_REQ_IRQ_INDEX };
	int efd, rc;

	if (!vb)
		return uvio_err_set(err, -ENOTSUP, "device-request eventfd needs VFIO");
	if (ioctl(vb->dev_fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) || ii.count < 1)
		return uvio_err_set(err, -ENOTSUP, "%s: VFIO has no device-request IRQ",
				    bus->bdf);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return uvio_err_set(err, -errno, "eventfd: %s", strerror(errno));
	rc = set_irqs(vb, VFIO_PCI_REQ_IRQ_INDEX,
		      VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, &efd, 1);
	if (rc) {
		close(efd);
		return uvio_err_set(err, rc, "%s: cannot set the device-request eventfd: %s",
				    bus->bdf, strerror(-rc));
	}
	return efd;
}
