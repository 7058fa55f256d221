/* SPDX-License-Identifier: MIT */
/* pmd/blk: reads and writes (sync, async, scatter-gather, splitting,
 * ordering). The fixture is blk_fixture.h. */
#include "blk_fixture.h"

/* ---- data ---- */

static void test_write_read_sync(void **state)
{
	struct fx *f = *state;
	const size_t len = 65536;
	uint8_t *a, *b;

	open_base(f);
	a = dma(f, len);
	b = dma(f, len);
	fill(a, len, 1);
	assert_int_equal(uvio_blk_write_sync(f->q, 4096, a, len), 0);
	assert_memory_equal(model_blk_disk(f->mb) + 4096, a, len);
	assert_int_equal(uvio_blk_read_sync(f->q, 4096, b, len), 0);
	assert_memory_equal(a, b, len);
	/* The last sector of the device. */
	assert_int_equal(uvio_blk_write_sync(f->q, 8191 * 512, a, 512), 0);
	assert_int_equal(uvio_blk_read_sync(f->q, 8191 * 512, b, 512), 0);
	assert_memory_equal(a, b, 512);
	assert_int_equal(model_blk_count(f->mb, VIRTIO_BLK_T_OUT), 2);
	assert_int_equal(model_blk_count(f->mb, VIRTIO_BLK_T_IN), 2);
	assert_int_equal(uvio_blk_queue_in_flight(f->q), 0);
	finish(f);
}

static void test_write_read_async(void **state)
{
	struct fx *f = *state;
	enum { N = 8, LEN = 8192 };
	struct rec w[N] = { 0 }, r[N] = { 0 };
	uint8_t *src, *dst;

	open_base(f);
	src = dma(f, N * LEN);
	dst = dma(f, N * LEN);
	fill(src, N * LEN, 2);
	for (unsigned i = 0; i < N; i++) {
		struct iovec iov = { src + i * LEN, LEN };

		assert_int_equal(uvio_blk_write(f->q, (uint64_t)i * LEN * 3, &iov, 1,
						on_done, &w[i]), 0);
	}
	assert_int_equal(uvio_blk_queue_in_flight(f->q), N);
	wait_all(f, f->q, w, N);
	for (unsigned i = 0; i < N; i++) {
		struct iovec iov = { dst + i * LEN, LEN };

		assert_int_equal(w[i].calls, 1);
		assert_int_equal(w[i].status, 0);
		assert_int_equal(uvio_blk_read(f->q, (uint64_t)i * LEN * 3, &iov, 1,
					       on_done, &r[i]), 0);
	}
	wait_all(f, f->q, r, N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
	}
	assert_memory_equal(src, dst, N * LEN);
	assert_int_equal(uvio_blk_queue_in_flight(f->q), 0);
	finish(f);
}

static void test_scatter_gather(void **state)
{
	struct fx *f = *state;
	uint8_t *a = NULL, *b = NULL, *c = NULL, *flat;
	struct iovec wv[3], rv[2];
	struct rec r = { 0 };
	const struct model_blk_req *req;

	open_base(f);
	a = dma(f, 4096);
	b = dma(f, 4096);
	c = dma(f, 4096);
	flat = dma(f, 8192);
	fill(a, 512, 3);
	fill(b, 4096, 4);
	fill(c, 1536, 5);
	wv[0] = (struct iovec){ a, 512 };
	wv[1] = (struct iovec){ b, 4096 };
	wv[2] = (struct iovec){ c, 1536 };
	assert_int_equal(uvio_blk_write(f->q, 1024, wv, 3, on_done, &r), 0);
	wait_all(f, f->q, &r, 1);
	assert_int_equal(r.status, 0);
	req = model_blk_req_at(f->mb, 0);
	assert_non_null(req);
	assert_int_equal(req->type, VIRTIO_BLK_T_OUT);
	assert_int_equal(req->sector, 2);
	assert_int_equal(req->data_len, 6144);
	assert_int_equal(req->data_segs, 3);
	assert_memory_equal(model_blk_disk(f->mb) + 1024, a, 512);
	assert_memory_equal(model_blk_disk(f->mb) + 1536, b, 4096);
	assert_memory_equal(model_blk_disk(f->mb) + 5632, c, 1536);
	/* Read back into another layout. */
	memset(flat, 0, 8192);
	rv[0] = (struct iovec){ flat, 1024 };
	rv[1] = (struct iovec){ flat + 4096, 5120 };
	r = (struct rec){ 0 };
	assert_int_equal(uvio_blk_read(f->q, 1024, rv, 2, on_done, &r), 0);
	wait_all(f, f->q, &r, 1);
	assert_int_equal(r.status, 0);
	assert_memory_equal(flat, a, 512);
	assert_memory_equal(flat + 512, b, 512);
	assert_memory_equal(flat + 4096, b + 512, 3584);
	assert_memory_equal(flat + 4096 + 3584, c, 1536);
	/* Empty iovecs in between are fine. */
	wv[1] = (struct iovec){ NULL, 0 };
	r = (struct rec){ 0 };
	assert_int_equal(uvio_blk_write(f->q, 0, wv, 3, on_done, &r), 0);
	wait_all(f, f->q, &r, 1);
	assert_int_equal(r.status, 0);
	finish(f);
}

