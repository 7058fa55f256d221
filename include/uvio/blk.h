/* SPDX-License-Identifier: MIT */
/*
 * uvio virtio-blk poll-mode driver (spec 5.2).
 *
 * Open a device, get its queues, submit requests with a completion
 * callback, poll for completions. Data buffers are DMA memory (uvio_dma_alloc
 * or a pool); offsets and lengths are bytes, multiples of the device's
 * logical block size. Large requests are split at the device's size_max /
 * seg_max limits and complete once, when every part has.
 *
 * Thread safety: uvio_blk_open/close/set_writeback are for one control
 * thread. Each queue belongs to one thread: submit and poll on a queue
 * take no lock and must not be called from two threads at once; different
 * queues are independent. Callbacks run inside uvio_blk_poll(), on the
 * queue's thread.
 */
#ifndef UVIO_BLK_H
#define UVIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <uvio/dev.h>
#include <uvio/err.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

struct uvio_blk;
struct uvio_blk_queue;

struct uvio_blk_info {
	uint64_t capacity;         /* bytes */
	uint32_t block_size;       /* logical block size (BLK_SIZE, else 512) */
	uint32_t size_max;         /* bytes per segment, 0 = no limit */
	uint32_t seg_max;          /* data segments per request, 0 = no limit */
	uint16_t cylinders;        /* GEOMETRY, 0 when not offered */
	uint8_t heads, sectors;
	uint8_t physical_block_exp; /* TOPOLOGY */
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	bool read_only;
	bool flush;                /* FLUSH supported */
	bool writeback;            /* write cache on (CONFIG_WCE, or FLUSH) */
	bool wce_configurable;     /* CONFIG_WCE */
	uint16_t num_queues;       /* the device's; MQ, else 1 */
	uint16_t queues;           /* set up by uvio_blk_open */
	uint16_t queue_size;
	bool discard, write_zeroes, secure_erase;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	bool write_zeroes_may_unmap;
	uint32_t max_secure_erase_sectors, max_secure_erase_seg;
	uint32_t secure_erase_sector_alignment;
	uint64_t features;         /* negotiated */
	bool packed;               /* ring layout */
};

struct uvio_blk_opts {
	uint16_t queues;           /* wanted queues; 0 = 1; capped at num_queues */
	uint16_t queue_size;       /* 0 = the device's maximum */
	uint64_t disable_features; /* feature bits not to negotiate */
};

/* Completion: status 0, or -EIO (device I/O error, or the queue broke),
 * -ENOTSUP (the device does not support the request), -ECANCELED (its
 * queue was reset: uvio_blk_queue_reset). */
typedef void (*uvio_blk_cb)(void *arg, int status);

/*
 * Take over `dev` (it is closed with the blk device, or on failure):
 * negotiate every virtio-blk feature the device offers, read its config,
 * set up the queues and start it.
 */
int uvio_blk_open(struct uvio_dev *dev, const struct uvio_blk_opts *opts,
		  struct uvio_blk **out, struct uvio_err *err);

/* Reset the device; requests still in flight complete with -EIO first. */
void uvio_blk_close(struct uvio_blk *blk);

/*
 * Ask the device how it is (one status read; call it from a control thread
 * now and then, e.g. once a second, or when requests fail): 0 fine,
 * -ERESTART the device set DEVICE_NEEDS_RESET (spec 2.1.2): call
 * uvio_blk_reinit; -ENODEV it is gone (removed).
 */
int uvio_blk_check(struct uvio_blk *blk);

/*
 * Reset the device and bring it back with the options it was opened with.
 * Requests in flight complete with -EIO (resubmit them). The queues are new:
 * get them again with uvio_blk_get_queue. Every queue thread must be out of
 * uvio_blk_* calls meanwhile.
 */
int uvio_blk_reinit(struct uvio_blk *blk, struct uvio_err *err);

/*
 * Reset request queue q alone and bring it back (VIRTIO_F_RING_RESET, spec
 * 2.6.1) at `new_size` entries (0: the device's maximum). Requests in
 * flight on q complete with -ECANCELED, from the next uvio_blk_poll(q)
 * like any completion (resubmit them if they matter). Other queues keep
 * running. Thread safety: from q's own thread (not from inside one of its
 * callbacks), never at the same time as another control call on this
 * device. The queue object stays the same. Returns 0, -EINVAL (no such
 * queue), -ENOTSUP (RING_RESET not negotiated: legacy devices,
 * vhost-user), or a transport error (the queue is then broken).
 * QEMU 7.2's virtio-blk offers RING_RESET but has no reset of its own for
 * a queue: a request it already took completes into the reset ring and
 * QEMU then marks the whole device broken. Against it, poll the queue
 * idle first (uvio_blk_queue_in_flight() == 0).
 */
int uvio_blk_queue_reset(struct uvio_blk *blk, uint16_t q, uint16_t new_size);

const struct uvio_blk_info *uvio_blk_get_info(const struct uvio_blk *blk);
struct uvio_dev *uvio_blk_dev(const struct uvio_blk *blk);
struct uvio_blk_queue *uvio_blk_get_queue(struct uvio_blk *blk, uint16_t q);

/* Turn the write cache on or off (CONFIG_WCE): -ENOTSUP when not offered. */
int uvio_blk_set_writeback(struct uvio_blk *blk, bool on);

/*
 * Submit one request. Returns 0 when queued (the callback will run), or,
 * with no callback ever:
 *   -EINVAL  offset/length not a multiple of the block size, a segment not
 *            512-byte aligned, or not DMA memory, or len 0
 *   -ERANGE  past the end of the device
 *   -EROFS   a write to a read-only device
 *   -ENOTSUP the device did not offer this request type
 *   -EAGAIN  the queue is full: poll, then retry (back-pressure)
 *   -E2BIG   the request needs more slots or descriptors than the queue
 *            has even when idle: split it
 *   -EIO     the queue is broken
 */
int uvio_blk_read(struct uvio_blk_queue *q, uint64_t offset,
		  const struct iovec *iov, unsigned iovcnt, uvio_blk_cb cb,
		  void *arg);
int uvio_blk_write(struct uvio_blk_queue *q, uint64_t offset,
		   const struct iovec *iov, unsigned iovcnt, uvio_blk_cb cb,
		   void *arg);
int uvio_blk_flush(struct uvio_blk_queue *q, uvio_blk_cb cb, void *arg);
int uvio_blk_discard(struct uvio_blk_queue *q, uint64_t offset, uint64_t len,
		     uvio_blk_cb cb, void *arg);
int uvio_blk_write_zeroes(struct uvio_blk_queue *q, uint64_t offset,
			  uint64_t len, bool unmap, uvio_blk_cb cb, void *arg);
int uvio_blk_secure_erase(struct uvio_blk_queue *q, uint64_t offset,
			  uint64_t len, uvio_blk_cb cb, void *arg);
/* The device's id string (spec 5.2.6: up to 20 bytes, NUL-padded), copied
 * into `id` (21 bytes, NUL-terminated) before the callback runs. */
int uvio_blk_get_id(struct uvio_blk_queue *q, char id[21], uvio_blk_cb cb,
		    void *arg);

/* Run the callbacks of up to `max` completed requests. Returns how many,
 * or -EIO once the queue broke (its requests were failed with -EIO). */
int uvio_blk_poll(struct uvio_blk_queue *q, unsigned max);

/*
 * Batching: with kicks deferred, submissions do not notify the device until
 * uvio_blk_kick(), which sends at most one notification for all of them
 * (none when the device suppresses them). Off by default; turning it off
 * kicks. The _sync wrappers kick for themselves.
 */
void uvio_blk_defer_kicks(struct uvio_blk_queue *q, bool on);
void uvio_blk_kick(struct uvio_blk_queue *q);

/* Requests submitted and not yet completed. */
unsigned uvio_blk_queue_in_flight(const struct uvio_blk_queue *q);

/* Why the queue broke, or "". */
const char *uvio_blk_queue_error(const struct uvio_blk_queue *q);

/*
 * Event mode (completion interrupts). uvio_blk_queue_eventfd: an fd that
 * polls readable when a request completed on `q` while armed; read 8
 * bytes to clear it. The first call sets the interrupt up: from the
 * control thread, after open (the queue objects are new after
 * uvio_blk_reinit: ask again). Results as uvio_dev_queue_eventfd.
 * uvio_blk_queue_intr_enable: arm the used buffer notification (spec
 * 2.7.7 / 2.8.10) and look at the ring again: 0 nothing completed (sleep
 * on the fd), 1 something did meanwhile (uvio_blk_poll instead), -EIO
 * broken. uvio_blk_queue_intr_disable: back to polling. Both on the
 * queue's thread, like uvio_blk_poll.
 */
int uvio_blk_queue_eventfd(struct uvio_blk_queue *q);
int uvio_blk_queue_intr_enable(struct uvio_blk_queue *q);
void uvio_blk_queue_intr_disable(struct uvio_blk_queue *q);

/* Synchronous wrappers: submit, then poll this queue until done. */
int uvio_blk_read_sync(struct uvio_blk_queue *q, uint64_t offset, void *buf,
		       uint64_t len);
int uvio_blk_write_sync(struct uvio_blk_queue *q, uint64_t offset,
			const void *buf, uint64_t len);
int uvio_blk_flush_sync(struct uvio_blk_queue *q);
int uvio_blk_write_zeroes_sync(struct uvio_blk_queue *q, uint64_t offset,
			       uint64_t len, bool unmap);
int uvio_blk_discard_sync(struct uvio_blk_queue *q, uint64_t offset,
			  uint64_t len);
int uvio_blk_get_id_sync(struct uvio_blk_queue *q, char id[21]);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif
