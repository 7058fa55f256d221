/* SPDX-License-Identifier: MIT */
/*
 * uvio virtqueues: the split (spec 2.7) and packed (spec 2.8) layouts
 * behind one set of verbs.
 *
 * "spec N.N" in uvio's comments is a section of the Virtual I/O Device
 * (VIRTIO) Version 1.3 specification (OASIS).
 *
 * The layout is chosen once, at uvio_vq_create(), from the negotiated
 * features (VIRTIO_F_RING_PACKED). The queue knows nothing of PCI or
 * vhost-user: it gets its memory from the caller and tells the transport
 * about new buffers through a notify callback.
 *
 * The device is untrusted. The driver keeps a shadow of every buffer it
 * posted (cookie, descriptor count, writable length); whatever the device
 * writes back (ids, lengths, indices, flags) is checked against the shadow
 * and never followed. A bad value puts the queue in the broken state: every
 * later call returns -EIO and uvio_vq_error() says what the device did.
 *
 * Thread safety: a queue has one owner thread. No call here takes a lock;
 * two threads must not call into the same queue at once.
 */
#ifndef UVIO_VRING_H
#define UVIO_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

struct uvio_vq;

/* One segment of a buffer, by device (IO virtual) address. */
struct uvio_sg {
	uint64_t iova;
	uint32_t len;
};

/* One completed buffer. */
struct uvio_vq_used {
	void *cookie;   /* as given to uvio_vq_add() */
	uint32_t len;   /* bytes the device wrote, <= the writable length */
};

/* Device addresses of the three ring areas, for the transport. */
struct uvio_vq_addrs {
	uint64_t desc;    /* descriptor table / packed descriptor ring */
	uint64_t driver;  /* avail ring / driver event suppression */
	uint64_t device;  /* used ring / device event suppression */
};

/* Told to the transport when the device must be notified. `data` is the
 * notification value: the queue index, or with VIRTIO_F_NOTIFICATION_DATA
 * the full value of spec 4.1.5.2 (index, next offset, wrap). */
typedef void (*uvio_vq_notify_fn)(void *ctx, uint16_t index, uint32_t data);

struct uvio_vq_params {
	uint16_t index;         /* queue index within the device */
	uint16_t size;          /* entries: power of two for split, any 1..32768 for packed */
	uint64_t features;      /* negotiated device features (ring bits are read) */
	uint16_t indirect_max;  /* descriptors per indirect table; 0 = never indirect */
	void *mem;              /* uvio_vq_mem_size() bytes, 4096-aligned, zeroed DMA memory */
	uint64_t mem_iova;      /* device address of `mem` */
	uvio_vq_notify_fn notify;
	void *notify_ctx;
	/* Widest vector path the queue may take, as DPDK's EAL
	 * --force-max-simd-bitwidth: 0 = the environment's
	 * UVIO_MAX_SIMD_BITWIDTH if set, else the CPU's best; 64 (anything
	 * below 256) = scalar only; 256 or more = the batch path (AVX2,
	 * IN_ORDER queues) where the CPU has it. */
	uint16_t max_simd_bitwidth;
};

/* Bytes of DMA memory a queue needs: the ring areas (laid out as legacy
 * devices require, used ring 4096-aligned) and the indirect tables. */
size_t uvio_vq_mem_size(uint64_t features, uint16_t size, uint16_t indirect_max);

/* Create a queue over params->mem. Returns 0 or -EINVAL (bad size, memory
 * not aligned) / -ENOMEM. Callbacks (used-buffer notifications) start
 * disabled: uvio polls. */
int uvio_vq_create(const struct uvio_vq_params *params, struct uvio_vq **out);

/* Free the queue's bookkeeping (not params->mem, which the caller owns). */
void uvio_vq_destroy(struct uvio_vq *vq);

void uvio_vq_get_addrs(const struct uvio_vq *vq, struct uvio_vq_addrs *addrs);
uint16_t uvio_vq_size(const struct uvio_vq *vq);
uint16_t uvio_vq_index(const struct uvio_vq *vq);
bool uvio_vq_is_packed(const struct uvio_vq *vq);
/* The vector width the queue's batch path uses: 256, or 64 (scalar: the
 * CPU lacks AVX2, IN_ORDER is off, or max_simd_bitwidth said so). */
uint16_t uvio_vq_simd_bitwidth(const struct uvio_vq *vq);

