/* SPDX-License-Identifier: MIT */
/* pmd/blk: argument checks, back-pressure and deferred kicks. The fixture
 * is blk_fixture.h. */
#include "blk_fixture.h"

/* ---- argument checks: no request reaches the device ---- */

static void test_einval(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct rec r = { 0 };
	uint8_t *buf, *heap;
	struct iovec iov;

	open_base(f);
	buf = dma(f, 16384);
	/* offset not a multiple of the block size */
	iov = (struct iovec){ buf, 4096 };
	assert_int_equal(uvio_blk_write(f->q, 100, &iov, 1, on_done, &r), -EINVAL);
	assert_int_equal(uvio_blk_read(f->q, 511, &iov, 1, on_done, &r), -EINVAL);
	/* length not a multiple */
	iov = (struct iovec){ buf, 1000 };
	assert_int_equal(uvio_blk_write(f->q, 0, &iov, 1, on_done, &r), -EINVAL);
	/* length 0 */
	iov = (struct iovec){ buf, 0 };
	assert_int_equal(uvio_blk_read(f->q, 0, &iov, 1, on_done, &r), -EINVAL);
	assert_int_equal(uvio_blk_read(f->q, 0, NULL, 0, on_done, &r), -EINVAL);
	/* a segment not 512-byte aligned */
	iov = (struct iovec){ buf + 8, 512 };
	assert_int_equal(uvio_blk_write(f->q, 0, &iov, 1, on_done, &r), -EINVAL);
	/* not DMA memory (aligned, whole sectors) */
	heap = aligned_alloc(4096, 4096);
	assert_non_null(heap);
	iov = (struct iovec){ heap, 4096 };
	assert_int_equal(uvio_blk_write(f->q, 0, &iov, 1, on_done, &r), -EINVAL);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, heap, 4096), -EINVAL);
	free(heap);
	/* ranges */
	assert_int_equal(uvio_blk_discard(f->q, 100, 4096, on_done, &r), -EINVAL);
	assert_int_equal(uvio_blk_write_zeroes(f->q, 0, 0, false, on_done, &r), -EINVAL);
	assert_int_equal(r.calls, 0);
	assert_int_equal(model_blk_nreqs(f->mb), 0);
	assert_int_equal(uvio_blk_queue_in_flight(f->q), 0);
	finish(f);

	/* A 4096-byte block size: 512-aligned is not enough. */
	model_blk_put(f->mb);
	cfg.blk_size = 4096;
	open_ok(f, &cfg, NULL);
	iov = (struct iovec){ buf, 4096 };
	assert_int_equal(uvio_blk_write(f->q, 512, &iov, 1, on_done, &r), -EINVAL);
	iov = (struct iovec){ buf, 512 };
	assert_int_equal(uvio_blk_read(f->q, 0, &iov, 1, on_done, &r), -EINVAL);
	iov = (struct iovec){ buf, 4096 };
	assert_int_equal(uvio_blk_read(f->q, 4096, &iov, 1, on_done, &r), 0);
	wait_all(f, f->q, &r, 1);
	assert_int_equal(r.status, 0);
	finish(f);
}

static void test_erange(void **state)
{
	struct fx *f = *state;
	struct rec r = { 0 };
	uint8_t *buf;
	struct iovec iov;
	const uint64_t cap = 8192 * 512;

	open_base(f);
	buf = dma(f, 8192);
	iov = (struct iovec){ buf, 4096 };
	assert_int_equal(uvio_blk_read(f->q, cap, &iov, 1, on_done, &r), -ERANGE);
	assert_int_equal(uvio_blk_write(f->q, cap - 512, &iov, 1, on_done, &r), -ERANGE);
	assert_int_equal(uvio_blk_read(f->q, UINT64_MAX - 511, &iov, 1, on_done, &r), -ERANGE);
	assert_int_equal(uvio_blk_discard(f->q, cap - 512, 1024, on_done, &r), -ERANGE);
	assert_int_equal(uvio_blk_write_zeroes(f->q, cap, 512, true, on_done, &r), -ERANGE);
	assert_int_equal(uvio_blk_secure_erase(f->q, 0, cap + 512, on_done, &r), -ERANGE);
	assert_int_equal(r.calls, 0);
	assert_int_equal(model_blk_nreqs(f->mb), 0);
	/* Exactly up to the end is fine. */
	assert_int_equal(uvio_blk_read(f->q, cap - 4096, &iov, 1, on_done, &r), 0);
	wait_all(f, f->q, &r, 1);
	assert_int_equal(r.status, 0);
	finish(f);
}

