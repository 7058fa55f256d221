/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: virtio-net receive (spec 5.1.6.3, 5.1.6.4) against a device
 * that writes fuzz-chosen headers (flags, gso, csum fields, num_buffers)
 * and used lengths into the driver's rx buffers, spreads frames over any
 * number of buffers in any order, uses tx buffers late or never, or writes
 * a bad used entry; interleaved with rx_burst, tx_burst, tx_pending and
 * link reads. Split and packed rings, IN_ORDER, mergeable rx buffers or
 * not, legacy 10-byte headers, one or two queue pairs.
 *
 * Checked beyond the sanitizers: every frame given to the application lies
 * inside its buffers (data_off + data_len <= buf_len for each segment,
 * nb_segs and pkt_len agree with the chain); while every frame the device
 * sent was well formed, exactly those frames arrive, in order, with the
 * length the device gave them, and no rx error is counted; rx/tx counters
 * match what the application saw; a broken pair stays broken (rx_burst and
 * tx_burst take nothing); after close every packet is back in the pool,
 * once; the driver breaks no rule the model checks.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "fuzz_dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIT(n) (1ULL << (n))
#define MAX_EXPECT 1024
#define BURST 32

struct pair_state {
	uint32_t expect[MAX_EXPECT];  /* pkt_len of frames sent, not yet received */
	unsigned head, tail;
	bool broken;
	uint64_t rx_frames, tx_taken;
};

struct nx {
	struct fin in;
	struct uvio_net *net;
	struct model_dev *m;
	struct fd_net *be;
	uint16_t pairs, hdr_len;
	bool mrg, in_order, all_good;
	bool evil;  /* a bad used entry: the model may trip over its own lie */
	struct pair_state ps[2];
};

static bool vq_broken(const struct nx *x, uint16_t q)
{
	return uvio_vq_is_broken(uvio_dev_queue(uvio_net_dev(x->net), q));
}

static void expect_push(struct nx *x, uint16_t pair, uint32_t len)
{
	struct pair_state *ps = &x->ps[pair];

	if (ps->tail - ps->head == MAX_EXPECT) {
		x->all_good = false;  /* too many to track: stop checking */
		return;
	}
	ps->expect[ps->tail++ % MAX_EXPECT] = len;
}

/* The device fills k rx buffers with one frame. */
static void rx_frame(struct nx *x, uint16_t pair)
{
	struct vdev_model *vq = model_dev_vq(x->m, (uint16_t)(2 * pair));
	struct virtio_net_hdr_mrg_rxbuf h = { 0 };
	uint8_t mode = fin_u8(&x->in);
	unsigned np, k;
	uint32_t total = 0;
	bool good = true;

	if (!vq || vdev_model_pop_all(vq) < 0 || !(np = vdev_model_pending(vq)))
		return;
	k = 1 + fin_u8(&x->in) % (np < 8 ? np : 8);
	if (mode & 1) {
		fin_bytes(&x->in, &h, sizeof(h));   /* anything at all */
	} else {
		static const uint8_t gso[] = {
			VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4,
			VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
		};

		h.hdr.flags = (mode >> 1) & 3;
		h.hdr.gso_type = gso[(mode >> 3) & 3];
		h.hdr.gso_size = fin_u16(&x->in);
		h.hdr.csum_start = fin_u16(&x->in);
		h.hdr.csum_offset = fin_u16(&x->in);
		h.num_buffers = (uint16_t)((mode & 0x20) ? fin_u16(&x->in) : k);
	}
	if (x->mrg && (h.num_buffers != k))
		good = false;  /* the driver may take later buffers into this frame */
	for (unsigned j = 0; j < k; j++) {
		struct vdev_buf *vb;
		uint32_t len;
		bool lie;

		np = vdev_model_pending(vq);
		if (!np)
			break;
		vb = vdev_model_pending_at(vq, x->in_order ? 0 : fin_u8(&x->in) % np);
		if (j == 0 || !x->mrg)
			model_buf_write(vb, 0, &h, x->hdr_len);
		len = fin_len(&x->in, vb->in_len, &lie);
		if (lie) {
			vdev_model_misbehave(vq, VDEV_EVIL_LEN, vb);
			x->all_good = false;
			x->evil = true;
			return;
		}
		vdev_model_push(vq, vb, len);
		if (!x->mrg) {
			/* every buffer is a frame of its own */
			if (len >= x->hdr_len)
				expect_push(x, pair, len - x->hdr_len);
			else
				good = false;
			continue;
		}
		if (j == 0 && len < x->hdr_len)
			good = false;
		total += j == 0 ? len - (len < x->hdr_len ? len : x->hdr_len) : len;
	}
	if (x->mrg && good)
		expect_push(x, pair, total);
	if (!good)
		x->all_good = false;
}