/* A request larger than seg_max x size_max is cut into several virtio
 * requests, completed once. */
static void test_large_io_split(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	const size_t len = 65536;
	uint8_t *a, *b;
	struct iovec iov;
	struct rec r = { 0 };
	uint64_t next = 8;
	unsigned n;

	cfg.seg_max = 4;
	cfg.size_max = 4096;
	open_ok(f, &cfg, NULL);
	a = dma(f, len);
	b = dma(f, len);
	fill(a, len, 6);
	iov = (struct iovec){ a, len };
	assert_int_equal(uvio_blk_write(f->q, 4096, &iov, 1, on_done, &r), 0);
	wait_all(f, f->q, &r, 1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 0);
	n = model_blk_nreqs(f->mb);
	assert_true(n >= 4);
	for (unsigned i = 0; i < n; i++) {
		const struct model_blk_req *q = model_blk_req_at(f->mb, i);

		assert_int_equal(q->type, VIRTIO_BLK_T_OUT);
		assert_true(q->data_segs <= 4);
		assert_true(q->longest_seg <= 4096);
		assert_int_equal(q->sector, next);
		next += q->data_len / 512;
	}
	assert_int_equal(next, 8 + len / 512);
	assert_memory_equal(model_blk_disk(f->mb) + 4096, a, len);
	model_blk_clear_log(f->mb);
	assert_int_equal(uvio_blk_read_sync(f->q, 4096, b, len), 0);
	assert_true(model_blk_nreqs(f->mb) >= 4);
	assert_memory_equal(a, b, len);
	finish(f);
}

/* size_max not a multiple of the sector: pieces are cut to whole sectors
 * at or below it. */
static void test_size_max_odd(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	uint8_t *a, *b;

	cfg.size_max = 1000;
	cfg.seg_max = 3;
	open_ok(f, &cfg, NULL);
	a = dma(f, 8192);
	b = dma(f, 8192);
	fill(a, 8192, 9);
	assert_int_equal(uvio_blk_write_sync(f->q, 0, a, 8192), 0);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, b, 8192), 0);
	assert_memory_equal(a, b, 8192);
	for (unsigned i = 0; i < model_blk_nreqs(f->mb); i++)
		assert_true(model_blk_req_at(f->mb, i)->longest_seg <= 1000);
	finish(f);
}

/* Without indirect descriptors a request's chain sits in the ring. */
static void test_no_indirect(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	uint8_t *a, *b;

	cfg.no_indirect = true;
	cfg.queue_max = 16;
	cfg.size_max = 4096;
	open_ok(f, &cfg, NULL);
	a = dma(f, 32768);
	b = dma(f, 32768);
	fill(a, 32768, 10);
	assert_int_equal(uvio_blk_write_sync(f->q, 0, a, 32768), 0);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, b, 32768), 0);
	assert_memory_equal(a, b, 32768);
	for (unsigned i = 0; i < model_blk_nreqs(f->mb); i++)
		assert_true(model_blk_req_at(f->mb, i)->data_segs <= 14);
	finish(f);
}

/* Regression (found by this suite): a request that can never fit the ring, even
 * empty (no indirect descriptors, 16 entries, 32 pieces of size_max),
 * returns -EAGAIN, which tells the caller "poll, then retry": a caller
 * that does so loops forever. Expected: it is done in parts, or refused
 * for good (-EINVAL / -E2BIG). */
