/* SPDX-License-Identifier: MIT */
/*
 * uvio device core: the transport-independent part of a virtio device.
 *
 * A transport (virtio-pci over VFIO or UIO, vhost-user) is one small table
 * of operations; the core drives the status handshake of spec 3.1.1,
 * negotiates features and sets up queues through it. The rings never see
 * the transport.
 *
 * Thread safety: set-up and teardown calls (everything here) are for one
 * thread at a time per device. Once the device is started, each queue
 * belongs to one polling thread (see vring.h); uvio_dev_read_config() may
 * be called by a control thread meanwhile.
 */
#ifndef UVIO_DEV_H
#define UVIO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include <uvio/err.h>
#include <uvio/vring.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/*
 * A transport's operations. `t` is the transport's own state. Each op that
 * can fail returns 0 or a negative errno. The core calls them from the
 * set-up thread, except notify_queue, which a queue's owner thread calls on
 * the hot path and so must be a plain store (or a write to a socket).
 */
struct uvio_transport_ops {
	const char *name;  /* "vfio", "uio", "vhost-user", "model" */

	/* Device-specific configuration space (spec 4.1.4.6 / 2.5). */
	int (*read_config)(void *t, uint32_t off, void *buf, uint32_t len);
	int (*write_config)(void *t, uint32_t off, const void *buf, uint32_t len);
	/* Config generation (spec 2.5.1); may be NULL when the transport has
	 * none (legacy devices). */
	uint32_t (*config_generation)(void *t);

	uint8_t (*get_status)(void *t);
	void (*set_status)(void *t, uint8_t status);
	/* Write 0 to the status and wait until the device reads back 0
	 * (spec 4.1.4.3.2). */
	int (*reset)(void *t);

	uint64_t (*get_features)(void *t);
	int (*set_features)(void *t, uint64_t features);
	/* True for a legacy (virtio 0.9.5) interface: no VERSION_1, 32 feature
	 * bits, split rings in one block with the used ring 4096-aligned. */
	bool (*is_legacy)(void *t);

	/* How many queues the transport exposes (0 = unknown). */
	uint16_t (*max_queues)(void *t);
	/* The device's maximum size for queue q; 0 when q does not exist. */
	uint16_t (*queue_max_size)(void *t, uint16_t q);
	/* Tell the device where queue q lives and enable it. */
	int (*setup_queue)(void *t, uint16_t q, uint16_t size,
			   const struct uvio_vq_addrs *addrs);
	/* Disable queue q (after a reset; may be a no-op). */
	void (*del_queue)(void *t, uint16_t q);
	void (*notify_queue)(void *t, uint16_t q, uint32_t data);

	/* Release everything the transport holds (BAR maps, fds, sockets). */
	void (*destroy)(void *t);

	/* The virtio device ID (spec 5: VIRTIO_ID_NET 1, VIRTIO_ID_BLOCK 2,
	 * linux/virtio_ids.h); 0 when the transport cannot tell. May be NULL
	 * (cannot tell). */
	uint32_t (*device_id)(void *t);

	/*
	 * A virtio-net control command (spec 5.1.6.5: class, command, data)
	 * that the transport answers itself, for a back-end with no control
	 * virtqueue: a vhost-user back-end has none, its front-end owns it
	 * (as QEMU's virtio-net and DPDK's virtio_user do). 0 done, -ENOTSUP
	 * when the transport cannot carry the command, -EIO when the back-end
	 * refused it; one line in `why` for each error. NULL: the device has
	 * a real control queue (or none).
	 */
	int (*net_ctrl)(void *t, uint8_t cls, uint8_t cmd, const void *data,
			uint32_t len, char *why, uint32_t why_len);

