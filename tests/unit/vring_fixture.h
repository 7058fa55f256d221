/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the tests/unit/test_vring*.c suites: one queue (driver
 * side, lib/vring) and one device model (tests/model) on the same memory.
 * Every test runs once per layout: the cmocka initial state says which.
 * Each layout runs twice: on the scalar path only, and with the batch
 * path (lib/vring/vq_batch.c) where the CPU has it.
 */
#ifndef UVIO_TESTS_VRING_FIXTURE_H
#define UVIO_TESTS_VRING_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <uvio/vring.h>

#include "../model/vdev_model.h"

#define BIT(b) (1ULL << (b))
#define F_PACKED     BIT(VIRTIO_F_RING_PACKED)
#define F_EVENT_IDX  BIT(VIRTIO_RING_F_EVENT_IDX)
#define F_INDIRECT   BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define F_IN_ORDER   BIT(VIRTIO_F_IN_ORDER)
#define F_NOTIF_DATA BIT(VIRTIO_F_NOTIFICATION_DATA)

#define MAX_TSEG 40  /* segments of one test buffer */

struct layout {
	bool packed;
	uint16_t max_simd_bitwidth;  /* uvio_vq_params' */
};

static struct layout layout_split = { false, 64 };
static struct layout layout_split_x4 = { false, 256 };
static struct layout layout_packed = { true, 64 };
static struct layout layout_packed_x4 = { true, 256 };

struct fx {
	bool packed;
	uint16_t max_simd_bitwidth;
	uint64_t features;
	uint16_t size;
	void *mem;
	size_t mem_size;
	struct uvio_vq *vq;
	struct vdev_model *dev;
	struct vdev_kicks kicks;
};

