/* SPDX-License-Identifier: MIT */
/*
 * uvio DMA memory: memory a device can read and write, and buffer pools.
 *
 * Process-wide, like DPDK's memory subsystem: every device of the process
 * sees all DMA memory, so a buffer received on one port can be sent on
 * another. Memory comes in segments of hugepages (memfd_create MFD_HUGETLB,
 * or a file in a hugetlbfs mount); the fd of each segment is kept so that a
 * vhost-user backend can map it too. Transports that must make memory
 * visible to their device (a VFIO container's MAP_DMA, a vhost-user
 * SET_MEM_TABLE) register a listener: it is told of every segment that
 * exists and of every new one.
 *
 * Device addresses (IOVA) are either the process's virtual addresses (VFIO
 * with an IOMMU) or physical addresses (VFIO no-IOMMU, UIO), fixed for the
 * process by the first device bound.
 *
 * Thread safety: every call here is thread-safe (a mutex; not for the hot
 * path) except uvio_dma_iova(), which is lock-free and fast, and the pool's
 * cache calls, which belong to the cache's owner thread.
 */
#ifndef UVIO_DMA_H
#define UVIO_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uvio/err.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

enum uvio_iova_mode {
	UVIO_IOVA_UNSET = 0,
	UVIO_IOVA_VA,   /* IOVA = virtual address (IOMMU maps it) */
	UVIO_IOVA_PA,   /* IOVA = physical address (no IOMMU / UIO) */
};

enum uvio_dma_backing {
	UVIO_DMA_HUGEPAGES = 0,  /* default: hugepages, or a clear error */
	UVIO_DMA_4K_PINNED,      /* mlock'd 4K pages: VFIO type1 or tests only */
};

struct uvio_dma_opts {
	enum uvio_dma_backing backing;
	const char *hugetlbfs_dir;  /* NULL: memfd_create(MFD_HUGETLB) */
	size_t segment_size;        /* bytes per segment; 0 = 32 MiB */
};

/* Choose how DMA memory is made. Optional: without it the defaults hold.
 * Must come before the first allocation (-EBUSY after). */
int uvio_dma_init(const struct uvio_dma_opts *opts, struct uvio_err *err);

/* Fix the process's IOVA mode. The first caller sets it; a later caller
 * asking for the other mode gets -EEXIST with a message. PA mode with
 * 4K pinned backing is refused (pages are not contiguous). */
int uvio_dma_set_iova_mode(enum uvio_iova_mode mode, struct uvio_err *err);

/* Say that the caller keeps IOVAs it read while the mode was unset (a
 * packet pool stamps each buffer with its IOVA at creation). Those are
 * virtual addresses, so from then on the mode can become VA but not PA:
 * uvio_dma_set_iova_mode(PA) fails with -EBUSY and a line that says to
 * open the devices first, where it would otherwise hand the device stale
 * addresses. Thread safety: any thread. */
void uvio_dma_keep_iovas(void);
enum uvio_iova_mode uvio_dma_iova_mode(void);

/*
 * Allocate `len` bytes aligned to `align` (a power of two <= 2 MiB),
 * zeroed, on NUMA node `numa_node` (-1 = any; falls back to any node when
 * the system has no NUMA). The block never crosses a hugepage boundary when
 * len <= hugepage size, so it is contiguous in IOVA. *iova gets its device
 * address. Returns NULL and fills `err` on failure (no hugepages: the
 * message says how to reserve them).
 */
void *uvio_dma_alloc(size_t len, size_t align, int numa_node, uint64_t *iova,
		     struct uvio_err *err);
void uvio_dma_free(void *va);

/* Device address of any byte of DMA memory; UINT64_MAX when `va` is not
 * DMA memory. Lock-free. */
uint64_t uvio_dma_iova(const void *va);

/* One segment of DMA memory, as listeners see it. */
struct uvio_dma_seg {
	void *va;
	uint64_t iova;
	size_t len;
	int fd;             /* memfd (4K pinned too) or hugetlbfs file */
	uint64_t fd_offset;
};

struct uvio_dma_listener {
	/* Called for each existing segment at registration, then for each new
	 * one. A failing map fails the registration or the allocation; a map
	 * that knows why says so in `err` (never NULL), which becomes the
	 * caller's error line. */
	int (*map)(void *ctx, const struct uvio_dma_seg *seg, struct uvio_err *err);
	void (*unmap)(void *ctx, const struct uvio_dma_seg *seg);
	void *ctx;
};

/* Listeners run under the DMA lock: they may call the lock-free
 * uvio_dma_iova() (a new segment is already translatable) and
 * uvio_dma_iova_mode(), but nothing that allocates or (un)listens. A segment
 * a listener refuses is kept unannounced and retried by a later allocation.
 * Unlisten only forgets the listener (matched by map, unmap and ctx); it
 * does not call unmap: the owner tears down its own mappings. */
int uvio_dma_listen(const struct uvio_dma_listener *l, struct uvio_err *err);
void uvio_dma_unlisten(const struct uvio_dma_listener *l);

/* Calls fn for each segment (under the lock: fn must not allocate). */
int uvio_dma_foreach_seg(int (*fn)(void *ctx, const struct uvio_dma_seg *seg),
			 void *ctx);

/*
 * A pool of fixed-size DMA buffers. Objects are `elt_size` bytes,
 * 64-byte aligned, each contiguous in IOVA. The shared part is thread-safe;
 * a cache belongs to one thread and makes get/put lock-free there.
 */
struct uvio_pool;
struct uvio_pool_cache;

int uvio_pool_create(const char *name, unsigned count, unsigned elt_size,
		     int numa_node, struct uvio_pool **out,
		     struct uvio_err *err);
/* All objects must be back in the pool. */
void uvio_pool_destroy(struct uvio_pool *pool);

unsigned uvio_pool_elt_size(const struct uvio_pool *pool);
unsigned uvio_pool_count(const struct uvio_pool *pool);
/* Objects in the shared part plus in all caches. */
unsigned uvio_pool_avail(const struct uvio_pool *pool);
/* Device address of an object (precomputed, O(1)). */
uint64_t uvio_pool_iova(const struct uvio_pool *pool, const void *obj);

/* A per-thread cache of up to `size` objects. */
struct uvio_pool_cache *uvio_pool_cache_create(struct uvio_pool *pool,
					       unsigned size);
/* Returns the cached objects to the pool. */
void uvio_pool_cache_destroy(struct uvio_pool_cache *cache);

/* Get n objects, all or none: returns n or 0 (pool empty). `cache` may be
 * NULL (the shared part, locked). */
unsigned uvio_pool_get_bulk(struct uvio_pool *pool,
			    struct uvio_pool_cache *cache, void **objs,
			    unsigned n);
void uvio_pool_put_bulk(struct uvio_pool *pool, struct uvio_pool_cache *cache,
			void *const *objs, unsigned n);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif
