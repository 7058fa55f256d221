/* SPDX-License-Identifier: MIT */
/* pmd/blk: resetting one request queue (VIRTIO_F_RING_RESET, spec 2.6.1)
 * while another runs. The fixture is blk_fixture.h. */
#include "blk_fixture.h"

static void open_reset(struct fx *f, uint16_t queues, uint16_t queue_size)
{
	struct model_blk_cfg cfg = base_cfg(f);

	cfg.features |= BIT(VIRTIO_F_RING_RESET) | BIT(VIRTIO_BLK_F_MQ);
	cfg.num_queues = queues;
	open_ok(f, &cfg, &(struct uvio_blk_opts){ .queues = queues, .queue_size = queue_size });
	assert_true(uvio_blk_get_info(f->blk)->features & BIT(VIRTIO_F_RING_RESET));
}

/* Requests held by the device on queue 1 are cancelled by its reset: their
 * callbacks run from the next poll with -ECANCELED, not before; queue 0's
 * held requests complete normally; queue 1 works afterwards. */
static void test_reset_cancels_in_flight(void **state)
{
	struct fx *f = *state;
	struct uvio_blk_queue *q0, *q1;
	struct rec r0[2] = { 0 }, r1[3] = { 0 }, after = { 0 };
	char *buf;

	open_reset(f, 2, 0);
	q0 = uvio_blk_get_queue(f->blk, 0);
	q1 = uvio_blk_get_queue(f->blk, 1);
	buf = dma(f, 4096);
	fill(buf, 4096, 1);
	model_blk_hold(f->mb, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(uvio_blk_write(q0, (uint64_t)i * 4096,
			&(struct iovec){ buf, 4096 }, 1, on_done, &r0[i]), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(uvio_blk_write(q1, 65536 + (uint64_t)i * 4096,
			&(struct iovec){ buf, 4096 }, 1, on_done, &r1[i]), 0);
	assert_int_equal(model_blk_held(f->mb, 1), 3);
	assert_int_equal(uvio_blk_queue_reset(f->blk, 1, 0), 0);
	assert_int_equal(model_dev_queue_resets(f->m, 1), 1);
	assert_int_equal(model_dev_queue_resets(f->m, 0), 0);
	assert_int_equal(r1[0].calls, 0);  /* not from inside the reset */
	assert_int_equal(uvio_blk_queue_in_flight(q1), 3);
	assert_int_equal(uvio_blk_get_queue(f->blk, 1), q1);
	assert_int_equal(uvio_blk_poll(q1, 2), 2);
	assert_int_equal(uvio_blk_poll(q1, 8), 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r1[i].calls, 1);
		assert_int_equal(r1[i].status, -ECANCELED);
	}
	assert_int_equal(uvio_blk_queue_in_flight(q1), 0);
	assert_int_equal(uvio_blk_queue_in_flight(q0), 2);
	assert_int_equal(model_blk_complete(f->mb, 0, VDEV_ORDER_FIFO, 0), 2);
	wait_all(f, q0, r0, 2);
	assert_int_equal(r0[0].status, 0);
	assert_int_equal(r0[1].status, 0);
	model_blk_hold(f->mb, false);
	assert_int_equal(uvio_blk_write(q1, 131072, &(struct iovec){ buf, 4096 }, 1,
					on_done, &after), 0);
	wait_all(f, q1, &after, 1);
	assert_int_equal(after.status, 0);
	assert_memory_equal(model_blk_disk(f->mb) + 131072, buf, 4096);
	assert_memory_equal(model_blk_disk(f->mb) + 4096, buf, 4096);
	finish(f);
}

/* A new size: the slots follow the ring; a request split in several parts
 * is cancelled once. */
static void test_reset_new_size(void **state)
{
	struct fx *f = *state;
	struct uvio_blk_queue *q;
	struct rec big = { 0 }, r = { 0 };
	char *buf, *back;

	open_reset(f, 1, 0);
	q = uvio_blk_get_queue(f->blk, 0);
	buf = dma(f, 1 << 20);
	back = dma(f, 1 << 20);
	fill(buf, 1 << 20, 2);
	model_blk_hold(f->mb, true);
	/* seg_max 64 of 4K pages at most: a 1 MiB write is parts of a request */
	assert_int_equal(uvio_blk_write(q, 0, &(struct iovec){ buf, 1 << 20 }, 1,
					on_done, &big), 0);
	assert_int_equal(uvio_blk_queue_reset(f->blk, 0, 32), 0);
	assert_int_equal(model_dev_queue_size(f->m, 0), 32);
	assert_int_equal(uvio_blk_poll(q, 8), 1);
	assert_int_equal(big.calls, 1);
	assert_int_equal(big.status, -ECANCELED);
	model_blk_hold(f->mb, false);
	assert_int_equal(uvio_blk_write_sync(q, 0, buf, 1 << 20), 0);
	assert_int_equal(uvio_blk_read_sync(q, 0, back, 1 << 20), 0);
	assert_memory_equal(back, buf, 1 << 20);
	(void)r;
	finish(f);
}

/* Cancelled and not polled yet when the device closes: the callbacks
 * still run, once. */
static void test_reset_then_close(void **state)
{
	struct fx *f = *state;
	struct rec r = { 0 };
	char *buf;

	open_reset(f, 1, 0);
	buf = dma(f, 4096);
	model_blk_hold(f->mb, true);
	assert_int_equal(uvio_blk_write(f->q, 0, &(struct iovec){ buf, 4096 }, 1,
					on_done, &r), 0);
	assert_int_equal(uvio_blk_queue_reset(f->blk, 0, 0), 0);
	finish(f);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -ECANCELED);
}

/* A reset that does not complete: the queue is broken and its requests
 * fail with -EIO at the next poll; queue 0 keeps working. */
static void test_reset_fails(void **state)
{
	struct fx *f = *state;
	struct uvio_blk_queue *q1;
	struct rec r[2] = { 0 };
	char *buf;

	open_reset(f, 2, 0);
	q1 = uvio_blk_get_queue(f->blk, 1);
	buf = dma(f, 4096);
	model_blk_hold(f->mb, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(uvio_blk_write(q1, (uint64_t)i * 4096,
			&(struct iovec){ buf, 4096 }, 1, on_done, &r[i]), 0);
	model_dev_fail_queue_resets(f->m, 1);
	assert_int_equal(uvio_blk_queue_reset(f->blk, 1, 0), -ETIMEDOUT);
	assert_int_equal(uvio_blk_poll(q1, 8), -EIO);
	assert_int_equal(r[0].status, -EIO);
	assert_int_equal(r[1].status, -EIO);
	assert_string_equal(uvio_blk_queue_error(q1), "queue 1: queue reset failed");
	model_blk_hold(f->mb, false);
	assert_int_equal(uvio_blk_write_sync(f->q, 0, buf, 4096), 0);
	finish(f);
}

static void test_reset_not_negotiated(void **state)
{
	struct fx *f = *state;

	open_base(f);
	assert_int_equal(uvio_blk_queue_reset(f->blk, 0, 0), -ENOTSUP);
	assert_int_equal(uvio_blk_queue_reset(f->blk, 5, 0), -EINVAL);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_reset_cancels_in_flight),
		BOTH(test_reset_new_size),
		BOTH(test_reset_then_close),
		BOTH(test_reset_fails),
		BOTH(test_reset_not_negotiated),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
