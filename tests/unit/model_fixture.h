/* SPDX-License-Identifier: MIT */
/*
 * What the blk and net fixtures share: the two ring layouts a test runs
 * over, DMA memory that needs no root or hugepages, and a seeded filler.
 */
#ifndef UVIO_TEST_MODEL_FIXTURE_H
#define UVIO_TEST_MODEL_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uvio/dma.h>

struct layout {
	bool packed;
};

static struct layout layout_split = { false };
static struct layout layout_packed = { true };

/* The same bytes for the same seed: what a test wrote, it can expect. */
static inline void fill(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* 4K pinned pages: unit tests run without root or hugepages. */
static inline int group_setup(void **state)
{
	struct uvio_err err = { 0 };

	(void)state;
	if (uvio_dma_init(&(struct uvio_dma_opts){ .backing = UVIO_DMA_4K_PINNED }, &err)) {
		fprintf(stderr, "uvio_dma_init: %s\n", err.msg);
		return -1;
	}
	return 0;
}

#endif