/* Descriptors free right now: a buffer of n segments needs n, or 1 when it
 * goes indirect. */
unsigned uvio_vq_num_free(const struct uvio_vq *vq);

/* The ring slot the next buffer goes into, 0..size-1 (packed: its
 * descriptor; split: its avail ring entry). A refill that ends on a
 * multiple of 4 keeps a device reading 4 at a time on its fast path. */
uint16_t uvio_vq_next_slot(const struct uvio_vq *vq);

/*
 * Post one buffer: sg[0..n_out) are device-readable, sg[n_out..n_out+n_in)
 * device-writable. `cookie` must not be NULL; it comes back from
 * uvio_vq_get_used(). A buffer of more than one segment goes into an
 * indirect table when the queue has them. On a split ring the device does
 * not see the buffer until uvio_vq_kick() or uvio_vq_kick_prepare(); on a
 * packed ring it may see it at once (the descriptor's flags are the
 * publication, spec 2.8.21), and the kick only notifies.
 * Returns 0, -ENOSPC (ring full: back-pressure, try after get_used),
 * -EINVAL (no segments, NULL cookie, too many segments), -EIO (broken).
 */
int uvio_vq_add(struct uvio_vq *vq, const struct uvio_sg *sg,
		unsigned n_out, unsigned n_in, void *cookie);

/* uvio_vq_add() of one segment: the common case of packet I/O, without
 * the scatter-gather walk. Same results. */
int uvio_vq_add_one(struct uvio_vq *vq, uint64_t iova, uint32_t len,
		    bool device_writes, void *cookie);

/* Post n one-segment buffers, sg[i] with cookies[i], all device-readable
 * or all device-writable: a refill or a burst in one call. All or none:
 * returns 0, -ENOSPC (fewer than n free descriptors), -EINVAL (a NULL
 * cookie) or -EIO (broken). */
int uvio_vq_add_bufs(struct uvio_vq *vq, const struct uvio_sg *sg,
		     void *const *cookies, unsigned n, bool device_writes);

/* Make added buffers visible to the device. Returns true when the device
 * must be notified (spec 2.7.10 / 2.8.10 event suppression). */
bool uvio_vq_kick_prepare(struct uvio_vq *vq);

/* The notification value for the current ring state (see notify_fn). */
uint32_t uvio_vq_notification_data(const struct uvio_vq *vq);

/* kick_prepare() and, when needed, the notify callback. Returns true when
 * it notified. */
bool uvio_vq_kick(struct uvio_vq *vq);

/* Take up to `max` completed buffers. Returns how many (0 when none), or
 * -EIO when the queue is (or just became) broken. */
int uvio_vq_get_used(struct uvio_vq *vq, struct uvio_vq_used *out, unsigned max);

/* True when a completed buffer is waiting. */
bool uvio_vq_has_used(struct uvio_vq *vq);

/* Ask the device not to send used-buffer notifications (polling). */
void uvio_vq_disable_cb(struct uvio_vq *vq);

/* Ask the device for a notification at the next used buffer. Returns false
 * when buffers were used meanwhile: poll again before waiting. */
bool uvio_vq_enable_cb(struct uvio_vq *vq);

/* At teardown, after the device is reset: give back one buffer the device
 * never completed (its cookie), or NULL when there are none left. */
void *uvio_vq_detach_unused(struct uvio_vq *vq);

/* After the device reset this queue (spec 2.6.1 queue reset) and every
 * buffer was detached: make the ring new over the same memory, as
 * uvio_vq_create left it (zeroed areas, wrap counters and indices back at
 * their start, not broken, callbacks disabled). -EBUSY while a buffer is
 * still posted, -ENOMEM (the queue is then broken). */
int uvio_vq_reset(struct uvio_vq *vq);

/* Buffers posted and not yet returned by get_used or detach_unused. */
unsigned uvio_vq_in_flight(const struct uvio_vq *vq);

bool uvio_vq_is_broken(const struct uvio_vq *vq);

/* Why the queue broke (what the device wrote), or "" while it is fine. */
const char *uvio_vq_error(const struct uvio_vq *vq);

/* Mark the queue broken from outside (e.g. the device went away), so that
 * every later call fails fast with -EIO. */
void uvio_vq_set_broken(struct uvio_vq *vq, const char *why);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif
