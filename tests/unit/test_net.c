/* SPDX-License-Identifier: MIT */
/*
 * pmd/net through the model transport (tests/model/model_net.c): a
 * virtio-net device in the same process that captures what the driver
 * sends, receives frames a test injects, and answers control commands.
 * Every test runs on a split and on a packed ring, except where a layout
 * does not apply, and ends by checking that the model saw no driver
 * violation of the spec and that every packet is back in its pool.
 *
 * DMA memory is 4K pinned (IOVA == VA), set up once for the process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <uvio/dma.h>
#include <uvio/net.h>

#include "../model/model_dev.h"

#define BIT(b) (1ULL << (b))
#define RX_POOL 1024
#define TX_POOL 1024
#define ROOM 2048
#define BURST 32

struct layout {
	bool packed;
};

static struct layout layout_split = { false };
static struct layout layout_packed = { true };

struct fx {
	bool packed;
	struct model_net *mn;
	struct model_dev *m;
	struct uvio_net *net;
	struct uvio_pktpool *rx_pool, *tx_pool;
	unsigned rx_start, tx_start;
};

static const uint8_t mac0[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- fixture ---- */

static int fx_setup(void **state)
{
	const struct layout *l = *state;
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->packed = l->packed;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	uvio_net_close(f->net);
	model_net_put(f->mn);
	uvio_pktpool_destroy(f->rx_pool);
	uvio_pktpool_destroy(f->tx_pool);
	free(f);
	return 0;
}

#define BOTH(fn) \
	{ "split/" #fn, fn, fx_setup, fx_teardown, &layout_split }, \
	{ "packed/" #fn, fn, fx_setup, fx_teardown, &layout_packed }
#define SPLIT(fn) { "split/" #fn, fn, fx_setup, fx_teardown, &layout_split }

static struct model_net_cfg base_cfg(const struct fx *f)
{
	struct model_net_cfg c = {
		.features = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MTU) |
			    BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			    BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) |
			    BIT(VIRTIO_NET_F_CTRL_VLAN) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
			    BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) | BIT(VIRTIO_NET_F_SPEED_DUPLEX) |
			    BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
			    BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
			    BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6),
		.packed = f->packed,
		.status = VIRTIO_NET_S_LINK_UP,
		.mtu = 1500,
		.speed = 10000,
		.duplex = 1,
	};

	memcpy(c.mac, mac0, 6);
	return c;
}

static void pools(struct fx *f, unsigned rx_count)
{
	struct uvio_err err = { 0 };

	if (!f->rx_pool && uvio_pktpool_create("rx", rx_count, ROOM, -1, &f->rx_pool, &err))
		fail_msg("rx pool: %s", err.msg);
	if (!f->tx_pool && uvio_pktpool_create("tx", TX_POOL, ROOM, -1, &f->tx_pool, &err))
		fail_msg("tx pool: %s", err.msg);
	f->rx_start = uvio_pktpool_avail(f->rx_pool);
	f->tx_start = uvio_pktpool_avail(f->tx_pool);
}

static int open_cfg(struct fx *f, const struct model_net_cfg *cfg,
		    struct uvio_net_opts *o, struct uvio_err *err)
{
	struct uvio_dev *dev = NULL;
	int rc;

	pools(f, RX_POOL);
	f->mn = model_net_create(cfg, &dev);
	assert_non_null(f->mn);
	f->m = model_net_dev(f->mn);
	o->rx_pool = f->rx_pool;
	rc = uvio_net_open(dev, o, &f->net, err);
	if (rc)
		f->net = NULL;
	return rc;
}

static void open_ok(struct fx *f, const struct model_net_cfg *cfg, struct uvio_net_opts *o)
{
	struct uvio_err err = { 0 };
	struct uvio_net_opts none = { 0 };
	int rc = open_cfg(f, cfg, o ? o : &none, &err);

	if (rc)
		fail_msg("uvio_net_open: %d %s", rc, err.msg);
}

static void open_base(struct fx *f)
{
	struct model_net_cfg cfg = base_cfg(f);

	open_ok(f, &cfg, NULL);
}

static void assert_clean(struct fx *f)
{
	if (model_dev_violations(f->m))
		fail_msg("device saw %u violation(s); first: %s",
			 model_dev_violations(f->m), model_dev_error(f->m));
}

/* Close; then every packet is back in its pool and the model is clean. */
static void finish(struct fx *f)
{
	uvio_net_close(f->net);
	f->net = NULL;
	assert_int_equal(uvio_pktpool_avail(f->rx_pool), f->rx_start);
	assert_int_equal(uvio_pktpool_avail(f->tx_pool), f->tx_start);
	assert_clean(f);
}

static void fill(void *buf, size_t len, uint32_t seed)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static struct uvio_pkt *pkt(struct fx *f, uint16_t len, uint32_t seed)
{
	struct uvio_pkt *p;

	assert_int_equal(uvio_pkt_alloc_bulk(f->tx_pool, NULL, &p, 1), 1);
	fill(uvio_pkt_data(p), len, seed);
	p->data_len = len;
	p->pkt_len = len;
	return p;
}

/* A frame of n segments of the given lengths; *flat gets its bytes. */
static struct uvio_pkt *chain(struct fx *f, const uint16_t *lens, unsigned n,
			      uint8_t *flat, uint32_t seed)
{
	struct uvio_pkt *head = NULL, *tail = NULL;
	uint32_t total = 0;

	for (unsigned i = 0; i < n; i++) {
		struct uvio_pkt *p = pkt(f, lens[i], seed + i);

		memcpy(flat + total, uvio_pkt_data(p), lens[i]);
		total += lens[i];
		if (tail)
			tail->next = p;
		else
			head = p;
		tail = p;
	}
	head->nb_segs = (uint16_t)n;
	head->pkt_len = total;
	return head;
}

/* The bytes of a received frame, all segments. */
static uint32_t gather(struct uvio_pkt *p, uint8_t *out)
{
	uint32_t n = 0;

	for (; p; p = p->next) {
		memcpy(out + n, uvio_pkt_data(p), p->data_len);
		n += p->data_len;
	}
	return n;
}

static unsigned rx_all(struct fx *f, uint16_t q, struct uvio_pkt **pkts, unsigned max)
{
	unsigned got = 0;

	for (int i = 0; i < 8 && got < max; i++)
		got += uvio_net_rx_burst(f->net, q, pkts + got, (uint16_t)(max - got));
	return got;
}

static const struct virtio_net_hdr_mrg_rxbuf zero_hdr;

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

/* ---- tx ---- */

static void test_tx_single_no_offload(void **state)
{
	struct fx *f = *state;
	static const uint16_t lens[] = { 60, 1000, 1514 };
	struct uvio_pkt *p[3];
	struct uvio_net_queue_stats st;
	uint8_t want[1514];
	uint64_t bytes = 0;

	open_base(f);
	for (unsigned i = 0; i < 3; i++) {
		p[i] = pkt(f, lens[i], 100 + i);
		bytes += lens[i];
	}
	/* Headroom left dirty (say, by an earlier rx): the header sent is
	 * still all zero, num_buffers included, whatever it skips storing. */
	memset((char *)uvio_pkt_data(p[1]) - 12, 0xa5, 12);
	memset((char *)uvio_pkt_data(p[2]) - 2, 0x01, 1);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p, 3), 3);
	assert_int_equal(model_net_tx_count(f->mn), 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct model_net_frame *fr = model_net_tx_frame(f->mn, i);

		fill(want, lens[i], 100 + i);
		assert_int_equal(fr->pair, 0);
		assert_int_equal(fr->hdr_len, 12);
		assert_int_equal(fr->len, lens[i]);
		assert_memory_equal(fr->data, want, lens[i]);
		assert_memory_equal(&fr->hdr, &zero_hdr, sizeof(zero_hdr));
		assert_int_equal(fr->nsegs, 1);
	}
	assert_int_equal(uvio_net_get_stats(f->net, 0, &st), 0);
	assert_int_equal(st.tx_packets, 3);
	assert_int_equal(st.tx_bytes, bytes);
	assert_int_equal(st.tx_errors + st.tx_drops, 0);
	finish(f);
}

