/* SPDX-License-Identifier: MIT */
/*
 * lib/vring basics, on both layouts: parameters, round trips of chains
 * (direct and indirect), ring full/empty and accounting, index and wrap
 * counter wrap-around, detach at teardown. Other topics: test_vring_*.c.
 */
#include "vring_fixture.h"

/* ---- parameters ---- */

static int try_params(struct fx *f, uint16_t size, void *mem)
{
	struct uvio_vq_params p = {
		.size = size, .features = BIT(VIRTIO_F_VERSION_1) | (f->packed ? F_PACKED : 0),
		.mem = mem, .mem_iova = (uintptr_t)mem, .notify = vdev_kick_count,
		.notify_ctx = &f->kicks,
	};
	struct uvio_vq *vq = NULL;
	int rc = uvio_vq_create(&p, &vq);

	if (rc == 0)
		uvio_vq_destroy(vq);
	else
		assert_null(vq);
	return rc;
}

static void t_bad_params(void **state)
{
	struct fx *f = *state;
	uint64_t feat = BIT(VIRTIO_F_VERSION_1) | (f->packed ? F_PACKED : 0);
	size_t len = uvio_vq_mem_size(feat, 32768, 0) + 8192;
	char *mem = aligned_alloc(4096, len);

	assert_non_null(mem);
	memset(mem, 0, len);
	f->mem = mem;   /* freed by the fixture */
	assert_int_equal(try_params(f, 0, mem), -EINVAL);
	assert_int_equal(try_params(f, 32769, mem), -EINVAL);
	assert_int_equal(try_params(f, 65535, mem), -EINVAL);
	assert_int_equal(try_params(f, 8, mem + 64), -EINVAL);   /* misaligned */
	assert_int_equal(try_params(f, 8, mem + 2048), -EINVAL);
	assert_int_equal(try_params(f, 8, NULL), -EINVAL);
	/* spec 2.7: split sizes are powers of two; packed sizes need not be */
	assert_int_equal(try_params(f, 100, mem), f->packed ? 0 : -EINVAL);
	assert_int_equal(try_params(f, 7, mem), f->packed ? 0 : -EINVAL);
	assert_int_equal(try_params(f, 1, mem), 0);
	assert_int_equal(try_params(f, 32768, mem), 0);
}

static void t_create_state(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_addrs a;
	struct uvio_vq_used u;
	uint64_t lo, hi;

	assert_int_equal(fx_try(f, 64, 0, 0, 5), 0);
	assert_int_equal(uvio_vq_size(f->vq), 64);
	assert_int_equal(uvio_vq_index(f->vq), 5);
	assert_int_equal(uvio_vq_is_packed(f->vq), f->packed);
	assert_int_equal(uvio_vq_num_free(f->vq), 64);
	assert_int_equal(uvio_vq_in_flight(f->vq), 0);
	assert_false(uvio_vq_is_broken(f->vq));
	assert_string_equal(uvio_vq_error(f->vq), "");
	assert_false(uvio_vq_has_used(f->vq));
	assert_int_equal(uvio_vq_get_used(f->vq, &u, 1), 0);
	assert_null(uvio_vq_detach_unused(f->vq));
	/* spec 2.7 / 2.8.10: areas inside mem, aligned, distinct */
	uvio_vq_get_addrs(f->vq, &a);
	lo = (uintptr_t)f->mem;
	hi = lo + f->mem_size;
	assert_in_range(a.desc, lo, hi - 16 * 64);
	assert_in_range(a.driver, lo, hi - 4);
	assert_in_range(a.device, lo, hi - 4);
	assert_int_equal(a.desc % 16, 0);
	assert_int_equal(a.driver % (f->packed ? 4 : 2), 0);
	assert_int_equal(a.device % 4, 0);
	assert_true(a.driver >= a.desc + 16 * 64 || a.driver + 4 <= a.desc);
	assert_true(a.device != a.driver);
	assert_int_equal(vdev_model_pop_all(f->dev), 0);
	fx_model_ok(f);
}