static void test_request_larger_than_empty_ring(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct rec r = { 0 };
	struct iovec iov;
	uint8_t *a;
	int rc;

	cfg.no_indirect = true;
	cfg.queue_max = 16;
	cfg.size_max = 4096;
	open_ok(f, &cfg, NULL);
	a = dma(f, 131072);
	iov = (struct iovec){ a, 131072 };
	assert_int_equal(uvio_blk_queue_in_flight(f->q), 0);
	rc = uvio_blk_write(f->q, 0, &iov, 1, on_done, &r);
	if (rc == -EAGAIN)
		fail_msg("uvio_blk_write of 128 KiB on an empty 16-entry ring without "
			 "indirect descriptors returned -EAGAIN: retrying never helps");
	if (rc == 0) {
		wait_all(f, f->q, &r, 1);
		assert_int_equal(r.status, 0);
	}
	finish(f);
}

/* Regression (found by this suite), the same for ranges: more parts than the ring
 * has slots returns -EAGAIN on an empty queue. */
static void test_discard_larger_than_empty_ring(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct rec r = { 0 };
	int rc;

	cfg.queue_max = 16;
	cfg.max_discard_sectors = 8;
	open_ok(f, &cfg, NULL);
	rc = uvio_blk_discard(f->q, 0, 1u << 20, on_done, &r);  /* 256 parts */
	if (rc == -EAGAIN)
		fail_msg("uvio_blk_discard of 256 x max_discard_sectors on an empty "
			 "16-entry ring returned -EAGAIN: retrying never helps");
	if (rc == 0) {
		wait_all(f, f->q, &r, 1);
		assert_int_equal(r.status, 0);
	}
	assert_int_equal(rc, -E2BIG);
	/* The synchronous wrappers split what the queue cannot take at once. */
	memset(model_blk_disk(f->mb), 0xab, 1u << 20);
	assert_int_equal(uvio_blk_write_zeroes_sync(f->q, 0, 1u << 20, false), 0);
	for (size_t i = 0; i < (1u << 20); i++)
		if (model_blk_disk(f->mb)[i])
			fail_msg("byte %zu not zeroed", i);
	assert_int_equal(uvio_blk_discard_sync(f->q, 0, 1u << 20), 0);
	finish(f);
}

static void test_in_order_device(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	enum { N = 6 };
	struct rec r[N] = { 0 };
	uint8_t *a;

	cfg.in_order = true;
	cfg.manual = true;
	open_ok(f, &cfg, NULL);
	assert_true(uvio_blk_get_info(f->blk)->features & BIT(VIRTIO_F_IN_ORDER));
	a = dma(f, N * 4096);
	fill(a, N * 4096, 11);
	for (unsigned i = 0; i < N; i++) {
		struct iovec iov = { a + i * 4096, 4096 };

		assert_int_equal(uvio_blk_write(f->q, i * 4096, &iov, 1, on_done, &r[i]), 0);
	}
	wait_all(f, f->q, r, N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(r[i].status, 0);
		assert_int_equal(r[i].order, (int)i);
	}
	assert_memory_equal(model_blk_disk(f->mb), a, N * 4096);
	finish(f);
}

/* The device completes in any order it likes (5.2.6). */
static void test_out_of_order_completion(void **state)
{
	struct fx *f = *state;
	enum { N = 8 };
	struct rec r[N] = { 0 };
	uint8_t *a, *b;

	open_base(f);
	a = dma(f, N * 4096);
	b = dma(f, N * 4096);
	fill(a, N * 4096, 12);
	memcpy(model_blk_disk(f->mb), a, N * 4096);
	model_blk_hold(f->mb, true);
	for (unsigned i = 0; i < N; i++) {
		struct iovec iov = { b + i * 4096, 4096 };

		assert_int_equal(uvio_blk_read(f->q, i * 4096, &iov, 1, on_done, &r[i]), 0);
	}
	assert_int_equal(uvio_blk_poll(f->q, 64), 0);
	assert_int_equal(model_blk_held(f->mb, 0), N);
	assert_int_equal(model_blk_complete(f->mb, 0, VDEV_ORDER_REVERSE, 0), N);
	assert_int_equal(uvio_blk_poll(f->q, 64), N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
		assert_int_equal(r[i].order, N - 1 - (int)i);
	}
	assert_memory_equal(a, b, N * 4096);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_write_read_sync),
		BOTH(test_write_read_async),
		BOTH(test_scatter_gather),
		BOTH(test_large_io_split),
		BOTH(test_size_max_odd),
		BOTH(test_no_indirect),
		BOTH(test_request_larger_than_empty_ring),
		BOTH(test_discard_larger_than_empty_ring),
		BOTH(test_in_order_device),
		BOTH(test_out_of_order_completion),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