/* Both layouts of one test, or one of them. */
#define VQ_SPLIT(fn) { "split/" #fn, fn, fx_setup, fx_teardown, &layout_split }, \
	{ "split-x4/" #fn, fn, fx_setup, fx_teardown, &layout_split_x4 }
#define VQ_PACKED(fn) { "packed/" #fn, fn, fx_setup, fx_teardown, &layout_packed }, \
	{ "packed-x4/" #fn, fn, fx_setup, fx_teardown, &layout_packed_x4 }
#define VQ_BOTH(fn) VQ_SPLIT(fn), VQ_PACKED(fn)

/* Test memory, also freed at teardown so that a failing assertion (which
 * longjmps out of the test) leaves no leak report behind. */
static void *tmem_live[512];

static inline void *tmem_alloc(size_t len)
{
	void *p = calloc(1, len ? len : 1);

	assert_non_null(p);
	for (unsigned i = 0; i < 512; i++) {
		if (!tmem_live[i]) {
			tmem_live[i] = p;
			return p;
		}
	}
	fail_msg("tmem: too many live allocations");
	return NULL;
}

static inline void tmem_free(void *p)
{
	for (unsigned i = 0; p && i < 512; i++) {
		if (tmem_live[i] == p) {
			tmem_live[i] = NULL;
			break;
		}
	}
	free(p);
}

static inline void tmem_free_all(void)
{
	for (unsigned i = 0; i < 512; i++) {
		free(tmem_live[i]);
		tmem_live[i] = NULL;
	}
}

static inline void fx_close(struct fx *f)
{
	uvio_vq_destroy(f->vq);
	vdev_model_destroy(f->dev);
	free(f->mem);
	f->vq = NULL;
	f->dev = NULL;
	f->mem = NULL;
}

static inline int fx_setup(void **state)
{
	const struct layout *l = *state;
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->packed = l->packed;
	f->max_simd_bitwidth = l->max_simd_bitwidth;
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
{
	struct fx *f = *state;

	fx_close(f);
	free(f);
	tmem_free_all();
	return 0;
}

/* Create queue `index` of `size` (features: the layout's, plus `extra`)
 * and a device model on it. Returns uvio_vq_create()'s code. */
static inline int fx_try(struct fx *f, uint16_t size, uint64_t extra,
			 uint16_t indirect_max, uint16_t index)
{
	struct uvio_vq_params p;
	struct uvio_vq_addrs a;
	int rc;

	fx_close(f);
	memset(&f->kicks, 0, sizeof(f->kicks));
	f->features = BIT(VIRTIO_F_VERSION_1) | extra | (f->packed ? F_PACKED : 0);
	f->size = size;
	f->mem_size = uvio_vq_mem_size(f->features, size, indirect_max);
	f->mem = aligned_alloc(4096, (f->mem_size + 4095) & ~(size_t)4095);
	assert_non_null(f->mem);
	memset(f->mem, 0, f->mem_size);
	p = (struct uvio_vq_params){
		.index = index, .size = size, .features = f->features,
		.indirect_max = indirect_max, .mem = f->mem,
		.mem_iova = (uintptr_t)f->mem, .notify = vdev_kick_count,
		.notify_ctx = &f->kicks, .max_simd_bitwidth = f->max_simd_bitwidth,
	};
	rc = uvio_vq_create(&p, &f->vq);
	if (rc)
		return rc;
	uvio_vq_get_addrs(f->vq, &a);
	f->dev = vdev_model_create(&a, size, f->features);
	assert_non_null(f->dev);
	return 0;
}

static inline void fx_open(struct fx *f, uint16_t size, uint64_t extra,
			   uint16_t indirect_max)
{
	assert_int_equal(fx_try(f, size, extra, indirect_max, 0), 0);
	assert_int_equal(uvio_vq_is_packed(f->vq), f->packed);
}

/* The device has seen nothing wrong. */
static inline void fx_model_ok(struct fx *f)
{
	assert_string_equal(vdev_model_error(f->dev), "");
}

/* A test buffer: n_out readable segments filled with a pattern, then n_in
 * writable ones zeroed, all in one heap block. */
struct tbuf {
	unsigned n_out, n_in;
	uint32_t out_len, in_len;
	uint8_t *mem;
	struct uvio_sg sg[MAX_TSEG];
};

static inline uint8_t pattern(unsigned seed, size_t i)
{
	return (uint8_t)(seed * 31u + i * 7u + 1u);
}

static inline void tbuf_make(struct tbuf *t, unsigned n_out, unsigned n_in,
			     uint32_t seg_len, unsigned seed)
{
	size_t off = 0;

	assert_true(n_out + n_in <= MAX_TSEG);
	memset(t, 0, sizeof(*t));
	t->n_out = n_out;
	t->n_in = n_in;
	t->mem = tmem_alloc((size_t)(n_out + n_in + 1) * seg_len);
	for (unsigned i = 0; i < n_out + n_in; i++) {
		/* vary lengths a little so that offsets matter */
		uint32_t len = seg_len ? seg_len - (i % 3 < seg_len ? i % 3 : 0) : 0;

		t->sg[i].iova = (uintptr_t)(t->mem + off);
		t->sg[i].len = len;
		if (i < n_out) {
			for (uint32_t k = 0; k < len; k++)
				t->mem[off + k] = pattern(seed, t->out_len + k);
			t->out_len += len;
		} else {
			t->in_len += len;
		}
		off += len;
	}
}

static inline void tbuf_free(struct tbuf *t)
{
	tmem_free(t->mem);
	t->mem = NULL;
}

static inline int tbuf_add(struct fx *f, struct tbuf *t, void *cookie)
{
	return uvio_vq_add(f->vq, t->sg, t->n_out, t->n_in, cookie);
}

/* Copy the writable part of t (as the driver sees it) into dst. */
static inline void tbuf_read_in(const struct tbuf *t, uint8_t *dst)
{
	size_t done = 0;

	for (unsigned i = t->n_out; i < t->n_out + t->n_in; i++) {
		memcpy(dst + done, (void *)(uintptr_t)t->sg[i].iova, t->sg[i].len);
		done += t->sg[i].len;
	}
}

/* The device checks a popped buffer against what the driver posted. */
static inline void dev_check_buf(const struct vdev_buf *b, const struct tbuf *t,
				 unsigned seed)
{
	uint8_t *got = tmem_alloc(t->out_len);

	assert_int_equal(b->n_out, t->n_out);
	assert_int_equal(b->n_in, t->n_in);
	assert_int_equal(b->out_len, t->out_len);
	assert_int_equal(b->in_len, t->in_len);
	assert_int_equal(vdev_buf_read(b, got, t->out_len), t->out_len);
	for (uint32_t k = 0; k < t->out_len; k++)
		assert_int_equal(got[k], pattern(seed, k));
	tmem_free(got);
}

/* The device fills len bytes of b's writable part with pattern(seed). */
static inline void dev_fill(struct vdev_buf *b, uint32_t len, unsigned seed)
{
	uint8_t *src = tmem_alloc(len);

	for (uint32_t k = 0; k < len; k++)
		src[k] = pattern(seed, k);
	assert_int_equal(vdev_buf_write(b, src, len), len);
	tmem_free(src);
}

/* Post one single-segment buffer (writable when `in`). */
static inline int add1(struct fx *f, void *mem, uint32_t len, bool in, void *cookie)
{
	struct uvio_sg sg = { (uintptr_t)mem, len };

	return uvio_vq_add(f->vq, &sg, in ? 0 : 1, in ? 1 : 0, cookie);
}

/* Pop exactly n buffers on the device. */
static inline void dev_pop_n(struct fx *f, unsigned n)
{
	int rc = vdev_model_pop_all(f->dev);

	if (rc < 0)
		print_error("device model: %s\n", vdev_model_error(f->dev));
	assert_int_equal(rc, (int)n);
}

/* The driver takes exactly n used buffers (in calls of at most max). */
static inline void drv_get_n(struct fx *f, struct uvio_vq_used *out, unsigned n)
{
	unsigned got = 0;

	for (unsigned tries = 0; got < n && tries <= n; tries++) {
		int rc = uvio_vq_get_used(f->vq, out + got, n - got);

		assert_in_range(rc, 0, n - got);
		got += (unsigned)rc;
	}
	assert_int_equal(got, n);
	assert_int_equal(uvio_vq_get_used(f->vq, out, 1), 0);
}

/* One full round trip of a single writable 8-byte buffer (moves every
 * index by one). */
static inline void round_trip1(struct fx *f)
{
	uint64_t word = 0;
	struct uvio_vq_used u;

	assert_int_equal(add1(f, &word, sizeof(word), true, &word), 0);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 1);
	vdev_model_push_all(f->dev, VDEV_ORDER_FIFO, 0);
	drv_get_n(f, &u, 1);
	assert_ptr_equal(u.cookie, &word);
	assert_int_equal(u.len, sizeof(word));
}

#endif