static void test_enotsup(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = { .packed = f->packed };
	struct rec r = { 0 };
	char id[21];

	open_ok(f, &cfg, NULL);
	assert_int_equal(uvio_blk_flush(f->q, on_done, &r), -ENOTSUP);
	assert_int_equal(uvio_blk_flush_sync(f->q), -ENOTSUP);
	assert_int_equal(uvio_blk_discard(f->q, 0, 4096, on_done, &r), -ENOTSUP);
	assert_int_equal(uvio_blk_write_zeroes(f->q, 0, 4096, false, on_done, &r), -ENOTSUP);
	assert_int_equal(uvio_blk_secure_erase(f->q, 0, 4096, on_done, &r), -ENOTSUP);
	assert_int_equal(uvio_blk_set_writeback(f->blk, true), -ENOTSUP);
	assert_int_equal(r.calls, 0);
	assert_int_equal(model_blk_nreqs(f->mb), 0);
	/* GET_ID needs no feature. */
	assert_int_equal(uvio_blk_get_id_sync(f->q, id), 0);
	assert_string_equal(id, "uvio-model-blk");
	finish(f);
}

/* Queue full: -EAGAIN, then poll, then it goes in; nothing is lost. */
static void test_eagain_backpressure(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	enum { MAX = 64 };
	struct rec r[MAX + 1] = { 0 };
	uint8_t *a;
	unsigned n = 0;
	int rc;

	cfg.queue_max = 16;
	cfg.manual = true;
	open_ok(f, &cfg, NULL);
	a = dma(f, (MAX + 1) * 512);
	fill(a, (MAX + 1) * 512, 13);
	for (;;) {
		struct iovec iov = { a + n * 512, 512 };

		assert_true(n < MAX);
		rc = uvio_blk_write(f->q, n * 512, &iov, 1, on_done, &r[n]);
		if (rc == -EAGAIN)
			break;
		assert_int_equal(rc, 0);
		n++;
	}
	assert_true(n >= 1 && n <= 16);
	assert_int_equal(uvio_blk_queue_in_flight(f->q), n);
	assert_int_equal(r[n].calls, 0);
	/* The device catches up; the completions free the ring. */
	model_dev_process(f->m);
	assert_int_equal(uvio_blk_poll(f->q, MAX), (int)n);
	{
		struct iovec iov = { a + n * 512, 512 };

		assert_int_equal(uvio_blk_write(f->q, n * 512, &iov, 1, on_done, &r[n]), 0);
	}
	wait_all(f, f->q, r, n + 1);
	for (unsigned i = 0; i <= n; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
	}
	assert_memory_equal(model_blk_disk(f->mb), a, (n + 1) * 512);
	assert_int_equal(model_blk_count(f->mb, VIRTIO_BLK_T_OUT), n + 1);
	finish(f);
}

/* Deferred kicks (uvio_blk_defer_kicks): a batch of submissions is one
 * notification, sent by uvio_blk_kick; turning deferral off sends what is
 * pending. */
static void test_deferred_kicks(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	enum { N = 8 };
	struct rec r[N + 1] = { 0 };
	uint8_t *a;
	unsigned k0;

	cfg.manual = true;
	cfg.no_event_idx = true;    /* every kick is a notification */
	open_ok(f, &cfg, NULL);
	a = dma(f, (N + 1) * 4096);
	fill(a, (N + 1) * 4096, 21);
	uvio_blk_defer_kicks(f->q, true);
	k0 = model_dev_kicks(f->m, 0);
	for (unsigned i = 0; i < N; i++) {
		struct iovec iov = { a + i * 4096, 4096 };

		assert_int_equal(uvio_blk_write(f->q, i * 4096, &iov, 1, on_done, &r[i]), 0);
	}
	assert_int_equal(model_dev_kicks(f->m, 0), k0);
	uvio_blk_kick(f->q);
	assert_int_equal(model_dev_kicks(f->m, 0), k0 + 1);
	uvio_blk_kick(f->q);        /* nothing new: no notification */
	assert_int_equal(model_dev_kicks(f->m, 0), k0 + 1);
	wait_all(f, f->q, r, N);
	{
		struct iovec iov = { a + N * 4096, 4096 };

		assert_int_equal(uvio_blk_write(f->q, N * 4096, &iov, 1, on_done, &r[N]), 0);
	}
	assert_int_equal(model_dev_kicks(f->m, 0), k0 + 1);
	uvio_blk_defer_kicks(f->q, false);
	assert_int_equal(model_dev_kicks(f->m, 0), k0 + 2);
	wait_all(f, f->q, r, N + 1);
	for (unsigned i = 0; i <= N; i++)
		assert_int_equal(r[i].status, 0);
	assert_memory_equal(model_blk_disk(f->mb), a, (N + 1) * 4096);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_einval),
		BOTH(test_erange),
		BOTH(test_enotsup),
		BOTH(test_eagain_backpressure),
		BOTH(test_deferred_kicks),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
