/* SPDX-License-Identifier: MIT */
/*
 * DMA memory: segments of hugepages (or 4K pinned pages), a first-fit
 * allocator inside them, IOVA translation and listeners.
 *
 * All state lives in one static struct. Segments sit in a fixed array and
 * are published with a release store of the count, so uvio_dma_iova() can
 * search them without the lock. A published segment is never removed or
 * moved: segments go back to the OS only at process exit.
 *
 * A new segment is published first and announced to the listeners second,
 * so a listener can translate it with uvio_dma_iova() (VFIO in PA mode maps
 * it hugepage by hugepage). A segment some listener refuses stays
 * published but unannounced: nothing is allocated from it, foreach and
 * replays skip it, and the next allocation that needs a new segment
 * retries it before making another.
 *
 * Allocator bookkeeping lives outside DMA memory, so a device scribbling
 * over a buffer cannot corrupt it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <uvio/dma.h>

#include "dma_internal.h"

#define SEG_MAX 256
#define LISTENER_MAX 16
#define DEFAULT_SEGMENT_SIZE ((size_t)32 << 20)
#define ALIGN_MAX ((size_t)2 << 20)
/* Blocks are whole cache lines: two devices' buffers never share one. */
#define ALIGN_MIN ((size_t)64)
#define NODE_MASK_WORDS 16
#define PAGEMAP_PFN_MASK ((UINT64_C(1) << 55) - 1)
#define PAGEMAP_PRESENT (UINT64_C(1) << 63)

#define HUGEPAGE_HINT "reserve some with 'uvio-devbind --hugepages 256' " \
	"or 'echo 256 > /proc/sys/vm/nr_hugepages'"

/* A run of a segment, free or in use; the list covers the segment in
 * address order. */
struct block {
	struct block *prev, *next;
	size_t off, len;
	bool used;
};

struct uvio_dma_segment {
	/* Read without the lock: fixed before the segment is published. */
	uintptr_t start, end;
	unsigned page_shift;
	/* PA of each page; stored once, when PA mode starts. */
	_Atomic(uint64_t *) page_pa;
	/* Under the lock. */
	struct uvio_dma_seg pub;
	int numa_node;
	bool announced;         /* every listener has mapped it */
	struct block *blocks;
};

static struct {
	pthread_mutex_t lock;
	atomic_uint nsegs;
	atomic_int mode;
	enum uvio_dma_backing backing;
	char hugetlbfs_dir[PATH_MAX];
	size_t segment_size;
	size_t page_size;       /* 0 until the backing is looked at */
	/* uvio_dma_contig_size(), SIZE_MAX until known; atomic because
	 * listeners ask for it while the lock is held. */
	atomic_size_t contig;
	int numa;               /* -1 unknown, 0 no NUMA, 1 NUMA */
	bool warned_4k;
	unsigned nlisteners;
	struct uvio_dma_listener listeners[LISTENER_MAX];
	struct uvio_dma_segment segs[SEG_MAX];
} dma = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.segment_size = DEFAULT_SEGMENT_SIZE,
	.numa = -1,
	.contig = SIZE_MAX,
};

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static bool is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

