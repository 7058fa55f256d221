/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: what a virtio-blk or virtio-net device says about itself.
 * The input sets, through the model transport, the offered features, the
 * number of queues and each queue's maximum size, the config space bytes
 * (num_queues, seg_max, size_max, blk_size, capacity, MTU,
 * max_virtqueue_pairs, the RSS sizes: 0, odd and huge values alike, and a
 * config space shorter than the structure), a generation that keeps moving,
 * resets that fail, a device that refuses features or asks for a reset.
 * Then uvio_blk_open / uvio_net_open, a little I/O, close.
 *
 * Checked beyond the sanitizers: open either fails with a negative errno
 * and a message, or gives info within the spec's bounds (block size a power
 * of two in 512..65536, 1..32768 queue pairs, MTU >= 68, queue sizes within
 * what the device offered); the driver breaks no rule of spec 3.1.1 that
 * the model checks; every request gets its callback once; every packet goes
 * back to the pool; no control command times out (the model answers each
 * at once).
 */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "fuzz_dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIT(n) (1ULL << (n))
#define SIZE_CAP 256  /* queue sizes the driver gets; larger maxima are clamped by opts */

struct cfg_in {
	struct model_dev_cfg dc;
	uint8_t config[128];
	uint16_t max_of_all;
};

/* The transport's side: features, queues, config, failures. */
static void read_transport(struct fin *in, struct cfg_in *c, uint32_t config_size)
{
	uint8_t ctl = fin_u8(in);
	struct model_dev_cfg *dc = &c->dc;

	dc->features = fin_u64(in);
	if (!(ctl & 1))
		dc->features |= BIT(VIRTIO_F_VERSION_1);
	if (ctl & 2)
		dc->features &= ~(BIT(VIRTIO_F_RING_PACKED) | BIT(VIRTIO_F_IN_ORDER));
	dc->legacy = (ctl & 0xc0) == 0xc0;
	dc->num_queues = fin_u8(in) % (MODEL_MAX_QUEUES + 1);
	dc->queue_max = fin_u16(in);
	for (unsigned k = fin_u8(in) % 6; k; k--) {
		uint8_t q = fin_u8(in) % MODEL_MAX_QUEUES;

		dc->queue_max_of[q] = fin_u16(in);
	}
	if (ctl & 4)
		dc->refuse_features = fin_u64(in);
	if (ctl & 8)
		dc->needs_reset_on = fin_u8(in);
	if ((ctl & 0x30) == 0x30)
		dc->reset_failures = fin_u8(in) % 3;
	if (dc->legacy) {
		/* A legacy queue's size is fixed (spec 4.1.4.8): the driver takes
		 * the maximum, so keep it small enough to stay fast. */
		dc->queue_max %= SIZE_CAP + 1;
		for (unsigned q = 0; q < MODEL_MAX_QUEUES; q++)
			dc->queue_max_of[q] %= SIZE_CAP + 1;
	}
	c->max_of_all = dc->queue_max ? dc->queue_max : 256;
	for (unsigned q = 0; q < MODEL_MAX_QUEUES; q++)
		if (dc->queue_max_of[q] > c->max_of_all)
			c->max_of_all = dc->queue_max_of[q];
	fin_bytes(in, c->config, config_size);
	dc->config = c->config;
	dc->config_len = config_size;
	/* now and then a config space shorter than the structure */
	if ((ctl & 0x30) == 0x20)
		dc->config_len = fin_u8(in) % config_size;
	dc->manual = false;
}

/* A queue size to ask for: anything, but the driver only ever gets up to
 * SIZE_CAP so that an iteration stays fast. */
static uint16_t want_size(struct fin *in, const struct cfg_in *c)
{
	uint16_t v = fin_u16(in);

	if ((v == 0 || v > SIZE_CAP) && c->max_of_all > SIZE_CAP)
		v = (uint16_t)(1 + v % SIZE_CAP);
	return v;
}

/* err.h: a failing call returns a negative errno and leaves one line for
 * a human in err, under the same code. */
