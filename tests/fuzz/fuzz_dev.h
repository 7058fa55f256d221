/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets that open whole devices through the model
 * transport (tests/model/model_dev.h): DMA memory (4K pinned, IOVA = VA,
 * set up once per process), one packet pool, and two small device
 * backends whose behaviour the fuzz input steers:
 *  - blk: answers each request with a status byte, at once or when the
 *    target says so (hold);
 *  - net: keeps rx buffers for the target to fill, completes tx at once or
 *    on request, and always answers the control queue at once (so the
 *    driver's 2 s control timeout is never waited for).
 * A buffer's role is told by its shape, not by the queue index, so the
 * backends work whatever queue layout the fuzzed config leads to.
 */
#ifndef UVIO_TESTS_FUZZ_DEV_H
#define UVIO_TESTS_FUZZ_DEV_H

#include <errno.h>
#include <stdlib.h>

#include <uvio/blk.h>
#include <uvio/dma.h>
#include <uvio/net.h>

#include "model_dev.h"
#include "fuzz_common.h"

#define FD_POOL_PKTS 512
#define FD_POOL_ROOM 2048

static struct uvio_pktpool *fd_pool;

static void fd_init(void)
{
	struct uvio_err err = { 0 };

	if (fd_pool)
		return;
	if (uvio_dma_init(&(struct uvio_dma_opts){ .backing = UVIO_DMA_4K_PINNED }, &err)) {
		fprintf(stderr, "uvio_dma_init: %s\n", err.msg);
		abort();
	}
	if (uvio_pktpool_create("fuzz", FD_POOL_PKTS, FD_POOL_ROOM, -1, &fd_pool, &err)) {
		fprintf(stderr, "uvio_pktpool_create: %s\n", err.msg);
		abort();
	}
}

/* Every packet is back in the pool, once: take them all out, check that no
 * two are the same, put them back. */
static void fd_pool_check(void)
{
	static struct uvio_pkt *all[FD_POOL_PKTS];
	unsigned avail = uvio_pktpool_avail(fd_pool);

	FUZZ_CHECK(avail == FD_POOL_PKTS, "pool has %u of %u packets after close", avail,
		   FD_POOL_PKTS);
	FUZZ_CHECK(uvio_pkt_alloc_bulk(fd_pool, NULL, all, FD_POOL_PKTS) == FD_POOL_PKTS,
		   "cannot take back every packet");
	for (unsigned i = 0; i < FD_POOL_PKTS; i++) {
		FUZZ_CHECK(all[i]->udata != 0x5eed, "packet %p twice in the pool", (void *)all[i]);
		all[i]->udata = 0x5eed;
	}
	for (unsigned i = 0; i < FD_POOL_PKTS; i++)
		all[i]->udata = 0;
	uvio_pkt_free_bulk(NULL, all, FD_POOL_PKTS);
}

/* ---- virtio-blk ---- */

struct fd_blk {
	bool hold;           /* keep requests until the target completes them */
	uint8_t status;      /* what an immediate answer says */
	unsigned served;
};

/* Use b with status st written in its last writable byte (spec 5.2.6). */
static void fd_blk_answer(struct vdev_model *vq, struct vdev_buf *vb, uint8_t st)
{
	if (vb->in_len)
		model_buf_write(vb, vb->in_len - 1, &st, 1);
	vdev_model_push(vq, vb, vb->in_len);
}

static void fd_blk_process(void *be, struct model_dev *m, uint16_t q)
{
	struct fd_blk *b = be;
	struct vdev_model *vq = model_dev_vq(m, q);
	struct vdev_buf *vb;

	while (vdev_model_pop(vq, &vb) == 1) {
		b->served++;
		if (!b->hold)
			fd_blk_answer(vq, vb, b->status);
	}
}

static int fd_blk_config_write(void *be, struct model_dev *m, uint32_t off,
			       const void *buf, uint32_t len)
{
	(void)be;
	(void)m;
	(void)buf;
	return off == offsetof(struct virtio_blk_config, wce) && len == 1 ? 0 : -EPERM;
}

static const struct model_backend fd_blk_backend = {
	.process = fd_blk_process,
	.config_write = fd_blk_config_write,
};

/* ---- virtio-net ---- */

struct fd_net {
	bool tx_hold;        /* keep tx buffers until the target completes them */
	uint8_t ctrl_ack;    /* VIRTIO_NET_OK or ERR */
	unsigned ctrl_cmds;
	unsigned tx_frames;
};

static void fd_net_process(void *be, struct model_dev *m, uint16_t q)
{
	struct fd_net *n = be;
	struct vdev_model *vq = model_dev_vq(m, q);
	struct vdev_buf *vb;
	unsigned i = 0;

	if (vdev_model_pop_all(vq) < 0)
		return;
	/* rx buffers (writable only) wait for the target; tx buffers (readable
	 * only) go back now unless held; control buffers are answered. */
	while (i < vdev_model_pending(vq)) {
		vb = vdev_model_pending_at(vq, i);
		if (!vb->n_out) {
			i++;
			continue;
		}
		if (!vb->n_in) {
			if (n->tx_hold || i) {   /* IN_ORDER: only the oldest may go */
				i++;
				continue;
			}
			n->tx_frames++;
			vdev_model_push(vq, vb, 0);
			continue;
		}
		if (i) {
			i++;
			continue;
		}
		n->ctrl_cmds++;
		fd_blk_answer(vq, vb, n->ctrl_ack);
		/* fd_blk_answer used in_len: the control buffer's writable part
		 * is the ack byte alone. */
	}
}

static int fd_net_config_write(void *be, struct model_dev *m, uint32_t off,
			       const void *buf, uint32_t len)
{
	(void)be;
	(void)buf;
	return model_dev_is_legacy(m) && off + len <= 6 ? 0 : -EPERM;
}

static const struct model_backend fd_net_backend = {
	.process = fd_net_process,
	.config_write = fd_net_config_write,
};

/* Check a frame the driver gave to the application. */
static void fd_check_rx_pkt(struct uvio_pkt *p, uint16_t q)
{
	uint32_t total = 0;
	unsigned segs = 0;

	FUZZ_CHECK(p->rx_queue == q, "frame from queue %u says %u", q, p->rx_queue);
	for (struct uvio_pkt *s = p; s; s = s->next) {
		FUZZ_CHECK(s->pool == fd_pool, "segment from another pool");
		FUZZ_CHECK((uint32_t)s->data_off + s->data_len <= s->buf_len,
			   "segment data %u+%u past its buffer of %u", s->data_off,
			   s->data_len, s->buf_len);
		total += s->data_len;
		FUZZ_CHECK(++segs <= FD_POOL_PKTS, "segment chain loops");
	}
	FUZZ_CHECK(segs == p->nb_segs, "nb_segs %u, chain of %u", p->nb_segs, segs);
	FUZZ_CHECK(total == p->pkt_len, "pkt_len %u, segments hold %u", p->pkt_len, total);
}

#endif
