/* SPDX-License-Identifier: MIT */
/*
 * virtio-net device set-up (spec 5.1): features, configuration, queue
 * pairs, link.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>
#include <uvio/dma.h>

#include "common/virtio_compat.h"
#include "net_internal.h"

/* Asked for always: they cost nothing unless used. */
static const uint64_t base_features =
	BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MTU) | BIT(VIRTIO_NET_F_STATUS) |
	BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_CTRL_VQ) |
	BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_VLAN) |
	BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT(VIRTIO_NET_F_MQ) |
	BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) | BIT(VIRTIO_NET_F_SPEED_DUPLEX) |
	BIT(VIRTIO_F_ANY_LAYOUT);

/* Offload → the features it needs (spec 5.1.3.1 dependencies). */
static const struct {
	uint32_t off;
	uint64_t need, also;
} offload_features[] = {
	{ UVIO_NET_OFF_TX_CSUM, BIT(VIRTIO_NET_F_CSUM), 0 },
	{ UVIO_NET_OFF_RX_CSUM, BIT(VIRTIO_NET_F_GUEST_CSUM), 0 },
	{ UVIO_NET_OFF_TSO, BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4),
	  BIT(VIRTIO_NET_F_HOST_TSO6) },
	{ UVIO_NET_OFF_LRO, BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |
	  BIT(VIRTIO_NET_F_MRG_RXBUF), BIT(VIRTIO_NET_F_GUEST_TSO6) },
	{ UVIO_NET_OFF_RSS, BIT(VIRTIO_NET_F_RSS) | BIT(VIRTIO_NET_F_CTRL_VQ),
	  BIT(VIRTIO_NET_F_HASH_REPORT) },
};

#define N_OFFLOADS (sizeof(offload_features) / sizeof(offload_features[0]))

static uint32_t offloads_in(uint64_t features)
{
	uint32_t offs = 0;

	for (unsigned i = 0; i < N_OFFLOADS; i++)
		if ((features & offload_features[i].need) == offload_features[i].need)
			offs |= offload_features[i].off;
	return offs;
}

static uint64_t wanted_features(const struct uvio_net_opts *o)
{
	uint64_t want = base_features | uvio_dev_ring_features();

	for (unsigned i = 0; i < N_OFFLOADS; i++)
		if (o->offloads & offload_features[i].off)
			want |= offload_features[i].need | offload_features[i].also;
	if (o->no_mrg_rxbuf)
		want &= ~BIT(VIRTIO_NET_F_MRG_RXBUF);
	return want & ~o->disable_features;
}

/* Spec 5.1.3.1: a feature whose requirement is not accepted may not be
 * accepted either; drop dependents until none is left dangling. */
static const struct {
	unsigned bit, needs;
} feature_deps[] = {
	{ VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_CSUM },
	{ VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_CSUM },
	{ VIRTIO_NET_F_GUEST_ECN, VIRTIO_NET_F_GUEST_TSO4 },
	{ VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_GUEST_CSUM },
	{ VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_CSUM },
	{ VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_CSUM },
	{ VIRTIO_NET_F_HOST_ECN, VIRTIO_NET_F_HOST_TSO4 },
	{ VIRTIO_NET_F_HOST_UFO, VIRTIO_NET_F_CSUM },
	{ VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_CTRL_VLAN, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_GUEST_ANNOUNCE, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_MQ, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_RSS, VIRTIO_NET_F_CTRL_VQ },
	{ VIRTIO_NET_F_HASH_REPORT, VIRTIO_NET_F_CTRL_VQ },
};

static uint64_t drop_dangling(uint64_t f)
{
	bool changed = true;

	while (changed) {
		changed = false;
		for (unsigned i = 0; i < sizeof(feature_deps) / sizeof(feature_deps[0]); i++)
			if ((f & BIT(feature_deps[i].bit)) && !(f & BIT(feature_deps[i].needs))) {
				f &= ~BIT(feature_deps[i].bit);
				changed = true;
			}
	}
	return f;
}

static int read_rss_config(struct uvio_net *net, struct uvio_err *err)
{
	struct uvio_net_info *in = &net->info;
	uint8_t key = 0;
	int rc = uvio_cfg_read(net->dev, UVIO_CFG(net, rss_max_key_size), &key, 1, err);

	in->rss_max_key_size = key;
	if (!rc)
		rc = uvio_cfg_read(net->dev, UVIO_CFG(net, rss_max_indirection_table_length),
				   &in->rss_max_indirection_table_length, 2, err);
	if (!rc)
		rc = uvio_cfg_read(net->dev, UVIO_CFG(net, supported_hash_types),
				   &in->supported_hash_types, 4, err);
	return rc;
}