static void check_open_rc(int rc, const struct uvio_err *err)
{
	FUZZ_CHECK(rc <= 0, "open returned %d", rc);
	/* The model answers the control queue at once: a timeout (2 s spent
	 * waiting) means the driver lost a command. */
	FUZZ_CHECK(rc != -ETIMEDOUT, "open timed out: %s", err->msg);
	if (!rc)
		return;
	FUZZ_CHECK(err->msg[0], "open failed (%d) without a message", rc);
	if (!fuzz_ignoring("err-code"))
		FUZZ_CHECK(err->code == rc, "open returned %d, but err.code is %d (\"%s\")", rc,
			   err->code, err->msg);
}

/* ---- blk ---- */

struct blk_cb_state {
	unsigned called, ok, err;
};

static void blk_cb(void *arg, int status)
{
	struct blk_cb_state *s = arg;

	s->called++;
	FUZZ_CHECK(status == 0 || status == -EIO || status == -ENOTSUP, "callback status %d",
		   status);
	if (status)
		s->err++;
	else
		s->ok++;
}

static void *blk_buf;

static void run_blk(struct fin *in)
{
	struct cfg_in c = { 0 };
	struct fd_blk *be = calloc(1, sizeof(*be));
	struct uvio_blk_opts o = { 0 };
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;
	struct uvio_blk *blk;
	struct model_dev *m;
	struct blk_cb_state cs = { 0 };
	unsigned submitted = 0;
	int rc;

	FUZZ_CHECK(be, "out of memory");
	read_transport(in, &c, sizeof(struct virtio_blk_config));
	c.dc.backend = &fd_blk_backend;
	c.dc.be = be;
	be->status = fin_u8(in) % 4;
	o.queues = fin_u8(in) % 5;
	o.queue_size = want_size(in, &c);
	o.disable_features = fin_u8(in) & 1 ? fin_u64(in) : 0;
	if (model_dev_create(&c.dc, &dev)) {
		free(be);
		return;
	}
	m = model_dev_of(dev);
	model_dev_hold(m);
	if (fin_u8(in) & 1)
		model_dev_config_churn(m, fin_u8(in));
	rc = uvio_blk_open(dev, &o, &blk, &err);
	check_open_rc(rc, &err);
	if (!rc) {
		const struct uvio_blk_info *info = uvio_blk_get_info(blk);
		uint32_t bs = info->block_size;

		FUZZ_CHECK(bs >= 512 && bs <= 65536 && !(bs & (bs - 1)), "block size %u", bs);
		FUZZ_CHECK(info->capacity % 512 == 0, "capacity %llu",
			   (unsigned long long)info->capacity);
		FUZZ_CHECK(info->queues >= 1 && info->queues <= (o.queues ? o.queues : 1),
			   "%u queues for %u wanted", info->queues, o.queues);
		FUZZ_CHECK(info->num_queues >= 1, "num_queues 0");
		for (uint16_t q = 0; q < info->queues; q++) {
			uint16_t max = model_dev_queue_size(m, q);

			FUZZ_CHECK(max && max <= SIZE_CAP, "queue %u set up with size %u", q, max);
			FUZZ_CHECK(uvio_blk_get_queue(blk, q), "queue %u missing", q);
		}
		FUZZ_CHECK(!uvio_blk_get_queue(blk, info->queues), "a queue too many");
		for (unsigned ops = fin_u8(in) % 8; ops; ops--) {
			struct uvio_blk_queue *q = uvio_blk_get_queue(blk, fin_u8(in) % info->queues);
			uint64_t off = (uint64_t)(fin_u8(in) % 4) * bs;
			uint64_t len = (uint64_t)(1 + fin_u8(in) % 3) * bs;
			struct iovec iov = { blk_buf, len };
			static char id[21];

			switch (fin_u8(in) % 7) {
			case 0: rc = uvio_blk_read(q, off, &iov, 1, blk_cb, &cs); break;
			case 1: rc = uvio_blk_write(q, off, &iov, 1, blk_cb, &cs); break;
			case 2: rc = uvio_blk_flush(q, blk_cb, &cs); break;
			case 3: rc = uvio_blk_get_id(q, id, blk_cb, &cs); break;
			case 4: rc = uvio_blk_discard(q, off, len, blk_cb, &cs); break;
			case 5: rc = uvio_blk_write_zeroes(q, off, len, fin_u8(in) & 1, blk_cb, &cs); break;
			default: rc = uvio_blk_set_writeback(blk, fin_u8(in) & 1); continue;
			}
			FUZZ_CHECK(rc <= 0, "submit gave %d", rc);
			if (!rc)
				submitted++;
			rc = uvio_blk_poll(q, 64);
			FUZZ_CHECK(rc >= -EIO, "poll gave %d", rc);
		}
		FUZZ_CHECK(!model_dev_error(m)[0], "the driver broke a rule: %s", model_dev_error(m));
		uvio_blk_close(blk);
	}
	FUZZ_CHECK(cs.called == submitted, "%u callbacks for %u requests", cs.called, submitted);
	FUZZ_CHECK(cs.ok + cs.err == submitted, "ok %u + err %u != %u", cs.ok, cs.err, submitted);
	FUZZ_CHECK(!model_dev_error(m)[0], "the driver broke a rule: %s", model_dev_error(m));
	model_dev_put(m);
	free(be);
}

/* ---- net ---- */

#ifndef VIRTIO_NET_F_RSS
#define VIRTIO_NET_F_RSS 60
#endif

/* While exploring past the known findings (see fuzz_ignoring()), the
 * device offers no feature without the one it requires. */
static void strip_known(uint64_t *f, uint64_t *disable)
{
	if (fuzz_ignoring("net-ctrl-deps")) {
		*disable &= ~BIT(VIRTIO_NET_F_CTRL_VQ);
		if (!(*f & BIT(VIRTIO_NET_F_CTRL_VQ)))
			*f &= ~(BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_RSS) |
				BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_VLAN) |
				BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR));
	}
	if (fuzz_ignoring("net-offload-deps")) {
		*disable &= ~(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM));
		if (!(*f & BIT(VIRTIO_NET_F_CSUM)))
			*f &= ~(BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6));
		if (!(*f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
			*f &= ~(BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6));
	}
}

/* Spec 5.1.3.1 (feature bit requirements) and 2.2.1: "The driver MUST NOT
 * accept a feature which requires another feature which was not
 * accepted." */
static void check_net_feature_deps(uint64_t f)
{
	static const struct { uint8_t bit, needs; } deps[] = {
		{ VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_CSUM },
		{ VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_CSUM },
		{ VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_CSUM },
		{ VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_CSUM },
		{ VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_VQ },
		{ VIRTIO_NET_F_CTRL_VLAN, VIRTIO_NET_F_CTRL_VQ },
		{ VIRTIO_NET_F_GUEST_ANNOUNCE, VIRTIO_NET_F_CTRL_VQ },
		{ VIRTIO_NET_F_MQ, VIRTIO_NET_F_CTRL_VQ },
		{ VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_NET_F_CTRL_VQ },
		{ VIRTIO_NET_F_RSS, VIRTIO_NET_F_CTRL_VQ },
	};

	for (unsigned i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
		FUZZ_CHECK(!(f & BIT(deps[i].bit)) || (f & BIT(deps[i].needs)),
			   "driver accepted feature %u without %u (spec 5.1.3.1, 2.2.1); "
			   "negotiated %#llx", deps[i].bit, deps[i].needs, (unsigned long long)f);
}

static void run_net(struct fin *in)
{
	struct cfg_in c = { 0 };
	struct fd_net *be = calloc(1, sizeof(*be));
	struct uvio_net_opts o = { .rx_pool = fd_pool };
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;
	struct uvio_net *net;
	struct model_dev *m;
	int rc;

	FUZZ_CHECK(be, "out of memory");
	read_transport(in, &c, sizeof(struct virtio_net_config));
	c.dc.backend = &fd_net_backend;
	c.dc.be = be;
	be->ctrl_ack = fin_u8(in) & 1 ? VIRTIO_NET_ERR : VIRTIO_NET_OK;
	o.queue_pairs = fin_u8(in) % 5;
	o.rx_queue_size = want_size(in, &c);
	o.tx_queue_size = want_size(in, &c);
	o.offloads = fin_u8(in) & 0x1f;
	o.no_mrg_rxbuf = fin_u8(in) & 1;
	o.disable_features = fin_u8(in) & 1 ? fin_u64(in) : 0;
	strip_known(&c.dc.features, &o.disable_features);
	if (model_dev_create(&c.dc, &dev)) {
		free(be);
		return;
	}
	m = model_dev_of(dev);
	model_dev_hold(m);
	if (fin_u8(in) & 1)
		model_dev_config_churn(m, fin_u8(in));
	rc = uvio_net_open(dev, &o, &net, &err);
	check_open_rc(rc, &err);
	if (!rc) {
		const struct uvio_net_info *info = uvio_net_get_info(net);
		struct uvio_net_link link;
		struct uvio_pkt *pkts[8];

		check_net_feature_deps(info->features);
		FUZZ_CHECK(info->mtu >= 68, "mtu %u", info->mtu);
		FUZZ_CHECK(info->max_queue_pairs >= 1 && info->max_queue_pairs <= 0x8000,
			   "max_queue_pairs %u", info->max_queue_pairs);
		FUZZ_CHECK(info->queue_pairs >= 1 && info->queue_pairs <= info->max_queue_pairs &&
			   info->queue_pairs <= (o.queue_pairs ? o.queue_pairs : 1),
			   "queue_pairs %u", info->queue_pairs);
		FUZZ_CHECK(info->rx_queue_size && info->rx_queue_size <= SIZE_CAP &&
			   info->tx_queue_size && info->tx_queue_size <= SIZE_CAP,
			   "queue sizes %u/%u", info->rx_queue_size, info->tx_queue_size);
		rc = uvio_net_get_link(net, &link);
		FUZZ_CHECK(rc <= 0, "get_link %d", rc);
		for (unsigned ops = fin_u8(in) % 6; ops; ops--) {
			uint16_t q = fin_u8(in) % info->queue_pairs;
			unsigned n = 1 + fin_u8(in) % 8, took;

			switch (fin_u8(in) % 4) {
			case 0:
				if (!uvio_pkt_alloc_bulk(fd_pool, NULL, pkts, n))
					break;
				for (unsigned i = 0; i < n; i++)
					pkts[i]->data_len = (uint16_t)(pkts[i]->pkt_len = 60 + 100 * i);
				took = uvio_net_tx_burst(net, q, pkts, (uint16_t)n);
				FUZZ_CHECK(took <= n, "tx_burst took %u of %u", took, n);
				if (took < n)
					uvio_net_tx_drop(net, q, pkts + took, (uint16_t)(n - took));
				break;
			case 1:
				took = uvio_net_rx_burst(net, q, pkts, (uint16_t)n);
				FUZZ_CHECK(took <= n, "rx_burst gave %u of %u", took, n);
				uvio_pkt_free_bulk(NULL, pkts, took);
				break;
			case 2:
				rc = uvio_net_set_promisc(net, fin_u8(in) & 1);
				FUZZ_CHECK(rc <= 0 && rc != -ETIMEDOUT, "set_promisc %d", rc);
				break;
			default:
				rc = uvio_net_set_queue_pairs(net, (uint16_t)(1 + fin_u8(in) % 4));
				FUZZ_CHECK(rc <= 0 && rc != -ETIMEDOUT, "set_queue_pairs %d", rc);
				break;
			}
		}
		FUZZ_CHECK(!model_dev_error(m)[0], "the driver broke a rule: %s", model_dev_error(m));
		uvio_net_close(net);
	}
	FUZZ_CHECK(!model_dev_error(m)[0], "the driver broke a rule: %s", model_dev_error(m));
	model_dev_put(m);
	free(be);
	fd_pool_check();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = { data, size };

	fd_init();
	if (!blk_buf) {
		uint64_t iova;

		blk_buf = uvio_dma_alloc(3 * 65536, 4096, -1, &iova, NULL);
		FUZZ_CHECK(blk_buf, "no DMA memory");
	}
	if (fin_u8(&in) & 1)
		run_net(&in);
	else
		run_blk(&in);
	return 0;
}
