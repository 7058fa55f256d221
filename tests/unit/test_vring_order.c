/* SPDX-License-Identifier: MIT */
/*
 * lib/vring completion order, on both layouts: out-of-order use (packed:
 * used descriptors overwrite the ring in completion order and skip by each
 * chain's length, spec 2.8.6), in-order use, and VIRTIO_F_IN_ORDER batches
 * (one used entry for several buffers, spec 2.7.9 / 2.8.8).
 */
#include "vring_fixture.h"

enum { NBUF = 16 };

struct pool {
	struct tbuf t[NBUF];
};

/* Buffers of 1..3 segments, i % 2 readable, writable lengths all differ. */
static void pool_make(struct pool *p)
{
	for (unsigned i = 0; i < NBUF; i++)
		tbuf_make(&p->t[i], i % 2, 1 + i % 2, 4 + 3 * i, i);
}

/* Which pool buffer the device holds (by its first segment). */
static unsigned pool_find(struct pool *p, const struct vdev_buf *b)
{
	for (unsigned i = 0; i < NBUF; i++)
		if (b->seg[0].addr == p->t[i].sg[0].iova)
			return i;
	fail_msg("device holds a buffer the driver never posted");
	return 0;
}

static void pool_free(struct pool *p)
{
	for (unsigned i = 0; i < NBUF; i++)
		tbuf_free(&p->t[i]);
}

/* ---- out of order ---- */

static void t_reverse(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u[8];
	struct pool p;

	fx_open(f, 16, 0, 0);
	pool_make(&p);
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(tbuf_add(f, &p.t[i], &p.t[i]), 0);
		uvio_vq_kick(f->vq);
		dev_pop_n(f, 8);
		assert_int_equal(vdev_model_push_all(f->dev, VDEV_ORDER_REVERSE, 0), 8);
		drv_get_n(f, u, 8);
		for (unsigned i = 0; i < 8; i++) {
			assert_ptr_equal(u[i].cookie, &p.t[7 - i]);
			assert_int_equal(u[i].len, p.t[7 - i].in_len);
		}
		assert_int_equal(uvio_vq_num_free(f->vq), 16);
	}
	pool_free(&p);
	fx_model_ok(f);
}

/* Random subsets, random completion orders, some buffers held over to the
 * next round, partial lengths. */
static void t_random_order(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u[NBUF];
	bool busy[NBUF] = { false };
	uint32_t lens[NBUF];
	struct pool p;
	uint32_t rnd = 7;
	unsigned free_desc = 32;

	fx_open(f, 32, 0, 0);
	pool_make(&p);
	for (unsigned round = 0; round < 2000; round++) {
		for (unsigned i = 0; i < NBUF; i++) {
			unsigned n = p.t[i].n_out + p.t[i].n_in;

			rnd = rnd * 1103515245u + 12345u;
			if (busy[i] || (rnd >> 16) % 3 == 0 || n > free_desc)
				continue;
			assert_int_equal(tbuf_add(f, &p.t[i], &p.t[i]), 0);
			busy[i] = true;
			free_desc -= n;
		}
		uvio_vq_kick(f->vq);
		assert_true(vdev_model_pop_all(f->dev) >= 0);
		while (vdev_model_pending(f->dev) > (rnd >> 24) % 4) {
			unsigned k = (rnd = rnd * 1103515245u + 12345u) % vdev_model_pending(f->dev);
			struct vdev_buf *b = vdev_model_pending_at(f->dev, k);
			unsigned i = pool_find(&p, b);

			lens[i] = (rnd >> 8) % (b->in_len + 1);
			vdev_model_push(f->dev, b, lens[i]);
		}
		int n = uvio_vq_get_used(f->vq, u, NBUF);

		assert_in_range(n, 0, NBUF);
		for (int k = 0; k < n; k++) {
			struct tbuf *t = u[k].cookie;
			unsigned i = (unsigned)(t - p.t);

			assert_true(i < NBUF && busy[i]);
			assert_int_equal(u[k].len, lens[i]);
			busy[i] = false;
			free_desc += t->n_out + t->n_in;
		}
		assert_int_equal(uvio_vq_num_free(f->vq), free_desc);
	}
	pool_free(&p);
	fx_model_ok(f);
}

/* ---- VIRTIO_F_IN_ORDER ---- */

static void t_in_order_fifo(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u[8];
	struct pool p;

	fx_open(f, 8, F_IN_ORDER, 0);
	pool_make(&p);
	for (unsigned round = 0; round < 20; round++) {
		unsigned n = 0;

		for (unsigned i = round % 3; i < NBUF && n + p.t[i].n_out + p.t[i].n_in <= 8; i++) {
			assert_int_equal(tbuf_add(f, &p.t[i], &p.t[i]), 0);
			n += p.t[i].n_out + p.t[i].n_in;
		}
		uvio_vq_kick(f->vq);
		int got = vdev_model_pop_all(f->dev);

		assert_true(got > 0);
		vdev_model_push_all(f->dev, VDEV_ORDER_FIFO, 0);
		drv_get_n(f, u, (unsigned)got);
		for (int k = 0; k < got; k++)
			assert_ptr_equal(u[k].cookie, &p.t[round % 3 + (unsigned)k]);
	}
	pool_free(&p);
	fx_model_ok(f);
}

/* One used entry for 3 buffers, then one for 5: skipped buffers come back
 * with their whole writable length, the last with the entry's len. */