	/*
	 * Recovery (uvio_dev_release() and friends below); each may be NULL
	 * when the transport has no such thing. removal_fd, is_removed and
	 * release may run on a control thread while queue threads poll;
	 * connected on any thread; reconnect with no queue in use.
	 *   removal_fd: an fd that polls readable once the device is gone
	 *               (the transport owns it); -1 when none.
	 *   is_removed: is the device gone (may make a system call)?
	 *   release:    let go of the hardware now, so that nothing reaches
	 *               it any more (the core then breaks every queue).
	 *   connected:  false while the back-end is away.
	 *   reconnect:  bring a back-end that went away back.
	 */
	int (*removal_fd)(void *t);
	bool (*is_removed)(void *t);
	int (*release)(void *t);
	bool (*connected)(void *t);
	int (*reconnect)(void *t, int timeout_ms, struct uvio_err *err);

	/*
	 * Per-queue reset (VIRTIO_F_RING_RESET, spec 2.6.1, 4.1.4.3): stop
	 * queue q alone and wait until the device says it let go of it
	 * (queue_reset and queue_enable read 0), so that its buffers may be
	 * reclaimed; setup_queue then re-enables it, with a new size if
	 * wanted. The other queues keep running. 0, -ETIMEDOUT, -ENODEV
	 * (gone), or -ENOTSUP when RING_RESET was not negotiated. NULL when
	 * the transport has no such thing (legacy virtio-pci; vhost-user,
	 * where GET_VRING_BASE + SET_VRING_ENABLE could do it but do not yet).
	 */
	int (*reset_queue)(void *t, uint16_t q);

	/*
	 * Event mode (uvio_dev_queue_eventfd() and friends); each may be NULL
	 * (no interrupts). From the control thread.
	 *   queue_eventfd:  an fd that becomes readable when queue q sends a
	 *                   used buffer notification (spec 2.3; an eventfd:
	 *                   read 8 bytes to clear). The transport owns it and
	 *                   keeps it, and the queue's vector, across resets.
	 *   config_eventfd: the same for the configuration change
	 *                   notification (spec 2.3, 4.1.5.3).
	 * Both return the fd, or a negative errno with a line in `err`
	 * (-ENOTSUP: the transport cannot).
	 */
	int (*queue_eventfd)(void *t, uint16_t q, struct uvio_err *err);
	int (*config_eventfd)(void *t, struct uvio_err *err);
};

struct uvio_dev;

/*
 * Wrap a transport in a device. The device owns the transport from here on
 * (destroy is called by uvio_dev_destroy, or on failure). Resets the device
 * and sets ACKNOWLEDGE and DRIVER (spec 3.1.1 steps 1-3).
 * `numa_node` is where queue memory goes (-1 = any).
 */
int uvio_dev_create(const struct uvio_transport_ops *ops, void *transport,
		    const char *name, int numa_node, struct uvio_dev **out,
		    struct uvio_err *err);

/* Reset the device: once this returns it no longer touches queue memory,
 * so buffers it held may be reclaimed (queues stay allocated). */
int uvio_dev_reset(struct uvio_dev *dev);

/* Reset the device, fail its queues and free them. Then destroy it. */
void uvio_dev_destroy(struct uvio_dev *dev);

const char *uvio_dev_name(const struct uvio_dev *dev);
int uvio_dev_numa_node(const struct uvio_dev *dev);
bool uvio_dev_is_legacy(const struct uvio_dev *dev);
void *uvio_dev_transport(const struct uvio_dev *dev);
const struct uvio_transport_ops *uvio_dev_ops(const struct uvio_dev *dev);

/* The device's last error message ("" when none). */
const char *uvio_dev_error(const struct uvio_dev *dev);

/* The virtio device ID the transport reports (VIRTIO_ID_NET,
 * VIRTIO_ID_BLOCK, ...), 0 when it cannot tell. */
uint32_t uvio_dev_device_id(const struct uvio_dev *dev);

/* 0 when the device is `device_id` or its transport cannot tell; else
 * -ENODEV with one line in `err`: "NAME: is a virtio-blk device, not
 * virtio-net". What uvio_net_open() and uvio_blk_open() check first. */