static void rx_burst(struct nx *x, uint16_t pair, unsigned n)
{
	struct pair_state *ps = &x->ps[pair];
	struct uvio_pkt *pkts[BURST];
	struct uvio_net_queue_stats before, after;
	bool was_broken = vq_broken(x, (uint16_t)(2 * pair));
	uint16_t got;

	uvio_net_get_stats(x->net, pair, &before);
	got = uvio_net_rx_burst(x->net, pair, pkts, (uint16_t)n);
	uvio_net_get_stats(x->net, pair, &after);
	FUZZ_CHECK(got <= n, "rx_burst gave %u of %u", got, n);
	if (was_broken)
		FUZZ_CHECK(got == 0, "a broken pair received %u frames", got);
	FUZZ_CHECK(after.rx_packets - before.rx_packets == got, "rx_packets moved by %llu for %u",
		   (unsigned long long)(after.rx_packets - before.rx_packets), got);
	for (unsigned i = 0; i < got; i++) {
		fd_check_rx_pkt(pkts[i], pair);
		if (x->all_good) {
			FUZZ_CHECK(ps->head != ps->tail, "frame of %u bytes the device never sent",
				   pkts[i]->pkt_len);
			FUZZ_CHECK(pkts[i]->pkt_len == ps->expect[ps->head % MAX_EXPECT],
				   "frame of %u bytes, the device sent %u", pkts[i]->pkt_len,
				   ps->expect[ps->head % MAX_EXPECT]);
			ps->head++;
		}
	}
	if (x->all_good)
		FUZZ_CHECK(after.rx_errors == 0, "%llu rx errors from a well-behaved device",
			   (unsigned long long)after.rx_errors);
	ps->rx_frames += got;
	uvio_pkt_free_bulk(NULL, pkts, got);
}

static void tx_burst(struct nx *x, uint16_t pair)
{
	unsigned n = 1 + fin_u8(&x->in) % 8, took;
	uint8_t shape = fin_u8(&x->in);
	struct uvio_pkt *pkts[8], *segs[8];
	struct uvio_net_queue_stats before, after;
	bool was_broken = vq_broken(x, (uint16_t)(2 * pair + 1));

	if (!uvio_pkt_alloc_bulk(fd_pool, NULL, pkts, n))
		return;
	for (unsigned i = 0; i < n; i++) {
		struct uvio_pkt *p = pkts[i];

		p->data_len = (uint16_t)(14 + fin_u16(&x->in) % 1500);
		p->pkt_len = p->data_len;
		if (shape & 1) {
			p->ol_flags = UVIO_PKT_TX_CSUM;
			p->csum_start = 34;
			p->csum_offset = 16;
		}
		if ((shape & 2) && uvio_pkt_alloc_bulk(fd_pool, NULL, &segs[i], 1)) {
			segs[i]->data_len = 100;
			p->next = segs[i];
			p->nb_segs = 2;
			p->pkt_len += 100;
		}
	}
	uvio_net_get_stats(x->net, pair, &before);
	took = uvio_net_tx_burst(x->net, pair, pkts, (uint16_t)n);
	uvio_net_get_stats(x->net, pair, &after);
	FUZZ_CHECK(took <= n, "tx_burst took %u of %u", took, n);
	if (was_broken)
		FUZZ_CHECK(took == 0, "a broken pair took %u frames", took);
	FUZZ_CHECK((after.tx_packets - before.tx_packets) + (after.tx_errors - before.tx_errors) ==
		   took, "tx counters moved by %llu+%llu for %u taken",
		   (unsigned long long)(after.tx_packets - before.tx_packets),
		   (unsigned long long)(after.tx_errors - before.tx_errors), took);
	x->ps[pair].tx_taken += took;
	if (took < n)
		uvio_net_tx_drop(x->net, pair, pkts + took, (uint16_t)(n - took));
}

/* The device uses held tx buffers (oldest first with IN_ORDER). */
static void tx_complete(struct nx *x, uint16_t pair)
{
	struct vdev_model *vq = model_dev_vq(x->m, (uint16_t)(2 * pair + 1));
	unsigned n = fin_u8(&x->in);

	if (!vq || vdev_model_pop_all(vq) < 0)
		return;
	while (n-- && vdev_model_pending(vq)) {
		unsigned np = vdev_model_pending(vq);
		struct vdev_buf *vb = vdev_model_pending_at(vq, x->in_order ? 0 : fin_u8(&x->in) % np);

		vdev_model_push(vq, vb, 0);
	}
}

static void misbehave(struct nx *x, uint16_t pair)
{
	uint8_t what = fin_u8(&x->in), pick = fin_u8(&x->in);
	struct vdev_model *vq = model_dev_vq(x->m, (uint16_t)(2 * pair + (what & 1)));
	enum vdev_evil e = (enum vdev_evil)((what >> 1) % 6);
	unsigned np;
	struct vdev_buf *b;

	if (!vq || vdev_model_pop_all(vq) < 0)
		return;
	np = vdev_model_pending(vq);
	b = np ? vdev_model_pending_at(vq, pick % np) : NULL;
	if ((e == VDEV_EVIL_LEN && !b) || (e == VDEV_EVIL_IDX_JUMP && uvio_net_get_info(x->net)->packed) ||
	    (e == VDEV_EVIL_BAD_WRAP && !uvio_net_get_info(x->net)->packed))
		return;
	x->all_good = false;
	x->evil = true;
	vdev_model_misbehave(vq, e, b);
}

static struct uvio_net *open_net(struct nx *x)
{
	uint8_t ctl = fin_u8(&x->in), ctl2 = fin_u8(&x->in), sz = fin_u8(&x->in);
	bool legacy = (ctl & 0x11) == 0x10, packed = (ctl & 1) && !legacy;
	struct model_dev_cfg dc = { 0 };
	struct virtio_net_config cfg = { 0 };
	struct uvio_net_opts o = { .rx_pool = fd_pool };
	struct uvio_err err = { 0 };
	uint16_t qmax;
	struct uvio_dev *dev;
	struct uvio_net *net;
	int rc;