static void test_tx_multi_segment(void **state)
{
	struct fx *f = *state;
	static const uint16_t lens[] = { 100, 200, 300, 1, 413 };
	uint8_t flat[1100];
	struct uvio_pkt *p;
	const struct model_net_frame *fr;

	open_base(f);
	p = chain(f, lens, 5, flat, 7);
	assert_int_equal(p->pkt_len, 1014);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	fr = model_net_tx_frame(f->mn, 0);
	assert_non_null(fr);
	assert_int_equal(fr->len, 1014);
	assert_memory_equal(fr->data, flat, 1014);
	assert_int_equal(fr->nsegs, 5);  /* header + first segment share one */
	assert_memory_equal(&fr->hdr, &zero_hdr, sizeof(zero_hdr));
	finish(f);
}

static void test_tx_csum_offload(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_TX_CSUM };
	struct uvio_pkt *p[2];
	const struct model_net_frame *fr;

	open_ok(f, &cfg, &o);
	assert_true(uvio_net_get_info(f->net)->offloads & UVIO_NET_OFF_TX_CSUM);
	p[0] = pkt(f, 100, 1);
	p[0]->ol_flags = UVIO_PKT_TX_CSUM;
	p[0]->csum_start = 34;
	p[0]->csum_offset = 16;
	p[1] = pkt(f, 100, 2);  /* no offload asked: zero header */
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p, 2), 2);
	fr = model_net_tx_frame(f->mn, 0);
	assert_int_equal(fr->hdr.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(fr->hdr.hdr.csum_start, 34);
	assert_int_equal(fr->hdr.hdr.csum_offset, 16);
	assert_int_equal(fr->hdr.hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(fr->hdr.num_buffers, 0);
	fr = model_net_tx_frame(f->mn, 1);
	assert_memory_equal(&fr->hdr, &zero_hdr, sizeof(zero_hdr));
	finish(f);
}

static void test_tx_tso4(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_TSO };
	static const uint16_t lens[] = { 1800, 1800, 1800, 1800, 1800 };
	static uint8_t flat[9000];
	struct uvio_pkt *p;
	const struct model_net_frame *fr;

	open_ok(f, &cfg, &o);
	assert_true(uvio_net_get_info(f->net)->offloads & UVIO_NET_OFF_TSO);
	p = chain(f, lens, 5, flat, 3);
	p->ol_flags = UVIO_PKT_TX_TSO4;
	p->csum_start = 34;
	p->csum_offset = 16;
	p->hdr_len = 54;
	p->tso_segsz = 1448;
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	fr = model_net_tx_frame(f->mn, 0);
	assert_int_equal(fr->len, 9000);
	assert_memory_equal(fr->data, flat, 9000);
	assert_int_equal(fr->hdr.hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(fr->hdr.hdr.gso_size, 1448);
	assert_int_equal(fr->hdr.hdr.hdr_len, 54);
	assert_int_equal(fr->hdr.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(fr->hdr.hdr.csum_start, 34);
	assert_int_equal(fr->hdr.hdr.csum_offset, 16);
	finish(f);
}

/* Regression (found by this suite): the TSO offload is on with HOST_TSO4 alone, and
 * a TSO6 packet then goes out with gso_type TCPV6 although HOST_TSO6 was
 * not negotiated (5.1.6.2.1: the driver MUST NOT). */
static void test_tx_tso6_without_host_tso6(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_TSO };
	struct uvio_pkt *p;
	struct uvio_net_queue_stats st;

	cfg.features &= ~BIT(VIRTIO_NET_F_HOST_TSO6);
	open_ok(f, &cfg, &o);
	assert_true(uvio_net_get_info(f->net)->offloads & UVIO_NET_OFF_TSO);
	p = pkt(f, 1514, 4);
	p->ol_flags = UVIO_PKT_TX_TSO6;
	p->csum_start = 54;
	p->csum_offset = 16;
	p->hdr_len = 74;
	p->tso_segsz = 1400;
	uvio_net_tx_burst(f->net, 0, &p, 1);
	uvio_net_get_stats(f->net, 0, &st);
	if (model_net_tx_count(f->mn) &&
	    model_net_tx_frame(f->mn, 0)->hdr.hdr.gso_type == VIRTIO_NET_HDR_GSO_TCPV6)
		fail_msg("TSO6 frame sent with gso_type TCPV6 although HOST_TSO6 was not "
			 "negotiated (5.1.6.2.1: MUST NOT); expected: refused (tx_errors %llu) "
			 "or TSO6 kept off", (unsigned long long)st.tx_errors);
	finish(f);
}

static void test_offload_not_offered(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_TX_CSUM | UVIO_NET_OFF_TSO |
					       UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO };
	const struct uvio_net_info *in;
	struct uvio_pkt *p;
	const struct model_net_frame *fr;

	cfg.features &= ~(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
			  BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
			  BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6));
	open_ok(f, &cfg, &o);
	in = uvio_net_get_info(f->net);
	assert_int_equal(in->offloads, 0);
	assert_int_equal(in->offloads_offered & (UVIO_NET_OFF_TX_CSUM | UVIO_NET_OFF_TSO |
						 UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO), 0);
	assert_false(in->features & (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM)));
	p = pkt(f, 200, 5);
	p->ol_flags = UVIO_PKT_TX_CSUM | UVIO_PKT_TX_TSO4;
	p->csum_start = 34;
	p->csum_offset = 16;
	p->tso_segsz = 100;
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	fr = model_net_tx_frame(f->mn, 0);
	assert_memory_equal(&fr->hdr, &zero_hdr, sizeof(zero_hdr));
	finish(f);
}

static void test_offloads_offered(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	const struct uvio_net_info *in;

	open_ok(f, &cfg, &(struct uvio_net_opts){ .offloads = UVIO_NET_OFF_RX_CSUM });
	in = uvio_net_get_info(f->net);
	assert_int_equal(in->offloads, UVIO_NET_OFF_RX_CSUM);
	assert_int_equal(in->offloads_offered & 0xf, UVIO_NET_OFF_TX_CSUM | UVIO_NET_OFF_RX_CSUM |
			 UVIO_NET_OFF_TSO | UVIO_NET_OFF_LRO);
	assert_false(in->features & BIT(VIRTIO_NET_F_CSUM));
	assert_true(in->features & BIT(VIRTIO_NET_F_GUEST_CSUM));
	finish(f);
}

/* Many frames: the tx ring is cleaned as the driver goes; nothing leaks. */
static void test_tx_many_packets_return_to_pool(void **state)
{
	struct fx *f = *state;
	enum { TOTAL = 1000 };
	struct uvio_pkt *p[BURST];
	struct uvio_net_queue_stats st;
	unsigned sent = 0;

	open_base(f);
	while (sent < TOTAL) {
		unsigned n = TOTAL - sent < BURST ? TOTAL - sent : BURST, took;

		for (unsigned i = 0; i < n; i++)
			p[i] = pkt(f, 64, sent + i);
		took = uvio_net_tx_burst(f->net, 0, p, (uint16_t)n);
		assert_int_equal(took, n);
		sent += took;
		/* Never more in flight than the ring. */
		assert_true(uvio_pktpool_avail(f->tx_pool) + 256 >= f->tx_start);
	}
	assert_int_equal(model_net_tx_count(f->mn), TOTAL);
	for (unsigned i = 0; i < TOTAL; i += 97) {
		uint8_t want[64];

		fill(want, 64, i);
		assert_memory_equal(model_net_tx_frame(f->mn, i)->data, want, 64);
	}
	uvio_net_get_stats(f->net, 0, &st);
	assert_int_equal(st.tx_packets, TOTAL);
	assert_int_equal(st.tx_bytes, TOTAL * 64);
	finish(f);
}

/* The device holds the tx buffers: the ring fills, the rest stay the
 * caller's, and go once the device catches up. */
static void test_tx_ring_full(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	enum { N = 40 };
	struct uvio_pkt *p[N];
	struct uvio_net_queue_stats st;
	unsigned took;

	cfg.queue_max = 32;
	open_ok(f, &cfg, NULL);
	model_net_tx_hold(f->mn, true);
	for (unsigned i = 0; i < N; i++)
		p[i] = pkt(f, 100, i);
	took = uvio_net_tx_burst(f->net, 0, p, N);
	assert_int_equal(took, 32);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p + took, N - took), 0);
	/* The device sends what it holds. */
	assert_int_equal(model_net_tx_complete(f->mn), 32);
	model_net_tx_hold(f->mn, false);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p + took, 4), 4);
	/* The caller gives up on the rest. */
	uvio_net_tx_drop(f->net, 0, p + took + 4, N - took - 4);
	uvio_net_get_stats(f->net, 0, &st);
	assert_int_equal(st.tx_packets, 36);
	assert_int_equal(st.tx_drops, N - 36);
	assert_int_equal(model_net_tx_count(f->mn), 36);
	finish(f);
}

/* ---- rx ---- */

static void test_rx_small_frames(void **state)
{
	struct fx *f = *state;
	static const uint16_t lens[] = { 60, 64, 128, 1000, 1514 };
	struct uvio_pkt *got[8];
	struct uvio_net_queue_stats st;
	uint8_t frame[1514];
	uint64_t bytes = 0;

	open_base(f);
	for (unsigned i = 0; i < 5; i++) {
		fill(frame, lens[i], 50 + i);
		assert_int_equal(model_net_rx_inject(f->mn, 0, frame, lens[i], NULL), 0);
		bytes += lens[i];
	}
	assert_int_equal(rx_all(f, 0, got, 8), 5);
	for (unsigned i = 0; i < 5; i++) {
		fill(frame, lens[i], 50 + i);
		assert_int_equal(got[i]->pkt_len, lens[i]);
		assert_int_equal(got[i]->data_len, lens[i]);
		assert_int_equal(got[i]->nb_segs, 1);
		assert_null(got[i]->next);
		assert_int_equal(got[i]->rx_queue, 0);
		assert_int_equal(got[i]->ol_flags, 0);
		assert_memory_equal(uvio_pkt_data(got[i]), frame, lens[i]);
	}
	uvio_net_get_stats(f->net, 0, &st);
	assert_int_equal(st.rx_packets, 5);
	assert_int_equal(st.rx_bytes, bytes);
	assert_int_equal(st.rx_errors, 0);
	uvio_pkt_free_bulk(NULL, got, 5);
	finish(f);
}

/* A jumbo frame over mergeable buffers: one multi-segment packet. */
static void test_rx_jumbo_mergeable(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	static uint8_t frame[9014], back[9014];
	struct uvio_pkt *got[4];
	unsigned segs = 0;
	uint32_t sum = 0;

	cfg.mtu = 9000;
	open_ok(f, &cfg, NULL);
	fill(frame, sizeof(frame), 9);
	assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
	fill(back, 60, 10);
	assert_int_equal(model_net_rx_inject(f->mn, 0, back, 60, NULL), 0);
	assert_int_equal(rx_all(f, 0, got, 4), 2);
	assert_int_equal(got[0]->pkt_len, sizeof(frame));
	for (struct uvio_pkt *s = got[0]; s; s = s->next) {
		segs++;
		sum += s->data_len;
	}
	assert_int_equal(got[0]->nb_segs, segs);
	assert_true(segs >= 5);
	assert_int_equal(sum, sizeof(frame));
	memset(back, 0, sizeof(back));
	assert_int_equal(gather(got[0], back), sizeof(frame));
	assert_memory_equal(back, frame, sizeof(frame));
	assert_int_equal(got[1]->pkt_len, 60);
	uvio_pkt_free_bulk(NULL, got, 2);
	finish(f);
}

/* Without mergeable buffers each frame is one buffer; what does not fit
 * is the device's to drop. */
static void test_rx_no_mrg(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .no_mrg_rxbuf = true };
	struct virtio_net_hdr valid = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	static uint8_t frame[3000];
	struct uvio_pkt *got[4];

	open_ok(f, &cfg, &o);
	assert_false(uvio_net_get_info(f->net)->mrg_rxbuf);
	assert_int_equal(model_net_hdr_len(f->mn), 12);  /* VERSION_1 */
	fill(frame, sizeof(frame), 11);
	model_net_rx_inject(f->mn, 0, frame, 1514, NULL);
	model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(model_net_rx_dropped(f->mn), 1);
	/* num_buffers is the device's business without MRG_RXBUF: ignored. */
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_NUM_BUFFERS_HUGE, 0, 1);
	model_net_rx_inject(f->mn, 0, frame + 1, 100, NULL);
	/* Flags without GUEST_CSUM mean nothing (spec 5.1.6.4): not read. */
	model_net_rx_inject(f->mn, 0, frame + 2, 60, &valid);
	assert_int_equal(rx_all(f, 0, got, 4), 3);
	assert_int_equal(got[0]->pkt_len, 1514);
	assert_int_equal(got[0]->nb_segs, 1);
	assert_memory_equal(uvio_pkt_data(got[0]), frame, 1514);
	assert_int_equal(got[1]->pkt_len, 100);
	assert_memory_equal(uvio_pkt_data(got[1]), frame + 1, 100);
	assert_int_equal(got[2]->pkt_len, 60);
	assert_int_equal(got[2]->ol_flags, 0);
	assert_memory_equal(uvio_pkt_data(got[2]), frame + 2, 60);
	uvio_pkt_free_bulk(NULL, got, 3);
	finish(f);
}

static void test_rx_csum_flags(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { .offloads = UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO };
	struct virtio_net_hdr h[3] = {
		{ .flags = VIRTIO_NET_HDR_F_DATA_VALID },
		{ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 },
		{ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		  .gso_size = 1448, .hdr_len = 54, .csum_start = 34, .csum_offset = 16 },
	};
	static uint8_t frame[4000];
	struct uvio_pkt *got[4];

	open_ok(f, &cfg, &o);
	assert_int_equal(uvio_net_get_info(f->net)->offloads,
			 UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO);
	fill(frame, sizeof(frame), 12);
	model_net_rx_inject(f->mn, 0, frame, 100, &h[0]);
	model_net_rx_inject(f->mn, 0, frame, 200, &h[1]);
	model_net_rx_inject(f->mn, 0, frame, 4000, &h[2]);
	assert_int_equal(rx_all(f, 0, got, 4), 3);
	assert_int_equal(got[0]->ol_flags, UVIO_PKT_RX_CSUM_OK);
	assert_int_equal(got[1]->ol_flags, UVIO_PKT_RX_CSUM_NONE);
	assert_int_equal(got[1]->csum_start, 34);
	assert_int_equal(got[1]->csum_offset, 16);
	assert_true(got[2]->ol_flags & UVIO_PKT_RX_LRO);
	assert_true(got[2]->ol_flags & UVIO_PKT_RX_CSUM_NONE);
	assert_int_equal(got[2]->tso_segsz, 1448);
	assert_int_equal(got[2]->pkt_len, 4000);
	uvio_pkt_free_bulk(NULL, got, 3);
	finish(f);
}

/* Packet objects span 4k + 2 cache lines, so the same line of every
 * buffer does not pile into a quarter of the L1 sets; the room asked for
 * is all there. */