static void t_bad_add_args(void **state)
{
	struct fx *f = *state;
	struct tbuf t;
	int x;

	fx_open(f, 4, 0, 0);
	tbuf_make(&t, 3, 2, 16, 1);
	assert_int_equal(uvio_vq_add(f->vq, t.sg, 0, 0, &x), -EINVAL);
	assert_int_equal(uvio_vq_add(f->vq, t.sg, 1, 0, NULL), -EINVAL);
	/* five segments, four descriptors, no indirect: can never fit */
	assert_int_equal(uvio_vq_add(f->vq, t.sg, 3, 2, &x), -EINVAL);
	assert_int_equal(uvio_vq_in_flight(f->vq), 0);
	assert_int_equal(uvio_vq_num_free(f->vq), 4);
	assert_int_equal(uvio_vq_add(f->vq, t.sg, 2, 2, &x), 0);
	assert_int_equal(uvio_vq_num_free(f->vq), 0);
	tbuf_free(&t);
}

/* ---- round trips ---- */

/* Post t, let the device check it, write `wlen` bytes, use it; the driver
 * must get the cookie, the length and the data back. */
static void chain_round_trip(struct fx *f, struct tbuf *t, unsigned seed,
			     uint32_t wlen, int expect_ndesc)
{
	unsigned free0 = uvio_vq_num_free(f->vq);
	struct vdev_buf *b = NULL;
	struct uvio_vq_used u;
	uint8_t *in = tmem_alloc(t->in_len);

	assert_int_equal(tbuf_add(f, t, t), 0);
	assert_int_equal(uvio_vq_in_flight(f->vq), 1);
	uvio_vq_kick(f->vq);
	assert_int_equal(vdev_model_pop(f->dev, &b), 1);
	fx_model_ok(f);
	dev_check_buf(b, t, seed);
	if (expect_ndesc > 0) {
		assert_int_equal(b->ndesc, expect_ndesc);
		assert_int_equal(b->indirect, expect_ndesc == 1 && t->n_out + t->n_in > 1);
		assert_int_equal(uvio_vq_num_free(f->vq), free0 - (unsigned)expect_ndesc);
	}
	dev_fill(b, wlen, seed + 1);
	vdev_model_push(f->dev, b, wlen);
	drv_get_n(f, &u, 1);
	assert_ptr_equal(u.cookie, t);
	assert_int_equal(u.len, wlen);
	tbuf_read_in(t, in);
	for (uint32_t k = 0; k < wlen; k++)
		assert_int_equal(in[k], pattern(seed + 1, k));
	assert_int_equal(uvio_vq_num_free(f->vq), free0);
	assert_int_equal(uvio_vq_in_flight(f->vq), 0);
	tmem_free(in);
}

static void t_round_trip_single(void **state)
{
	struct fx *f = *state;
	struct tbuf t;

	fx_open(f, 8, 0, 0);
	tbuf_make(&t, 1, 0, 100, 3);   /* device-readable only */
	chain_round_trip(f, &t, 3, 0, 1);
	tbuf_free(&t);
	tbuf_make(&t, 0, 1, 256, 4);   /* device-writable, partly written */
	chain_round_trip(f, &t, 4, 100, 1);
	chain_round_trip(f, &t, 4, 256, 1);
	chain_round_trip(f, &t, 4, 0, 1);
	tbuf_free(&t);
	fx_model_ok(f);
}

/* Every split of 1..8 segments into readable + writable, direct. */
static void t_chains_direct(void **state)
{
	struct fx *f = *state;
	struct tbuf t;

	fx_open(f, 8, F_INDIRECT, 0);   /* offered, but no tables */
	for (unsigned n = 1; n <= 8; n++) {
		for (unsigned n_out = 0; n_out <= n; n_out++) {
			unsigned seed = n * 10 + n_out;

			tbuf_make(&t, n_out, n - n_out, 24, seed);
			chain_round_trip(f, &t, seed, t.in_len / 2, (int)n);
			chain_round_trip(f, &t, seed, t.in_len, (int)n);
			tbuf_free(&t);
		}
	}
	fx_model_ok(f);
}

/* Multi-segment buffers go into one indirect table (spec 2.7.5.3 /
 * 2.8.7), even when they have more segments than the ring has slots. */
static void t_chains_indirect(void **state)
{
	struct fx *f = *state;
	struct tbuf t;

	fx_open(f, 4, F_INDIRECT, 16);
	for (unsigned n = 1; n <= 16; n++) {
		unsigned n_out = n / 3;
		unsigned seed = 100 + n;

		tbuf_make(&t, n_out, n - n_out, 40, seed);
		chain_round_trip(f, &t, seed, t.in_len ? t.in_len - 1 : 0, 1);
		tbuf_free(&t);
	}
	/* more than the table and more than the ring: never fits */
	tbuf_make(&t, 10, 7, 8, 9);
	assert_int_equal(tbuf_add(f, &t, &t), -EINVAL);
	assert_int_equal(uvio_vq_in_flight(f->vq), 0);
	tbuf_free(&t);
	fx_model_ok(f);
}

/* Longer than an indirect table but within the ring: still works. */
static void t_chains_past_indirect_max(void **state)
{
	struct fx *f = *state;
	struct tbuf t;

	fx_open(f, 8, F_INDIRECT, 4);
	tbuf_make(&t, 3, 3, 16, 7);
	chain_round_trip(f, &t, 7, t.in_len, -1);
	tbuf_free(&t);
	fx_model_ok(f);
}

/* indirect_max without VIRTIO_F_INDIRECT_DESC: direct chains only (the
 * model rejects INDIRECT without the feature). */
static void t_indirect_needs_feature(void **state)
{
	struct fx *f = *state;
	struct tbuf t;

	fx_open(f, 8, 0, 8);
	tbuf_make(&t, 2, 1, 16, 8);
	chain_round_trip(f, &t, 8, 5, 3);
	tbuf_free(&t);
	fx_model_ok(f);
}

/* ---- full, empty, accounting ---- */

static void t_full_and_empty(void **state)
{
	struct fx *f = *state;
	uint64_t words[9];
	struct uvio_vq_used u[9];

	fx_open(f, 8, 0, 0);
	assert_int_equal(uvio_vq_get_used(f->vq, u, 9), 0);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(add1(f, &words[i], 8, true, &words[i]), 0);
		assert_int_equal(uvio_vq_num_free(f->vq), 7 - i);
		assert_int_equal(uvio_vq_in_flight(f->vq), i + 1);
	}
	assert_int_equal(add1(f, &words[8], 8, true, &words[8]), -ENOSPC);
	assert_int_equal(uvio_vq_in_flight(f->vq), 8);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 8);
	assert_int_equal(uvio_vq_get_used(f->vq, u, 9), 0);   /* none used yet */
	assert_false(uvio_vq_has_used(f->vq));
	vdev_model_push(f->dev, vdev_model_pending_at(f->dev, 0), 8);
	assert_true(uvio_vq_has_used(f->vq));
	assert_int_equal(add1(f, &words[8], 8, true, &words[8]), -ENOSPC);
	drv_get_n(f, u, 1);
	assert_ptr_equal(u[0].cookie, &words[0]);
	assert_false(uvio_vq_has_used(f->vq));
	assert_int_equal(uvio_vq_num_free(f->vq), 1);
	assert_int_equal(add1(f, &words[8], 8, true, &words[8]), 0);
	assert_int_equal(add1(f, &words[0], 8, true, &words[0]), -ENOSPC);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 1);
	vdev_model_push_all(f->dev, VDEV_ORDER_FIFO, 0);
	drv_get_n(f, u, 8);
	assert_int_equal(uvio_vq_num_free(f->vq), 8);
	assert_int_equal(uvio_vq_in_flight(f->vq), 0);
	fx_model_ok(f);
}