static void t_in_order_batch(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u[8];
	uint8_t mem[8][80];

	fx_open(f, 8, F_IN_ORDER, 0);
	for (unsigned round = 0; round < 5; round++) {
		for (unsigned i = 0; i < 8; i++)
			assert_int_equal(add1(f, mem[i], 10 * (i + 1), true, mem[i]), 0);
		uvio_vq_kick(f->vq);
		dev_pop_n(f, 8);
		vdev_model_push_batch(f->dev, 3, 7);
		fx_model_ok(f);
		drv_get_n(f, u, 3);
		for (unsigned i = 0; i < 3; i++)
			assert_ptr_equal(u[i].cookie, mem[i]);
		assert_int_equal(u[0].len, 10);
		assert_int_equal(u[1].len, 20);
		assert_int_equal(u[2].len, 7);
		assert_int_equal(uvio_vq_in_flight(f->vq), 5);
		assert_int_equal(uvio_vq_num_free(f->vq), 3);
		vdev_model_push_batch(f->dev, 5, 0);
		drv_get_n(f, u, 5);
		for (unsigned i = 0; i < 5; i++) {
			assert_ptr_equal(u[i].cookie, mem[3 + i]);
			assert_int_equal(u[i].len, i == 4 ? 0 : 10 * (4 + i));
		}
		assert_int_equal(uvio_vq_num_free(f->vq), 8);
		assert_int_equal(uvio_vq_in_flight(f->vq), 0);
	}
	fx_model_ok(f);
}

/* Batches of direct chains over many laps: split chains must be laid out
 * in table order (2.7.5), packed skips by the batch's descriptor count. */
static void in_order_batches(struct fx *f, unsigned laps)
{
	struct uvio_vq_used u[NBUF];
	struct pool p;
	uint32_t rnd = 99;
	unsigned next = 0, expect = 0;

	pool_make(&p);
	for (unsigned lap = 0; lap < laps; lap++) {
		unsigned queued = 0;

		while (queued < NBUF) {
			struct tbuf *t = &p.t[next % NBUF];
			int rc = tbuf_add(f, t, t);

			assert_true(rc == 0 || rc == -ENOSPC);
			if (rc)
				break;
			next++;
			queued++;
		}
		uvio_vq_kick(f->vq);
		assert_true(vdev_model_pop_all(f->dev) >= 0);
		while (vdev_model_pending(f->dev)) {
			unsigned n = 1 + (rnd = rnd * 1103515245u + 12345u) % vdev_model_pending(f->dev);
			struct vdev_buf *last = vdev_model_pending_at(f->dev, n - 1);
			uint32_t len = (rnd >> 8) % (last->in_len + 1);

			vdev_model_push_batch(f->dev, n, len);
			fx_model_ok(f);
			drv_get_n(f, u, n);
			for (unsigned k = 0; k < n; k++, expect++) {
				struct tbuf *t = &p.t[expect % NBUF];

				assert_ptr_equal(u[k].cookie, t);
				assert_int_equal(u[k].len, k == n - 1 ? len : t->in_len);
			}
		}
		assert_int_equal(uvio_vq_num_free(f->vq), f->size);
	}
	pool_free(&p);
}

static void t_in_order_batch_chains(void **state)
{
	struct fx *f = *state;

	fx_open(f, 8, F_IN_ORDER, 0);
	in_order_batches(f, 3000);
	if (f->packed) {
		fx_open(f, 7, F_IN_ORDER, 0);
		in_order_batches(f, 3000);
	}
	fx_model_ok(f);
}

static void t_in_order_batch_indirect(void **state)
{
	struct fx *f = *state;

	fx_open(f, 8, F_IN_ORDER | F_INDIRECT, 4);
	in_order_batches(f, 3000);
	fx_model_ok(f);
}

/* A batch reaped one buffer at a time: has_used and enable_cb see the
 * rest of the batch as pending. */
static void t_in_order_partial_reap(void **state)
{
	struct fx *f = *state;
	struct uvio_vq_used u;
	uint64_t w[4];

	fx_open(f, 8, F_IN_ORDER, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(add1(f, &w[i], 8, true, &w[i]), 0);
	uvio_vq_kick(f->vq);
	dev_pop_n(f, 4);
	vdev_model_push_batch(f->dev, 4, 3);
	for (unsigned i = 0; i < 4; i++) {
		assert_true(uvio_vq_has_used(f->vq));
		assert_false(uvio_vq_enable_cb(f->vq));
		uvio_vq_disable_cb(f->vq);
		assert_int_equal(uvio_vq_get_used(f->vq, &u, 1), 1);
		assert_ptr_equal(u.cookie, &w[i]);
		assert_int_equal(u.len, i == 3 ? 3 : 8);
		assert_int_equal(uvio_vq_in_flight(f->vq), 3 - i);
	}
	assert_false(uvio_vq_has_used(f->vq));
	assert_int_equal(uvio_vq_get_used(f->vq, &u, 1), 0);
	assert_true(uvio_vq_enable_cb(f->vq));
	fx_model_ok(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		VQ_BOTH(t_reverse),
		VQ_BOTH(t_random_order),
		VQ_BOTH(t_in_order_fifo),
		VQ_BOTH(t_in_order_batch),
		VQ_BOTH(t_in_order_batch_chains),
		VQ_BOTH(t_in_order_batch_indirect),
		VQ_BOTH(t_in_order_partial_reap),
	};

	return cmocka_run_group_tests_name("vring_order", tests, NULL, NULL);
}