static void test_pktpool_stride(void **state)
{
	static const uint16_t rooms[] = { 2048, 1500, 1, 9000, 2176 };
	struct uvio_err err = { 0 };

	(void)state;
	for (unsigned i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++) {
		struct uvio_pktpool *pp;
		struct uvio_pkt *p[2];

		assert_int_equal(uvio_pktpool_create("stride", 8, rooms[i], -1, &pp, &err), 0);
		assert_int_equal(uvio_pkt_alloc_bulk(pp, NULL, p, 2), 2);
		assert_int_equal(p[0]->buf_len % 64, 0);
		assert_int_equal(p[0]->buf_len / 64 % 4, 2);
		assert_true(uvio_pkt_tailroom(p[0]) >= rooms[i]);
		assert_int_equal(labs((char *)p[1] - (char *)p[0]) % p[0]->buf_len, 0);
		uvio_pkt_free_bulk(NULL, p, 2);
		uvio_pktpool_destroy(pp);
	}
}

/* The pool runs dry: rx_nobuf counts it; freeing packets lets rx resume. */
static void test_rx_refill_nobuf(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_opts o = { 0 };
	struct uvio_net_queue_stats st0, st1;
	struct uvio_pkt *got[64];
	uint8_t frame[100];
	struct uvio_err err = { 0 };
	unsigned n;

	pools(f, 48);  /* fewer packets than the 256-entry ring */
	assert_int_equal(open_cfg(f, &cfg, &o, &err), 0);
	uvio_net_get_stats(f->net, 0, &st0);
	assert_true(st0.rx_nobuf > 0);
	assert_int_equal(uvio_pktpool_avail(f->rx_pool), 0);
	fill(frame, sizeof(frame), 13);
	for (unsigned i = 0; i < 48; i++)
		assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
	/* No buffer left for this one: it waits in the device. */
	assert_int_equal(model_net_rx_inject(f->mn, 0, frame, 60, NULL), 1);
	n = rx_all(f, 0, got, 64);
	assert_int_equal(n, 48);
	uvio_net_get_stats(f->net, 0, &st1);
	assert_true(st1.rx_nobuf > st0.rx_nobuf);
	assert_int_equal(model_net_rx_waiting(f->mn, 0), 1);
	uvio_pkt_free_bulk(NULL, got, n);
	/* The next burst refills, the device places the waiting frame. */
	n = rx_all(f, 0, got, 64);
	assert_int_equal(n, 1);
	assert_int_equal(got[0]->pkt_len, 60);
	assert_int_equal(model_net_rx_waiting(f->mn, 0), 0);
	uvio_pkt_free_bulk(NULL, got, 1);
	uvio_net_get_stats(f->net, 0, &st1);
	assert_int_equal(st1.rx_packets, 49);
	finish(f);
}

/* A refill stops at a ring slot that is a multiple of 4, whatever count
 * was taken: 37 buffers taken from a full 256-entry ring come back as 36,
 * so the device can then place 255 frames, not 256. */
static void test_rx_refill_ends_aligned(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt *got[32];
	uint8_t frame[100];

	open_base(f);
	fill(frame, sizeof(frame), 21);
	for (unsigned i = 0; i < 7; i++)   /* too few to refill */
		assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
	assert_int_equal(rx_all(f, 0, got, 32), 7);
	uvio_pkt_free_bulk(NULL, got, 7);
	for (unsigned i = 0; i < 30; i++)  /* 37 free: refill up to slot 36 */
		assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
	assert_int_equal(rx_all(f, 0, got, 32), 30);
	uvio_pkt_free_bulk(NULL, got, 30);
	for (unsigned i = 0; i < 300; i++)
		model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(model_net_rx_waiting(f->mn, 0), 300 - 255);
	finish(f);
}

/* Lent caches: the queue refills from the application's rx cache and
 * frees sent frames into its tx cache; traffic flows as before, and every
 * buffer is back in its pool once the caches are given back. */
static void test_lent_caches(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt_cache *rxc, *txc;
	struct uvio_pkt *p[BURST];
	uint8_t frame[200];
	unsigned got = 0;

	open_base(f);
	rxc = uvio_pkt_cache_create(f->rx_pool, 64);
	txc = uvio_pkt_cache_create(f->tx_pool, 64);
	assert_non_null(rxc);
	assert_non_null(txc);
	assert_int_equal(uvio_net_queue_caches(f->net, 1, rxc, txc), -EINVAL);
	assert_int_equal(uvio_net_queue_caches(f->net, 0, txc, NULL), -EINVAL);
	assert_int_equal(uvio_net_queue_caches(f->net, 0, rxc, txc), 0);
	for (unsigned sent = 0; sent < 640; sent += BURST) {
		assert_int_equal(uvio_pkt_alloc_bulk(f->tx_pool, txc, p, BURST), BURST);
		for (unsigned i = 0; i < BURST; i++) {
			fill(uvio_pkt_data(p[i]), 64, sent + i);
			p[i]->data_len = p[i]->pkt_len = 64;
		}
		assert_int_equal(uvio_net_tx_burst(f->net, 0, p, BURST), BURST);
	}
	assert_int_equal(model_net_tx_count(f->mn), 640);
	fill(frame, 64, 639);
	assert_memory_equal(model_net_tx_frame(f->mn, 639)->data, frame, 64);
	for (unsigned round = 0; round < 20; round++) {  /* 600 frames: laps of the ring */
		for (unsigned i = 0; i < 30; i++) {
			fill(frame, sizeof(frame), round * 30 + i);
			assert_int_equal(model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL), 0);
		}
		for (unsigned n; (n = uvio_net_rx_burst(f->net, 0, p, BURST)); got += n) {
			fill(frame, sizeof(frame), got);
			assert_memory_equal(uvio_pkt_data(p[0]), frame, sizeof(frame));
			uvio_pkt_free_bulk(rxc, p, n);
		}
	}
	assert_int_equal(got, 600);
	uvio_net_tx_pending(f->net, 0);  /* sent frames back into txc */
	assert_int_equal(uvio_net_queue_caches(f->net, 0, NULL, NULL), 0);
	uvio_pkt_cache_destroy(rxc);
	uvio_pkt_cache_destroy(txc);
	finish(f);
}

/* ---- control queue ---- */

static const struct model_net_cmd *last_cmd(struct fx *f)
{
	return model_net_cmd_at(f->mn, model_net_ncmds(f->mn) - 1);
}

static void expect_cmd(struct fx *f, uint8_t cls, uint8_t cmd, const void *data,
		       uint32_t len)
{
	const struct model_net_cmd *c = last_cmd(f);

	assert_non_null(c);
	assert_int_equal(c->cls, cls);
	assert_int_equal(c->cmd, cmd);
	assert_int_equal(c->len, len);
	if (len)
		assert_memory_equal(c->data, data, len);
	assert_int_equal(c->ack, VIRTIO_NET_OK);
}

