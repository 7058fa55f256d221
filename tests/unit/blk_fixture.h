/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the tests/unit/test_blk_*.c suites: pmd/blk through
 * the model transport (tests/model/model_blk.c), a RAM disk device in the
 * same process. Every test runs on a split and on a packed ring
 * (VIRTIO_F_RING_PACKED offered or not), except where a layout does not
 * apply. Each test ends by checking that the model saw no driver violation
 * of the spec.
 *
 * DMA memory is 4K pinned (IOVA == VA), set up once per binary
 * (group_setup). Helpers are static inline: each binary uses some.
 */
#ifndef UVIO_TESTS_BLK_FIXTURE_H
#define UVIO_TESTS_BLK_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <uvio/blk.h>
#include <uvio/dma.h>

#include "../model/model_dev.h"
#include "model_fixture.h"

#define BIT(b) (1ULL << (b))
#define SECTOR 512u
#define MAX_ALLOCS 32
#define POLL_LIMIT 100000

struct fx {
	bool packed;
	struct model_blk *mb;
	struct model_dev *m;
	struct uvio_blk *blk;
	struct uvio_blk_queue *q;
	void *allocs[MAX_ALLOCS];
	unsigned nallocs;
};

/* A completion, as a callback saw it. */
struct rec {
	int calls;
	int status;
	int order;
};

static int g_order;

static inline void on_done(void *arg, int status)
{
	struct rec *r = arg;

	r->calls++;
	r->status = status;
	r->order = g_order++;
}

/* ---- fixture ---- */

static inline int fx_setup(void **state)
{
	const struct layout *l = *state;
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->packed = l->packed;
	g_order = 0;
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
{
	struct fx *f = *state;

	uvio_blk_close(f->blk);
	model_blk_put(f->mb);
	for (unsigned i = 0; i < f->nallocs; i++)
		uvio_dma_free(f->allocs[i]);
	free(f);
	return 0;
}

#define BOTH(fn) \
	{ "split/" #fn, fn, fx_setup, fx_teardown, &layout_split }, \
	{ "packed/" #fn, fn, fx_setup, fx_teardown, &layout_packed }
#define SPLIT(fn) { "split/" #fn, fn, fx_setup, fx_teardown, &layout_split }
#define PACKED(fn) { "packed/" #fn, fn, fx_setup, fx_teardown, &layout_packed }

/* Everything QEMU's virtio-blk offers, with small limits. */
static inline struct model_blk_cfg base_cfg(const struct fx *f)
{
	return (struct model_blk_cfg){
		.features = BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_SEG_MAX) |
			    BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) |
			    BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
			    BIT(VIRTIO_BLK_F_SECURE_ERASE) | BIT(VIRTIO_BLK_F_CONFIG_WCE),
		.packed = f->packed,
		.capacity = 8192,            /* 4 MiB */
		.blk_size = 512,
		.seg_max = 64,
		.size_max = 1u << 20,
		.writeback = 1,
		.max_discard_sectors = 1024, .max_discard_seg = 1, .discard_sector_alignment = 8,
		.max_write_zeroes_sectors = 1024, .max_write_zeroes_seg = 1,
		.write_zeroes_may_unmap = 1,
		.max_secure_erase_sectors = 1024, .max_secure_erase_seg = 1,
		.secure_erase_sector_alignment = 8,
	};
}

static inline int open_cfg(struct fx *f, const struct model_blk_cfg *cfg,
		    const struct uvio_blk_opts *opts, struct uvio_err *err)
{
	struct uvio_dev *dev = NULL;
	int rc;

	f->mb = model_blk_create(cfg, &dev);
	assert_non_null(f->mb);
	f->m = model_blk_dev(f->mb);
	rc = uvio_blk_open(dev, opts, &f->blk, err);
	if (rc) {
		f->blk = NULL;
		return rc;
	}
	f->q = uvio_blk_get_queue(f->blk, 0);
	assert_non_null(f->q);
	return 0;
}

static inline void open_ok(struct fx *f, const struct model_blk_cfg *cfg,
		    const struct uvio_blk_opts *opts)
{
	struct uvio_err err = { 0 };
	int rc = open_cfg(f, cfg, opts, &err);

	if (rc)
		fail_msg("uvio_blk_open: %d %s", rc, err.msg);
}

static inline void open_base(struct fx *f)
{
	struct model_blk_cfg cfg = base_cfg(f);

	open_ok(f, &cfg, NULL);
}

/* The model saw nothing against the spec. */
static inline void assert_clean(struct fx *f)
{
	if (model_dev_violations(f->m))
		fail_msg("device saw %u violation(s); first: %s",
			 model_dev_violations(f->m), model_dev_error(f->m));
}

/* Close (callbacks of what is left run now), then check the model. */
static inline void finish(struct fx *f)
{
	uvio_blk_close(f->blk);
	f->blk = NULL;
	f->q = NULL;
	assert_clean(f);
}

static inline void *dma(struct fx *f, size_t len)
{
	struct uvio_err err = { 0 };
	uint64_t iova;
	void *p = uvio_dma_alloc(len, 4096, -1, &iova, &err);

	if (!p)
		fail_msg("uvio_dma_alloc(%zu): %s", len, err.msg);
	assert_true(f->nallocs < MAX_ALLOCS);
	f->allocs[f->nallocs++] = p;
	return p;
}

/* Poll until every rec has completed (or give up: no hang). */
static inline void wait_all(struct fx *f, struct uvio_blk_queue *q, struct rec *r, unsigned n)
{
	for (int i = 0; i < POLL_LIMIT; i++) {
		unsigned done = 0;

		for (unsigned k = 0; k < n; k++)
			done += r[k].calls > 0;
		if (done == n)
			return;
		model_dev_process(f->m);
		uvio_blk_poll(q, 64);
	}
	fail_msg("requests never completed");
}

#endif
