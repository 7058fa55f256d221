/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net data path: rx and tx bursts (spec 5.1.6). Hot: no locks,
 * no allocation beyond the pool cache, one kick per burst.
 */
#include <errno.h>
#include <string.h>

#include "net_internal.h"

/* ---- rx ---- */

/* Post empty buffers in one call: the device writes the header just
 * before each frame's place, so the frame lands at data_off. */
static int rx_post(struct uvio_net *net, struct net_rxq *rxq,
		   struct uvio_pkt **pkts, unsigned n)
{
	struct uvio_sg sg[NET_BURST];

	for (unsigned i = 0; i < n; i++) {
		uint16_t off = (uint16_t)(pkts[i]->data_off - net->hdr_len);

		sg[i] = (struct uvio_sg){ pkts[i]->buf_iova + off,
					  (uint32_t)(pkts[i]->buf_len - off) };
	}
	return uvio_vq_add_bufs(rxq->vq, sg, (void *const *)pkts, n, true);
}

/* Fill the free room, up to a slot that is a multiple of 4: a back-end
 * that takes descriptors 4 at a time (one cache line) then always finds a
 * whole group or none, never a part that puts it off its batch path. */
int uvio_net_rxq_fill(struct uvio_net *net, struct net_rxq *rxq, bool kick)
{
	struct uvio_pkt *pkts[NET_BURST];
	unsigned room = uvio_vq_num_free(rxq->vq), posted = 0;
	unsigned end = uvio_vq_next_slot(rxq->vq) + room;

	if (room > (end & 3))
		room -= end & 3;

	while (room) {
		unsigned n = room < NET_BURST ? room : NET_BURST;

		/* All-or-nothing bulk; near empty, take them one at a time. */
		if (!uvio_pkt_alloc_bulk(net->rx_pool, rxq->cache, pkts, n)) {
			n = uvio_pkt_alloc_bulk(net->rx_pool, rxq->cache, pkts, 1);
			if (!n) {
				rxq->st->rx_nobuf++;
				break;
			}
		}
		if (rx_post(net, rxq, pkts, n)) {   /* broken meanwhile */
			uvio_pkt_free_bulk(rxq->cache, pkts, n);
			break;
		}
		room -= n;
		posted += n;
	}
	if (posted && kick)
		uvio_vq_kick(rxq->vq);
	return (int)posted;
}

void uvio_net_rxq_drain(struct uvio_net *net, struct net_rxq *rxq)
{
	void *cookie;

	(void)net;
	if (rxq->partial)
		uvio_pkt_free_bulk(rxq->cache, &rxq->partial, 1);
	rxq->partial = NULL;
	while ((cookie = uvio_vq_detach_unused(rxq->vq))) {
		struct uvio_pkt *p = cookie;

		uvio_pkt_free_bulk(rxq->cache, &p, 1);
	}
}

static void rx_offloads(struct uvio_pkt *p, const struct virtio_net_hdr *h)
{
	uint32_t f = 0;

	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		f |= UVIO_PKT_RX_CSUM_NONE;
		p->csum_start = h->csum_start;
		p->csum_offset = h->csum_offset;
	} else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		f |= UVIO_PKT_RX_CSUM_OK;
	}
	if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE) {
		f |= UVIO_PKT_RX_LRO;
		p->tso_segsz = h->gso_size;
	}
	p->ol_flags = f;
}

/* Spec 5.1.6.4.3.4: hash_report says which hash the device computed;
 * NONE (and values this driver does not know) leave rss_hash unset. */
static void rx_hash(struct uvio_pkt *p, const struct virtio_net_hdr_v1_hash *h)
{
	uint16_t report = h->hash_report;

	if (report == VIRTIO_NET_HASH_REPORT_NONE || report > VIRTIO_NET_HASH_REPORT_UDPv6_EX)
		return;
	p->rss_hash = h->hash_value;
	p->ol_flags |= UVIO_PKT_RX_RSS_HASH;
}

static void rx_drop(struct net_rxq *rxq, struct uvio_pkt *p)
{
	rxq->st->rx_errors++;
	uvio_pkt_free_bulk(rxq->cache, &p, 1);
}