static void test_ctrl_commands(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	static const uint8_t uc[2][6] = { { 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 2 } };
	static const uint8_t mc[3][6] = { { 1, 0, 0x5e, 0, 0, 1 }, { 1, 0, 0x5e, 0, 0, 2 },
					  { 0x33, 0x33, 0, 0, 0, 1 } };
	static const uint8_t newmac[6] = { 2, 0x11, 0x22, 0x33, 0x44, 0x55 };
	const struct model_net_state *s;
	uint8_t one = 1, zero = 0, table[8 + 5 * 6];
	uint16_t v;

	cfg.features |= BIT(VIRTIO_NET_F_MQ);
	cfg.max_pairs = 4;
	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 2 });
	s = model_net_state(f->mn);
	assert_int_equal(s->pairs, 2);

	assert_int_equal(uvio_net_set_promisc(f->net, true), 0);
	expect_cmd(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &one, 1);
	assert_true(s->promisc);
	assert_int_equal(uvio_net_set_promisc(f->net, false), 0);
	expect_cmd(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &zero, 1);
	assert_false(s->promisc);
	assert_int_equal(uvio_net_set_allmulti(f->net, true), 0);
	expect_cmd(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &one, 1);
	assert_true(s->allmulti);

	assert_int_equal(uvio_net_set_mac(f->net, newmac), 0);
	expect_cmd(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, newmac, 6);
	assert_true(s->mac_set);
	assert_memory_equal(s->mac, newmac, 6);
	assert_memory_equal(uvio_net_get_info(f->net)->mac, newmac, 6);

	assert_int_equal(uvio_net_set_mac_tables(f->net, uc, 2, mc, 3), 0);
	memcpy(table, &(uint32_t){ 2 }, 4);
	memcpy(table + 4, uc, 12);
	memcpy(table + 16, &(uint32_t){ 3 }, 4);
	memcpy(table + 20, mc, 18);
	expect_cmd(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, 38);
	assert_int_equal(s->n_uc, 2);
	assert_int_equal(s->n_mc, 3);
	assert_memory_equal(s->mc[2], mc[2], 6);
	/* Empty tables (NULL, 0 is test_mac_tables_empty_null). */
	assert_int_equal(uvio_net_set_mac_tables(f->net, uc, 0, mc, 0), 0);
	assert_int_equal(s->n_uc + s->n_mc, 0);
	assert_int_equal(last_cmd(f)->len, 8);

	assert_int_equal(uvio_net_vlan_add(f->net, 100), 0);
	v = 100;
	expect_cmd(f, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, &v, 2);
	assert_true(s->vlans[100 / 32] & (1u << (100 % 32)));
	assert_int_equal(uvio_net_vlan_add(f->net, 4095), 0);
	assert_int_equal(uvio_net_vlan_del(f->net, 100), 0);
	expect_cmd(f, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_DEL, &v, 2);
	assert_false(s->vlans[100 / 32] & (1u << (100 % 32)));
	assert_int_equal(uvio_net_vlan_add(f->net, 4096), -EINVAL);

	assert_int_equal(uvio_net_set_queue_pairs(f->net, 1), 0);
	v = 1;
	expect_cmd(f, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &v, 2);
	assert_int_equal(s->pairs, 1);
	assert_int_equal(uvio_net_set_queue_pairs(f->net, 2), 0);
	assert_int_equal(s->pairs, 2);
	assert_int_equal(uvio_net_set_queue_pairs(f->net, 3), -EINVAL);
	assert_int_equal(uvio_net_set_queue_pairs(f->net, 0), -EINVAL);
	assert_int_equal(uvio_net_set_rss(f->net, 1, NULL, 0, &v, 1), -ENOTSUP);
	finish(f);
}

/* Regression (found by this suite): uvio_net_announce_ack sends a command without
 * data as uvio_net_ctrl_cmd(..., NULL, 0), which does memcpy(dst, NULL, 0)
 * (pmd/net/ctrl.c): undefined behaviour; UBSan aborts the whole test
 * binary. */
static void test_ctrl_announce_ack(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_link link;

	cfg.status |= VIRTIO_NET_S_ANNOUNCE;
	open_ok(f, &cfg, NULL);
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_true(link.announce);
	assert_int_equal(uvio_net_announce_ack(f->net), 0);
	expect_cmd(f, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0);
	assert_int_equal(model_net_state(f->mn)->announce_acks, 1);
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_false(link.announce);
	finish(f);
}

/* Regression (found by this suite): empty tables given as (NULL, 0) reach
 * memcpy(dst, NULL, 0) in uvio_net_set_mac_tables (pmd/net/ctrl.c), which
 * is undefined behaviour: UBSan aborts the whole test binary, so this test
 */
static void test_mac_tables_empty_null(void **state)
{
	struct fx *f = *state;

	open_base(f);
	assert_int_equal(uvio_net_set_mac_tables(f->net, NULL, 0, NULL, 0), 0);
	assert_int_equal(model_net_state(f->mn)->n_uc + model_net_state(f->mn)->n_mc, 0);
	finish(f);
}

static void test_ctrl_nak(void **state)
{
	struct fx *f = *state;
	static const uint8_t newmac[6] = { 2, 1, 2, 3, 4, 5 };

	open_base(f);
	model_net_ctrl_mode(f->mn, MODEL_NET_CTRL_NAK);
	assert_int_equal(uvio_net_set_promisc(f->net, true), -EIO);
	assert_int_equal(uvio_net_set_allmulti(f->net, true), -EIO);
	assert_int_equal(uvio_net_vlan_add(f->net, 7), -EIO);
	assert_int_equal(uvio_net_set_mac(f->net, newmac), -EIO);
	assert_memory_equal(uvio_net_get_info(f->net)->mac, mac0, 6);
	assert_int_equal(last_cmd(f)->ack, VIRTIO_NET_ERR);
	/* A NAK does not break the queue. */
	model_net_ctrl_mode(f->mn, MODEL_NET_CTRL_ACK);
	assert_int_equal(uvio_net_set_promisc(f->net, true), 0);
	finish(f);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_ctrl_silent_times_out(void **state)
{
	struct fx *f = *state;
	double t0, dt;

	open_base(f);
	model_net_ctrl_mode(f->mn, MODEL_NET_CTRL_SILENT);
	t0 = now_s();
	assert_int_equal(uvio_net_set_promisc(f->net, true), -ETIMEDOUT);
	dt = now_s() - t0;
	assert_true(dt >= 1.5 && dt < 3.5);
	/* The queue is given up on: later commands fail fast. */
	t0 = now_s();
	assert_int_equal(uvio_net_set_allmulti(f->net, true), -EIO);
	assert_true(now_s() - t0 < 0.5);
	/* The data path is unaffected. */
	{
		struct uvio_pkt *p = pkt(f, 64, 1);

		assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	}
	finish(f);
}

static void test_ctrl_not_offered(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	static const uint8_t m6[6] = { 2 };
	uint16_t q = 0;

	cfg.features &= ~(BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) |
			  BIT(VIRTIO_NET_F_CTRL_VLAN) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
			  BIT(VIRTIO_NET_F_GUEST_ANNOUNCE));
	open_ok(f, &cfg, NULL);
	assert_false(uvio_net_get_info(f->net)->ctrl_vq);
	assert_int_equal(uvio_net_set_promisc(f->net, true), -ENOTSUP);
	assert_int_equal(uvio_net_set_allmulti(f->net, true), -ENOTSUP);
	assert_int_equal(uvio_net_set_mac(f->net, m6), -ENOTSUP);
	assert_int_equal(uvio_net_set_mac_tables(f->net, &m6, 1, NULL, 0), -ENOTSUP);
	assert_int_equal(uvio_net_vlan_add(f->net, 1), -ENOTSUP);
	assert_int_equal(uvio_net_vlan_del(f->net, 1), -ENOTSUP);
	assert_int_equal(uvio_net_announce_ack(f->net), -ENOTSUP);
	assert_int_equal(uvio_net_set_queue_pairs(f->net, 1), -ENOTSUP);
	assert_int_equal(uvio_net_set_rss(f->net, 1, NULL, 0, &q, 1), -ENOTSUP);
	assert_int_equal(model_net_ncmds(f->mn), 0);
	finish(f);

	/* CTRL_VQ, but not the command's own feature. */
	model_net_put(f->mn);
	cfg = base_cfg(f);
	cfg.features &= ~(BIT(VIRTIO_NET_F_CTRL_VLAN) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR));
	open_ok(f, &cfg, NULL);
	assert_int_equal(uvio_net_vlan_add(f->net, 1), -ENOTSUP);
	assert_int_equal(uvio_net_set_mac(f->net, m6), -ENOTSUP);
	assert_int_equal(uvio_net_set_promisc(f->net, true), 0);
	finish(f);
}