static void t_full_with_chains(void **state)
{
	struct fx *f = *state;
	struct tbuf t3, t2;
	struct uvio_vq_used u[4];

	fx_open(f, 8, 0, 0);
	tbuf_make(&t3, 1, 2, 8, 1);
	tbuf_make(&t2, 1, 1, 8, 2);
	assert_int_equal(tbuf_add(f, &t3, &t3), 0);
	assert_int_equal(tbuf_add(f, &t3, &t3.sg[0]), 0);
	assert_int_equal(uvio_vq_num_free(f->vq), 2);
	assert_int_equal(tbuf_add(f, &t3, &t3.sg[1]), -ENOSPC);
	assert_int_equal(tbuf_add(f, &t2, &t2), 0);
	assert_int_equal(uvio_vq_num_free(f->vq), 0);
	assert_int_equal(add1(f, t2.mem, 1, false, &t2.sg[0]), -ENOSPC);
	assert_int_equal(uvio_vq_in_flight(f->vq), 3);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 3);
	vdev_model_push_all(f->dev, VDEV_ORDER_REVERSE, 0);
	drv_get_n(f, u, 3);
	assert_int_equal(uvio_vq_num_free(f->vq), 8);
	tbuf_free(&t3);
	tbuf_free(&t2);
	fx_model_ok(f);
}

static void t_num_free_indirect(void **state)
{
	struct fx *f = *state;
	struct tbuf t;
	struct uvio_vq_used u[8];
	int cookies[8];

	fx_open(f, 8, F_INDIRECT, 4);
	tbuf_make(&t, 1, 2, 8, 1);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(tbuf_add(f, &t, &cookies[i]), 0);
		assert_int_equal(uvio_vq_num_free(f->vq), 7 - i);
	}
	assert_int_equal(tbuf_add(f, &t, &t), -ENOSPC);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_true(vdev_model_pending_at(f->dev, i)->indirect);
	vdev_model_push_all(f->dev, VDEV_ORDER_RANDOM, 5);
	drv_get_n(f, u, 8);
	assert_int_equal(uvio_vq_num_free(f->vq), 8);
	tbuf_free(&t);
	fx_model_ok(f);
}

/* Spec 2.7.13: on a split ring nothing is visible to the device before
 * the avail idx is published (kick_prepare). Spec 2.8.21: on a packed ring
 * the first descriptor's flags are the publication, so the whole chain is
 * visible at once, and complete (the head's flags are written last). */
static void t_visible_after_kick(void **state)
{
	struct fx *f = *state;
	bool packed;
	struct tbuf t;

	fx_open(f, 8, 0, 0);
	packed = uvio_vq_is_packed(f->vq);
	tbuf_make(&t, 1, 2, 8, 1);
	assert_int_equal(tbuf_add(f, &t, &t), 0);
	assert_int_equal(vdev_model_pop_all(f->dev), packed ? 1 : 0);
	assert_true(uvio_vq_kick_prepare(f->vq));
	assert_int_equal(f->kicks.count, 0);   /* prepare does not notify */
	if (!packed)
		dev_pop_n(f, 1);
	assert_int_equal(vdev_model_pending(f->dev), 1);
	assert_int_equal(vdev_model_pending_at(f->dev, 0)->nseg, 3);
	tbuf_free(&t);
	fx_model_ok(f);
}

/* uvio_vq_add_bufs posts n one-segment buffers as n uvio_vq_add_one calls
 * would, or none of them: ring too small, a NULL cookie, a broken queue.
 * Laps of 3 + 3 + 2 on a ring of 8 move the batches across the wrap; the
 * device answers out of order (with IN_ORDER, one used entry for all). */