/* A further buffer of a mergeable frame: frame bytes from its start. */
static int rx_continue(struct uvio_net *net, struct net_rxq *rxq,
		       struct uvio_pkt *p, uint32_t len, struct uvio_pkt **out)
{
	struct uvio_pkt *head = rxq->partial;

	p->data_off = (uint16_t)(p->data_off - net->hdr_len);
	p->data_len = (uint16_t)len;
	rxq->partial_tail->next = p;
	rxq->partial_tail = p;
	head->nb_segs++;
	head->pkt_len += len;
	if (--rxq->partial_left)
		return 0;
	rxq->partial = NULL;
	*out = head;
	return 1;
}

/* One used buffer; returns 1 when it completed a frame into *out. The
 * header is the device's: num_buffers is bounded before it is believed.
 * Only the fields that say something are read (num_buffers, rx offloads):
 * a header line left unread stays in the device's cache. */
static int rx_one(struct uvio_net *net, struct net_rxq *rxq, struct uvio_pkt *p,
		  uint32_t len, struct uvio_pkt **out)
{
	const struct virtio_net_hdr_mrg_rxbuf *h;
	uint16_t nbufs = 1;

	if (rxq->partial)
		return rx_continue(net, rxq, p, len, out);
	if (len < net->hdr_len) {
		rx_drop(rxq, p);
		return 0;
	}
	h = (const void *)((char *)p + p->data_off - net->hdr_len);
	if (net->info.mrg_rxbuf) {
		nbufs = *(volatile const uint16_t *)&h->num_buffers;
		if (nbufs == 0 || nbufs > uvio_vq_size(rxq->vq)) {
			rx_drop(rxq, p);
			return 0;
		}
	}
	if (net->info.offloads & (UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO))
		rx_offloads(p, &h->hdr);
	if (net->hdr_len == sizeof(struct virtio_net_hdr_v1_hash))
		rx_hash(p, (const void *)h);
	p->data_len = (uint16_t)(len - net->hdr_len);
	p->pkt_len = p->data_len;
	if (nbufs == 1) {
		*out = p;
		return 1;
	}
	rxq->partial = rxq->partial_tail = p;
	rxq->partial_left = (uint16_t)(nbufs - 1);
	return 0;
}

uint16_t uvio_net_rx_burst(struct uvio_net *net, uint16_t q,
			   struct uvio_pkt **pkts, uint16_t n)
{
	struct net_rxq *rxq = &net->rxq[q];
	struct uvio_vq_used used[NET_BURST];
	uint16_t got = 0;
	uint64_t bytes = 0;

	while (got < n) {
		unsigned want = n - got < NET_BURST ? n - got : NET_BURST;
		int m = uvio_vq_get_used(rxq->vq, used, want);

		for (int i = 0; i < m; i++) {
			if (!rx_one(net, rxq, used[i].cookie, used[i].len, &pkts[got]))
				continue;
			pkts[got]->rx_queue = q;
			bytes += pkts[got]->pkt_len;
			got++;
		}
		if (m < (int)want)
			break;
	}
	rxq->st->rx_packets += got;
	rxq->st->rx_bytes += bytes;
	if (uvio_vq_num_free(rxq->vq) >= NET_BURST / 2 && !uvio_vq_is_broken(rxq->vq))
		uvio_net_rxq_fill(net, rxq, true);
	return got;
}

/* ---- tx ---- */

static void tx_cleanup(struct net_txq *txq)
{
	struct uvio_vq_used used[NET_BURST];
	struct uvio_pkt *done[NET_BURST];
	int m = uvio_vq_get_used(txq->vq, used, NET_BURST);

	for (int i = 0; i < m; i++)
		done[i] = used[i].cookie;
	if (m > 0)
		uvio_pkt_free_bulk(txq->cache, done, (unsigned)m);
}

void uvio_net_txq_drain(struct net_txq *txq)
{
	void *cookie;

	while ((cookie = uvio_vq_detach_unused(txq->vq))) {
		struct uvio_pkt *p = cookie;

		uvio_pkt_free_bulk(txq->cache, &p, 1);
	}
}