static void rss_cfg(struct model_net_cfg *cfg, bool mq)
{
	cfg->features |= BIT(VIRTIO_NET_F_RSS) | (mq ? BIT(VIRTIO_NET_F_MQ) : 0);
	cfg->max_pairs = 4;
	cfg->rss_max_key_size = 40;
	cfg->rss_max_indirection_table_length = 128;
	cfg->supported_hash_types = VIRTIO_NET_RSS_HASH_TYPE_IPv4 |
				    VIRTIO_NET_RSS_HASH_TYPE_TCPv4 |
				    VIRTIO_NET_RSS_HASH_TYPE_UDPv4;
}

/* Regression (found by this suite): the indirection table holds rss_rq_id values,
 * bits 1-16 of the receive virtqueue index, i.e. the queue pair number
 * (5.1.6.5.7.1); the driver writes the virtqueue index (2 x pair). */
static void test_rss(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	uint8_t key[40];
	uint16_t table[128];
	const struct model_net_state *s;
	const struct uvio_net_info *in;
	int rc;

	rss_cfg(&cfg, true);
	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 2,
						  .offloads = UVIO_NET_OFF_RSS });
	in = uvio_net_get_info(f->net);
	assert_true(in->offloads & UVIO_NET_OFF_RSS);
	assert_int_equal(in->rss_max_key_size, 40);
	assert_int_equal(in->rss_max_indirection_table_length, 128);
	assert_int_equal(in->supported_hash_types, cfg.supported_hash_types);
	fill(key, sizeof(key), 14);
	for (unsigned i = 0; i < 128; i++)
		table[i] = i % 2;
	rc = uvio_net_set_rss(f->net, VIRTIO_NET_RSS_HASH_TYPE_TCPv4, key, 40, table, 128);
	s = model_net_state(f->mn);
	assert_int_equal(s->rss_table_len, 128);
	assert_int_equal(s->rss_hash_types, VIRTIO_NET_RSS_HASH_TYPE_TCPv4);
	assert_int_equal(s->rss_key_len, 40);
	assert_memory_equal(s->rss_key, key, 40);
	assert_int_equal(s->rss_max_tx_vq, 2);
	for (unsigned i = 0; i < 128; i++)
		if (s->rss_table[i] != table[i])
			fail_msg("indirection_table[%u] = %u, want receiveq id %u (rc %d)",
				 i, s->rss_table[i], table[i], rc);
	assert_int_equal(rc, 0);
	assert_true(s->rss);
	/* Argument checks. */
	assert_int_equal(uvio_net_set_rss(f->net, 1, key, 40, table, 3), -EINVAL);
	assert_int_equal(uvio_net_set_rss(f->net, 1, key, 41, table, 128), -EINVAL);
	table[0] = 2;  /* pair 2 is not in use */
	assert_int_equal(uvio_net_set_rss(f->net, 1, key, 40, table, 128), -EINVAL);
	finish(f);
}

/* Regression (found by this suite): with RSS negotiated but not MQ, N is still
 * max_virtqueue_pairs (5.1.2, 5.1.4: the field exists with MQ or RSS), so
 * the control queue is 2N; the driver puts it at 2. */
static void test_rss_without_mq_ctrl_queue(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	uint8_t key[40] = { 0 };
	uint16_t table[128] = { 0 };
	int rc;

	rss_cfg(&cfg, false);
	open_ok(f, &cfg, &(struct uvio_net_opts){ .offloads = UVIO_NET_OFF_RSS });
	assert_true(uvio_net_get_info(f->net)->offloads & UVIO_NET_OFF_RSS);
	rc = uvio_net_set_rss(f->net, VIRTIO_NET_RSS_HASH_TYPE_IPv4, key, 40, table, 128);
	if (rc || model_dev_queue_size(f->m, 8) == 0)
		fail_msg("set_rss: %d; control queue set up at index %s (want 8 = 2 x "
			 "max_virtqueue_pairs); max_queue_pairs read as %u (want 4)", rc,
			 model_dev_queue_size(f->m, 2) ? "2" : "?",
			 uvio_net_get_info(f->net)->max_queue_pairs);
	assert_true(model_net_state(f->mn)->rss);
	finish(f);
}

/* ---- link ---- */

static void test_link_status(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_net_link link;

	open_ok(f, &cfg, NULL);
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_true(link.up);
	assert_false(link.announce);
	assert_int_equal(link.speed_mbps, 10000);
	assert_int_equal(link.duplex, 1);
	model_net_set_link(f->mn, false);
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_false(link.up);
	model_net_set_link(f->mn, true);
	model_net_set_speed(f->mn, 0xffffffffu, 0xff);
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_true(link.up);
	assert_int_equal(link.speed_mbps, UINT32_MAX);
	assert_int_equal(link.duplex, 0xff);
	model_net_set_speed(f->mn, 0x80000000u, 7);  /* 5.1.4.2: unknown */
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_int_equal(link.speed_mbps, UINT32_MAX);
	assert_int_equal(link.duplex, 0xff);
	model_net_set_speed(f->mn, 25000, 0);
	model_net_set_announce(f->mn);
	model_dev_config_churn(f->m, 3);  /* changes while the driver reads */
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_int_equal(link.speed_mbps, 25000);
	assert_int_equal(link.duplex, 0);
	assert_true(link.announce);
	finish(f);

	/* No STATUS: always up, whatever the config says. */
	model_net_put(f->mn);
	cfg.features &= ~BIT(VIRTIO_NET_F_STATUS);
	cfg.status = 0;
	open_ok(f, &cfg, NULL);
	assert_int_equal(uvio_net_get_link(f->net, &link), 0);
	assert_true(link.up);
	finish(f);
}

/* ---- counters ---- */

static uint64_t xstat(struct fx *f, const char *q, const char *counter)
{
	const char *names[64];
	uint64_t values[64];
	int n = uvio_net_get_xstats(f->net, names, values, 64);

	for (int i = 0; i < n && i < 64; i++)
		if (strstr(names[i], q) && strstr(names[i], counter))
			return values[i];
	fail_msg("no xstat for %s %s", q, counter);
	return 0;
}

static void test_stats_and_xstats(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_pkt *p[10], *got[16];
	struct uvio_net_queue_stats st;
	uint8_t frame[1000];
	uint64_t rx_bytes = 0, tx_bytes = 0;
	unsigned n;
	int total;

	cfg.features |= BIT(VIRTIO_NET_F_MQ);
	cfg.max_pairs = 2;
	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 2 });
	for (unsigned i = 0; i < 10; i++) {
		p[i] = pkt(f, (uint16_t)(60 + i), i);
		tx_bytes += 60 + i;
	}
	assert_int_equal(uvio_net_tx_burst(f->net, 1, p, 10), 10);
	fill(frame, sizeof(frame), 15);
	for (unsigned i = 0; i < 7; i++) {
		model_net_rx_inject(f->mn, 1, frame, 100 * (i + 1), NULL);
		rx_bytes += 100 * (i + 1);
	}
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_SHORT_LEN, 0, 2);
	model_net_rx_inject(f->mn, 1, frame, 500, NULL);
	model_net_rx_inject(f->mn, 1, frame, 500, NULL);
	n = rx_all(f, 1, got, 16);
	assert_int_equal(n, 7);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(got[i]->rx_queue, 1);
	uvio_pkt_free_bulk(NULL, got, n);
	assert_int_equal(uvio_net_get_stats(f->net, 1, &st), 0);
	assert_int_equal(st.tx_packets, 10);
	assert_int_equal(st.tx_bytes, tx_bytes);
	assert_int_equal(st.rx_packets, 7);
	assert_int_equal(st.rx_bytes, rx_bytes);
	assert_int_equal(st.rx_errors, 2);
	assert_int_equal(st.tx_errors + st.tx_drops, 0);
	assert_int_equal(uvio_net_get_stats(f->net, 0, &st), 0);
	assert_int_equal(st.rx_packets + st.tx_packets + st.rx_errors, 0);
	assert_int_equal(uvio_net_get_stats(f->net, 2, &st), -EINVAL);
	total = uvio_net_get_xstats(f->net, NULL, NULL, 0);
	assert_int_equal(total, 16);  /* 8 counters x 2 pairs */
	assert_int_equal(xstat(f, "q1", "rx_packets"), 7);
	assert_int_equal(xstat(f, "q1", "rx_bytes"), rx_bytes);
	assert_int_equal(xstat(f, "q1", "rx_errors"), 2);
	assert_int_equal(xstat(f, "q1", "tx_packets"), 10);
	assert_int_equal(xstat(f, "q1", "tx_bytes"), tx_bytes);
	assert_int_equal(xstat(f, "q0", "rx_packets"), 0);
	finish(f);
}

