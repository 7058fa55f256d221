/* SPDX-License-Identifier: MIT */
/*
 * Memory for DMA segments: a file to back each one (memfd_create, or a
 * file in a hugetlbfs mount), mapped at an aligned address, placed on a
 * NUMA node and faulted in up front; and, for PA mode, the physical
 * address of each page from /proc/self/pagemap.
 *
 * Kept apart from the allocator (dma.c): this is where the kernel says no
 * (no hugepages, no hugetlbfs mount, no CAP_SYS_ADMIN) and where that
 * becomes a message saying what to do; the allocator only sees a mapped
 * range or an error. Nothing is kept here between calls: what this file
 * learns goes into the struct uvio_dma_source passed in, which the
 * allocator owns and guards with its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <numa.h>
#include <numaif.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <uvio/dma.h>

#include "dma_backing.h"

#define NODE_MASK_WORDS 16
#define PAGEMAP_PFN_MASK ((UINT64_C(1) << 55) - 1)
#define PAGEMAP_PRESENT (UINT64_C(1) << 63)

#define HUGEPAGE_HINT "reserve some with 'uvio-devbind --hugepages 256' " \
	"or 'echo 256 > /proc/sys/vm/nr_hugepages'"

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static bool is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

/* A value from /proc/meminfo ("HugePages_Free:"), or -1. */
static long meminfo_value(const char *key)
{
	char line[128];
	size_t klen = strlen(key);
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen)) {
			val = strtol(line + klen, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static int no_hugepages(size_t len, struct uvio_err *err)
{
	long free_pages = meminfo_value("HugePages_Free:");

	return uvio_err_set(err, -ENOMEM,
		"%s free hugepages for %zu MiB of DMA memory "
		"(HugePages_Free=%ld): " HUGEPAGE_HINT,
		free_pages > 0 ? "not enough" : "no", len >> 20, free_pages);
}

/* ---- backing ---------------------------------------------------------- */

static int dir_page_size(struct uvio_dma_source *src, struct uvio_err *err)
{
	struct statfs st;

	if (statfs(src->hugetlbfs_dir, &st) < 0)
		return uvio_err_set(err, -errno,
			"hugetlbfs_dir %s: %s: mount one with "
			"'mount -t hugetlbfs none DIR'",
			src->hugetlbfs_dir, strerror(errno));
	if (st.f_type != HUGETLBFS_MAGIC)
		return uvio_err_set(err, -EINVAL,
			"hugetlbfs_dir %s is not a hugetlbfs mount: mount one "
			"with 'mount -t hugetlbfs none DIR'",
			src->hugetlbfs_dir);
	src->page_size = (size_t)st.f_bsize;
	return 0;
}

int uvio_dma_find_page_size(struct uvio_dma_source *src, struct uvio_err *err)
{
	long kb;

	if (src->backing == UVIO_DMA_4K_PINNED) {
		src->page_size = (size_t)sysconf(_SC_PAGESIZE);
		return 0;
	}
	if (src->hugetlbfs_dir[0])
		return dir_page_size(src, err);
	/* MFD_HUGETLB without a size flag uses the default hugepage size. */
	kb = meminfo_value("Hugepagesize:");
	if (kb <= 0 || !is_pow2((size_t)kb))
		return uvio_err_set(err, -ENOTSUP,
			"this kernel has no hugepages (no Hugepagesize in "
			"/proc/meminfo): enable CONFIG_HUGETLBFS, or use "
			"UVIO_DMA_4K_PINNED with VFIO");
	src->page_size = (size_t)kb << 10;
	return 0;
}

static int open_hugetlbfs_file(const struct uvio_dma_source *src,
			       struct uvio_err *err)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/uvio-dma-XXXXXX",
		 src->hugetlbfs_dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return uvio_err_set(err, -errno,
			"cannot create a file in hugetlbfs_dir %s: %s: check "
			"the mount and its permissions",
			src->hugetlbfs_dir, strerror(errno));
	/* The fd keeps the memory; the name would only leak it. */
	unlink(path);
	return fd;
}

int uvio_dma_backing_open(const struct uvio_dma_source *src, unsigned idx,
			  struct uvio_err *err)
{
	char name[32];
	unsigned flags = MFD_CLOEXEC;
	int fd;

	if (src->backing == UVIO_DMA_HUGEPAGES && src->hugetlbfs_dir[0])
		return open_hugetlbfs_file(src, err);
	if (src->backing == UVIO_DMA_HUGEPAGES)
		flags |= MFD_HUGETLB;
	snprintf(name, sizeof(name), "uvio-dma-%u", idx);
	fd = memfd_create(name, flags);
	if (fd >= 0)
		return fd;
	if (errno == EINVAL && (flags & MFD_HUGETLB))
		return uvio_err_set(err, -ENOTSUP,
			"memfd_create(MFD_HUGETLB) failed: this kernel has no "
			"hugetlbfs; enable it or use UVIO_DMA_4K_PINNED");
	return uvio_err_set(err, -errno, "memfd_create: %s",
			    strerror(errno));
}

/* ---- mapping ---------------------------------------------------------- */

/* mbind before the first touch, since the policy only steers page faults.
 * PREFERRED rather than BIND: a node short of hugepages then falls back
 * to another node instead of failing the fault with SIGBUS. */
static void bind_node(void *va, size_t len, int node)
{
	unsigned long mask[NODE_MASK_WORDS] = {0};
	const unsigned bits = sizeof(unsigned long) * CHAR_BIT;

	if (node < 0 || (unsigned)node >= NODE_MASK_WORDS * bits)
		return;
	mask[node / bits] |= 1UL << (node % bits);
	/* No NUMA policy is fine: the memory is just placed anywhere. */
	(void)mbind(va, len, MPOL_PREFERRED, mask, NODE_MASK_WORDS * bits + 1,
		    0);
}

/* Fault every page in now, so a shortage shows here as an error and not
 * later as SIGBUS in the middle of I/O. */
static int populate(void *va, size_t len, size_t page)
{
	volatile char *p = va;

	if (madvise(va, len, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Kernel before 5.14; mmap already reserved hugepages, so touching
	 * cannot SIGBUS. */
	for (size_t off = 0; off < len; off += page)
		p[off] = 0;
	return 0;
}

/* Map `len` bytes of `fd` at an address aligned to `va_align`, so every
 * alignment up to 2 MiB (or the page size) exists at offset 0. */
static void *map_aligned(int fd, size_t len, size_t va_align)
{
	size_t span = len + va_align;
	char *res, *va;

	res = mmap(NULL, span, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return NULL;
	va = (char *)align_up((uintptr_t)res, va_align);
	if (mmap(va, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 0) == MAP_FAILED) {
		int e = errno;

		munmap(res, span);
		errno = e;
		return NULL;
	}
	if (va > res)
		munmap(res, (size_t)(va - res));
	if (va + len < res + span)
		munmap(va + len, (size_t)(res + span - (va + len)));
	return va;
}

static int map_error(const struct uvio_dma_source *src, size_t len, int e,
		     struct uvio_err *err)
{
	if (src->backing == UVIO_DMA_HUGEPAGES &&
	    (e == ENOMEM || e == EINVAL || e == EFAULT))
		return no_hugepages(len, err);
	return uvio_err_set(err, -e,
		"cannot map %zu MiB of DMA memory: %s: free some memory or "
		"use a smaller segment_size", len >> 20, strerror(e));
}

int uvio_dma_map_segment(const struct uvio_dma_source *src, int fd,
			 size_t len, int node, void **out, struct uvio_err *err)
{
	size_t va_align = src->page_size > UVIO_DMA_ALIGN_MAX
			  ? src->page_size : UVIO_DMA_ALIGN_MAX;
	void *va = map_aligned(fd, len, va_align);
	int rc;

	/* hugetlbfs reserves the pages at mmap: ENOMEM = not enough free. */
	if (!va)
		return map_error(src, len, errno, err);
	if (node >= 0)
		bind_node(va, len, node);
	rc = populate(va, len, src->page_size);
	if (rc < 0) {
		munmap(va, len);
		return map_error(src, len, -rc, err);
	}
	/* VFIO MAP_DMA pins anyway; mlock only keeps 4K pages from swap
	 * before a device exists, so a low RLIMIT_MEMLOCK is no error. */
	if (src->backing == UVIO_DMA_4K_PINNED)
		(void)mlock(va, len);
	*out = va;
	return 0;
}

/* ---- NUMA ------------------------------------------------------------- */

int uvio_dma_usable_node(struct uvio_dma_source *src, int node)
{
	if (src->numa < 0)
		src->numa = numa_available() >= 0;
	if (!src->numa || node < 0 || node > numa_max_node())
		return -1;
	if (!numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned)node))
		return -1;
	return node;
}

/* ---- physical addresses ----------------------------------------------- */

static int pagemap_error(struct uvio_err *err)
{
	return uvio_err_set(err, -EPERM,
		"cannot read physical addresses from /proc/self/pagemap "
		"(need root / CAP_SYS_ADMIN)");
}

static int read_pa(int fd, uintptr_t va, uint64_t *pa, struct uvio_err *err)
{
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t e;

	if (pread(fd, &e, sizeof(e), (off_t)(va / pg * sizeof(e))) !=
	    (ssize_t)sizeof(e))
		return pagemap_error(err);
	if (!(e & PAGEMAP_PRESENT))
		return uvio_err_set(err, -EFAULT,
			"DMA page at %p is not in memory: report a bug",
			(void *)va);
	/* Without CAP_SYS_ADMIN the kernel reports PFN 0. */
	if (!(e & PAGEMAP_PFN_MASK))
		return pagemap_error(err);
	*pa = (e & PAGEMAP_PFN_MASK) * pg + va % pg;
	return 0;
}

static int open_pagemap(struct uvio_err *err)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return pagemap_error(err);
	return fd;
}

int uvio_dma_probe_pagemap(struct uvio_err *err)
{
	/* A stack byte we just wrote is surely present (a read-only static may
	 * not have been faulted in yet, and pagemap then says "not present"). */
	volatile char probe = 1;
	uint64_t pa;
	int fd = open_pagemap(err);
	int rc;

	if (fd < 0)
		return fd;
	probe = 2;
	rc = read_pa(fd, (uintptr_t)&probe, &pa, err);
	close(fd);
	return rc;
}

int uvio_dma_read_page_pa(uintptr_t start, size_t npages, unsigned page_shift,
			  uint64_t *pa, struct uvio_err *err)
{
	int fd = open_pagemap(err);
	int rc = 0;

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < npages && !rc; i++)
		rc = read_pa(fd, start + (i << page_shift), &pa[i], err);
	close(fd);
	return rc;
}
