/* SPDX-License-Identifier: MIT */
/* Inside the virtio-blk driver: shared by blk.c (device) and blk_io.c
 * (requests). */
#ifndef UVIO_BLK_INTERNAL_H
#define UVIO_BLK_INTERNAL_H

#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include <uvio/blk.h>
#include <uvio/vring.h>

/* The driver-owned DMA part of one virtio request: header, the range of a
 * discard/write-zeroes, the id buffer, and the status byte the device
 * writes last (spec 5.2.6). One cache line. */
struct blk_slot {
	struct virtio_blk_outhdr hdr;
	struct virtio_blk_discard_write_zeroes range;
	char id[VIRTIO_BLK_ID_BYTES];
	uint8_t status;
	uint8_t pad[64 - 16 - 16 - VIRTIO_BLK_ID_BYTES - 1];
};

/* One user request; split requests have several parts (slots). */
struct blk_io {
	uvio_blk_cb cb;
	void *arg;
	char *id_out;
	uint16_t parts_left;
	uint16_t next_free;
	int status;
};

/* Host-side state of one slot: what it belongs to. The slot's address is
 * the cookie given to the ring. */
struct blk_req {
	struct blk_io *io;
	uint16_t next_free;
};

struct uvio_blk_queue {
	struct uvio_blk *blk;
	struct uvio_vq *vq;
	struct blk_slot *slots;
	uint64_t slots_iova;
	struct blk_req *reqs;
	struct blk_io *ios;
	uint16_t nslots;
	uint16_t free_req, free_io;
	uint16_t nfree_req, nfree_io;
	uint16_t max_data_segs;     /* per virtio request */
	bool indirect;
	bool defer_kicks;         /* uvio_blk_defer_kicks */
	struct uvio_sg *sg;         /* scratch: max_data_segs + 2 */
	unsigned in_flight;         /* user requests */
	char error[160];
	/* Requests a queue reset took back (blk_reset.c): they complete
	 * with -ECANCELED at the next poll, like any completion. */
	struct blk_cancelled {
		uvio_blk_cb cb;
		void *arg;
	} *cancelled;
	unsigned ncancelled;
};

struct uvio_blk {
	struct uvio_dev *dev;
	struct uvio_blk_opts opts;      /* as opened, for reinit */
	struct uvio_blk_info info;
	struct uvio_blk_queue *queues;
};

int uvio_blk_queue_init(struct uvio_blk *blk, struct uvio_blk_queue *q,
			struct uvio_vq *vq, struct uvio_err *err);
void uvio_blk_queue_fini(struct uvio_blk_queue *q);
/* Fail every request still in flight with -EIO (and run the cancelled
 * ones' callbacks). */
void uvio_blk_queue_fail_all(struct uvio_blk_queue *q);

#endif