static unsigned log2_of(size_t x)
{
	return (unsigned)__builtin_ctzl(x);
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

static int dir_page_size(struct uvio_err *err)
{
	struct statfs st;

	if (statfs(dma.hugetlbfs_dir, &st) < 0)
		return uvio_err_set(err, -errno,
			"hugetlbfs_dir %s: %s: mount one with "
			"'mount -t hugetlbfs none DIR'",
			dma.hugetlbfs_dir, strerror(errno));
	if (st.f_type != HUGETLBFS_MAGIC)
		return uvio_err_set(err, -EINVAL,
			"hugetlbfs_dir %s is not a hugetlbfs mount: mount one "
			"with 'mount -t hugetlbfs none DIR'",
			dma.hugetlbfs_dir);
	dma.page_size = (size_t)st.f_bsize;
	return 0;
}

/* Learn the page size of the backing; under the lock. */
static int find_page_size(struct uvio_err *err)
{
	long kb;

	if (dma.backing == UVIO_DMA_4K_PINNED) {
		dma.page_size = (size_t)sysconf(_SC_PAGESIZE);
		return 0;
	}
	if (dma.hugetlbfs_dir[0])
		return dir_page_size(err);
	/* MFD_HUGETLB without a size flag uses the default hugepage size. */
	kb = meminfo_value("Hugepagesize:");
	if (kb <= 0 || !is_pow2((size_t)kb))
		return uvio_err_set(err, -ENOTSUP,
			"this kernel has no hugepages (no Hugepagesize in "
			"/proc/meminfo): enable CONFIG_HUGETLBFS, or use "
			"UVIO_DMA_4K_PINNED with VFIO");
	dma.page_size = (size_t)kb << 10;
	return 0;
}

/* Once per backing; under the lock. */
static int backing_page_size(struct uvio_err *err)
{
	int rc;

	if (dma.page_size)
		return 0;
	rc = find_page_size(err);
	if (rc == 0)
		atomic_store(&dma.contig, dma.backing == UVIO_DMA_4K_PINNED
					  ? 0 : dma.page_size);
	return rc;
}

static int open_hugetlbfs_file(struct uvio_err *err)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/uvio-dma-XXXXXX",
		 dma.hugetlbfs_dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return uvio_err_set(err, -errno,
			"cannot create a file in hugetlbfs_dir %s: %s: check "
			"the mount and its permissions",
			dma.hugetlbfs_dir, strerror(errno));
	/* The fd keeps the memory; the name would only leak it. */
	unlink(path);
	return fd;
}