/* net.h documents xstat names like "q0_rx_packets". */
static void test_xstats_names_follow_header(void **state)
{
	struct fx *f = *state;
	const char *names[16];
	int n;
	bool found = false;

	open_base(f);
	n = uvio_net_get_xstats(f->net, names, NULL, 16);
	for (int i = 0; i < n && i < 16; i++)
		found |= !strcmp(names[i], "q0_rx_packets");
	if (!found)
		fail_msg("no xstat named \"q0_rx_packets\" (as net.h says); first name \"%s\"",
			 n > 0 ? names[0] : "");
	finish(f);
}

/* ---- a misbehaving device ---- */

static void test_rx_evil_headers(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_pkt *got[8];
	struct uvio_net_queue_stats st;
	uint8_t frame[200];

	open_ok(f, &cfg, NULL);
	fill(frame, sizeof(frame), 16);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_NUM_BUFFERS_ZERO, 0, 1);
	model_net_rx_inject(f->mn, 0, frame, 100, NULL);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_NUM_BUFFERS_HUGE, 0, 1);
	model_net_rx_inject(f->mn, 0, frame, 100, NULL);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_SHORT_LEN, 0, 1);
	model_net_rx_inject(f->mn, 0, frame, 100, NULL);
	model_net_rx_inject(f->mn, 0, frame, 200, NULL);  /* a good one after */
	assert_int_equal(rx_all(f, 0, got, 8), 1);
	assert_int_equal(got[0]->pkt_len, 200);
	assert_memory_equal(uvio_pkt_data(got[0]), frame, 200);
	uvio_pkt_free_bulk(NULL, got, 1);
	uvio_net_get_stats(f->net, 0, &st);
	assert_int_equal(st.rx_errors, 3);
	assert_int_equal(st.rx_packets, 1);
	assert_string_equal(uvio_net_queue_error(f->net, 0), "");
	finish(f);
}

/* num_buffers larger than what the device used: the driver waits for the
 * rest; close frees the partial frame. */
static void test_rx_partial_frame_at_close(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt *got[4];
	uint8_t frame[100];

	open_base(f);
	fill(frame, sizeof(frame), 17);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_NUM_BUFFERS, 3, 1);
	model_net_rx_inject(f->mn, 0, frame, 100, NULL);
	assert_int_equal(rx_all(f, 0, got, 4), 0);
	finish(f);
}

/* A bad used entry breaks the rx queue: rx returns nothing, the error is
 * readable, tx still works, close returns every buffer. */
static void test_rx_queue_broken(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt *got[4], *p;
	uint8_t frame[64] = { 0 };

	open_base(f);
	model_net_rx_misbehave(f->mn, MODEL_NET_RX_USED_EVIL, VDEV_EVIL_LEN, 1);
	model_net_rx_inject(f->mn, 0, frame, 64, NULL);
	assert_int_equal(rx_all(f, 0, got, 4), 0);
	assert_true(strlen(uvio_net_queue_error(f->net, 0)) > 0);
	model_net_rx_inject(f->mn, 0, frame, 64, NULL);
	assert_int_equal(rx_all(f, 0, got, 4), 0);
	p = pkt(f, 64, 1);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	assert_int_equal(model_net_tx_count(f->mn), 1);
	finish(f);
}

/* A bad used entry on the tx queue: the driver finds it when it cleans
 * the ring (64 in flight); from then on it takes nothing, and close still
 * returns every packet. */
static void test_tx_queue_broken(void **state)
{
	struct fx *f = *state;
	struct uvio_pkt *p[70];
	struct vdev_model *vq;

	open_base(f);
	model_net_tx_hold(f->mn, true);
	for (unsigned i = 0; i < 70; i++)
		p[i] = pkt(f, 64, i);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p, 64), 64);
	vq = model_dev_vq(f->m, 1);
	assert_int_equal(vdev_model_misbehave(vq, VDEV_EVIL_ID_RANGE,
					      vdev_model_pending_at(vq, 0)), 0);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p + 64, 6), 0);
	assert_true(strlen(uvio_net_queue_error(f->net, 0)) > 0);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p + 64, 6), 0);
	uvio_net_tx_drop(f->net, 0, p + 64, 6);
	finish(f);
}

/* ---- queue pairs, legacy ---- */

static void test_multiqueue_data_path(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_pkt *p, *got[4];
	uint8_t frame[300];

	cfg.features |= BIT(VIRTIO_NET_F_MQ);
	cfg.max_pairs = 4;
	open_ok(f, &cfg, &(struct uvio_net_opts){ .queue_pairs = 3 });
	assert_int_equal(uvio_net_get_info(f->net)->queue_pairs, 3);
	p = pkt(f, 300, 1);
	assert_int_equal(uvio_net_tx_burst(f->net, 2, &p, 1), 1);
	assert_int_equal(model_net_tx_frame(f->mn, 0)->pair, 2);
	fill(frame, sizeof(frame), 2);
	model_net_rx_inject(f->mn, 1, frame, 300, NULL);
	assert_int_equal(rx_all(f, 0, got, 4), 0);
	assert_int_equal(rx_all(f, 2, got, 4), 0);
	assert_int_equal(rx_all(f, 1, got, 4), 1);
	assert_int_equal(got[0]->rx_queue, 1);
	assert_memory_equal(uvio_pkt_data(got[0]), frame, 300);
	uvio_pkt_free_bulk(NULL, got, 1);
	assert_int_equal(model_net_state(f->mn)->pairs, 3);
	finish(f);
}

/* Legacy: no VERSION_1, so the header is the 10-byte one without
 * MRG_RXBUF, 12 bytes with it. */
static void legacy(struct fx *f, bool mrg)
{
	struct model_net_cfg cfg = base_cfg(f);
	struct uvio_pkt *p, *got[2];
	uint8_t frame[500];
	const struct model_net_frame *fr;

	cfg.legacy = true;
	cfg.packed = false;
	open_ok(f, &cfg, &(struct uvio_net_opts){ .no_mrg_rxbuf = !mrg });
	assert_false(uvio_net_get_info(f->net)->features & BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(model_net_hdr_len(f->mn), mrg ? 12 : 10);
	fill(frame, 500, 3);
	model_net_rx_inject(f->mn, 0, frame, 500, NULL);
	assert_int_equal(rx_all(f, 0, got, 2), 1);
	assert_int_equal(got[0]->pkt_len, 500);
	assert_memory_equal(uvio_pkt_data(got[0]), frame, 500);
	uvio_pkt_free_bulk(NULL, got, 1);
	p = pkt(f, 500, 3);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, &p, 1), 1);
	fr = model_net_tx_frame(f->mn, 0);
	assert_int_equal(fr->len, 500);
	/* Regression (found by this suite) without MRG_RXBUF: tx_header() clears a
	 * 12-byte header placed 10 bytes before the frame. */
	if (memcmp(fr->data, frame, 500))
		fail_msg("tx frame differs from what was sent (first bytes %02x %02x, "
			 "sent %02x %02x): the driver wrote a %zu-byte header into a "
			 "%u-byte slot", fr->data[0], fr->data[1], frame[0], frame[1],
			 sizeof(struct virtio_net_hdr_mrg_rxbuf), model_net_hdr_len(f->mn));
	finish(f);
}