int uvio_dev_expect_type(const struct uvio_dev *dev, uint32_t device_id,
			 struct uvio_err *err);

/* The device's health, from its status: 0 when fine, -ENODEV when it reads
 * all ones (gone: surprise removal), -ERESTART when it set
 * DEVICE_NEEDS_RESET (spec 2.1.2; a vhost-user back-end that went away
 * reads so too). uvio_net_check() and uvio_blk_check() are this. */
int uvio_dev_check(struct uvio_dev *dev);

/*
 * Spec 3.1.1 steps 4-6: offer `wanted` & device features (VERSION_1 is
 * required and added for modern devices; ring features the core does not
 * implement are dropped), set FEATURES_OK and check that it stuck.
 * Returns 0 and the result in *negotiated (may be NULL), or -ENOTSUP when
 * the device refuses, -EIO when it needs a reset.
 */
int uvio_dev_negotiate(struct uvio_dev *dev, uint64_t wanted,
		       uint64_t *negotiated);

uint64_t uvio_dev_device_features(const struct uvio_dev *dev);
uint64_t uvio_dev_features(const struct uvio_dev *dev);
bool uvio_dev_has_feature(const struct uvio_dev *dev, unsigned bit);

/* The ring features the core implements (EVENT_IDX, INDIRECT_DESC,
 * IN_ORDER, RING_PACKED, ORDER_PLATFORM, ACCESS_PLATFORM, NOTIFICATION_DATA,
 * VERSION_1, RING_RESET where the transport has reset_queue, and ANY_LAYOUT
 * for legacy devices). */
uint64_t uvio_dev_ring_features(void);

/* Read device config consistently (retries while the generation changes,
 * spec 2.5.1). */
int uvio_dev_read_config(struct uvio_dev *dev, uint32_t off, void *buf,
			 uint32_t len);
int uvio_dev_write_config(struct uvio_dev *dev, uint32_t off, const void *buf,
			  uint32_t len);

uint16_t uvio_dev_max_queues(const struct uvio_dev *dev);
uint16_t uvio_dev_queue_max_size(const struct uvio_dev *dev, uint16_t q);

/*
 * Spec 3.1.1 step 7 for one queue: allocate its DMA memory on the device's
 * node, create the ring and tell the device. `size` 0 means the device's
 * maximum; a larger one is clamped to it (and for split rings rounded down
 * to a power of two). After negotiate, before start.
 */
int uvio_dev_setup_queue(struct uvio_dev *dev, uint16_t q, uint16_t size,
			 uint16_t indirect_max, struct uvio_vq **out);

/* The queue set up as index q, or NULL. */
struct uvio_vq *uvio_dev_queue(const struct uvio_dev *dev, uint16_t q);

/* Spec 3.1.1 step 8: DRIVER_OK. */
int uvio_dev_start(struct uvio_dev *dev);

/* Set FAILED (spec 2.1.1): the driver gave up on the device. */
void uvio_dev_fail(struct uvio_dev *dev);

uint8_t uvio_dev_status(struct uvio_dev *dev);

/* True when the device set DEVICE_NEEDS_RESET (spec 2.1.2). */
bool uvio_dev_needs_reset(struct uvio_dev *dev);

/*
 * Removal and reconnection, whatever the transport (virtio-pci: removal;
 * vhost-user: reconnection). The transport-specific calls of uvio/pci.h
 * and uvio/vhost_user.h are these.
 *
 * uvio_dev_removal_fd: an fd to poll for removal (do not read or close
 * it), -1 when the transport has none. uvio_dev_is_removed: true once the
 * device is gone (false when the transport cannot be removed).
 *
 * uvio_dev_release: let go of the hardware now, keeping every uvio object
 * valid (see uvio_pci_release), and break every queue ("device removed"),
 * so that what is in flight fails at its owner's next poll. For a control
 * thread, on -ENODEV from uvio_dev_check() or when uvio_dev_is_removed();
 * queue threads may keep running. 0, or -ENOTSUP when the transport cannot
 * release (nothing is done then), or the transport's negative errno.
 *
 * uvio_dev_connected: false while a back-end is away (true for transports
 * without one); cheap, lock-free, any thread. uvio_dev_can_reconnect: the
 * transport can reconnect. uvio_dev_reconnect: connect again within
 * timeout_ms (see uvio_vhost_user_reconnect); then the driver's reinit
 * brings the device back. -ENOTSUP with a line in `err` when the transport
 * cannot.
 */
int uvio_dev_removal_fd(const struct uvio_dev *dev);
bool uvio_dev_is_removed(const struct uvio_dev *dev);
int uvio_dev_release(struct uvio_dev *dev);
bool uvio_dev_connected(const struct uvio_dev *dev);
bool uvio_dev_can_reconnect(const struct uvio_dev *dev);
int uvio_dev_reconnect(struct uvio_dev *dev, int timeout_ms, struct uvio_err *err);

/*
 * Reset queue q alone and bring it back (VIRTIO_F_RING_RESET, spec 2.6.1):
 * the transport resets it, every buffer still posted goes to `on_unused`
 * (when not NULL; the device no longer owns any), the ring is made new
 * (fresh DMA memory when `size` differs, else the same memory zeroed) and
 * the queue is enabled again. `size` as for uvio_dev_setup_queue (0: the
 * device's maximum). *out is the queue from now on (a new object when the
 * size changed; the old pointer is then freed). Other queues are not
 * touched and keep running.
 * Thread safety: from the thread that owns queue q (or with q idle), and
 * no other set-up call on this device at the same time (the transport's
 * queue registers are shared). Returns 0, -ENOTSUP (RING_RESET not
 * negotiated, or a transport without per-queue reset), -ENOENT (no such
 * queue set up), or the transport's error; when the reset itself failed
 * the queue is left broken ("queue reset failed").
 */
int uvio_dev_reset_queue(struct uvio_dev *dev, uint16_t q, uint16_t size,
			 void (*on_unused)(void *ctx, uint16_t q, void *cookie),
			 void *ctx, struct uvio_vq **out);

/* True when uvio_dev_reset_queue can work: RING_RESET negotiated and the
 * transport has the op. */
bool uvio_dev_can_reset_queue(const struct uvio_dev *dev);

/* Reset the device and free its queues (their in-flight buffers are given
 * to `on_unused` first, when not NULL), back to ACKNOWLEDGE|DRIVER so that
 * negotiate/setup_queue/start can run again. */
int uvio_dev_reinit(struct uvio_dev *dev,
		    void (*on_unused)(void *ctx, uint16_t q, void *cookie),
		    void *ctx);

/*
 * Event mode: interrupts instead of polling (net.h and blk.h have the
 * per-queue arming calls). From the control thread; the fds are the
 * transport's (do not close them) and stay valid until uvio_dev_destroy,
 * across uvio_dev_reinit.
 *
 * uvio_dev_queue_eventfd: the fd queue q's used buffer notifications make
 * readable (VFIO: an MSI-X vector; vhost-user: the queue's call fd). The
 * first call sets the interrupt up. Returns the fd, or -ENOTSUP (UIO, the
 * model), -ENOSPC (no vector left), -EIO (the device refused the vector),
 * with the reason in uvio_dev_error().
 *
 * uvio_dev_config_eventfd: the fd the configuration change notification
 * makes readable (spec 2.3, 4.1.5.3: link status, DEVICE_NEEDS_RESET); read it,
 * then read the config. Same results.
 *
 * uvio_dev_config_reads: how many device-config reads uvio_dev_read_config
 * has made (a debug counter: proves an event loop does not poll config
 * space). Any thread.
 */
int uvio_dev_queue_eventfd(struct uvio_dev *dev, uint16_t q);
int uvio_dev_config_eventfd(struct uvio_dev *dev);
uint64_t uvio_dev_config_reads(const struct uvio_dev *dev);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif
