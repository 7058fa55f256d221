/* SPDX-License-Identifier: MIT */
/* Inside the virtio-net driver, shared by its files. */
#ifndef UVIO_NET_INTERNAL_H
#define UVIO_NET_INTERNAL_H

#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <uvio/net.h>
#include <uvio/vring.h>

#define NET_BURST 64           /* refill/cleanup batch, and the used-read burst */
#define PKT_META 128           /* struct uvio_pkt, rounded to two cache lines */

struct uvio_pktpool {
	struct uvio_pool *pool;
	uint16_t data_room;
};

struct uvio_pkt_cache {
	struct uvio_pktpool *pool;
	struct uvio_pool_cache *cache;
};

struct net_rxq {
	struct uvio_vq *vq;
	struct uvio_pkt_cache *cache;   /* the pool cache refill uses */
	struct uvio_pkt_cache *own;     /* the queue's own (cache, unless lent one) */
	/* A mergeable frame whose buffers are not all used yet (spec 5.1.6.4:
	 * num_buffers entries, which the device may publish across polls). */
	struct uvio_pkt *partial, *partial_tail;
	uint16_t partial_left;
	struct uvio_net_queue_stats *st;
};

struct net_txq {
	struct uvio_vq *vq;
	struct uvio_pkt_cache *cache;   /* where sent frames go back */
	struct uvio_pkt_cache *own;
	struct uvio_net_queue_stats *st;
};

struct net_ctrl {
	struct uvio_vq *vq;
	uint8_t *buf;                   /* DMA: header, data, ack */
	uint64_t iova;
};

struct uvio_net {
	struct uvio_dev *dev;
	struct uvio_net_info info;
	struct uvio_pktpool *rx_pool;
	uint16_t hdr_len;               /* virtio-net header on the wire */
	struct net_rxq *rxq;
	struct net_txq *txq;
	struct uvio_net_opts opts;      /* as opened, for reinit */
	struct uvio_net_queue_stats *stats;  /* per queue pair */
	struct net_lent {                    /* per queue pair: the caller's caches */
		struct uvio_pkt_cache *rx, *tx;
	} *lent;
	uint16_t stats_pairs;                /* pairs in stats and lent */
	struct net_ctrl ctrl;
	char (*xstat_names)[32];      /* q<N>_<counter>, for get_xstats */
	char error[UVIO_ERR_MSG_MAX];
	char ctrl_why[UVIO_ERR_MSG_MAX];  /* the last control call's error */
};

int uvio_net_rxq_fill(struct uvio_net *net, struct net_rxq *rxq, bool kick);
void uvio_net_rxq_drain(struct uvio_net *net, struct net_rxq *rxq);
void uvio_net_txq_drain(struct net_txq *txq);
int uvio_net_ctrl_init(struct uvio_net *net);
int uvio_net_xstats_init(struct uvio_net *net);
void uvio_net_ctrl_fini(struct uvio_net *net);
int uvio_net_ctrl_cmd(struct uvio_net *net, uint8_t cls, uint8_t cmd,
		      const void *data, uint32_t len);
/* rss.c: key and table over every pair in use (UVIO_NET_OFF_RSS). */
int uvio_net_rss_default(struct uvio_net *net);
/* ctrl_emul.c: the transport answers control commands itself. */
bool uvio_net_ctrl_emulated(const struct uvio_net *net);
int uvio_net_ctrl_emul(struct uvio_net *net, uint8_t cls, uint8_t cmd,
		       const void *data, uint32_t len);

#endif
