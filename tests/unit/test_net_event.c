/* SPDX-License-Identifier: MIT */
/*
 * Event mode for virtio-net rx queues (net.h: uvio_net_rxq_intr_*), on the
 * model: arming asks the device for a used buffer notification (the model
 * counts the ones it would send, vdev_model_irqs), disarming stops them,
 * and arming with a frame already used says so (no lost wake-up: spec
 * 2.7.7.1, 2.8.10.1). With and without EVENT_IDX, split and packed.
 */
#include "net_fixture.h"

static const uint8_t frame[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void open_event(struct fx *f, bool event_idx)
{
	struct model_net_cfg cfg = base_cfg(f);

	cfg.no_event_idx = !event_idx;
	open_ok(f, &cfg, NULL);
	assert_int_equal(uvio_dev_has_feature(uvio_net_dev(f->net), VIRTIO_RING_F_EVENT_IDX),
			 event_idx);
}

static unsigned rx_irqs(struct fx *f)
{
	return vdev_model_irqs(model_dev_vq(f->m, 0));  /* receiveq1 (spec 5.1.2) */
}

static void drain_rx(struct fx *f, unsigned want)
{
	struct uvio_pkt *p[BURST];
	uint16_t n = uvio_net_rx_burst(f->net, 0, p, BURST);

	assert_int_equal(n, want);
	uvio_pkt_free_bulk(NULL, p, n);
}

/* Armed: one frame, one notification; disarmed: none. */
static void arm_disarm(struct fx *f)
{
	unsigned irqs;

	assert_int_equal(uvio_net_rxq_intr_enable(f->net, 0), 0);
	irqs = rx_irqs(f);
	model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(rx_irqs(f), irqs + 1);
	/* The frame is there: arming again must say "do not sleep". */
	assert_int_equal(uvio_net_rxq_intr_enable(f->net, 0), 1);
	assert_int_equal(uvio_net_rxq_intr_disable(f->net, 0), 0);
	drain_rx(f, 1);
	irqs = rx_irqs(f);
	for (int i = 0; i < 5; i++)
		model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(rx_irqs(f), irqs);
	drain_rx(f, 5);
	/* Re-armed after draining: the next frame notifies again. */
	assert_int_equal(uvio_net_rxq_intr_enable(f->net, 0), 0);
	model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(rx_irqs(f), irqs + 1);
	uvio_net_rxq_intr_disable(f->net, 0);
	drain_rx(f, 1);
	finish(f);
}

static void test_arm_event_idx(void **state)
{
	struct fx *f = *state;

	open_event(f, true);
	arm_disarm(f);
}

static void test_arm_flags(void **state)
{
	struct fx *f = *state;

	open_event(f, false);
	arm_disarm(f);
}

/* Many laps of the ring armed the whole time: one notification per frame
 * that came while armed (the index wraps, spec 2.7.7.2 / 2.8.10 wrap). */
static void test_arm_across_laps(void **state)
{
	struct fx *f = *state;
	unsigned irqs;

	open_event(f, true);
	irqs = rx_irqs(f);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(uvio_net_rxq_intr_enable(f->net, 0), 0);
		model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
		assert_int_equal(rx_irqs(f), irqs + 1u + (unsigned)i);
		assert_int_equal(uvio_net_rxq_intr_enable(f->net, 0), 1);
		uvio_net_rxq_intr_disable(f->net, 0);
		drain_rx(f, 1);
	}
	finish(f);
}

/* The model has no interrupts: a clear -ENOTSUP, and bad queues -EINVAL. */
static void test_eventfd_unsupported(void **state)
{
	struct fx *f = *state;
	struct uvio_dev *dev;

	open_base(f);
	dev = uvio_net_dev(f->net);
	assert_int_equal(uvio_net_rxq_eventfd(f->net, 0), -ENOTSUP);
	assert_non_null(strstr(uvio_dev_error(dev), "no queue interrupts"));
	assert_int_equal(uvio_dev_config_eventfd(dev), -ENOTSUP);
	assert_int_equal(uvio_net_rxq_eventfd(f->net, 1), -EINVAL);
	assert_int_equal(uvio_net_rxq_intr_enable(f->net, 1), -EINVAL);
	assert_int_equal(uvio_net_rxq_intr_disable(f->net, 7), -EINVAL);
	finish(f);
}

/* The config-read counter counts device-config reads, and only those:
 * rx/tx and arming read none. */
static void test_config_reads(void **state)
{
	struct fx *f = *state;
	struct uvio_dev *dev;
	struct uvio_net_link link;
	uint64_t before;

	open_base(f);
	dev = uvio_net_dev(f->net);
	before = uvio_dev_config_reads(dev);
	assert_int_equal(uvio_net_rxq_intr_enable(f->net, 0), 0);
	model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	uvio_net_rxq_intr_disable(f->net, 0);
	drain_rx(f, 1);
	assert_int_equal(uvio_dev_config_reads(dev), before);
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_true(link.up);
	assert_true(uvio_dev_config_reads(dev) > before);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_arm_event_idx),
		BOTH(test_arm_flags),
		BOTH(test_arm_across_laps),
		SPLIT(test_eventfd_unsupported),
		SPLIT(test_config_reads),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
