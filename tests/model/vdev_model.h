/* SPDX-License-Identifier: MIT */
/*
 * A virtio device model for tests and benchmarks: it plays the DEVICE side
 * of one virtqueue (split, spec 2.7, or packed, spec 2.8) on the same
 * memory the driver uses, in the same process (IOVA == VA).
 *
 * It was written from the spec, not from lib/vring, so that the two can
 * check each other. As a careful device it validates everything the driver
 * wrote (chains, indirect tables, flags, wrap bits, indices) and records
 * the first violation in vdev_model_error(). On request it misbehaves like
 * a buggy or malicious device, so that tests can check the driver's
 * defences.
 *
 * Usage: pop available buffers, read/write their segments, push them back
 * as used (one at a time in any order, or as an IN_ORDER batch).
 */
#ifndef UVIO_TESTS_VDEV_MODEL_H
#define UVIO_TESTS_VDEV_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uvio/vring.h>

#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38  /* spec 6; missing from older UAPI headers */
#endif

struct vdev_model;

/* One element of a buffer, as the device sees it. */
struct vdev_seg {
	void *ptr;        /* == addr: IOVA is VA here */
	uint64_t addr;
	uint32_t len;
	bool writable;
};

/* One buffer the device took from the ring and has not yet used. */
struct vdev_buf {
	uint16_t id;        /* split: head descriptor index; packed: buffer id */
	uint16_t ndesc;     /* ring descriptors it occupies (1 when indirect) */
	bool indirect;
	unsigned nseg, n_out, n_in;
	uint32_t out_len;   /* device-readable bytes */
	uint32_t in_len;    /* device-writable bytes */
	struct vdev_seg *seg;
	/* private to the model */
	struct vdev_seg seg_inline[4];
	unsigned seg_cap;
	unsigned slot;
};

/* Features: VIRTIO_F_RING_PACKED, VIRTIO_RING_F_EVENT_IDX,
 * VIRTIO_RING_F_INDIRECT_DESC and VIRTIO_F_IN_ORDER are read. */
struct vdev_model *vdev_model_create(const struct uvio_vq_addrs *addrs,
				     uint16_t size, uint64_t features);
void vdev_model_destroy(struct vdev_model *m);

/* The first thing the driver did wrong, or "" while it behaves. */
const char *vdev_model_error(const struct vdev_model *m);

/* Take the next available buffer. Returns 1 (*out set, owned by the model
 * until pushed), 0 when none is available, -EPROTO when the driver wrote
 * something invalid (see vdev_model_error()). */
int vdev_model_pop(struct vdev_model *m, struct vdev_buf **out);

/* Pop everything available; returns how many (or -EPROTO). */
int vdev_model_pop_all(struct vdev_model *m);

/* Buffers popped and not yet pushed, oldest first. */
unsigned vdev_model_pending(const struct vdev_model *m);
struct vdev_buf *vdev_model_pending_at(const struct vdev_model *m, unsigned i);

/* Copy the device-readable bytes of b into dst (up to max); returns bytes. */
size_t vdev_buf_read(const struct vdev_buf *b, void *dst, size_t max);
/* Write len bytes of src into the device-writable part of b; returns bytes
 * written (at most b->in_len). */
size_t vdev_buf_write(struct vdev_buf *b, const void *src, size_t len);

/* Mark b used with used length len (spec 2.7.8 / 2.8.22). Returns true when
 * the device must send a used buffer notification for it. */
bool vdev_model_push(struct vdev_model *m, struct vdev_buf *b, uint32_t len);

enum vdev_order { VDEV_ORDER_FIFO, VDEV_ORDER_REVERSE, VDEV_ORDER_RANDOM };

/* Push every pending buffer, each with its full writable length, in the
 * given order (RANDOM uses seed). Returns how many. */
unsigned vdev_model_push_all(struct vdev_model *m, enum vdev_order order,
			     uint32_t seed);

/* VIRTIO_F_IN_ORDER (spec 2.7.9, 2.8.8): use the n oldest pending buffers
 * with a single used entry, carrying the last one's id and len. Returns
 * true when a notification is due. */
bool vdev_model_push_batch(struct vdev_model *m, unsigned n, uint32_t len);

/* Used buffer notifications the device would have sent so far. */
unsigned vdev_model_irqs(const struct vdev_model *m);

/* Available buffer notifications the device asks for (spec 2.7.10,
 * 2.8.10). AT: a notification only when the driver makes available the
 * entry (split) / descriptor (packed) `ahead` places after the device's
 * current position; needs EVENT_IDX. */
enum vdev_kick_mode { VDEV_KICK_ALWAYS, VDEV_KICK_NEVER, VDEV_KICK_AT };
void vdev_model_kick_mode(struct vdev_model *m, enum vdev_kick_mode mode,
			  unsigned ahead);

/* Things a buggy or malicious device writes. */
enum vdev_evil {
	VDEV_EVIL_ID_RANGE,        /* used id >= queue size */
	VDEV_EVIL_ID_NOT_IN_FLIGHT,/* an id in range that no pending buffer has */
	VDEV_EVIL_DOUBLE,          /* the last pushed buffer, used again */
	VDEV_EVIL_LEN,             /* b used with len = writable length + 1 */
	VDEV_EVIL_IDX_JUMP,        /* split: used idx moves by size + 1 */
	VDEV_EVIL_BAD_WRAP,        /* packed: USED bit set for the wrap, AVAIL not */
};
/* Write one bad used entry. b is the buffer it is about (LEN, ID_RANGE,
 * BAD_WRAP; may be NULL for the others). Returns 0 or -EINVAL when the
 * misbehaviour does not apply to this layout. */
int vdev_model_misbehave(struct vdev_model *m, enum vdev_evil what,
			 struct vdev_buf *b);

/* A notify callback (uvio_vq_notify_fn) that counts kicks; ctx is a
 * struct vdev_kicks. */
struct vdev_kicks {
	unsigned count;
	uint16_t last_index;
	uint32_t last_data;
};
void vdev_kick_count(void *ctx, uint16_t index, uint32_t data);

#endif