/* A new, empty file to back segment number `idx`. */
static int open_backing(unsigned idx, struct uvio_err *err)
{
	char name[32];
	unsigned flags = MFD_CLOEXEC;
	int fd;

	if (dma.backing == UVIO_DMA_HUGEPAGES && dma.hugetlbfs_dir[0])
		return open_hugetlbfs_file(err);
	if (dma.backing == UVIO_DMA_HUGEPAGES)
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

static int map_error(size_t len, int e, struct uvio_err *err)
{
	if (dma.backing == UVIO_DMA_HUGEPAGES &&
	    (e == ENOMEM || e == EINVAL || e == EFAULT))
		return no_hugepages(len, err);
	return uvio_err_set(err, -e,
		"cannot map %zu MiB of DMA memory: %s: free some memory or "
		"use a smaller segment_size", len >> 20, strerror(e));
}

/* Map, place and fault in a segment's memory. */
static int map_segment(int fd, size_t len, int node, void **out,
		       struct uvio_err *err)
{
	size_t va_align = dma.page_size > ALIGN_MAX ? dma.page_size : ALIGN_MAX;
	void *va = map_aligned(fd, len, va_align);
	int rc;

	/* hugetlbfs reserves the pages at mmap: ENOMEM = not enough free. */
	if (!va)
		return map_error(len, errno, err);
	if (node >= 0)
		bind_node(va, len, node);
	rc = populate(va, len, dma.page_size);
	if (rc < 0) {
		munmap(va, len);
		return map_error(len, -rc, err);
	}
	/* VFIO MAP_DMA pins anyway; mlock only keeps 4K pages from swap
	 * before a device exists, so a low RLIMIT_MEMLOCK is no error. */
	if (dma.backing == UVIO_DMA_4K_PINNED)
		(void)mlock(va, len);
	*out = va;
	return 0;
}

/* ---- NUMA ------------------------------------------------------------- */

/* The node to bind to: -1 when any, or when the node does not exist. */
static int usable_node(int node)
{
	if (dma.numa < 0)
		dma.numa = numa_available() >= 0;
	if (!dma.numa || node < 0 || node > numa_max_node())
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

/* Check that PAs are readable before any device depends on them. */
static int probe_pagemap(struct uvio_err *err)
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

/* Record the PA of every page of `s` (hugepages are physically contiguous
 * inside, so one entry per page is enough). Under the lock. */
static int seg_compute_pa(struct uvio_dma_segment *s, struct uvio_err *err)
{
	size_t npages = (s->end - s->start) >> s->page_shift;
	uint64_t *pa;
	int fd, rc = 0;

	if (atomic_load_explicit(&s->page_pa, memory_order_relaxed))
		return 0;
	pa = calloc(npages, sizeof(*pa));
	if (!pa)
		return uvio_err_set(err, -ENOMEM, "out of memory");
	fd = open_pagemap(err);
	if (fd < 0) {
		free(pa);
		return fd;
	}
	for (size_t i = 0; i < npages && !rc; i++)
		rc = read_pa(fd, s->start + (i << s->page_shift), &pa[i], err);
	close(fd);
	if (rc) {
		free(pa);
		return rc;
	}
	s->pub.iova = pa[0];
	atomic_store_explicit(&s->page_pa, pa, memory_order_release);
	return 0;
}

/* ---- lock-free translation -------------------------------------------- */

const struct uvio_dma_segment *uvio_dma_segment_of(const void *va)
{
	unsigned n = atomic_load_explicit(&dma.nsegs, memory_order_acquire);
	uintptr_t p = (uintptr_t)va;

	for (unsigned i = 0; i < n; i++)
		if (p >= dma.segs[i].start && p < dma.segs[i].end)
			return &dma.segs[i];
	return NULL;
}

uint64_t uvio_dma_segment_iova(const struct uvio_dma_segment *seg,
			       const void *va)
{
	uintptr_t off = (uintptr_t)va - seg->start;
	const uint64_t *pa;

	if (atomic_load_explicit(&dma.mode, memory_order_acquire) !=
	    UVIO_IOVA_PA)
		return (uint64_t)(uintptr_t)va;
	pa = atomic_load_explicit(&seg->page_pa, memory_order_acquire);
	if (!pa)
		return UINT64_MAX;
	return pa[off >> seg->page_shift] +
	       (off & (((uintptr_t)1 << seg->page_shift) - 1));
}

uint64_t uvio_dma_iova(const void *va)
{
	const struct uvio_dma_segment *s = uvio_dma_segment_of(va);

	return s ? uvio_dma_segment_iova(s, va) : UINT64_MAX;
}

/* ---- listeners -------------------------------------------------------- */

static int listener_error(int rc, const struct uvio_dma_seg *seg,
			  struct uvio_err *err)
{
	if (rc >= 0)
		rc = -EIO;
	return uvio_err_set(err, rc,
		"a DMA listener could not map %zu MiB at %p: %s (check "
		"RLIMIT_MEMLOCK and the IOMMU's limits)",
		seg->len >> 20, seg->va, strerror(-rc));
}

/* Tell every listener of a new segment; all or none. Under the lock. */
static int announce(const struct uvio_dma_segment *s, struct uvio_err *err)
{
	for (unsigned i = 0; i < dma.nlisteners; i++) {
		const struct uvio_dma_listener *l = &dma.listeners[i];
		int rc = l->map(l->ctx, &s->pub);

		if (rc == 0)
			continue;
		while (i--)
			if (dma.listeners[i].unmap)
				dma.listeners[i].unmap(dma.listeners[i].ctx,
						       &s->pub);
		return listener_error(rc, &s->pub, err);
	}
	return 0;
}

/* Listeners run under the lock so no segment is missed between the
 * replay and the registration; they must not call uvio_dma_* (except
 * uvio_dma_iova). */
int uvio_dma_listen(const struct uvio_dma_listener *l, struct uvio_err *err)
{
	unsigned n;
	int rc = 0;

	if (!l || !l->map)
		return uvio_err_set(err, -EINVAL,
				    "uvio_dma_listen: listener without map()");
	pthread_mutex_lock(&dma.lock);
	if (dma.nlisteners == LISTENER_MAX) {
		pthread_mutex_unlock(&dma.lock);
		return uvio_err_set(err, -ENOSPC,
			"too many DMA listeners (%d): close unused devices",
			LISTENER_MAX);
	}
	n = atomic_load_explicit(&dma.nsegs, memory_order_relaxed);
	for (unsigned i = 0; i < n && !rc; i++) {
		if (dma.segs[i].announced)
			rc = l->map(l->ctx, &dma.segs[i].pub);
		if (rc == 0)
			continue;
		listener_error(rc, &dma.segs[i].pub, err);
		while (l->unmap && i--)
			if (dma.segs[i].announced)
				l->unmap(l->ctx, &dma.segs[i].pub);
		rc = rc < 0 ? rc : -EIO;
	}
	if (!rc)
		dma.listeners[dma.nlisteners++] = *l;
	pthread_mutex_unlock(&dma.lock);
	return rc;
}

/* Only forgets the listener: its owner tears down its own mappings
 * (closing a VFIO container drops them all at once). */
void uvio_dma_unlisten(const struct uvio_dma_listener *l)
{
	pthread_mutex_lock(&dma.lock);
	for (unsigned i = 0; l && i < dma.nlisteners; i++) {
		struct uvio_dma_listener *x = &dma.listeners[i];

		if (x->map != l->map || x->unmap != l->unmap ||
		    x->ctx != l->ctx)
			continue;
		memmove(x, x + 1, (dma.nlisteners - i - 1) * sizeof(*x));
		dma.nlisteners--;
		break;
	}
	pthread_mutex_unlock(&dma.lock);
}

int uvio_dma_foreach_seg(int (*fn)(void *ctx, const struct uvio_dma_seg *seg),
			 void *ctx)
{
	unsigned n;
	int rc = 0;

	pthread_mutex_lock(&dma.lock);
	n = atomic_load_explicit(&dma.nsegs, memory_order_relaxed);
	for (unsigned i = 0; i < n && !rc; i++)
		if (dma.segs[i].announced)
			rc = fn(ctx, &dma.segs[i].pub);
	pthread_mutex_unlock(&dma.lock);
	return rc;
}

/* ---- segments --------------------------------------------------------- */

static void seg_release(struct uvio_dma_segment *s)
{
	uint64_t *pa = atomic_load_explicit(&s->page_pa,
					    memory_order_relaxed);

	free(pa);
	atomic_store_explicit(&s->page_pa, NULL, memory_order_relaxed);
	free(s->blocks);
	s->blocks = NULL;
	munmap((void *)s->start, s->end - s->start);
	close(s->pub.fd);
}

/* Fill the next free slot with a mapped segment of `len` bytes. */
static int seg_fill(struct uvio_dma_segment *s, unsigned idx, size_t len,
		    int node, struct uvio_err *err)
{
	int fd = open_backing(idx, err);
	void *va = NULL;
	int rc;

	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)len) < 0)
		rc = uvio_err_set(err, -errno,
			"cannot size DMA memory file to %zu MiB: %s",
			len >> 20, strerror(errno));
	else
		rc = map_segment(fd, len, node, &va, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->start = (uintptr_t)va;
	s->end = s->start + len;
	s->page_shift = log2_of(dma.page_size);
	atomic_store_explicit(&s->page_pa, NULL, memory_order_relaxed);
	s->pub = (struct uvio_dma_seg){ .va = va, .iova = (uintptr_t)va,
					.len = len, .fd = fd };
	s->numa_node = node;
	s->announced = false;
	s->blocks = calloc(1, sizeof(*s->blocks));
	if (!s->blocks) {
		seg_release(s);
		return uvio_err_set(err, -ENOMEM, "out of memory");
	}
	s->blocks->len = len;
	return 0;
}