static void test_legacy_no_mrg(void **state)
{
	legacy(*state, false);
}

static void test_legacy_mrg(void **state)
{
	legacy(*state, true);
}

/* A mergeable frame whose buffers the device uses over two polls: the
 * driver keeps the partial frame and completes it later. */
static void test_rx_frame_across_polls(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	static uint8_t frame[6000], back[6000];
	struct uvio_pkt *got[2];

	cfg.mtu = 9000;
	open_ok(f, &cfg, NULL);
	fill(frame, sizeof(frame), 18);
	model_net_rx_split(f->mn, true);
	model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(uvio_net_rx_burst(f->net, 0, got, 2), 0);
	model_dev_process(f->m);  /* the device uses the rest */
	assert_int_equal(rx_all(f, 0, got, 2), 1);
	assert_int_equal(got[0]->pkt_len, sizeof(frame));
	assert_int_equal(gather(got[0], back), sizeof(frame));
	assert_memory_equal(back, frame, sizeof(frame));
	uvio_pkt_free_bulk(NULL, got, 1);
	/* Left in the middle: close frees the partial frame. */
	model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	assert_int_equal(uvio_net_rx_burst(f->net, 0, got, 2), 0);
	finish(f);
}

/* A device that uses buffers in order (VIRTIO_F_IN_ORDER) and without
 * event suppression or indirect descriptors. */
static void test_in_order_plain_rings(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg cfg = base_cfg(f);
	static const uint16_t lens[] = { 100, 200, 300 };
	static uint8_t frame[5000], back[5000];
	struct uvio_pkt *p[4], *got[4];
	uint8_t flat[600];

	cfg.in_order = true;
	cfg.no_event_idx = true;
	cfg.no_indirect = true;
	cfg.mtu = 9000;
	open_ok(f, &cfg, NULL);
	assert_true(uvio_net_get_info(f->net)->features & BIT(VIRTIO_F_IN_ORDER));
	fill(frame, sizeof(frame), 19);
	model_net_rx_inject(f->mn, 0, frame, sizeof(frame), NULL);
	model_net_rx_inject(f->mn, 0, frame, 70, NULL);
	assert_int_equal(rx_all(f, 0, got, 4), 2);
	assert_int_equal(gather(got[0], back), sizeof(frame));
	assert_memory_equal(back, frame, sizeof(frame));
	assert_int_equal(got[1]->pkt_len, 70);
	uvio_pkt_free_bulk(NULL, got, 2);
	p[0] = chain(f, lens, 3, flat, 20);
	p[1] = pkt(f, 60, 21);
	assert_int_equal(uvio_net_tx_burst(f->net, 0, p, 2), 2);
	assert_int_equal(model_net_tx_count(f->mn), 2);
	assert_memory_equal(model_net_tx_frame(f->mn, 0)->data, flat, 600);
	finish(f);
}

/* ---- fuzz seeds ---- */

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void random_traffic(struct fx *f, uint32_t seed, unsigned rounds, bool evil)
{
	struct model_net_cfg cfg = base_cfg(f);
	static uint8_t frame[9014], back[9014];
	struct uvio_pkt *got[64], *p[16];
	uint32_t want_len[64];
	uint32_t want_seed[64];
	unsigned sent = 0;

	cfg.mtu = 9000;
	cfg.queue_max = 64;
	open_ok(f, &cfg, NULL);
	for (unsigned r = 0; r < rounds; r++) {
		unsigned nin = 1 + rnd(&seed) % 8, nwant = 0, got_n, ntx;

		for (unsigned i = 0; i < nin; i++) {
			uint32_t len = 14 + rnd(&seed) % 9000, s = rnd(&seed);
			bool bad = evil && rnd(&seed) % 4 == 0;

			if (bad)
				model_net_rx_misbehave(f->mn, (enum model_net_rx_evil)
						       (1 + rnd(&seed) % 3), 0, 1);
			fill(frame, len, s);
			model_net_rx_inject(f->mn, 0, frame, len, NULL);
			if (!bad) {
				want_len[nwant] = len;
				want_seed[nwant++] = s;
			}
		}
		got_n = rx_all(f, 0, got, 64);
		if (!evil)
			assert_int_equal(got_n, nwant);
		for (unsigned i = 0; i < got_n; i++) {
			uint32_t len = gather(got[i], back);

			assert_int_equal(len, got[i]->pkt_len);
			if (!evil) {
				fill(frame, want_len[i], want_seed[i]);
				assert_int_equal(len, want_len[i]);
				assert_memory_equal(back, frame, len);
			}
		}
		uvio_pkt_free_bulk(NULL, got, got_n);
		ntx = rnd(&seed) % 16;
		for (unsigned i = 0; i < ntx; i++)
			p[i] = pkt(f, (uint16_t)(60 + rnd(&seed) % 1400), sent + i);
		ntx = uvio_net_tx_burst(f->net, 0, p, (uint16_t)ntx);
		sent += ntx;
	}
	assert_int_equal(model_net_tx_count(f->mn), sent);
	finish(f);
}

static void test_random_traffic_seed1(void **state)
{
	random_traffic(*state, 1, 200, false);
}

static void test_random_traffic_evil(void **state)
{
	random_traffic(*state, 0xc0ffee, 200, true);
}

static int group_setup(void **state)
{
	struct uvio_err err = { 0 };

	(void)state;
	if (uvio_dma_init(&(struct uvio_dma_opts){ .backing = UVIO_DMA_4K_PINNED }, &err)) {
		fprintf(stderr, "uvio_dma_init: %s\n", err.msg);
		return -1;
	}
	return 0;
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
		BOTH(test_tx_single_no_offload),
		BOTH(test_tx_multi_segment),
		BOTH(test_tx_csum_offload),
		BOTH(test_tx_tso4),
		BOTH(test_tx_tso6_without_host_tso6),
		BOTH(test_offload_not_offered),
		BOTH(test_offloads_offered),
		BOTH(test_tx_many_packets_return_to_pool),
		BOTH(test_tx_ring_full),
		BOTH(test_rx_small_frames),
		BOTH(test_rx_jumbo_mergeable),
		BOTH(test_rx_no_mrg),
		BOTH(test_rx_csum_flags),
		BOTH(test_rx_refill_nobuf),
		cmocka_unit_test(test_pktpool_stride),
		BOTH(test_rx_refill_ends_aligned),
		BOTH(test_lent_caches),
		BOTH(test_rx_frame_across_polls),
		BOTH(test_ctrl_commands),
		BOTH(test_ctrl_announce_ack),
		BOTH(test_mac_tables_empty_null),
		BOTH(test_ctrl_nak),
		BOTH(test_ctrl_silent_times_out),
		BOTH(test_ctrl_not_offered),
		BOTH(test_rss),
		BOTH(test_rss_without_mq_ctrl_queue),
		BOTH(test_link_status),
		BOTH(test_stats_and_xstats),
		BOTH(test_xstats_names_follow_header),
		BOTH(test_rx_evil_headers),
		BOTH(test_rx_partial_frame_at_close),
		BOTH(test_rx_queue_broken),
		BOTH(test_tx_queue_broken),
		BOTH(test_multiqueue_data_path),
		SPLIT(test_legacy_no_mrg),
		SPLIT(test_legacy_mrg),
		BOTH(test_in_order_plain_rings),
		BOTH(test_random_traffic_seed1),
		BOTH(test_random_traffic_evil),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
