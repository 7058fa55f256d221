/* SPDX-License-Identifier: MIT */
/*
 * What dma.c's allocator needs from dma_backing.c: memory for a segment
 * (a hugetlbfs or memfd file, mapped, placed on a node and faulted in) and
 * the physical address of its pages. The names are uvio_* because they
 * cross object files; only dma.c includes this.
 *
 * dma_backing.c keeps no state of its own: what it learns (page size, NUMA
 * support) goes into the struct uvio_dma_source it is handed, which lives
 * in the allocator's state, under the allocator's lock.
 */
#ifndef UVIO_DMA_BACKING_H
#define UVIO_DMA_BACKING_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <uvio/dma.h>

/* Segments are mapped at an address aligned to this (or to the page size
 * when larger), so the allocator finds every alignment up to it at offset
 * 0 of a segment. */
#define UVIO_DMA_ALIGN_MAX ((size_t)2 << 20)

/* Where segments come from. `backing` and `hugetlbfs_dir` are set by
 * uvio_dma_init(); the rest is learnt on first use. */
struct uvio_dma_source {
	enum uvio_dma_backing backing;
	char hugetlbfs_dir[PATH_MAX];   /* "": memfd_create */
	size_t page_size;               /* 0 until looked at */
	int numa;                       /* -1 unknown, 0 no NUMA, 1 NUMA */
};

/* Learn src->page_size from the backing. */
int uvio_dma_find_page_size(struct uvio_dma_source *src, struct uvio_err *err);

/* A new, empty file to back segment number `idx`; an fd or -errno. */
int uvio_dma_backing_open(const struct uvio_dma_source *src, unsigned idx,
			  struct uvio_err *err);

/* Map `len` bytes of `fd`, prefer node `node` (-1: any) and fault every
 * page in, so a shortage of hugepages is an error here and not a SIGBUS
 * during I/O. The page size must be known. */
int uvio_dma_map_segment(const struct uvio_dma_source *src, int fd,
			 size_t len, int node, void **va, struct uvio_err *err);

/* The node to bind to: -1 when any, or when the node does not exist. */
int uvio_dma_usable_node(struct uvio_dma_source *src, int node);

/* Check that physical addresses are readable (root / CAP_SYS_ADMIN)
 * before any device depends on them. */
int uvio_dma_probe_pagemap(struct uvio_err *err);

/* The PA of each of `npages` pages of 1 << page_shift bytes from `start`,
 * into pa[]. The pages must be faulted in. */
int uvio_dma_read_page_pa(uintptr_t start, size_t npages, unsigned page_shift,
			  uint64_t *pa, struct uvio_err *err);

#endif