/* Create, translate and publish a segment, not yet announced. Under the
 * lock. */
static struct uvio_dma_segment *seg_create(size_t min_len, int node,
					   struct uvio_err *err)
{
	unsigned n = atomic_load_explicit(&dma.nsegs, memory_order_relaxed);
	size_t len = align_up(dma.segment_size, dma.page_size);
	struct uvio_dma_segment *s = &dma.segs[n];

	if (n == SEG_MAX) {
		uvio_err_set(err, -ENOSPC,
			"all %d DMA segments are in use: raise segment_size "
			"in uvio_dma_init()", SEG_MAX);
		return NULL;
	}
	if (min_len > len)
		len = align_up(min_len, dma.page_size);
	if (seg_fill(s, n, len, node, err) < 0)
		return NULL;
	if (atomic_load_explicit(&dma.mode, memory_order_relaxed) ==
	    UVIO_IOVA_PA && seg_compute_pa(s, err) < 0) {
		seg_release(s);
		return NULL;
	}
	atomic_store_explicit(&dma.nsegs, n + 1, memory_order_release);
	return s;
}

/* A segment some listener refused earlier that would do. */
static struct uvio_dma_segment *seg_refused(size_t min_len, int node)
{
	unsigned n = atomic_load_explicit(&dma.nsegs, memory_order_relaxed);