	x->pairs = (ctl2 & 1) ? 2 : 1;
	dc.features = model_ring_features(legacy, packed, ctl & 2, ctl & 4, ctl & 8);
	dc.features |= BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS);
	if (ctl & 0x20)
		dc.features |= BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (ctl & 0x40)
		dc.features |= BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |
			       BIT(VIRTIO_NET_F_GUEST_TSO6);
	if (ctl2 & 2)
		dc.features |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4);
	if (x->pairs > 1)
		dc.features |= BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ);
	if (ctl2 & 4) {
		dc.features |= BIT(VIRTIO_NET_F_MTU);
		cfg.mtu = (uint16_t)(68 + fin_u16(&x->in) % 1500);
	}
	cfg.max_virtqueue_pairs = x->pairs;
	cfg.status = VIRTIO_NET_S_LINK_UP;
	/* small rings: wrap-arounds come quickly */
	qmax = packed ? (uint16_t)(1 + sz % 64) : (uint16_t)(1u << (sz % 7));
	dc.legacy = legacy;
	dc.num_queues = (uint16_t)(2 * x->pairs + 1);
	dc.queue_max = qmax;
	dc.queue_max_of[2 * x->pairs] = 64;
	dc.config = &cfg;
	dc.config_len = sizeof(cfg);
	dc.backend = &fd_net_backend;
	dc.be = x->be;
	x->be->tx_hold = ctl & 0x80;
	x->be->ctrl_ack = VIRTIO_NET_OK;
	o.queue_pairs = x->pairs;
	o.offloads = (ctl & 0x40 ? UVIO_NET_OFF_RX_CSUM | UVIO_NET_OFF_LRO : 0) |
		     (ctl2 & 2 ? UVIO_NET_OFF_TX_CSUM | UVIO_NET_OFF_TSO : 0);
	if (model_dev_create(&dc, &dev))
		return NULL;
	x->m = model_dev_of(dev);
	model_dev_hold(x->m);
	rc = uvio_net_open(dev, &o, &net, &err);
	FUZZ_CHECK(rc <= 0, "open %d", rc);
	FUZZ_CHECK(rc != -ETIMEDOUT, "open timed out (the control queue?): %s", err.msg);
	if (rc) {
		/* only a ring too small for the control queue's commands, or
		 * an MTU that does not fit the pool's buffers */
		FUZZ_CHECK(err.msg[0], "open failed (%d) without a message", rc);
		return NULL;
	}
	x->mrg = uvio_net_get_info(net)->mrg_rxbuf;
	x->hdr_len = !legacy || x->mrg ? 12 : 10;
	x->in_order = ctl & 2;
	x->pairs = uvio_net_get_info(net)->queue_pairs;
	return net;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nx x = { .in = { data, size }, .all_good = true };

	fd_init();
	x.be = calloc(1, sizeof(*x.be));
	FUZZ_CHECK(x.be, "out of memory");
	x.net = open_net(&x);
	if (!x.net) {
		if (x.m)
			model_dev_put(x.m);
		free(x.be);
		fd_pool_check();
		return 0;
	}
	for (unsigned ops = 0; fin_more(&x.in) && ops < 400; ops++) {
		uint8_t op = fin_u8(&x.in);
		uint16_t pair = (uint16_t)((op >> 7) % x.pairs);

		switch (op % 10) {
		case 0: case 1: case 2:
			rx_frame(&x, pair);
			break;
		case 3: case 4:
			rx_burst(&x, pair, 1 + fin_u8(&x.in) % BURST);
			break;
		case 5:
			tx_burst(&x, pair);
			break;
		case 6:
			tx_complete(&x, pair);
			break;
		case 7:
			misbehave(&x, pair);
			break;
		case 8: {
			struct uvio_net_link link;

			FUZZ_CHECK(uvio_net_get_link(x.net, &link) == 0, "get_link failed");
			FUZZ_CHECK(link.up, "link down");
			break;
		}
		default:
			(void)uvio_net_tx_pending(x.net, pair);
			break;
		}
		for (uint16_t p = 0; p < x.pairs; p++) {
			bool br = uvio_net_queue_error(x.net, p)[0];

			if (x.ps[p].broken)
				FUZZ_CHECK(br, "pair %u was broken and healed itself", p);
			x.ps[p].broken = br;
			if (x.all_good)
				FUZZ_CHECK(!br, "a well-behaved device broke pair %u: %s", p,
					   uvio_net_queue_error(x.net, p));
		}
	}
	/* Everything well formed that the device sent arrives. */
	for (uint16_t p = 0; p < x.pairs; p++) {
		if (!x.all_good)
			break;
		for (int spins = 0; spins < 64 && x.ps[p].head != x.ps[p].tail; spins++)
			rx_burst(&x, p, BURST);
		FUZZ_CHECK(x.ps[p].head == x.ps[p].tail, "pair %u: %u frames sent never arrived",
			   p, x.ps[p].tail - x.ps[p].head);
	}
	for (uint16_t p = 0; p < x.pairs; p++) {
		struct uvio_net_queue_stats st;

		uvio_net_get_stats(x.net, p, &st);
		FUZZ_CHECK(st.rx_packets == x.ps[p].rx_frames, "rx_packets %llu, received %llu",
			   (unsigned long long)st.rx_packets, (unsigned long long)x.ps[p].rx_frames);
		FUZZ_CHECK(st.tx_packets + st.tx_errors == x.ps[p].tx_taken,
			   "tx_packets %llu + errors %llu, taken %llu",
			   (unsigned long long)st.tx_packets, (unsigned long long)st.tx_errors,
			   (unsigned long long)x.ps[p].tx_taken);
	}
	FUZZ_CHECK(x.evil || !model_dev_error(x.m)[0], "the driver broke a rule: %s",
		   model_dev_error(x.m));
	uvio_net_close(x.net);
	FUZZ_CHECK(x.evil || !model_dev_error(x.m)[0], "the driver broke a rule: %s",
		   model_dev_error(x.m));
	model_dev_put(x.m);
	free(x.be);
	fd_pool_check();
	return 0;
}
