/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture of the tests/unit/test_net_*.c suites: pmd/net through
 * the model transport (tests/model/model_net.c), a virtio-net device in the
 * same process that captures what the driver sends, receives frames a test
 * injects, and answers control commands. Every test runs on a split and on
 * a packed ring, except where a layout does not apply, and ends by checking
 * that the model saw no driver violation of the spec and that every packet
 * is back in its pool.
 *
 * DMA memory is 4K pinned (IOVA == VA), set up once per binary
 * (group_setup). Helpers are static inline: each binary uses some.
 */
#ifndef UVIO_TESTS_NET_FIXTURE_H
#define UVIO_TESTS_NET_FIXTURE_H

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
#include "model_fixture.h"

#define BIT(b) (1ULL << (b))
#define RX_POOL 1024
#define TX_POOL 1024
#define ROOM 2048
#define BURST 32

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

static inline int fx_setup(void **state)
{
	const struct layout *l = *state;
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->packed = l->packed;
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
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

static inline struct model_net_cfg base_cfg(const struct fx *f)
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

static inline void pools(struct fx *f, unsigned rx_count)
{
	struct uvio_err err = { 0 };

	if (!f->rx_pool && uvio_pktpool_create("rx", rx_count, ROOM, -1, &f->rx_pool, &err))
		fail_msg("rx pool: %s", err.msg);
	if (!f->tx_pool && uvio_pktpool_create("tx", TX_POOL, ROOM, -1, &f->tx_pool, &err))
		fail_msg("tx pool: %s", err.msg);
	f->rx_start = uvio_pktpool_avail(f->rx_pool);
	f->tx_start = uvio_pktpool_avail(f->tx_pool);
}

static inline int open_cfg(struct fx *f, const struct model_net_cfg *cfg,
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

static inline void open_ok(struct fx *f, const struct model_net_cfg *cfg, struct uvio_net_opts *o)
{
	struct uvio_err err = { 0 };
	struct uvio_net_opts none = { 0 };
	int rc = open_cfg(f, cfg, o ? o : &none, &err);

	if (rc)
		fail_msg("uvio_net_open: %d %s", rc, err.msg);
}

static inline void open_base(struct fx *f)
{
	struct model_net_cfg cfg = base_cfg(f);

	open_ok(f, &cfg, NULL);
}

static inline void assert_clean(struct fx *f)
{
	if (model_dev_violations(f->m))
		fail_msg("device saw %u violation(s); first: %s",
			 model_dev_violations(f->m), model_dev_error(f->m));
}

/* Close; then every packet is back in its pool and the model is clean. */
static inline void finish(struct fx *f)
{
	uvio_net_close(f->net);
	f->net = NULL;
	assert_int_equal(uvio_pktpool_avail(f->rx_pool), f->rx_start);
	assert_int_equal(uvio_pktpool_avail(f->tx_pool), f->tx_start);
	assert_clean(f);
}

static inline struct uvio_pkt *pkt(struct fx *f, uint16_t len, uint32_t seed)
{
	struct uvio_pkt *p;

	assert_int_equal(uvio_pkt_alloc_bulk(f->tx_pool, NULL, &p, 1), 1);
	fill(uvio_pkt_data(p), len, seed);
	p->data_len = len;
	p->pkt_len = len;
	return p;
}

/* A frame of n segments of the given lengths; *flat gets its bytes. */
static inline struct uvio_pkt *chain(struct fx *f, const uint16_t *lens, unsigned n,
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
static inline uint32_t gather(struct uvio_pkt *p, uint8_t *out)
{
	uint32_t n = 0;

	for (; p; p = p->next) {
		memcpy(out + n, uvio_pkt_data(p), p->data_len);
		n += p->data_len;
	}
	return n;
}

static inline unsigned rx_all(struct fx *f, uint16_t q, struct uvio_pkt **pkts, unsigned max)
{
	unsigned got = 0;

	for (int i = 0; i < 8 && got < max; i++)
		got += uvio_net_rx_burst(f->net, q, pkts + got, (uint16_t)(max - got));
	return got;
}

static const struct virtio_net_hdr_mrg_rxbuf zero_hdr;

#endif