static void add_bufs_laps(struct fx *f, bool in_order)
{
	uint8_t mem[9][64];     /* one more than the ring: the -ENOSPC try */
	struct uvio_sg sg[9];
	void *cookies[9];
	struct uvio_vq_used u[8];

	fx_open(f, 8, in_order ? F_IN_ORDER : 0, 0);
	for (unsigned i = 0; i < 9; i++) {
		sg[i] = (struct uvio_sg){ (uintptr_t)mem[i], 16 + i };
		cookies[i] = mem[i];
	}
	cookies[2] = NULL;
	assert_int_equal(uvio_vq_add_bufs(f->vq, sg, cookies, 3, true), -EINVAL);
	cookies[2] = mem[2];
	assert_int_equal(uvio_vq_num_free(f->vq), 8);       /* none taken */
	for (unsigned lap = 0; lap < 5; lap++) {
		bool in = lap & 1;

		assert_int_equal(uvio_vq_add_bufs(f->vq, sg, cookies, 3, in), 0);
		assert_int_equal(uvio_vq_add_bufs(f->vq, sg + 3, cookies + 3, 3, in), 0);
		assert_int_equal(uvio_vq_add_bufs(f->vq, sg + 6, cookies + 6, 3, in), -ENOSPC);
		assert_int_equal(uvio_vq_num_free(f->vq), 2);
		assert_int_equal(uvio_vq_add_bufs(f->vq, sg + 6, cookies + 6, 2, in), 0);
		assert_int_equal(uvio_vq_in_flight(f->vq), 8);
		uvio_vq_kick(f->vq);
		dev_pop_n(f, 8);
		for (unsigned i = 0; i < 8; i++) {
			struct vdev_buf *b = vdev_model_pending_at(f->dev, i);

			assert_int_equal(b->nseg, 1);
			assert_ptr_equal(b->seg[0].ptr, mem[i]);
			assert_int_equal(b->seg[0].len, 16 + i);
			assert_int_equal(b->seg[0].writable, in);
		}
		if (in_order)   /* one used entry for all eight */
			vdev_model_push_batch(f->dev, 8, in ? 16 + 7 : 0);
		else
			vdev_model_push_all(f->dev, VDEV_ORDER_REVERSE, 0);
		drv_get_n(f, u, 8);
		for (unsigned i = 0; i < 8; i++) {
			unsigned k = in_order ? i : 7 - i;

			assert_ptr_equal(u[i].cookie, mem[k]);
			assert_int_equal(u[i].len, in ? 16 + k : 0);
		}
		assert_int_equal(uvio_vq_num_free(f->vq), 8);
	}
	fx_model_ok(f);
	uvio_vq_set_broken(f->vq, "test");
	assert_int_equal(uvio_vq_add_bufs(f->vq, sg, cookies, 1, true), -EIO);
}

static void t_add_bufs(void **state)
{
	add_bufs_laps(*state, false);
}

static void t_add_bufs_in_order(void **state)
{
	add_bufs_laps(*state, true);
}

/* uvio_vq_add_one is uvio_vq_add of one segment: same descriptors for the
 * device, same accounting, across several laps and both directions. */
static void t_add_one(void **state)
{
	struct fx *f = *state;
	uint8_t mem[8][64];
	struct uvio_vq_used u[8];

	fx_open(f, 8, F_INDIRECT, 4);
	assert_int_equal(uvio_vq_add_one(f->vq, (uintptr_t)mem[0], 64, true, NULL), -EINVAL);
	for (unsigned lap = 0; lap < 5; lap++) {
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(uvio_vq_add_one(f->vq, (uintptr_t)mem[i], 64,
							 i & 1, mem[i]), 0);
		assert_int_equal(uvio_vq_add_one(f->vq, (uintptr_t)mem[0], 64, true, mem[0]),
				 -ENOSPC);
		assert_int_equal(uvio_vq_num_free(f->vq), 0);
		uvio_vq_kick(f->vq);
		dev_pop_n(f, 8);
		for (unsigned i = 0; i < 8; i++) {
			struct vdev_buf *b = vdev_model_pending_at(f->dev, i);

			assert_int_equal(b->nseg, 1);
			assert_ptr_equal(b->seg[0].ptr, mem[i]);
			assert_int_equal(b->seg[0].len, 64);
			assert_int_equal(b->seg[0].writable, i & 1);
			assert_int_equal(b->in_len, i & 1 ? 64 : 0);
		}
		vdev_model_push_all(f->dev, VDEV_ORDER_REVERSE, 0);
		drv_get_n(f, u, 8);
		for (unsigned i = 0; i < 8; i++) {
			assert_ptr_equal(u[i].cookie, mem[7 - i]);
			assert_int_equal(u[i].len, (7 - i) & 1 ? 64 : 0);
		}
		assert_int_equal(uvio_vq_num_free(f->vq), 8);
	}
	fx_model_ok(f);
}

/* ---- wrap-around ---- */

/* Round trips in batches of 1..size until every index has wrapped past
 * 65535 (and, packed, the wrap counters flipped thousands of times). */
