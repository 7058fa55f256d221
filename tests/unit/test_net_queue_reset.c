/* SPDX-License-Identifier: MIT */
/* pmd/net: resetting one queue pair (VIRTIO_F_RING_RESET, spec 2.6.1)
 * while the others carry traffic. The fixture is net_fixture.h. */
#include "net_fixture.h"

static struct model_net_cfg reset_cfg(const struct fx *f, uint16_t pairs)
{
	struct model_net_cfg cfg = base_cfg(f);

	cfg.features |= BIT(VIRTIO_F_RING_RESET) | BIT(VIRTIO_NET_F_MQ);
	cfg.max_pairs = pairs;
	return cfg;
}

static void send(struct fx *f, uint16_t qp, unsigned n, uint32_t seed)
{
	for (unsigned i = 0; i < n; i++) {
		struct uvio_pkt *p = pkt(f, 100, seed + i);

		assert_int_equal(uvio_net_tx_burst(f->net, qp, &p, 1), 1);
	}
}

/* A frame injected on pair qp comes out of pair qp, intact. */
static void rx_one(struct fx *f, uint16_t qp, uint32_t seed)
{
	uint8_t frame[200];
	struct uvio_pkt *got[2];

	fill(frame, sizeof(frame), seed);
	model_net_rx_inject(f->mn, qp, frame, sizeof(frame), NULL);
	assert_int_equal(rx_all(f, qp, got, 2), 1);
	assert_int_equal(got[0]->rx_queue, qp);
	assert_memory_equal(uvio_pkt_data(got[0]), frame, sizeof(frame));
	uvio_pkt_free_bulk(NULL, got, 1);
}

/* Pair 1 is reset with frames in flight: they are dropped and counted,
 * its rx ring is refilled, pair 0 never notices, and both carry traffic. */
static void test_reset_pair_keeps_others(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = reset_cfg(f, 2);
	struct uvio_net_queue_stats st;
	unsigned sent;

	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 2 });
	assert_true(uvio_net_get_info(f->net)->features & BIT(VIRTIO_F_RING_RESET));
	model_net_tx_hold(f->mn, true);
	send(f, 0, 2, 10);
	send(f, 1, 3, 20);
	assert_int_equal(uvio_net_tx_pending(f->net, 1), 3);
	assert_int_equal(uvio_net_queue_reset(f->net, 1, 0), 0);
	assert_int_equal(model_dev_queue_resets(f->m, 2), 1);
	assert_int_equal(model_dev_queue_resets(f->m, 3), 1);
	assert_int_equal(model_dev_queue_resets(f->m, 0), 0);
	assert_int_equal(model_dev_queue_resets(f->m, 1), 0);
	assert_int_equal(uvio_net_get_stats(f->net, 1, &st), 0);
	assert_int_equal(st.tx_drops, 3);
	assert_int_equal(uvio_net_tx_pending(f->net, 1), 0);
	assert_int_equal(uvio_net_tx_pending(f->net, 0), 2);
	/* Pair 0's frames were never touched: the device still sends them. */
	model_net_tx_hold(f->mn, false);
	sent = model_net_tx_complete(f->mn);
	assert_int_equal(sent, 2);
	assert_int_equal(uvio_net_tx_pending(f->net, 0), 0);
	assert_int_equal(uvio_net_get_stats(f->net, 0, &st), 0);
	assert_int_equal(st.tx_drops, 0);
	rx_one(f, 0, 30);
	rx_one(f, 1, 31);
	send(f, 1, 1, 40);
	assert_int_equal(model_net_tx_frame(f->mn, model_net_tx_count(f->mn) - 1)->pair, 1);
	assert_string_equal(uvio_net_queue_error(f->net, 1), "");
	finish(f);
}

/* A new size: new ring memory for both queues of the pair; then back to
 * the device's maximum. */
