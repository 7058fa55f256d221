/* SPDX-License-Identifier: MIT */
/*
 * A virtio-net device (spec 5.1) for the model transport: the frames the
 * driver transmits are captured, frames a test injects are received into
 * the driver's buffers, and the control queue answers and records commands.
 *
 * The device checks the driver's side of 5.1.6.2.1 (transmit headers),
 * 5.1.6.3.1 (receive buffers) and 5.1.6.5 (control commands) and records
 * what it breaks as a violation.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model_dev.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif
#ifndef VIRTIO_NET_F_HOST_USO
#define VIRTIO_NET_F_HOST_USO 56
#endif
#ifndef VIRTIO_NET_F_HASH_REPORT
#define VIRTIO_NET_F_HASH_REPORT 57
#endif
#ifndef VIRTIO_NET_F_RSS
#define VIRTIO_NET_F_RSS 60
#endif

#define CFG(field) offsetof(struct virtio_net_config, field)
#define MAX_PAIRS ((MODEL_MAX_QUEUES - 1) / 2)
#define ETH_HDR_MAX 18u  /* Ethernet header with one VLAN tag */

struct rx_frame {
	struct rx_frame *next;
	uint8_t *bytes;              /* header, then frame */
	uint32_t len;                /* frame bytes (without the header) */
	struct virtio_net_hdr hdr;
	enum model_net_rx_evil evil;
	int arg;
};

struct rx_wait {
	struct rx_frame *head, *tail;
	unsigned n;
	unsigned deferred;           /* buffers written, not yet used (split) */
	uint32_t deferred_len[64];
};

struct model_net {
	struct model_dev *m;
	struct model_net_cfg cfg;
	struct virtio_net_config config;
	struct model_net_frame *tx;
	unsigned ntx, tx_cap;
	bool tx_hold;
	struct model_net_cmd *cmds;
	unsigned ncmds, cmd_cap;
	enum model_net_ctrl_mode ctrl_mode;
	struct model_net_state st;
	struct rx_wait rx[MAX_PAIRS];
	bool rx_split;
	enum model_net_rx_evil rx_evil;
	int rx_evil_arg;
	unsigned rx_evil_left;
	unsigned rx_dropped;
};

enum role { ROLE_NONE, ROLE_RX, ROLE_TX, ROLE_CTRL };

static bool has(const struct model_net *n, unsigned bit)
{
	return model_dev_has(n->m, bit);
}

/* Spec 5.1.2: N pairs when MQ or RSS is negotiated, else one; the control
 * queue comes after them. */
static uint16_t npairs(const struct model_net *n)
{
	return has(n, VIRTIO_NET_F_MQ) || has(n, VIRTIO_NET_F_RSS) ? n->config.max_virtqueue_pairs : 1;
}

static enum role role_of(const struct model_net *n, uint16_t q)
{
	uint16_t pairs = npairs(n);

	if (q < 2 * pairs)
		return q % 2 ? ROLE_TX : ROLE_RX;
	if (q == 2 * pairs && has(n, VIRTIO_NET_F_CTRL_VQ))
		return ROLE_CTRL;
	return ROLE_NONE;
}

uint16_t model_net_hdr_len(const struct model_net *n)
{
	/* 5.1.6: 20 bytes with HASH_REPORT, 12 with VERSION_1 or MRG_RXBUF,
	 * the legacy 10 without. */
	if (has(n, VIRTIO_NET_F_HASH_REPORT))
		return sizeof(struct virtio_net_hdr_v1_hash);
	if (has(n, VIRTIO_F_VERSION_1) || has(n, VIRTIO_NET_F_MRG_RXBUF))
		return sizeof(struct virtio_net_hdr_mrg_rxbuf);
	return sizeof(struct virtio_net_hdr);
}

/* ---- tx ---- */

static void tx_check_hdr(struct model_net *n, const struct virtio_net_hdr_mrg_rxbuf *h,
			 uint16_t hdr_len, uint32_t len)
{
	struct model_dev *m = n->m;
	uint8_t gso = h->hdr.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	unsigned need = 0;

	if (hdr_len >= sizeof(*h) && h->num_buffers)
		model_dev_violation(m, "tx num_buffers %u (5.1.6.2.1: MUST be 0)", h->num_buffers);
	if ((h->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !has(n, VIRTIO_NET_F_CSUM))
		model_dev_violation(m, "tx NEEDS_CSUM without VIRTIO_NET_F_CSUM (5.1.6.2.1)");
	if (h->hdr.flags & VIRTIO_NET_HDR_F_DATA_VALID)
		model_dev_violation(m, "tx DATA_VALID set (5.1.6.2.1)");
	if ((h->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (uint32_t)h->hdr.csum_start + h->hdr.csum_offset + 2 > len)
		model_dev_violation(m, "tx csum at %u+%u past a %u-byte frame",
				    h->hdr.csum_start, h->hdr.csum_offset, len);
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE: break;
	case VIRTIO_NET_HDR_GSO_TCPV4: need = VIRTIO_NET_F_HOST_TSO4; break;
	case VIRTIO_NET_HDR_GSO_TCPV6: need = VIRTIO_NET_F_HOST_TSO6; break;
	case VIRTIO_NET_HDR_GSO_UDP: need = VIRTIO_NET_F_HOST_UFO; break;
	case VIRTIO_NET_HDR_GSO_UDP_L4: need = VIRTIO_NET_F_HOST_USO; break;
	default:
		model_dev_violation(m, "tx gso_type %#x unknown", h->hdr.gso_type);
		return;
	}
	if (need && !has(n, need))
		model_dev_violation(m, "tx gso_type %u without feature %u (5.1.6.2.1)", gso, need);
	if ((h->hdr.gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(n, VIRTIO_NET_F_HOST_ECN))
		model_dev_violation(m, "tx GSO_ECN without HOST_ECN (5.1.6.2.1)");
	if (gso && (!(h->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !h->hdr.gso_size))
		model_dev_violation(m, "tx gso without NEEDS_CSUM or gso_size (5.1.6.2.1)");
	if (!gso && has(n, VIRTIO_NET_F_MTU) && len > n->config.mtu + ETH_HDR_MAX)
		model_dev_violation(m, "tx frame of %u bytes > MTU %u (5.1.4.1)", len,
				    n->config.mtu);
}

static void tx_capture(struct model_net *n, uint16_t pair, struct vdev_buf *vb)
{
	uint16_t hdr_len = model_net_hdr_len(n);
	struct model_net_frame f = { .pair = pair, .hdr_len = hdr_len, .nsegs = vb->nseg };

	if (vb->n_in)
		model_dev_violation(n->m, "tx buffer with %u device-writable bytes", vb->in_len);
	if (vb->out_len < hdr_len) {
		model_dev_violation(n->m, "tx buffer of %u bytes, shorter than the header",
				    vb->out_len);
		return;
	}
	/* A hash report header's tail (5.1.6) is not kept. */
	model_buf_read(vb, 0, &f.hdr, hdr_len < sizeof(f.hdr) ? hdr_len : sizeof(f.hdr));
	f.len = vb->out_len - hdr_len;
	f.data = malloc(f.len + 1);
	if (!f.data)
		return;
	model_buf_read(vb, hdr_len, f.data, f.len);
	tx_check_hdr(n, &f.hdr, hdr_len, f.len);
	if (n->ntx == n->tx_cap) {
		unsigned cap = n->tx_cap ? 2 * n->tx_cap : 256;
		struct model_net_frame *t = realloc(n->tx, cap * sizeof(*t));

		if (!t) {
			free(f.data);
			return;
		}
		n->tx = t;
		n->tx_cap = cap;
	}
	n->tx[n->ntx++] = f;
}

static void tx_process(struct model_net *n, struct vdev_model *vq, uint16_t pair)
{
	struct vdev_buf *vb;

	while (vdev_model_pop(vq, &vb) == 1) {
		tx_capture(n, pair, vb);
		if (!n->tx_hold)
			vdev_model_push(vq, vb, 0);
	}
}

/* ---- rx ---- */

static bool rx_evil_now(struct model_net *n)
{
	if (n->rx_evil == MODEL_NET_RX_OK || !n->rx_evil_left)
		return false;
	if (n->rx_evil_left != UINT32_MAX)
		n->rx_evil_left--;
	return true;
}

/* 5.1.6.3.1: receive buffers are device-writable, each at least a header
 * long with MRG_RXBUF, else big enough for an MTU-sized frame. */
static void rx_check_buf(struct model_net *n, const struct vdev_buf *vb)
{
	uint16_t hdr_len = model_net_hdr_len(n);

	if (vb->n_out)
		model_dev_violation(n->m, "rx buffer with %u device-readable bytes", vb->out_len);
	else if (has(n, VIRTIO_NET_F_MRG_RXBUF) && vb->in_len < hdr_len)
		model_dev_violation(n->m, "rx buffer of %u bytes < header (5.1.6.3.1)",
				    vb->in_len);
	else if (!has(n, VIRTIO_NET_F_MRG_RXBUF) && has(n, VIRTIO_NET_F_MTU) &&
		 vb->in_len < hdr_len + n->config.mtu + 14u)
		model_dev_violation(n->m, "rx buffer of %u bytes cannot take MTU %u (5.1.4.2)",
				    vb->in_len, n->config.mtu);
}

static void rx_pop_new(struct model_net *n, struct vdev_model *vq)
{
	struct vdev_buf *vb;

	while (vdev_model_pop(vq, &vb) == 1)
		rx_check_buf(n, vb);
}

/* Buffers the frame needs (0: not enough posted yet; UINT32_MAX: can never
 * fit). */
static unsigned rx_bufs_needed(const struct model_net *n, struct vdev_model *vq,
			       uint32_t total)
{
	uint64_t room = 0;

	if (!has(n, VIRTIO_NET_F_MRG_RXBUF)) {
		struct vdev_buf *vb = vdev_model_pending_at(vq, 0);

		if (!vb)
			return 0;
		return vb->in_len >= total ? 1 : UINT32_MAX;
	}
	for (unsigned i = 0; i < vdev_model_pending(vq); i++) {
		room += vdev_model_pending_at(vq, i)->in_len;
		if (room >= total)
			return i + 1;
	}
	return 0;
}

/* Spec 5.1.6.4.3.4: with HASH_REPORT and RSS configured, an IPv4 frame
 * gets a hash (here FNV-1a of its addresses: model_net_ipv4_hash) and the
 * type VIRTIO_NET_HASH_REPORT_IPv4; anything else NONE. */
uint32_t model_net_ipv4_hash(const uint8_t *frame)
{
	uint32_t h = 2166136261u;

	for (unsigned i = 26; i < 34; i++)
		h = (h ^ frame[i]) * 16777619u;
	return h;
}

static void rx_hash(const struct model_net *n, const struct rx_frame *f, uint16_t hdr_len,
		    struct virtio_net_hdr_v1_hash *hh)
{
	const uint8_t *fr = f->bytes + hdr_len;

	if (!has(n, VIRTIO_NET_F_HASH_REPORT) || !n->st.rss || f->len < 34 ||
	    fr[12] != 0x08 || fr[13] != 0x00 ||
	    !(n->st.rss_hash_types & VIRTIO_NET_RSS_HASH_TYPE_IPv4))
		return;
	hh->hash_value = model_net_ipv4_hash(fr);
	hh->hash_report = VIRTIO_NET_HASH_REPORT_IPv4;
}

static void rx_put(struct model_net *n, struct vdev_model *vq, struct rx_wait *w,
		   struct rx_frame *f, unsigned nb)
{
	uint16_t hdr_len = model_net_hdr_len(n);
	struct virtio_net_hdr_mrg_rxbuf h = { .hdr = f->hdr, .num_buffers = (uint16_t)nb };
	struct virtio_net_hdr_v1_hash hh = { 0 };
	uint32_t total = hdr_len + f->len, off = 0;

	if (f->evil == MODEL_NET_RX_NUM_BUFFERS_ZERO)
		h.num_buffers = 0;
	else if (f->evil == MODEL_NET_RX_NUM_BUFFERS_HUGE)
		h.num_buffers = 0xffff;
	else if (f->evil == MODEL_NET_RX_NUM_BUFFERS)
		h.num_buffers = (uint16_t)f->arg;
	memcpy(&hh, &h, sizeof(h));
	rx_hash(n, f, hdr_len, &hh);
	memcpy(f->bytes, &hh, hdr_len);
	for (unsigned k = 0; k < nb; k++) {
		struct vdev_buf *vb = vdev_model_pending_at(vq, 0);
		uint32_t chunk = total - off < vb->in_len ? total - off : vb->in_len;

		model_buf_write(vb, 0, f->bytes + off, chunk);
		off += chunk;
		if (f->evil == MODEL_NET_RX_USED_EVIL && k == 0) {
			vdev_model_misbehave(vq, (enum vdev_evil)f->arg, vb);
			return;
		}
		if (f->evil == MODEL_NET_RX_SHORT_LEN)
			chunk = chunk < 4 ? chunk : 4;
		if (k && n->rx_split && nb - 1 <= 64) {
			/* Written now, used at the next service; keep the rest of
			 * the frame in the buffers that follow. */
			w->deferred_len[w->deferred++] = chunk;
			for (k++; k < nb; k++) {
				vb = vdev_model_pending_at(vq, k - 1);  /* one was used */
				chunk = total - off < vb->in_len ? total - off : vb->in_len;
				model_buf_write(vb, 0, f->bytes + off, chunk);
				off += chunk;
				w->deferred_len[w->deferred++] = chunk;
			}
			return;
		}
		vdev_model_push(vq, vb, chunk);
	}
}

static void rx_flush_deferred(struct vdev_model *vq, struct rx_wait *w)
{
	for (unsigned i = 0; i < w->deferred; i++)
		vdev_model_push(vq, vdev_model_pending_at(vq, 0), w->deferred_len[i]);
	w->deferred = 0;
}

static void rx_deliver(struct model_net *n, uint16_t pair)
{
	struct vdev_model *vq = model_dev_vq(n->m, (uint16_t)(2 * pair));
	struct rx_wait *w = &n->rx[pair];

	if (!vq || !model_dev_running(n->m))
		return;
	rx_pop_new(n, vq);
	if (w->deferred) {
		rx_flush_deferred(vq, w);
		return;  /* the driver polls before the next frame comes */
	}
	while (w->head && !w->deferred) {
		struct rx_frame *f = w->head;
		unsigned nb = rx_bufs_needed(n, vq, model_net_hdr_len(n) + f->len);

		if (!nb)
			break;
		if (nb != UINT32_MAX)
			rx_put(n, vq, w, f, nb);
		else
			n->rx_dropped++;  /* a real device drops what it cannot place */
		w->head = f->next;
		if (!w->head)
			w->tail = NULL;
		w->n--;
		free(f->bytes);
		free(f);
	}
}

unsigned model_net_rx_inject(struct model_net *n, uint16_t pair, const void *frame,
			     uint32_t len, const struct virtio_net_hdr *hdr)
{
	struct rx_frame *f;
	struct rx_wait *w;

	if (pair >= MAX_PAIRS)
		return 0;
	w = &n->rx[pair];
	f = calloc(1, sizeof(*f));
	if (!f)
		return w->n;
	f->bytes = malloc(sizeof(struct virtio_net_hdr_v1_hash) + len);
	if (!f->bytes) {
		free(f);
		return w->n;
	}
	memcpy(f->bytes + model_net_hdr_len(n), frame, len);
	f->len = len;
	if (hdr)
		f->hdr = *hdr;
	if (rx_evil_now(n)) {
		f->evil = n->rx_evil;
		f->arg = n->rx_evil_arg;
	}
	if (w->tail)
		w->tail->next = f;
	else
		w->head = f;
	w->tail = f;
	w->n++;
	rx_deliver(n, pair);
	return w->n;
}

static void rx_wait_free(struct rx_wait *w)
{
	w->deferred = 0;
	while (w->head) {
		struct rx_frame *f = w->head;

		w->head = f->next;
		free(f->bytes);
		free(f);
	}
	w->tail = NULL;
	w->n = 0;
}

/* ---- control queue (5.1.6.5) ---- */

static uint8_t need(struct model_net *n, unsigned bit, const char *what)
{
	if (has(n, bit))
		return VIRTIO_NET_OK;
	model_dev_violation(n->m, "control command %s without feature %u (5.1.6.5)", what, bit);
	return VIRTIO_NET_ERR;
}

static uint8_t cmd_rx(struct model_net *n, const struct model_net_cmd *c)
{
	uint8_t ok = need(n, VIRTIO_NET_F_CTRL_RX, "RX");

	if (ok != VIRTIO_NET_OK)
		return ok;
	if (c->len != 1) {
		model_dev_violation(n->m, "RX command with %u data bytes (1)", c->len);
		return VIRTIO_NET_ERR;
	}
	switch (c->cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC: n->st.promisc = c->data[0]; return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_RX_ALLMULTI: n->st.allmulti = c->data[0]; return VIRTIO_NET_OK;
	default:
		return need(n, VIRTIO_NET_F_CTRL_RX_EXTRA, "RX extra");
	}
}

/* 5.1.6.5.2: two tables, each a le32 count then its addresses. */
static uint8_t mac_table(struct model_net *n, const struct model_net_cmd *c)
{
	uint32_t nu, nm, off;

	if (need(n, VIRTIO_NET_F_CTRL_RX, "MAC_TABLE_SET") != VIRTIO_NET_OK)
		return VIRTIO_NET_ERR;
	if (c->len < 8)
		goto bad;
	memcpy(&nu, c->data, 4);
	if (nu > (c->len - 8) / 6)
		goto bad;
	off = 4 + 6 * nu;
	memcpy(&nm, c->data + off, 4);
	if (nm > (c->len - off - 4) / 6 || off + 4 + 6 * nm != c->len)
		goto bad;
	n->st.n_uc = nu;
	n->st.n_mc = nm;
	for (uint32_t i = 0; i < nu && i < 16; i++)
		memcpy(n->st.uc[i], c->data + 4 + 6 * i, 6);
	for (uint32_t i = 0; i < nm && i < 16; i++)
		memcpy(n->st.mc[i], c->data + off + 4 + 6 * i, 6);
	return VIRTIO_NET_OK;
bad:
	model_dev_violation(n->m, "MAC_TABLE_SET of %u bytes does not parse (5.1.6.5.2)", c->len);
	return VIRTIO_NET_ERR;
}

static uint8_t cmd_mac(struct model_net *n, const struct model_net_cmd *c)
{
	if (c->cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET)
		return mac_table(n, c);
	if (c->cmd != VIRTIO_NET_CTRL_MAC_ADDR_SET)
		return VIRTIO_NET_ERR;
	if (need(n, VIRTIO_NET_F_CTRL_MAC_ADDR, "MAC_ADDR_SET") != VIRTIO_NET_OK)
		return VIRTIO_NET_ERR;
	if (c->len != 6) {
		model_dev_violation(n->m, "MAC_ADDR_SET with %u bytes (6)", c->len);
		return VIRTIO_NET_ERR;
	}
	memcpy(n->st.mac, c->data, 6);
	n->st.mac_set = true;
	return VIRTIO_NET_OK;
}

static uint8_t cmd_vlan(struct model_net *n, const struct model_net_cmd *c)
{
	uint16_t vid;

	if (need(n, VIRTIO_NET_F_CTRL_VLAN, "VLAN") != VIRTIO_NET_OK)
		return VIRTIO_NET_ERR;
	if (c->len != 2) {
		model_dev_violation(n->m, "VLAN command with %u bytes (2)", c->len);
		return VIRTIO_NET_ERR;
	}
	memcpy(&vid, c->data, 2);
	if (vid >= 4096)
		return VIRTIO_NET_ERR;
	if (c->cmd == VIRTIO_NET_CTRL_VLAN_ADD)
		n->st.vlans[vid / 32] |= 1u << (vid % 32);
	else if (c->cmd == VIRTIO_NET_CTRL_VLAN_DEL)
		n->st.vlans[vid / 32] &= ~(1u << (vid % 32));
	else
		return VIRTIO_NET_ERR;
	return VIRTIO_NET_OK;
}

static uint8_t cmd_announce(struct model_net *n, const struct model_net_cmd *c)
{
	uint16_t status = n->config.status;

	if (c->cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK ||
	    need(n, VIRTIO_NET_F_GUEST_ANNOUNCE, "ANNOUNCE_ACK") != VIRTIO_NET_OK)
		return VIRTIO_NET_ERR;
	/* 5.1.6.5.4: clear ANNOUNCE before using the buffer. */
	memcpy(&status, model_dev_config(n->m) + CFG(status), 2);
	status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
	model_dev_config_set(n->m, CFG(status), &status, 2);
	n->st.announce_acks++;
	return VIRTIO_NET_OK;
}

/* An rss_rq_id (5.1.6.5.7.1): bits 1-16 of an enabled receive virtqueue's
 * index. */
static bool rq_id_ok(const struct model_net *n, uint16_t id)
{
	uint32_t vq = (uint32_t)(id & 0x7fff) * 2;

	return !(id & 0x8000) && vq < 2u * npairs(n) && model_dev_vq(n->m, (uint16_t)vq);
}

static uint8_t cmd_rss(struct model_net *n, const struct model_net_cmd *c)
{
	struct model_dev *m = n->m;
	uint16_t mask, unclassified, tlen, max_tx;
	uint32_t types, off;
	uint8_t key_len, ok = VIRTIO_NET_OK;

	if (need(n, VIRTIO_NET_F_RSS, "RSS_CONFIG") != VIRTIO_NET_OK)
		return VIRTIO_NET_ERR;
	if (c->len < 11)
		goto bad;
	memcpy(&types, c->data, 4);
	memcpy(&mask, c->data + 4, 2);
	memcpy(&unclassified, c->data + 6, 2);
	tlen = (uint16_t)(mask + 1);
	off = 8 + 2u * tlen;
	if (!tlen || off + 3 > c->len)
		goto bad;
	memcpy(&max_tx, c->data + off, 2);
	key_len = c->data[off + 2];
	if (off + 3 + key_len != c->len)
		goto bad;
	if (tlen & mask) {
		model_dev_violation(m, "RSS table of %u entries, not a power of two", tlen);
		ok = VIRTIO_NET_ERR;
	}
	if (mask >= n->config.rss_max_indirection_table_length) {
		model_dev_violation(m, "RSS mask %u >= rss_max_indirection_table_length %u",
				    mask, n->config.rss_max_indirection_table_length);
		ok = VIRTIO_NET_ERR;
	}
	if (types & ~n->config.supported_hash_types) {
		model_dev_violation(m, "RSS hash types %#x not supported (%#x)", types,
				    n->config.supported_hash_types);
		ok = VIRTIO_NET_ERR;
	}
	if (key_len > n->config.rss_max_key_size) {
		model_dev_violation(m, "RSS key of %u bytes > %u", key_len, n->config.rss_max_key_size);
		ok = VIRTIO_NET_ERR;
	}
	if (!max_tx || max_tx > npairs(n)) {
		model_dev_violation(m, "RSS max_tx_vq %u out of 1..%u", max_tx, npairs(n));
		ok = VIRTIO_NET_ERR;
	}
	if (!rq_id_ok(n, unclassified)) {
		model_dev_violation(m, "RSS unclassified_queue %u is no enabled receiveq", unclassified);
		ok = VIRTIO_NET_ERR;
	}
	n->st.rss_table_len = tlen;
	for (uint16_t i = 0; i < tlen; i++) {
		uint16_t e;

		memcpy(&e, c->data + 8 + 2 * i, 2);
		if (i < 256)
			n->st.rss_table[i] = e;
		if (!rq_id_ok(n, e) && ok == VIRTIO_NET_OK) {
			model_dev_violation(m, "RSS indirection_table[%u] = %u: receive virtqueue "
					    "%u is not enabled (5.1.6.5.7.1: rss_rq_id is bits "
					    "1-16 of the virtqueue index)", i, e, 2u * e);
			ok = VIRTIO_NET_ERR;
		}
	}
	n->st.rss_hash_types = types;
	n->st.rss_unclassified = unclassified;
	n->st.rss_max_tx_vq = max_tx;
	n->st.rss_key_len = key_len;
	memcpy(n->st.rss_key, c->data + off + 3, key_len);
	if (ok == VIRTIO_NET_OK) {
		n->st.rss = true;
		n->st.pairs = max_tx;
	}
	return ok;
bad:
	model_dev_violation(m, "RSS_CONFIG of %u bytes does not parse (5.1.6.5.7.1)", c->len);
	return VIRTIO_NET_ERR;
}

static uint8_t cmd_mq(struct model_net *n, const struct model_net_cmd *c)
{
	uint16_t pairs;

	if (c->cmd == VIRTIO_NET_CTRL_MQ_RSS_CONFIG)
		return cmd_rss(n, c);
	if (c->cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
	    need(n, VIRTIO_NET_F_MQ, "VQ_PAIRS_SET") != VIRTIO_NET_OK)
		return VIRTIO_NET_ERR;
	if (c->len != 2) {
		model_dev_violation(n->m, "VQ_PAIRS_SET with %u bytes (2)", c->len);
		return VIRTIO_NET_ERR;
	}
	memcpy(&pairs, c->data, 2);
	if (!pairs || pairs > n->config.max_virtqueue_pairs) {
		model_dev_violation(n->m, "VQ_PAIRS_SET %u out of 1..%u (5.1.6.5.5)", pairs,
				    n->config.max_virtqueue_pairs);
		return VIRTIO_NET_ERR;
	}
	for (uint16_t p = 0; p < pairs; p++)
		if (!model_dev_vq(n->m, (uint16_t)(2 * p)) ||
		    !model_dev_vq(n->m, (uint16_t)(2 * p + 1)))
			model_dev_violation(n->m, "VQ_PAIRS_SET %u but pair %u is not set up "
					    "(5.1.6.5.5)", pairs, p);
	n->st.pairs = pairs;
	n->st.rss = false;
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_answer(struct model_net *n, const struct model_net_cmd *c)
{
	if (n->ctrl_mode == MODEL_NET_CTRL_NAK)
		return VIRTIO_NET_ERR;
	switch (c->cls) {
	case VIRTIO_NET_CTRL_RX: return cmd_rx(n, c);
	case VIRTIO_NET_CTRL_MAC: return cmd_mac(n, c);
	case VIRTIO_NET_CTRL_VLAN: return cmd_vlan(n, c);
	case VIRTIO_NET_CTRL_ANNOUNCE: return cmd_announce(n, c);
	case VIRTIO_NET_CTRL_MQ: return cmd_mq(n, c);
	default: return VIRTIO_NET_ERR;
	}
}

static struct model_net_cmd *cmd_record(struct model_net *n, const struct vdev_buf *vb)
{
	struct model_net_cmd c = { .ack = 0xff };
	uint8_t hdr[2];

	model_buf_read(vb, 0, hdr, 2);
	c.cls = hdr[0];
	c.cmd = hdr[1];
	c.len = vb->out_len - 2;
	c.data = malloc(c.len + 1);
	if (!c.data)
		return NULL;
	model_buf_read(vb, 2, c.data, c.len);
	if (n->ncmds == n->cmd_cap) {
		unsigned cap = n->cmd_cap ? 2 * n->cmd_cap : 64;
		struct model_net_cmd *t = realloc(n->cmds, cap * sizeof(*t));

		if (!t) {
			free(c.data);
			return NULL;
		}
		n->cmds = t;
		n->cmd_cap = cap;
	}
	n->cmds[n->ncmds] = c;
	return &n->cmds[n->ncmds++];
}

static void ctrl_process(struct model_net *n, struct vdev_model *vq)
{
	struct vdev_buf *vb;

	while (vdev_model_pop(vq, &vb) == 1) {
		struct model_net_cmd *c;

		if (vb->out_len < 2 || vb->in_len < 1) {
			model_dev_violation(n->m, "control buffer with %u readable / %u writable "
					    "bytes (5.1.6.5)", vb->out_len, vb->in_len);
			vdev_model_push(vq, vb, 0);
			continue;
		}
		c = cmd_record(n, vb);
		if (!c || n->ctrl_mode == MODEL_NET_CTRL_SILENT)
			continue;  /* never answered */
		c->ack = ctrl_answer(n, c);
		model_buf_write(vb, vb->in_len - 1, &c->ack, 1);
		vdev_model_push(vq, vb, 1);
	}
}

/* ---- the backend ---- */

static void net_process(void *be, struct model_dev *m, uint16_t q)
{
	struct model_net *n = be;
	struct vdev_model *vq = model_dev_vq(m, q);

	switch (role_of(n, q)) {
	case ROLE_RX:
		rx_deliver(n, q / 2);
		break;
	case ROLE_TX:
		tx_process(n, vq, q / 2);
		break;
	case ROLE_CTRL:
		ctrl_process(n, vq);
		break;
	default:
		if (vdev_model_pending(vq) || model_dev_kicks(m, q))
			model_dev_violation(m, "queue %u is used but has no role with the "
					    "negotiated features (5.1.2)", q);
		break;
	}
}

static void net_reset(void *be, struct model_dev *m)
{
	struct model_net *n = be;

	(void)m;
	for (unsigned p = 0; p < MAX_PAIRS; p++)
		rx_wait_free(&n->rx[p]);
}

/* Modern devices: config is read-only (5.1.4.1); legacy: mac is writable. */
static int net_config_write(void *be, struct model_dev *m, uint32_t off,
			    const void *buf, uint32_t len)
{
	(void)be;
	(void)buf;
	if (model_dev_is_legacy(m) && off + len <= 6)
		return 0;
	return -EPERM;
}

static void net_destroy(void *be)
{
	struct model_net *n = be;

	net_reset(n, NULL);
	model_net_tx_clear(n);
	for (unsigned i = 0; i < n->ncmds; i++)
		free(n->cmds[i].data);
	free(n->cmds);
	free(n->tx);
	free(n);
}

/* Spec 2.6.1.1: an rx queue's half-used frame goes with its buffers;
 * frames waiting for buffers stay (they are the wire's). */
static void net_reset_queue(void *be, struct model_dev *m, uint16_t q)
{
	struct model_net *n = be;

	(void)m;
	if (q % 2 == 0 && q / 2 < MAX_PAIRS)
		n->rx[q / 2].deferred = 0;
}

static const struct model_backend net_backend = {
	.process = net_process,
	.config_write = net_config_write,
	.reset = net_reset,
	.destroy = net_destroy,
	.reset_queue = net_reset_queue,
};

struct model_net *model_net_create(const struct model_net_cfg *cfg, struct uvio_dev **out)
{
	struct model_net *n = calloc(1, sizeof(*n));
	struct model_dev_cfg dc = { 0 };
	struct virtio_net_config *v;
	uint16_t pairs;

	if (!n)
		return NULL;
	n->cfg = *cfg;
	pairs = cfg->max_pairs ? cfg->max_pairs : 1;
	if (pairs > MAX_PAIRS)
		pairs = MAX_PAIRS;
	v = &n->config;
	memcpy(v->mac, cfg->mac, 6);
	v->status = cfg->status;
	v->max_virtqueue_pairs = pairs;
	v->mtu = cfg->mtu ? cfg->mtu : 1500;
	v->speed = cfg->speed;
	v->duplex = cfg->duplex;
	v->rss_max_key_size = cfg->rss_max_key_size;
	v->rss_max_indirection_table_length = cfg->rss_max_indirection_table_length;
	v->supported_hash_types = cfg->supported_hash_types;
	dc.features = cfg->features | model_ring_features(cfg->legacy, cfg->packed,
							  cfg->in_order, cfg->no_indirect,
							  cfg->no_event_idx);
	dc.device_id = VIRTIO_ID_NET;
	dc.legacy = cfg->legacy;
	/* Every queue a driver might use: N pairs and the control queue. */
	dc.num_queues = (uint16_t)(2 * pairs + 1);
	dc.queue_max = cfg->queue_max ? cfg->queue_max : 256;
	dc.queue_max_of[2 * pairs] = cfg->ctrl_queue_max ? cfg->ctrl_queue_max : 64;
	dc.config = v;
	dc.config_len = sizeof(*v);
	dc.manual = cfg->manual;
	dc.refuse_features = cfg->refuse_features;
	dc.needs_reset_on = cfg->needs_reset_on;
	dc.backend = &net_backend;
	dc.be = n;
	if (model_dev_create(&dc, out))
		return NULL;  /* the backend was destroyed with the model */
	n->m = model_dev_of(*out);
	model_dev_hold(n->m);
	return n;
}

void model_net_put(struct model_net *n)
{
	if (n)
		model_dev_put(n->m);
}

struct model_dev *model_net_dev(const struct model_net *n) { return n->m; }
unsigned model_net_tx_count(const struct model_net *n) { return n->ntx; }
void model_net_tx_hold(struct model_net *n, bool on) { n->tx_hold = on; }
void model_net_rx_split(struct model_net *n, bool on) { n->rx_split = on; }
unsigned model_net_rx_dropped(const struct model_net *n) { return n->rx_dropped; }
void model_net_ctrl_mode(struct model_net *n, enum model_net_ctrl_mode mode) { n->ctrl_mode = mode; }
unsigned model_net_ncmds(const struct model_net *n) { return n->ncmds; }
const struct model_net_state *model_net_state(const struct model_net *n) { return &n->st; }

const struct model_net_frame *model_net_tx_frame(const struct model_net *n, unsigned i)
{
	return i < n->ntx ? &n->tx[i] : NULL;
}

void model_net_tx_clear(struct model_net *n)
{
	for (unsigned i = 0; i < n->ntx; i++)
		free(n->tx[i].data);
	n->ntx = 0;
}

unsigned model_net_tx_complete(struct model_net *n)
{
	unsigned done = 0;

	for (uint16_t q = 1; q < model_dev_num_queues(n->m); q += 2) {
		struct vdev_model *vq = model_dev_vq(n->m, q);

		if (!vq || role_of(n, q) != ROLE_TX)
			continue;
		while (vdev_model_pending(vq)) {
			vdev_model_push(vq, vdev_model_pending_at(vq, 0), 0);
			done++;
		}
	}
	return done;
}

unsigned model_net_rx_waiting(const struct model_net *n, uint16_t pair)
{
	return pair < MAX_PAIRS ? n->rx[pair].n : 0;
}

void model_net_rx_misbehave(struct model_net *n, enum model_net_rx_evil what, int arg,
			    unsigned count)
{
	n->rx_evil = what;
	n->rx_evil_arg = arg;
	n->rx_evil_left = count ? count : UINT32_MAX;
}

const struct model_net_cmd *model_net_cmd_at(const struct model_net *n, unsigned i)
{
	return i < n->ncmds ? &n->cmds[i] : NULL;
}

static void set_status_bits(struct model_net *n, uint16_t set, uint16_t clear)
{
	uint16_t status;

	memcpy(&status, model_dev_config(n->m) + CFG(status), 2);
	status = (uint16_t)((status | set) & ~clear);
	model_dev_config_set(n->m, CFG(status), &status, 2);
}

void model_net_set_link(struct model_net *n, bool up)
{
	if (up)
		set_status_bits(n, VIRTIO_NET_S_LINK_UP, 0);
	else
		set_status_bits(n, 0, VIRTIO_NET_S_LINK_UP);
}

void model_net_set_announce(struct model_net *n)
{
	set_status_bits(n, VIRTIO_NET_S_ANNOUNCE, 0);
}

void model_net_set_speed(struct model_net *n, uint32_t speed, uint8_t duplex)
{
	model_dev_config_set(n->m, CFG(speed), &speed, 4);
	model_dev_config_set(n->m, CFG(duplex), &duplex, 1);
}
