/* SPDX-License-Identifier: MIT */
/*
 * uvio: userspace poll-mode virtio drivers. The umbrella header, and the
 * one way every application names a device.
 */
#ifndef UVIO_UVIO_H
#define UVIO_UVIO_H

#include <uvio/blk.h>
#include <uvio/dev.h>
#include <uvio/dma.h>
#include <uvio/err.h>
#include <uvio/net.h>
#include <uvio/pci.h>
#include <uvio/vhost_user.h>
#include <uvio/version.h>
#include <uvio/vring.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

/*
 * Open a device by its name:
 *   pci:BDF     a virtio-pci device bound to vfio-pci (IOMMU or no-IOMMU
 *               mode) or uio_pci_generic; the binding is found by itself.
 *   vhost-user:PATH[,server][,queues=N][,queue_size=N][,timeout=MS]
 *               a vhost-user back-end at the unix socket PATH (which holds
 *               no comma): uvio connects to it, or with ,server listens
 *               there and waits for it; see uvio/vhost_user.h.
 * Errors are one line in `err`: an unknown prefix, a malformed address, and
 * everything uvio_pci_open() reports.
 * Thread safety: as uvio_pci_open() and uvio_vhost_user_open().
 */
int uvio_open(const char *spec, struct uvio_dev **out, struct uvio_err *err);

/*
 * Check a device name's syntax as uvio_open() parses it, opening nothing:
 * 0, or -EINVAL / -ENAMETOOLONG with the line uvio_open() would give in
 * `err`. A tool calls it while parsing options, so that a malformed name
 * is a usage error and not a device that failed to open.
 * Thread safety: any thread.
 */
int uvio_spec_check(const char *spec, struct uvio_err *err);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif

#endif