static void test_reset_new_size(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = reset_cfg(f, 1);

	open_ok(f, &cfg, NULL);
	assert_int_equal(uvio_net_get_info(f->net)->rx_queue_size, 256);
	assert_int_equal(uvio_net_queue_reset(f->net, 0, 64), 0);
	assert_int_equal(model_dev_queue_size(f->m, 0), 64);
	assert_int_equal(model_dev_queue_size(f->m, 1), 64);
	assert_int_equal(uvio_net_get_info(f->net)->rx_queue_size, 64);
	assert_int_equal(uvio_net_get_info(f->net)->tx_queue_size, 64);
	rx_one(f, 0, 50);
	send(f, 0, 70, 51);  /* more than the ring: the device used them */
	assert_int_equal(uvio_net_queue_reset(f->net, 0, 0), 0);
	assert_int_equal(model_dev_queue_size(f->m, 0), 256);
	rx_one(f, 0, 52);
	finish(f);
}

/* Many resets in a row, same size: the ring is made new in place each
 * time (split indices, packed wrap counters back at their start). */
static void test_reset_repeatedly(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = reset_cfg(f, 1);

	open_ok(f, &cfg, NULL);
	for (int i = 0; i < 5; i++) {
		send(f, 0, 300, (uint32_t)i * 1000);  /* wraps the 256-entry rings */
		for (int k = 0; k < 3; k++)
			rx_one(f, 0, (uint32_t)(i * 10 + k));
		assert_int_equal(uvio_net_queue_reset(f->net, 0, 0), 0);
	}
	assert_int_equal(model_dev_queue_resets(f->m, 0), 5);
	rx_one(f, 0, 99);
	finish(f);
}

/* A mergeable frame half-received when its ring is reset dies with it:
 * its buffers go back to the pool (finish counts them). */
static void test_reset_drops_partial_frame(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = reset_cfg(f, 1);
	static uint8_t frame[6000];
	struct uvio_pkt *got[2];

	cfg.mtu = 9000;
	open_ok(f, &cfg, NULL);
	fill(frame, sizeof(frame), 60);
	model_net_rx_split(f->mn, true);
	model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(uvio_net_rx_burst(f->net, 0, got, 2), 0);
	assert_int_equal(uvio_net_queue_reset(f->net, 0, 0), 0);
	model_net_rx_split(f->mn, false);
	rx_one(f, 0, 61);
	finish(f);
}

/* A reset that does not complete leaves that pair broken and says so;
 * the other pair is not touched. */
static void test_reset_fails(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = reset_cfg(f, 2);

	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 2 });
	model_dev_fail_queue_resets(f->m, 1);
	assert_int_equal(uvio_net_queue_reset(f->net, 1, 0), -ETIMEDOUT);
	assert_string_equal(uvio_net_queue_error(f->net, 1), "queue 3: queue reset failed");
	assert_string_equal(uvio_net_queue_error(f->net, 0), "");
	rx_one(f, 0, 90);
	send(f, 0, 3, 91);
	finish(f);
}

/* Without RING_RESET (not offered, legacy) nothing is touched. */
static void test_reset_not_negotiated(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);

	open_ok(f, &cfg, NULL);
	assert_int_equal(uvio_net_queue_reset(f->net, 0, 0), -ENOTSUP);
	assert_int_equal(uvio_net_queue_reset(f->net, 1, 0), -EINVAL);
	assert_false(uvio_dev_can_reset_queue(uvio_net_dev(f->net)));
	rx_one(f, 0, 70);
	finish(f);
}

static void test_reset_legacy(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = reset_cfg(f, 1);

	cfg.legacy = true;
	cfg.packed = false;
	open_ok(f, &cfg, NULL);
	assert_int_equal(uvio_net_queue_reset(f->net, 0, 0), -ENOTSUP);
	assert_int_equal(model_dev_queue_resets(f->m, 0), 0);
	rx_one(f, 0, 80);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_reset_pair_keeps_others),
		BOTH(test_reset_new_size),
		BOTH(test_reset_repeatedly),
		BOTH(test_reset_drops_partial_frame),
		BOTH(test_reset_fails),
		BOTH(test_reset_not_negotiated),
		SPLIT(test_reset_legacy),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
