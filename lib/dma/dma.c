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
 *
 * Getting memory for a segment (the backing file, mapping, NUMA placement)
 * and reading its physical addresses is dma_backing.c's part. What that
 * part learns is kept in dma.src, so this file's lock covers it too.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uvio/dma.h>

#include "dma_backing.h"
#include "dma_internal.h"

#define SEG_MAX 256
#define LISTENER_MAX 16
#define DEFAULT_SEGMENT_SIZE ((size_t)32 << 20)
/* Blocks are whole cache lines: two devices' buffers never share one. */
#define ALIGN_MIN ((size_t)64)

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
	struct uvio_dma_source src;
	size_t segment_size;
	/* uvio_dma_contig_size(), SIZE_MAX until known; atomic because
	 * listeners ask for it while the lock is held. */
	atomic_size_t contig;
	bool warned_4k;
	bool iovas_kept;        /* uvio_dma_keep_iovas() while mode unset */
	unsigned nlisteners;
	struct uvio_dma_listener listeners[LISTENER_MAX];
	struct uvio_dma_segment segs[SEG_MAX];
} dma = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.segment_size = DEFAULT_SEGMENT_SIZE,
	.src.numa = -1,
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
			  const struct uvio_err *why, struct uvio_err *err)
{
	if (rc >= 0)
		rc = -EIO;
	if (why->msg[0])
		return uvio_err_set(err, rc, "%s", why->msg);
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
		struct uvio_err why = { 0 };
		int rc = l->map(l->ctx, &s->pub, &why);

		if (rc == 0)
			continue;
		while (i--)
			if (dma.listeners[i].unmap)
				dma.listeners[i].unmap(dma.listeners[i].ctx,
						       &s->pub);
		return listener_error(rc, &s->pub, &why, err);
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
		struct uvio_err why = { 0 };

		if (dma.segs[i].announced)
			rc = l->map(l->ctx, &dma.segs[i].pub, &why);
		if (rc == 0)
			continue;
		listener_error(rc, &dma.segs[i].pub, &why, err);
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

/* Once per backing; under the lock. */
static int backing_page_size(struct uvio_err *err)
{
	int rc;

	if (dma.src.page_size)
		return 0;
	rc = uvio_dma_find_page_size(&dma.src, err);
	if (rc == 0)
		atomic_store(&dma.contig, dma.src.backing == UVIO_DMA_4K_PINNED
					  ? 0 : dma.src.page_size);
	return rc;
}

/* Record the PA of every page of `s` (hugepages are physically contiguous
 * inside, so one entry per page is enough). Under the lock. */
static int seg_compute_pa(struct uvio_dma_segment *s, struct uvio_err *err)
{
	size_t npages = (s->end - s->start) >> s->page_shift;
	uint64_t *pa;
	int rc;

	if (atomic_load_explicit(&s->page_pa, memory_order_relaxed))
		return 0;
	pa = calloc(npages, sizeof(*pa));
	if (!pa)
		return uvio_err_set(err, -ENOMEM, "out of memory");
	rc = uvio_dma_read_page_pa(s->start, npages, s->page_shift, pa, err);
	if (rc) {
		free(pa);
		return rc;
	}
	s->pub.iova = pa[0];
	atomic_store_explicit(&s->page_pa, pa, memory_order_release);
	return 0;
}

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
	int fd = uvio_dma_backing_open(&dma.src, idx, err);
	void *va = NULL;
	int rc;

	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)len) < 0)
		rc = uvio_err_set(err, -errno,
			"cannot size DMA memory file to %zu MiB: %s",
			len >> 20, strerror(errno));
	else
		rc = uvio_dma_map_segment(&dma.src, fd, len, node, &va, err);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->start = (uintptr_t)va;
	s->end = s->start + len;
	s->page_shift = log2_of(dma.src.page_size);
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
	size_t len = align_up(dma.segment_size, dma.src.page_size);
	struct uvio_dma_segment *s = &dma.segs[n];

	if (n == SEG_MAX) {
		uvio_err_set(err, -ENOSPC,
			"all %d DMA segments are in use: raise segment_size "
			"in uvio_dma_init()", SEG_MAX);
		return NULL;
	}
	if (min_len > len)
		len = align_up(min_len, dma.src.page_size);
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
	return dma.src.backing == UVIO_DMA_4K_PINNED ? 0 : dma.src.page_size;
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
	if (align > UVIO_DMA_ALIGN_MAX && align > dma.src.page_size) {
		uvio_err_set(err, -EINVAL,
			"DMA alignment %zu is above the page size %zu",
			align, dma.src.page_size);
		return NULL;
	}
	node = uvio_dma_usable_node(&dma.src, node);
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

	if (align > UVIO_DMA_ALIGN_MAX) {
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
		dma.src.backing = opts->backing;
		snprintf(dma.src.hugetlbfs_dir, sizeof(dma.src.hugetlbfs_dir),
			 "%s", opts->hugetlbfs_dir ? opts->hugetlbfs_dir : "");
		dma.segment_size = opts->segment_size ? opts->segment_size
						      : DEFAULT_SEGMENT_SIZE;
		dma.src.page_size = 0;
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

	if (dma.src.backing == UVIO_DMA_4K_PINNED)
		return uvio_err_set(err, -EINVAL,
			"IOVA mode PA (no IOMMU / UIO) needs hugepages, since "
			"4K pages are not physically contiguous: drop "
			"UVIO_DMA_4K_PINNED or bind the device to vfio-pci "
			"with an IOMMU");
	rc = uvio_dma_probe_pagemap(err);
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
	if (cur == UVIO_IOVA_UNSET && mode == UVIO_IOVA_PA && dma.iovas_kept)
		return uvio_err_set(err, -EBUSY,
			"packet pools made before this device hold virtual "
			"addresses as IOVAs, and it needs physical ones: open "
			"every device before creating packet pools");
	if (cur != UVIO_IOVA_UNSET)
		return uvio_err_set(err, -EEXIST,
			"this process already uses IOVA mode %s; a device "
			"needing %s cannot join it: bind all devices the same "
			"way", mode_name(cur), mode_name(mode));
	rc = mode == UVIO_IOVA_PA ? start_pa(err) : 0;
	if (rc)
		return rc;
	if (dma.src.backing == UVIO_DMA_4K_PINNED && !dma.warned_4k) {
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

void uvio_dma_keep_iovas(void)
{
	pthread_mutex_lock(&dma.lock);
	if (atomic_load_explicit(&dma.mode, memory_order_relaxed) ==
	    UVIO_IOVA_UNSET)
		dma.iovas_kept = true;
	pthread_mutex_unlock(&dma.lock);
}

enum uvio_iova_mode uvio_dma_iova_mode(void)
{
	return (enum uvio_iova_mode)atomic_load_explicit(&dma.mode,
							 memory_order_acquire);
}