	for (unsigned i = 0; i < n; i++) {
		struct uvio_dma_segment *s = &dma.segs[i];

		if (!s->announced && s->numa_node == node &&
		    s->pub.len >= min_len)
			return s;
	}
	return NULL;
}

/* A segment every listener has mapped, fresh or retried. Under the lock. */
static struct uvio_dma_segment *seg_new(size_t min_len, int node,
					struct uvio_err *err)
{
	struct uvio_dma_segment *s = seg_refused(min_len, node);

	if (!s)
		s = seg_create(min_len, node, err);
	if (!s || announce(s, err) < 0)
		return NULL;
	s->announced = true;
	return s;
}

/* ---- allocator -------------------------------------------------------- */

/* Lowest address >= addr aligned to `align` where `len` bytes stay inside
 * one page of `contig` bytes (0 = no such limit) when len <= contig. */
static uintptr_t fit(uintptr_t addr, size_t len, size_t align, size_t contig)
{
	uintptr_t a = align_up(addr, align);

	if (contig && len <= contig && a / contig != (a + len - 1) / contig)
		a = align_up(a, contig > align ? contig : align);
	return a;
}

/* Insert `nb` after `b` in the list. */
static void block_link_after(struct block *b, struct block *nb)
{
	nb->prev = b;
	nb->next = b->next;
	if (b->next)
		b->next->prev = nb;
	b->next = nb;
}

/* Mark [off, off+len) of free block `b` used, splitting off what is left
 * before and after; spare[] supplies up to two new nodes. */
static void block_carve(struct block *b, size_t off, size_t len,
			struct block **spare)
{
	size_t end = b->off + b->len;

	if (off > b->off) {
		struct block *head = b;

		b = *spare;
		*spare++ = NULL;
		*b = (struct block){ .off = off, .len = end - off };
		head->len = off - head->off;
		block_link_after(head, b);
	}
	if (off + len < end) {
		struct block *tail = *spare;

		*spare = NULL;
		*tail = (struct block){ .off = off + len,
					.len = end - off - len };
		block_link_after(b, tail);
	}
	b->len = len;
	b->used = true;
}

static void *seg_alloc(struct uvio_dma_segment *s, size_t len, size_t align,
		       size_t contig, struct block **spare)
{
	for (struct block *b = s->blocks; b; b = b->next) {
		uintptr_t base = s->start + b->off;
		uintptr_t a;

		if (b->used)
			continue;
		a = fit(base, len, align, contig);
		if (a - base > b->len || b->len - (a - base) < len)
			continue;
		block_carve(b, a - s->start, len, spare);
		return (void *)a;
	}
	return NULL;
}

/* Merge free `b` into free `prev`. */
static void block_merge(struct block *prev, struct block *b)
{
	prev->len += b->len;
	prev->next = b->next;
	if (b->next)
		b->next->prev = prev;
	free(b);
}

static void seg_free(struct uvio_dma_segment *s, uintptr_t p)
{
	struct block *b = s->blocks;

	while (b && !(b->used && s->start + b->off == p))
		b = b->next;
	/* Not the start of a live block: a bad or double free; ignored. */
	if (!b)
		return;
	b->used = false;
	if (b->next && !b->next->used)
		block_merge(b, b->next);
	if (b->prev && !b->prev->used)
		block_merge(b->prev, b);
}

/* See uvio_dma_contig_size(). Under the lock, page size known. */
static size_t contig_unit(void)
{
	return dma.backing == UVIO_DMA_4K_PINNED ? 0 : dma.page_size;
}

/* Try existing segments on `node` (-1: any). */
static void *alloc_existing(size_t len, size_t align, int node,
			    struct block **spare,
			    struct uvio_dma_segment **seg)
{
	unsigned n = atomic_load_explicit(&dma.nsegs, memory_order_relaxed);
	size_t contig = contig_unit();

	for (unsigned i = 0; i < n; i++) {
		struct uvio_dma_segment *s = &dma.segs[i];
		void *p;

		if (!s->announced || (node >= 0 && s->numa_node != node))
			continue;
		p = seg_alloc(s, len, align, contig, spare);
		if (p) {
			*seg = s;
			return p;
		}
	}
	return NULL;
}

/* Under the lock: existing segments on the node, then a new segment, then
 * (when the node is out of memory) any segment at all. */