static void wrap_run(struct fx *f, unsigned total, unsigned segs)
{
	unsigned done = 0, seq = 0, expect = 0, batch;
	uint32_t rnd = 12345;
	struct uvio_vq_used u[64];
	struct tbuf t;

	tbuf_make(&t, segs - 1, 1, 8, 1);
	while (done < total) {
		rnd = rnd * 1103515245u + 12345u;
		batch = 1 + (rnd >> 16) % (f->size / segs);
		for (unsigned i = 0; i < batch; i++, seq++)
			assert_int_equal(tbuf_add(f, &t, (void *)(uintptr_t)(seq + 1)), 0);
		uvio_vq_kick(f->vq);
		dev_pop_n(f, batch);
		vdev_model_push_all(f->dev, VDEV_ORDER_FIFO, 0);
		for (unsigned got = 0; got < batch;) {
			unsigned max = 1 + (rnd >> 8) % 64;
			int n = uvio_vq_get_used(f->vq, u, max);

			assert_in_range(n, 1, max);
			for (int i = 0; i < n; i++, expect++)
				assert_int_equal((uintptr_t)u[i].cookie, expect + 1);
			got += (unsigned)n;
		}
		done += batch;
	}
	assert_int_equal(uvio_vq_in_flight(f->vq), 0);
	assert_int_equal(uvio_vq_num_free(f->vq), f->size);
	tbuf_free(&t);
	fx_model_ok(f);
}

static void t_wrap_index(void **state)
{
	struct fx *f = *state;

	fx_open(f, 4, 0, 0);
	wrap_run(f, 70000, 1);
	fx_open(f, 256, 0, 0);
	wrap_run(f, 140000, 1);
	fx_open(f, 16, 0, 0);
	wrap_run(f, 70000, 3);
}

/* Packed sizes that are not powers of two, with chains that straddle the
 * end of the ring. */
static void t_wrap_odd_sizes(void **state)
{
	struct fx *f = *state;
	static const uint16_t sizes[] = { 1, 3, 7, 100, 257 };

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fx_open(f, sizes[i], 0, 0);
		wrap_run(f, 70000, 1);
		if (sizes[i] >= 3) {
			fx_open(f, sizes[i], 0, 0);
			wrap_run(f, 30000, 3);
		}
	}
}

/* ---- teardown ---- */

static void t_detach_unused(void **state)
{
	struct fx *f = *state;
	int cookies[7] = { 0 };
	struct tbuf t;
	struct uvio_vq_used u;
	struct vdev_buf *b;
	void *c;
	unsigned n = 0;

	fx_open(f, 16, 0, 0);
	tbuf_make(&t, 1, 1, 8, 1);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(tbuf_add(f, &t, &cookies[i]), 0);
	uvio_vq_kick(f->vq);
	assert_int_equal(vdev_model_pop(f->dev, &b), 1);
	vdev_model_push(f->dev, b, 0);
	drv_get_n(f, &u, 1);
	assert_ptr_equal(u.cookie, &cookies[0]);
	assert_int_equal(add1(f, t.mem, 4, false, &cookies[6]), 0);  /* never kicked */
	assert_int_equal(uvio_vq_in_flight(f->vq), 6);
	while ((c = uvio_vq_detach_unused(f->vq)) != NULL) {
		int *p = c;

		assert_true(p > &cookies[0] && p <= &cookies[6]);
		assert_int_equal(*p, 0);   /* each cookie once */
		*p = 1;
		assert_true(++n <= 6);
	}
	assert_int_equal(n, 6);
	assert_null(uvio_vq_detach_unused(f->vq));
	assert_int_equal(uvio_vq_in_flight(f->vq), 0);
	assert_int_equal(uvio_vq_num_free(f->vq), 16);
	tbuf_free(&t);
}