/* Spec 5.1.6.2: a sent frame's hash fields are the driver's to leave 0. */
static void tx_hash_clear(struct virtio_net_hdr_v1_hash *h)
{
	if (h->hash_value || h->hash_report || h->padding) {
		h->hash_value = 0;
		h->hash_report = 0;
		h->padding = 0;
	}
}

/* The header in the headroom (spec 5.1.6.2): offloads, or all zero. */
static int tx_header(const struct uvio_net *net, struct uvio_pkt *p,
		     struct virtio_net_hdr_mrg_rxbuf *h)
{
	uint32_t offloads = net->info.offloads;
	struct virtio_net_hdr v = { 0 };

	if ((p->ol_flags & (UVIO_PKT_TX_CSUM | UVIO_PKT_TX_TSO4 | UVIO_PKT_TX_TSO6)) &&
	    (offloads & (UVIO_NET_OFF_TX_CSUM | UVIO_NET_OFF_TSO))) {
		v.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		v.csum_start = p->csum_start;
		v.csum_offset = p->csum_offset;
	}
	if ((p->ol_flags & (UVIO_PKT_TX_TSO4 | UVIO_PKT_TX_TSO6)) &&
	    (offloads & UVIO_NET_OFF_TSO)) {
		bool v4 = p->ol_flags & UVIO_PKT_TX_TSO4;

		/* Spec 5.1.6.2.1: a GSO type only with its HOST_TSO feature. */
		if (!uvio_dev_has_feature(net->dev, v4 ? VIRTIO_NET_F_HOST_TSO4
						       : VIRTIO_NET_F_HOST_TSO6))
			return -ENOTSUP;
		v.gso_type = v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
		v.gso_size = p->tso_segsz;
		v.hdr_len = p->hdr_len;
	}
	/* Store only what changed: the back-end reads this line (DPDK's vhost
	 * prefetches it), and a store would have to take the line back from
	 * it for every frame. A legacy device without MRG_RXBUF has a 10-byte
	 * header: clearing 12 would eat the frame's first bytes. */
	if (memcmp(&h->hdr, &v, sizeof(v)))
		h->hdr = v;
	if (net->hdr_len >= sizeof(*h) && h->num_buffers)
		h->num_buffers = 0;
	if (net->hdr_len == sizeof(struct virtio_net_hdr_v1_hash))
		tx_hash_clear((struct virtio_net_hdr_v1_hash *)(void *)h);
	return 0;
}

#define TX_MAX_SEGS 64

/* One frame: header and first segment in one descriptor, then the rest. */
static int tx_one(struct uvio_net *net, struct net_txq *txq, struct uvio_pkt *p)
{
	struct uvio_sg sg[TX_MAX_SEGS];
	unsigned n = 1;

	if (p->data_off < net->hdr_len || p->nb_segs > TX_MAX_SEGS)
		return -EINVAL;
	if (tx_header(net, p, (void *)((char *)p + p->data_off - net->hdr_len)))
		return -ENOTSUP;
	if (!p->next)  /* one descriptor per frame: header and data together */
		return uvio_vq_add_one(txq->vq, p->buf_iova + p->data_off - net->hdr_len,
				       (uint32_t)p->data_len + net->hdr_len, false, p);
	sg[0] = (struct uvio_sg){ p->buf_iova + p->data_off - net->hdr_len,
				  (uint32_t)p->data_len + net->hdr_len };
	for (struct uvio_pkt *s = p->next; s; s = s->next) {
		if (n == TX_MAX_SEGS)
			return -EINVAL;
		sg[n++] = (struct uvio_sg){ s->buf_iova + s->data_off, s->data_len };
	}
	return uvio_vq_add(txq->vq, sg, n, 0, p);
}

/* One-segment frames gathered for one uvio_vq_add_bufs() call. */
struct tx_batch {
	struct uvio_sg sg[NET_BURST];
	void *frames[NET_BURST];
	unsigned n;
	uint64_t bytes;
};

