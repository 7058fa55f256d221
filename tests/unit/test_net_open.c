/* SPDX-License-Identifier: MIT */
/* pmd/net: opening a device (features, config, refusals), and reinit after
 * DEVICE_NEEDS_RESET. The fixture is net_fixture.h. */
#include "net_fixture.h"

/* ---- open ---- */

static void test_open_reads_info(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	const struct uvio_net_info *in;
	const struct model_net_cmd *c;
	uint16_t pairs;

	cfg.features |= BIT(VIRTIO_NET_F_MQ);
	cfg.max_pairs = 4;
	cfg.mtu = 9000;
	cfg.queue_max = 128;
	open_ok(f, &cfg, NULL);
	in = uvio_net_get_info(f->net);
	assert_true(in->has_mac);
	assert_memory_equal(in->mac, mac0, 6);
	assert_int_equal(in->mtu, 9000);
	assert_int_equal(in->max_queue_pairs, 4);
	assert_int_equal(in->queue_pairs, 1);
	assert_int_equal(in->rx_queue_size, 128);
	assert_int_equal(in->tx_queue_size, 128);
	assert_true(in->ctrl_vq);
	assert_true(in->mrg_rxbuf);
	assert_int_equal(in->packed, f->packed);
	assert_int_equal(!!(in->features & BIT(VIRTIO_F_RING_PACKED)), f->packed);
	assert_int_equal(in->features, model_dev_driver_features(f->m));
	assert_int_equal(in->offloads, 0);
	assert_int_equal(model_dev_status(f->m), VIRTIO_CONFIG_S_ACKNOWLEDGE |
			 VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
			 VIRTIO_CONFIG_S_DRIVER_OK);
	/* Control queue after the 4 pairs (5.1.2). */
	assert_int_equal(model_dev_queue_size(f->m, 8), 64);
	/* With MQ, open tells the device how many pairs it uses. */
	assert_int_equal(model_net_ncmds(f->mn), 1);
	c = model_net_cmd_at(f->mn, 0);
	assert_int_equal(c->cls, VIRTIO_NET_CTRL_MQ);
	assert_int_equal(c->cmd, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
	assert_int_equal(c->len, 2);
	memcpy(&pairs, c->data, 2);
	assert_int_equal(pairs, 1);
	assert_int_equal(c->ack, VIRTIO_NET_OK);
	/* The rx ring is full of buffers. */
	assert_int_equal(uvio_pktpool_avail(f->rx_pool), f->rx_start - 128);
	finish(f);
}

static void test_open_minimal_device(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = { .packed = f->packed };
	const struct uvio_net_info *in;
	struct uvio_net_link link;

	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 4, .offloads = 0x1f });
	in = uvio_net_get_info(f->net);
	assert_false(in->has_mac);
	assert_int_equal(in->mtu, 1500);
	assert_int_equal(in->max_queue_pairs, 1);
	assert_int_equal(in->queue_pairs, 1);
	assert_false(in->ctrl_vq);
	assert_false(in->mrg_rxbuf);
	assert_int_equal(in->offloads, 0);
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_true(link.up);  /* no STATUS: up */
	assert_int_equal(link.speed_mbps, UINT32_MAX);
	assert_int_equal(link.duplex, 0xff);
	finish(f);
}

/* Regression (found by this suite): open posts rx buffers and notifies the device
 * before DRIVER_OK; spec 3.1.1 says the driver MUST NOT notify before
 * DRIVER_OK (posting them is fine, the kick must wait). */
static void test_no_notify_before_driver_ok(void **state)
{
	struct fx *f = *state;

	open_base(f);
	if (model_dev_early_kicks(f->m))
		fail_msg("%u notification(s) before DRIVER_OK", model_dev_early_kicks(f->m));
	finish(f);
}

static void test_open_rx_pool_too_small_for_mtu(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .no_mrg_rxbuf = true };
	struct uvio_err err = { 0 };

	cfg.mtu = 9000;
	assert_int_equal(open_cfg(f, &cfg, &o, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "9000"));
	assert_false(model_dev_alive(f->m));
	assert_int_equal(uvio_pktpool_avail(f->rx_pool), f->rx_start);
	assert_clean(f);
}

static void test_open_features_refused(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { 0 };
	struct uvio_err err = { 0 };

	cfg.refuse_features = BIT(VIRTIO_NET_F_CTRL_VLAN);
	assert_int_equal(open_cfg(f, &cfg, &o, &err), -ENOTSUP);
	assert_false(model_dev_alive(f->m));
	assert_int_equal(uvio_pktpool_avail(f->rx_pool), f->rx_start);
	assert_clean(f);
	model_net_put(f->mn);
	o = (struct uvio_net_opts){ .disable_features = BIT(VIRTIO_NET_F_CTRL_VLAN) };
	open_ok(f, &cfg, &o);
	assert_int_equal(uvio_net_vlan_add(f->net, 5), -ENOTSUP);
	finish(f);
}

/* A virtio-blk device handed to uvio_net_open is refused with one line,
 * and destroyed as on any failed open. */
static void test_open_refuses_blk_device(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg bc = { .packed = f->packed };
	struct uvio_err err = { 0 };
	struct uvio_dev *dev = NULL;
	struct model_blk *mb;

	pools(f, RX_POOL);
	mb = model_blk_create(&bc, &dev);
	assert_non_null(mb);
	assert_int_equal(uvio_dev_device_id(dev), VIRTIO_ID_BLOCK);
	assert_int_equal(uvio_net_open(dev, &(struct uvio_net_opts){ .rx_pool = f->rx_pool },
				       &f->net, &err), -ENODEV);
	assert_string_equal(err.msg, "model: is a virtio-blk device, not virtio-net");
	assert_false(model_dev_alive(model_blk_dev(mb)));
	assert_int_equal(model_dev_violations(model_blk_dev(mb)), 0);
	assert_int_equal(uvio_pktpool_avail(f->rx_pool), f->rx_start);
	f->net = NULL;
	model_blk_put(mb);
}

/* Issue 7: DEVICE_NEEDS_RESET is seen, reinit brings the port back, every
 * buffer the old queues held is back in its pool, and counters are kept. */
static void test_needs_reset_reinit(void **state)
{
	struct fx *f = *state;
	struct uvio_err err = { 0 };
	struct uvio_net_queue_stats st;
	struct uvio_pkt *p;

	open_base(f);
	p = pkt(f, 100, 1);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	assert_int_equal(uvio_net_check(f->net), 0);
	model_dev_raise_needs_reset(f->m);
	assert_int_equal(uvio_net_check(f->net), -ERESTART);
	assert_int_equal(uvio_net_reinit(f->net, &err), 0);
	assert_int_equal(uvio_net_check(f->net), 0);
	assert_int_equal(uvio_pktpool_avail(f->tx_pool), f->tx_start);
	p = pkt(f, 200, 2);
	model_net_tx_clear(f->mn);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	assert_int_equal(model_net_tx_count(f->mn), 1);
	assert_int_equal(uvio_net_get_stats(f->net, 0, &st), 0);
	assert_int_equal(st.tx_packets, 2);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_needs_reset_reinit),
		BOTH(test_open_reads_info),
		BOTH(test_open_minimal_device),
		BOTH(test_no_notify_before_driver_ok),
		BOTH(test_open_rx_pool_too_small_for_mtu),
		BOTH(test_open_features_refused),
		BOTH(test_open_refuses_blk_device),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