static void t_set_broken(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u;
	int x;

	fx_open(f, 8, 0, 0);
	assert_int_equal(add1(f, &x, 4, false, &x), 0);
	uvio_vq_set_broken(f->vq, "device went away");
	assert_true(uvio_vq_is_broken(f->vq));
	assert_non_null(strstr(uvio_vq_error(f->vq), "device went away"));
	assert_int_equal(uvio_vq_add(f->vq, &(struct uvio_sg){ (uintptr_t)&x, 4 }, 1, 0, &x), -EIO);
	assert_int_equal(uvio_vq_get_used(f->vq, &u, 1), -EIO);
	assert_false(uvio_vq_kick(f->vq));
	assert_ptr_equal(uvio_vq_detach_unused(f->vq), &x);
	assert_null(uvio_vq_detach_unused(f->vq));
}

/* ---- random soak: shapes, orders, partial reaps ---- */

static void soak(struct fx *f, bool indirect, uint32_t seed)
{
	enum { NB = 24 };
	struct tbuf t[NB];
	bool busy[NB] = { false };
	unsigned in_flight = 0, desc_used = 0;
	unsigned ndesc[NB];
	struct uvio_vq_used u[NB];

	fx_open(f, 16, indirect ? F_INDIRECT : 0, indirect ? 8 : 0);
	for (unsigned i = 0; i < NB; i++)
		tbuf_make(&t[i], i % 3, 1 + i % 4, 8 + i, i);
	for (unsigned round = 0; round < 3000; round++) {
		seed = seed * 1103515245u + 12345u;
		unsigned i = (seed >> 16) % NB, n = t[i].n_out + t[i].n_in;
		unsigned need = indirect && n > 1 ? 1 : n;
		int rc;

		if (!busy[i]) {
			rc = tbuf_add(f, &t[i], &t[i]);
			assert_int_equal(rc, need <= 16 - desc_used ? 0 : -ENOSPC);
			if (rc == 0) {
				busy[i] = true;
				ndesc[i] = need;
				desc_used += need;
				in_flight++;
			}
		}
		if (seed & 0x100) {
			uvio_vq_kick(f->vq);
			assert_true(vdev_model_pop_all(f->dev) >= 0);
			vdev_model_push_all(f->dev, VDEV_ORDER_RANDOM, seed);
		}
		rc = uvio_vq_get_used(f->vq, u, 1 + (seed >> 24) % NB);
		assert_in_range(rc, 0, NB);
		for (int k = 0; k < rc; k++) {
			struct tbuf *tb = u[k].cookie;
			unsigned j = (unsigned)(tb - t);

			assert_true(j < NB && busy[j]);
			assert_int_equal(u[k].len, tb->in_len);
			busy[j] = false;
			desc_used -= ndesc[j];
			in_flight--;
		}
		assert_int_equal(uvio_vq_in_flight(f->vq), in_flight);
		assert_int_equal(uvio_vq_num_free(f->vq), 16 - desc_used);
		fx_model_ok(f);
	}
	for (unsigned i = 0; i < NB; i++)
		tbuf_free(&t[i]);
}

static void t_soak_direct(void **state)
{
	soak(*state, false, 1);
	soak(*state, false, 77);
}

static void t_soak_indirect(void **state)
{
	soak(*state, true, 2);
	soak(*state, true, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQ_BOTH(t_bad_params),
		VQ_BOTH(t_create_state),
		VQ_BOTH(t_bad_add_args),
		VQ_BOTH(t_round_trip_single),
		VQ_BOTH(t_chains_direct),
		VQ_BOTH(t_chains_indirect),
		VQ_BOTH(t_chains_past_indirect_max),
		VQ_BOTH(t_indirect_needs_feature),
		VQ_BOTH(t_full_and_empty),
		VQ_BOTH(t_full_with_chains),
		VQ_BOTH(t_num_free_indirect),
		VQ_BOTH(t_visible_after_kick),
		VQ_BOTH(t_add_one),
		VQ_BOTH(t_add_bufs),
		VQ_BOTH(t_add_bufs_in_order),
		VQ_BOTH(t_wrap_index),
		VQ_PACKED(t_wrap_odd_sizes),
		VQ_BOTH(t_detach_unused),
		VQ_BOTH(t_set_broken),
		VQ_BOTH(t_soak_direct),
		VQ_BOTH(t_soak_indirect),
	};

	return cmocka_run_group_tests_name("vring", tests, NULL, NULL);
}
