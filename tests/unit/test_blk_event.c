/* SPDX-License-Identifier: MIT */
/*
 * Event mode for virtio-blk request queues (blk.h:
 * uvio_blk_queue_intr_*), on the model: an armed queue gets a used buffer
 * notification per completion, a disarmed one none, and arming with a
 * completion waiting says so (spec 2.7.7.1, 2.8.10.1).
 */
#include "blk_fixture.h"

static unsigned q_irqs(struct fx *f)
{
	return vdev_model_irqs(model_dev_vq(f->m, 0));
}

static void submit_held(struct fx *f, void *buf, struct rec *r)
{
	struct iovec iov = { buf, 4096 };

	*r = (struct rec){ 0 };
	assert_int_equal(uvio_blk_read(f->q, 0, &iov, 1, on_done, r), 0);
	model_dev_process(f->m);
}

static void arm_complete(struct fx *f)
{
	void *buf = dma(f, 4096);
	struct rec r;
	unsigned irqs;

	model_blk_hold(f->mb, true);
	submit_held(f, buf, &r);
	assert_int_equal(uvio_blk_queue_intr_enable(f->q), 0);
	irqs = q_irqs(f);
	assert_int_equal(model_blk_complete(f->mb, 0, VDEV_ORDER_FIFO, 0), 1);
	assert_int_equal(q_irqs(f), irqs + 1);
	assert_int_equal(uvio_blk_queue_intr_enable(f->q), 1);  /* waiting: don't sleep */
	uvio_blk_queue_intr_disable(f->q);
	assert_int_equal(uvio_blk_poll(f->q, 8), 1);
	assert_int_equal(r.status, 0);

	submit_held(f, buf, &r);
	irqs = q_irqs(f);
	assert_int_equal(model_blk_complete(f->mb, 0, VDEV_ORDER_FIFO, 0), 1);
	assert_int_equal(q_irqs(f), irqs);  /* disarmed: polling */
	assert_int_equal(uvio_blk_poll(f->q, 8), 1);
	model_blk_hold(f->mb, false);
	assert_int_equal(uvio_blk_queue_eventfd(f->q), -ENOTSUP);
	finish(f);
}

static void test_arm_event_idx(void **state)
{
	struct fx *f = *state;

	open_base(f);
	assert_true(uvio_dev_has_feature(uvio_blk_dev(f->blk), VIRTIO_RING_F_EVENT_IDX));
	arm_complete(f);
}

static void test_arm_flags(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);

	cfg.no_event_idx = true;
	open_ok(f, &cfg, NULL);
	arm_complete(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_arm_event_idx),
		BOTH(test_arm_flags),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