/* Spec 5.1.4: each field only when its feature was negotiated. */
static int read_config(struct uvio_net *net, struct uvio_err *err)
{
	struct uvio_net_info *in = &net->info;
	int rc = 0;

	in->has_mac = uvio_has(net->dev, VIRTIO_NET_F_MAC);
	if (in->has_mac)
		rc = uvio_cfg_read(net->dev, UVIO_CFG(net, mac), in->mac, 6, err);
	in->mtu = 1500;
	if (!rc && uvio_has(net->dev, VIRTIO_NET_F_MTU))
		rc = uvio_cfg_read(net->dev, UVIO_CFG(net, mtu), &in->mtu, 2, err);
	in->max_queue_pairs = 1;
	/* Spec 5.1.2: N comes from max_virtqueue_pairs with MQ or RSS. */
	if (!rc && (uvio_has(net->dev, VIRTIO_NET_F_MQ) ||
		    uvio_has(net->dev, VIRTIO_NET_F_RSS)))
		rc = uvio_cfg_read(net->dev, UVIO_CFG(net, max_virtqueue_pairs),
				   &in->max_queue_pairs, 2, err);
	if (!rc && uvio_has(net->dev, VIRTIO_NET_F_RSS))
		rc = read_rss_config(net, err);
	if (rc)
		return rc;
	/* Spec 5.1.4.1: 1..0x8000 pairs, and an MTU of at least 68. */
	if (in->max_queue_pairs < 1 || in->max_queue_pairs > 0x8000)
		return uvio_err_set(err, -EIO, "%s: device reports %u queue pairs "
				    "(valid: 1..32768)", uvio_dev_name(net->dev),
				    in->max_queue_pairs);
	if (in->mtu < 68)
		return uvio_err_set(err, -EIO, "%s: device reports MTU %u (minimum 68)",
				    uvio_dev_name(net->dev), in->mtu);
	return 0;
}

/* The header layout (spec 5.1.6): 20 bytes with HASH_REPORT (the hash
 * fills uvio_pkt.rss_hash), 12 for VERSION_1 or MRG_RXBUF, the legacy 10
 * otherwise. */
static uint16_t header_len(const struct uvio_net *net)
{
	if (uvio_has(net->dev, VIRTIO_NET_F_HASH_REPORT))
		return sizeof(struct virtio_net_hdr_v1_hash);
	if (uvio_has(net->dev, VIRTIO_F_VERSION_1) || uvio_has(net->dev, VIRTIO_NET_F_MRG_RXBUF))
		return sizeof(struct virtio_net_hdr_mrg_rxbuf);
	return sizeof(struct virtio_net_hdr);
}

static int check_rx_room(const struct uvio_net *net, struct uvio_err *err)
{
	uint32_t frame = net->info.mtu + 14u + 4u;  /* + Ethernet + VLAN tag */

	if (net->info.mrg_rxbuf || net->rx_pool->data_room >= frame)
		return 0;
	return uvio_err_set(err, -EINVAL, "%s: MTU %u needs %u-byte rx buffers "
			    "without mergeable rx buffers; the pool has %u",
			    uvio_dev_name(net->dev), net->info.mtu, frame,
			    net->rx_pool->data_room);
}

/* Counters and lent caches survive a reinit: they are the application's. */
static int alloc_queues(struct uvio_net *net, uint16_t pairs, struct uvio_err *err)
{
	net->rxq = calloc(pairs, sizeof(*net->rxq));
	net->txq = calloc(pairs, sizeof(*net->txq));
	if (net->stats && net->stats_pairs != pairs) {
		free(net->stats);
		free(net->xstat_names);
		free(net->lent);
		net->stats = NULL;
		net->xstat_names = NULL;
		net->lent = NULL;
	}
	if (!net->stats)
		net->stats = calloc(pairs, sizeof(*net->stats));
	if (!net->lent)
		net->lent = calloc(pairs, sizeof(*net->lent));
	net->stats_pairs = pairs;
	if (!net->rxq || !net->txq || !net->stats || !net->lent)
		return uvio_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* Queues 2q (rx) and 2q+1 (tx) for each pair q (spec 5.1.2). */
static int setup_pair(struct uvio_net *net, uint16_t q, const struct uvio_net_opts *o,
		      struct uvio_err *err)
{
	struct net_rxq *rx = &net->rxq[q];
	struct net_txq *tx = &net->txq[q];
	int rc = uvio_dev_setup_queue(net->dev, (uint16_t)(2 * q), o->rx_queue_size,
				      0, &rx->vq);

	if (!rc)
		rc = uvio_dev_setup_queue(net->dev, (uint16_t)(2 * q + 1),
					  o->tx_queue_size, 32, &tx->vq);
	if (rc)
		return uvio_err_set(err, rc, "%s", uvio_dev_error(net->dev));
	rx->st = tx->st = &net->stats[q];
	rx->own = uvio_pkt_cache_create(net->rx_pool, 256);
	tx->own = uvio_pkt_cache_create(net->rx_pool, 256);
	if (!rx->own || !tx->own)
		return uvio_err_set(err, -ENOMEM, "out of memory");
	rx->cache = net->lent[q].rx ? net->lent[q].rx : rx->own;
	tx->cache = net->lent[q].tx ? net->lent[q].tx : tx->own;
	return 0;
}

static int setup_queues(struct uvio_net *net, const struct uvio_net_opts *o,
			struct uvio_err *err)
{
	struct uvio_net_info *in = &net->info;
	uint16_t want = o->queue_pairs ? o->queue_pairs : 1;
	int rc;

	in->queue_pairs = want < in->max_queue_pairs ? want : in->max_queue_pairs;
	if (!in->ctrl_vq && in->queue_pairs > 1)
		in->queue_pairs = 1;  /* more pairs need MQ_VQ_PAIRS_SET */
	rc = alloc_queues(net, in->queue_pairs, err);
	if (!rc && !net->xstat_names && uvio_net_xstats_init(net))
		rc = uvio_err_set(err, -ENOMEM, "out of memory");
	for (uint16_t q = 0; !rc && q < in->queue_pairs; q++)
		rc = setup_pair(net, q, o, err);
	if (!rc && in->ctrl_vq && (rc = uvio_net_ctrl_init(net)))
		uvio_err_set(err, rc, "%s", net->error);
	if (rc)
		return rc;
	in->rx_queue_size = uvio_vq_size(net->rxq[0].vq);
	in->tx_queue_size = uvio_vq_size(net->txq[0].vq);
	in->packed = uvio_vq_is_packed(net->rxq[0].vq);
	in->simd_bitwidth = uvio_vq_simd_bitwidth(net->rxq[0].vq);
	return 0;
}

static int start(struct uvio_net *net, struct uvio_err *err)
{
	int rc = 0;

	/* Spec 5.1.5: rx buffers go in before DRIVER_OK, so nothing arriving
	 * first is dropped; the notification must wait for it (3.1.1). */
	for (uint16_t q = 0; q < net->info.queue_pairs; q++)
		uvio_net_rxq_fill(net, &net->rxq[q], false);
	if ((rc = uvio_dev_start(net->dev)))
		return uvio_err_set(err, rc, "%s", uvio_dev_error(net->dev));
	for (uint16_t q = 0; q < net->info.queue_pairs; q++)
		uvio_vq_kick(net->rxq[q].vq);
	if (net->info.queue_pairs > 1 || uvio_has(net->dev, VIRTIO_NET_F_MQ))
		rc = uvio_net_set_queue_pairs(net, net->info.queue_pairs);
	if (rc && net->info.queue_pairs > 1)
		return uvio_err_set(err, rc, "%s: device refused %u queue pairs",
				    uvio_dev_name(net->dev), net->info.queue_pairs);
	if ((net->info.offloads & UVIO_NET_OFF_RSS) && (rc = uvio_net_rss_default(net)))
		return uvio_err_set(err, rc, "%s: device refused the RSS configuration",
				    uvio_dev_name(net->dev));
	return 0;
}

static int negotiate(struct uvio_net *net, const struct uvio_net_opts *o,
		     struct uvio_err *err)
{
	struct uvio_net_info *in = &net->info;
	uint64_t want = drop_dangling(wanted_features(o) & uvio_dev_device_features(net->dev));
	int rc = uvio_dev_negotiate(net->dev, want, &in->features);

	if (rc)
		return uvio_err_set(err, rc, "%s", uvio_dev_error(net->dev));
	in->offloads_offered = offloads_in(uvio_dev_device_features(net->dev) |
					   BIT(VIRTIO_NET_F_CTRL_VQ));
	in->offloads = offloads_in(in->features) & o->offloads;
	in->ctrl_vq = uvio_has(net->dev, VIRTIO_NET_F_CTRL_VQ);
	in->mrg_rxbuf = uvio_has(net->dev, VIRTIO_NET_F_MRG_RXBUF);
	net->hdr_len = header_len(net);
	return 0;
}

/* Spec 3.1.1 steps 4-8 for a device at ACKNOWLEDGE|DRIVER. */
static int bring_up(struct uvio_net *net, struct uvio_err *err)
{
	int rc = negotiate(net, &net->opts, err);

	if (!rc)
		rc = read_config(net, err);
	if (!rc)
		rc = check_rx_room(net, err);
	if (!rc)
		rc = setup_queues(net, &net->opts, err);
	if (!rc)
		rc = start(net, err);
	if (rc)
		uvio_dev_fail(net->dev);
	return rc;
}

/* After a reset: every buffer back to its pool, queue memory freed. */
static void drop_queues(struct uvio_net *net)
{
	for (uint16_t q = 0; net->rxq && q < net->info.queue_pairs; q++) {
		if (net->rxq[q].vq)
			uvio_net_rxq_drain(net, &net->rxq[q]);
		if (net->txq[q].vq)
			uvio_net_txq_drain(&net->txq[q]);
		uvio_pkt_cache_destroy(net->rxq[q].own);
		uvio_pkt_cache_destroy(net->txq[q].own);
	}
	uvio_net_ctrl_fini(net);
	free(net->rxq);
	free(net->txq);
	net->rxq = NULL;
	net->txq = NULL;
	net->ctrl.vq = NULL;
}

int uvio_net_open(struct uvio_dev *dev, const struct uvio_net_opts *o,
		  struct uvio_net **out, struct uvio_err *err)
{
	struct uvio_net *net;
	int rc;

	if (!o || !o->rx_pool) {
		uvio_dev_destroy(dev);
		return uvio_err_set(err, -EINVAL, "uvio_net_open needs opts.rx_pool");
	}
	rc = uvio_dev_expect_type(dev, VIRTIO_ID_NET, err);
	if (rc) {
		uvio_dev_destroy(dev);
		return rc;
	}
	net = calloc(1, sizeof(*net));
	if (!net) {
		uvio_dev_destroy(dev);
		return uvio_err_set(err, -ENOMEM, "out of memory");
	}
	net->dev = dev;
	net->opts = *o;
	net->rx_pool = o->rx_pool;
	rc = bring_up(net, err);
	if (rc) {
		uvio_net_close(net);
		return rc;
	}
	*out = net;
	return 0;
}

void uvio_net_close(struct uvio_net *net)
{
	if (!net)
		return;
	/* Reset first, so the device lets go of the buffers we free. */
	uvio_dev_reset(net->dev);
	drop_queues(net);
	uvio_dev_destroy(net->dev);
	free(net->stats);
	free(net->xstat_names);
	free(net->lent);
	free(net);
}

int uvio_net_check(struct uvio_net *net)
{
	return uvio_dev_check(net->dev);
}

int uvio_net_reinit(struct uvio_net *net, struct uvio_err *err)
{
	int rc = uvio_dev_reset(net->dev);

	if (rc)
		return uvio_err_set(err, rc, "%s", uvio_dev_error(net->dev));
	drop_queues(net);
	rc = uvio_dev_reinit(net->dev, NULL, NULL);
	if (rc)
		return uvio_err_set(err, rc, "%s", uvio_dev_error(net->dev));
	return bring_up(net, err);
}

const struct uvio_net_info *uvio_net_get_info(const struct uvio_net *net)
{
	return &net->info;
}

struct uvio_dev *uvio_net_dev(const struct uvio_net *net)
{
	return net->dev;
}

int uvio_net_get_link(struct uvio_net *net, struct uvio_net_link *link)
{
	uint16_t status = VIRTIO_NET_S_LINK_UP;
	uint32_t speed = UINT32_MAX;
	uint8_t duplex = 0xff;
	int rc = 0;

	if (uvio_has(net->dev, VIRTIO_NET_F_STATUS))
		rc = uvio_dev_read_config(net->dev, UVIO_CFG(net, status), &status, 2);
	if (!rc && uvio_has(net->dev, VIRTIO_NET_F_SPEED_DUPLEX)) {
		rc = uvio_dev_read_config(net->dev, UVIO_CFG(net, speed), &speed, 4);
		if (!rc)
			rc = uvio_dev_read_config(net->dev, UVIO_CFG(net, duplex), &duplex, 1);
	}
	if (rc)
		return rc;
	link->up = status & VIRTIO_NET_S_LINK_UP;
	link->announce = uvio_has(net->dev, VIRTIO_NET_F_GUEST_ANNOUNCE) &&
			 (status & VIRTIO_NET_S_ANNOUNCE);
	link->speed_mbps = speed <= INT32_MAX ? speed : UINT32_MAX;
	link->duplex = duplex <= 1 ? duplex : 0xff;
	return 0;
}

int uvio_net_queue_caches(struct uvio_net *net, uint16_t q, struct uvio_pkt_cache *rx_cache,
			  struct uvio_pkt_cache *tx_cache)
{
	if (!net->rxq || q >= net->info.queue_pairs ||
	    (rx_cache && rx_cache->pool != net->rx_pool))
		return -EINVAL;
	net->lent[q] = (struct net_lent){ rx_cache, tx_cache };
	net->rxq[q].cache = rx_cache ? rx_cache : net->rxq[q].own;
	net->txq[q].cache = tx_cache ? tx_cache : net->txq[q].own;
	return 0;
}