/* The common frame: one segment with room for the header, which is
 * written here. Everything else takes tx_one(). */
static bool tx_batchable(const struct uvio_net *net, struct uvio_pkt *p)
{
	return !p->next && p->data_off >= net->hdr_len &&
	       !tx_header(net, p, (void *)((char *)p + p->data_off - net->hdr_len));
}

static void tx_batch_add(struct tx_batch *b, const struct uvio_net *net,
			 struct uvio_pkt *p)
{
	b->sg[b->n] = (struct uvio_sg){ p->buf_iova + p->data_off - net->hdr_len,
					(uint32_t)p->data_len + net->hdr_len };
	b->frames[b->n++] = p;
	b->bytes += p->pkt_len;
}

/* Post the batch. On failure (the queue broke) its frames stay in it,
 * still the caller's. */
static int tx_flush(struct net_txq *txq, struct tx_batch *b, uint16_t *sent,
		    uint64_t *bytes)
{
	if (!b->n)
		return 0;
	if (uvio_vq_add_bufs(txq->vq, b->sg, b->frames, b->n, false))
		return -1;
	*sent = (uint16_t)(*sent + b->n);
	*bytes += b->bytes;
	b->n = 0;
	b->bytes = 0;
	return 0;
}

uint16_t uvio_net_tx_burst(struct uvio_net *net, uint16_t q,
			   struct uvio_pkt **pkts, uint16_t n)
{
	struct net_txq *txq = &net->txq[q];
	struct tx_batch b;  /* not zeroed: 768 bytes, per call */
	uint64_t bytes = 0;
	uint16_t i, sent = 0, taken;
	unsigned room;

	if (uvio_vq_num_free(txq->vq) < n || uvio_vq_in_flight(txq->vq) >= NET_BURST)
		tx_cleanup(txq);
	room = uvio_vq_num_free(txq->vq);
	b.n = 0;
	b.bytes = 0;
	for (i = 0; i < n && room; i++) {   /* full: stop before the next header */
		int rc;

		if (tx_batchable(net, pkts[i])) {
			tx_batch_add(&b, net, pkts[i]);
			room--;
			if (b.n == NET_BURST && tx_flush(txq, &b, &sent, &bytes)) {
				taken = (uint16_t)(i + 1 - b.n);
				goto out;
			}
			continue;
		}
		if (tx_flush(txq, &b, &sent, &bytes)) {  /* keep the frames in order */
			taken = (uint16_t)(i - b.n);
			goto out;
		}
		rc = tx_one(net, txq, pkts[i]);
		room = uvio_vq_num_free(txq->vq);
		if (rc == -ENOSPC || rc == -EIO)
			break;  /* ring full or broken: the rest stay the caller's */
		if (rc) {
			txq->st->tx_errors++;
			uvio_pkt_free_bulk(txq->cache, &pkts[i], 1);
			continue;
		}
		bytes += pkts[i]->pkt_len;
		sent++;
	}
	taken = tx_flush(txq, &b, &sent, &bytes) ? (uint16_t)(i - b.n) : i;
out:
	if (sent)
		uvio_vq_kick(txq->vq);
	txq->st->tx_packets += sent;
	txq->st->tx_bytes += bytes;
	return taken;
}

unsigned uvio_net_tx_pending(struct uvio_net *net, uint16_t q)
{
	struct net_txq *txq = &net->txq[q];

	tx_cleanup(txq);
	return uvio_vq_in_flight(txq->vq);
}

void uvio_net_tx_drop(struct uvio_net *net, uint16_t q, struct uvio_pkt **pkts,
		      uint16_t n)
{
	net->txq[q].st->tx_drops += n;
	uvio_pkt_free_bulk(net->txq[q].cache, pkts, n);
}

const char *uvio_net_queue_error(const struct uvio_net *net, uint16_t q)
{
	if (q >= net->info.queue_pairs)
		return "no such queue pair";
	if (uvio_vq_is_broken(net->rxq[q].vq))
		return uvio_vq_error(net->rxq[q].vq);
	return uvio_vq_error(net->txq[q].vq);
}
