/* SPDX-License-Identifier: MIT */
/*
 * uvio over vhost-user: the same rings and drivers, with a vhost-user
 * back-end (DPDK's net_vhost, qemu-storage-daemon, SPDK...) as the device,
 * reached through a unix socket (QEMU docs/interop/vhost-user.rst).
 *
 * uvio is the front-end. Its DMA memory (memfd hugepage segments) is shared
 * with the back-end by SET_MEM_TABLE, one region per segment, with guest
 * physical address = user address = the segment's virtual address, so the
 * process's IOVA mode becomes VA. The basic protocol has 8 regions: with the
 * default 32 MiB segments that is 256 MiB of DMA memory; an application that
 * needs more asks for larger segments with uvio_dma_init() first.
 *
 * What the back-end cannot give, the transport makes up:
 *   - a status: kept locally; DRIVER_OK enables the rings
 *     (SET_VRING_ENABLE);
 *   - a device type (vhost-user has no message for it): the caller's
 *     (opts.device_id), else virtio-net for a back-end without the CONFIG
 *     protocol feature and virtio-blk for one with it, as QEMU's back-ends
 *     are (uvio_dev_device_id() says which);
 *   - a virtio-net back-end's config space and control queue (QEMU keeps
 *     both itself): the control queue is emulated (vu_ctrl.c, as DPDK's
 *     virtio_user does), with MQ over as many pairs as GET_QUEUE_NUM says
 *     (VQ_PAIRS_SET is SET_VRING_ENABLE); the commands the protocol cannot
 *     carry fail with -ENOTSUP (see uvio/net.h). What needs the config
 *     space (MAC, MTU, STATUS, RSS...) is not offered: no MAC, MTU 1500,
 *     link always up. Any other type needs CONFIG and answers GET_CONFIG.
 * VHOST_USER_F_PROTOCOL_FEATURES, VHOST_F_LOG_ALL, ACCESS_PLATFORM,
 * NOTIFICATION_DATA and RING_RESET never reach the device core.
 *
 * A kick is an 8-byte write to the queue's eventfd: the one syscall on the
 * hot path, and only when the back-end asks for notifications.
 *
 * When the back-end goes away (it closed the socket, or a request failed),
 * the device is marked disconnected, its status reads DEVICE_NEEDS_RESET
 * (so uvio_blk_check/uvio_net_check say -ERESTART) and every queue set up
 * is broken: a blk request in flight completes with -EIO at the next
 * uvio_blk_poll() and net bursts return 0, instead of waiting for an answer
 * that never comes. uvio_vhost_user_reconnect() then the driver's reinit
 * bring the same device back.
 *
 * Thread safety: open, reconnect and close are for one control thread, as
 * in dev.h. A small thread per device watches the socket for hang-up.
 * uvio_vhost_user_connected() may be called from any thread.
 */
#ifndef UVIO_VHOST_USER_H
#define UVIO_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include <uvio/dev.h>
#include <uvio/err.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

struct uvio_vhost_user_opts {
	const char *path;       /* the unix socket */
	bool server;            /* uvio listens at path; the back-end connects */
	/* Queues to expose: 0 = what the back-end says (GET_QUEUE_NUM with
	 * the MQ protocol feature, else 1). A virtio-net back-end counts
	 * queue pairs here, as DPDK's queues= does. */
	uint16_t queues;
	uint16_t queue_size;    /* largest ring; 0 = 256 (power of two) */
	/* How long to wait for the back-end: for a server, until it connects
	 * (0 = 30 s); for a client, connecting is retried while the socket
	 * is missing or refuses (0 = fail at once). -1 = no limit. */
	int timeout_ms;
	/* The virtio device ID (VIRTIO_ID_NET, VIRTIO_ID_BLOCK; spec 5);
	 * 0 = guess from the back-end, as above. */
	uint32_t device_id;
};

/*
 * Connect to (or wait for) the back-end, learn its features and queues,
 * claim it (SET_OWNER) and wrap it in a device (uvio_dev_create), ready
 * for uvio_blk_open() or uvio_net_open(). Sets the IOVA mode to VA.
 * Errors are one line: no socket at the path ("start the back-end first,
 * or use ,server"), a path that is not a socket, a refused connection, a
 * back-end that does not answer or answers something that is not
 * vhost-user, an IOVA mode already fixed to PA.
 */
int uvio_vhost_user_open(const struct uvio_vhost_user_opts *opts,
			 struct uvio_dev **out, struct uvio_err *err);

/* True when dev came from uvio_vhost_user_open(). */
bool uvio_dev_is_vhost_user(const struct uvio_dev *dev);

/* False once the back-end went away, until a reconnect succeeds: it turns
 * false before any queue breaks, so a poll that fails because of the loss
 * finds it false already. Cheap and lock-free: a polling loop may ask it.
 * False for other devices. */
bool uvio_vhost_user_connected(const struct uvio_dev *dev);

/*
 * Connect again after the back-end went away and came back (or now,
 * dropping a live connection): within timeout_ms (as in the opts; a server
 * keeps listening at its path), then the handshake of uvio_vhost_user_open,
 * checking the back-end still has the queues the device exposes
 * (-ENOTSUP). Only the transport: the device itself comes back with its
 * driver's reinit, as after DEVICE_NEEDS_RESET on PCI:
 *
 *     uvio_blk_check(blk) == -ERESTART          (the back-end went away)
 *     uvio_vhost_user_reconnect(uvio_blk_dev(blk), 10000, &err);
 *     uvio_blk_reinit(blk, &err);               (or uvio_net_reinit)
 *
 * reinit fails blk requests still in flight with -EIO (the application
 * resubmits them) and gives net buffers back to their pools; the queues are
 * new (get them again). No thread may use the device's queues meanwhile.
 * Returns 0 or a negative errno with the reason in err; a failed reconnect
 * may be retried.
 */
int uvio_vhost_user_reconnect(struct uvio_dev *dev, int timeout_ms,
			      struct uvio_err *err);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif
