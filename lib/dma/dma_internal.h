/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of lib/dma: what pool.c, and a transport that maps
 * DMA memory for its device (lib/pci_vfio/vfio.c), need from dma.c beyond
 * the public contract (uvio/dma.h). The names are uvio_* because they
 * cross object files; they are not in any public header, so nothing
 * outside the library should call them. lib/dma depends on nothing else
 * in the library.
 */
#ifndef UVIO_DMA_INTERNAL_H
#define UVIO_DMA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <uvio/dma.h>

/* One segment of DMA memory; opaque outside dma.c. */
struct uvio_dma_segment;

/*
 * The unit a block must not cross to stay contiguous in IOVA: the hugepage
 * size, or 0 for 4K pinned backing (PA mode is refused there, so IOVA is
 * always VA and every block is contiguous). Lock-free once the backing is
 * known (always so inside a listener), so listeners may call it.
 */
int uvio_dma_contig_size(size_t *size, struct uvio_err *err);

/* uvio_dma_alloc(), but `align` may go up to the contig size, so that a
 * pool can start its area on a hugepage boundary. */
void *uvio_dma_alloc_aligned(size_t len, size_t align, int numa_node,
			     struct uvio_err *err);

/* The segment holding `va`, or NULL. Lock-free. */
const struct uvio_dma_segment *uvio_dma_segment_of(const void *va);

/* Device address of `va` inside `seg`: O(1), lock-free, and right even
 * when the IOVA mode is fixed after the memory was allocated. */
uint64_t uvio_dma_segment_iova(const struct uvio_dma_segment *seg,
			       const void *va);

#endif