static void *alloc_locked(size_t len, size_t align, int node,
			  struct block **spare, struct uvio_dma_segment **seg,
			  struct uvio_err *err)
{
	void *p;
	int rc = backing_page_size(err);

	if (rc < 0)
		return NULL;
	if (align > ALIGN_MAX && align > dma.page_size) {
		uvio_err_set(err, -EINVAL,
			"DMA alignment %zu is above the page size %zu",
			align, dma.page_size);
		return NULL;
	}
	node = usable_node(node);
	p = alloc_existing(len, align, node, spare, seg);
	if (p)
		return p;
	*seg = seg_new(len, node, err);
	if (*seg)
		return seg_alloc(*seg, len, align, contig_unit(), spare);
	if (node < 0)
		return NULL;
	p = alloc_existing(len, align, -1, spare, seg);
	if (p)
		uvio_err_clear(err);
	return p;
}

void *uvio_dma_alloc_aligned(size_t len, size_t align, int numa_node,
			     struct uvio_err *err)
{
	struct block *spare[2];
	struct uvio_dma_segment *seg = NULL;
	void *p;

	if (!len || !is_pow2(align ? align : 1) || len > SIZE_MAX / 2) {
		uvio_err_set(err, -EINVAL,
			"bad DMA allocation: len %zu, align %zu (need len > 0 "
			"and a power-of-two align)", len, align);
		return NULL;
	}
	if (align < ALIGN_MIN)
		align = ALIGN_MIN;
	len = align_up(len, ALIGN_MIN);
	spare[0] = malloc(sizeof(struct block));
	spare[1] = malloc(sizeof(struct block));
	p = NULL;
	if (!spare[0] || !spare[1])
		uvio_err_set(err, -ENOMEM, "out of memory");
	else {
		pthread_mutex_lock(&dma.lock);
		p = alloc_locked(len, align, numa_node, spare, &seg, err);
		pthread_mutex_unlock(&dma.lock);
	}
	free(spare[0]);
	free(spare[1]);
	/* Zeroed outside the lock: the block is ours alone now. */
	if (p)
		memset(p, 0, len);
	return p;
}

void *uvio_dma_alloc(size_t len, size_t align, int numa_node, uint64_t *iova,
		     struct uvio_err *err)
{
	void *p;

	if (align > ALIGN_MAX) {
		uvio_err_set(err, -EINVAL,
			"DMA alignment %zu is above the 2 MiB maximum", align);
		return NULL;
	}
	p = uvio_dma_alloc_aligned(len, align, numa_node, err);
	if (p && iova)
		*iova = uvio_dma_iova(p);
	return p;
}

void uvio_dma_free(void *va)
{
	struct uvio_dma_segment *s;

	if (!va)
		return;
	pthread_mutex_lock(&dma.lock);
	s = (struct uvio_dma_segment *)uvio_dma_segment_of(va);
	if (s)
		seg_free(s, (uintptr_t)va);
	pthread_mutex_unlock(&dma.lock);
}

/* Lock-free once known, since VFIO's listener asks for it from inside
 * announce(). */
int uvio_dma_contig_size(size_t *size, struct uvio_err *err)
{
	size_t v = atomic_load(&dma.contig);
	int rc;

	if (v != SIZE_MAX) {
		*size = v;
		return 0;
	}
	pthread_mutex_lock(&dma.lock);
	rc = backing_page_size(err);
	*size = contig_unit();
	pthread_mutex_unlock(&dma.lock);
	return rc;
}

/* ---- options and IOVA mode -------------------------------------------- */

static int check_opts(const struct uvio_dma_opts *o, struct uvio_err *err)
{
	if (o->backing != UVIO_DMA_HUGEPAGES &&
	    o->backing != UVIO_DMA_4K_PINNED)
		return uvio_err_set(err, -EINVAL,
			"unknown DMA backing %d: use UVIO_DMA_HUGEPAGES or "
			"UVIO_DMA_4K_PINNED", (int)o->backing);
	if (o->hugetlbfs_dir && strlen(o->hugetlbfs_dir) >= PATH_MAX)
		return uvio_err_set(err, -ENAMETOOLONG,
				    "hugetlbfs_dir is too long");
	if (o->segment_size > SIZE_MAX / 4)
		return uvio_err_set(err, -EINVAL,
				    "segment_size %zu is too big",
				    o->segment_size);
	return 0;
}

int uvio_dma_init(const struct uvio_dma_opts *opts, struct uvio_err *err)
{
	static const struct uvio_dma_opts defaults;
	int rc;

	if (!opts)
		opts = &defaults;
	rc = check_opts(opts, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&dma.lock);
	if (atomic_load_explicit(&dma.nsegs, memory_order_relaxed))
		rc = uvio_err_set(err, -EBUSY,
			"DMA memory is already in use: call uvio_dma_init() "
			"before opening devices or allocating");
	else if (opts->backing == UVIO_DMA_4K_PINNED &&
		 atomic_load(&dma.mode) == UVIO_IOVA_PA)
		rc = uvio_err_set(err, -EINVAL,
			"IOVA mode is PA (no IOMMU / UIO), which needs "
			"hugepages: drop UVIO_DMA_4K_PINNED");
	if (!rc) {
		dma.backing = opts->backing;
		snprintf(dma.hugetlbfs_dir, sizeof(dma.hugetlbfs_dir), "%s",
			 opts->hugetlbfs_dir ? opts->hugetlbfs_dir : "");
		dma.segment_size = opts->segment_size ? opts->segment_size
						      : DEFAULT_SEGMENT_SIZE;
		dma.page_size = 0;
		atomic_store(&dma.contig, SIZE_MAX);
	}
	pthread_mutex_unlock(&dma.lock);
	return rc;
}

static const char *mode_name(int mode)
{
	return mode == UVIO_IOVA_PA ? "PA (no IOMMU / UIO)"
				    : "VA (VFIO with an IOMMU)";
}

/* Switching to PA: translate the segments that already exist. */
static int start_pa(struct uvio_err *err)
{
	unsigned n = atomic_load_explicit(&dma.nsegs, memory_order_relaxed);
	int rc;

	if (dma.backing == UVIO_DMA_4K_PINNED)
		return uvio_err_set(err, -EINVAL,
			"IOVA mode PA (no IOMMU / UIO) needs hugepages, since "
			"4K pages are not physically contiguous: drop "
			"UVIO_DMA_4K_PINNED or bind the device to vfio-pci "
			"with an IOMMU");
	rc = probe_pagemap(err);
	for (unsigned i = 0; i < n && !rc; i++)
		rc = seg_compute_pa(&dma.segs[i], err);
	return rc;
}

static int set_mode_locked(enum uvio_iova_mode mode, struct uvio_err *err)
{
	int cur = atomic_load_explicit(&dma.mode, memory_order_relaxed);
	int rc;

	if (cur == (int)mode)
		return 0;
	if (cur != UVIO_IOVA_UNSET)
		return uvio_err_set(err, -EEXIST,
			"this process already uses IOVA mode %s; a device "
			"needing %s cannot join it: bind all devices the same "
			"way", mode_name(cur), mode_name(mode));
	rc = mode == UVIO_IOVA_PA ? start_pa(err) : 0;
	if (rc)
		return rc;
	if (dma.backing == UVIO_DMA_4K_PINNED && !dma.warned_4k) {
		dma.warned_4k = true;
		fprintf(stderr, "uvio: DMA memory is 4K pinned pages: fine for "
			"tests, slower for a real device (IOTLB misses); "
			"reserve hugepages for production\n");
	}
	atomic_store_explicit(&dma.mode, mode, memory_order_release);
	return 0;
}

int uvio_dma_set_iova_mode(enum uvio_iova_mode mode, struct uvio_err *err)
{
	int rc;

	if (mode != UVIO_IOVA_VA && mode != UVIO_IOVA_PA)
		return uvio_err_set(err, -EINVAL,
				    "IOVA mode must be VA or PA, not %d",
				    (int)mode);
	pthread_mutex_lock(&dma.lock);
	rc = set_mode_locked(mode, err);
	pthread_mutex_unlock(&dma.lock);
	return rc;
}

enum uvio_iova_mode uvio_dma_iova_mode(void)
{
	return (enum uvio_iova_mode)atomic_load_explicit(&dma.mode,
							 memory_order_acquire);
}
