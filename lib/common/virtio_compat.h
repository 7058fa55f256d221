/* SPDX-License-Identifier: MIT */
/*
 * What every virtio file of the library (device core, transports, device
 * types) shares beyond the public headers, so that none keeps a copy:
 *   - the UAPI constants that older linux/virtio_config.h headers lack (a
 *     build machine's headers may predate the spec version uvio follows);
 *   - feature-bit and config-field helpers over a struct uvio_dev.
 * Internal: lib/ and pmd/ include it, no public header does.
 */
#ifndef UVIO_VIRTIO_COMPAT_H
#define UVIO_VIRTIO_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <uvio/dev.h>
#include <uvio/err.h>

#ifndef VIRTIO_CONFIG_S_NEEDS_RESET
#define VIRTIO_CONFIG_S_NEEDS_RESET 0x40    /* spec 2.1 (Linux 4.1 UAPI) */
#endif
#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38       /* spec 6 */
#endif
#ifndef VIRTIO_F_NOTIF_CONFIG_DATA
#define VIRTIO_F_NOTIF_CONFIG_DATA 39       /* spec 6 */
#endif

/* Feature bit n in the 64-bit feature word (spec 2.2). */
#ifndef BIT
#define BIT(n) (1ULL << (n))
#endif

/* Offset of `field` in the device type's config space, struct
 * virtio_<type>_config of the UAPI: UVIO_CFG(net, mac), UVIO_CFG(blk, wce). */
#define UVIO_CFG(type, field) offsetof(struct virtio_##type##_config, field)

/* Was feature `bit` negotiated? */
static inline bool uvio_has(const struct uvio_dev *dev, unsigned bit)
{
	return uvio_dev_has_feature(dev, bit);
}

/* uvio_dev_read_config(), with the device's message in `err` on failure. */
static inline int uvio_cfg_read(struct uvio_dev *dev, uint32_t off, void *buf,
				uint32_t len, struct uvio_err *err)
{
	int rc = uvio_dev_read_config(dev, off, buf, len);

	return rc ? uvio_err_set(err, rc, "%s", uvio_dev_error(dev)) : 0;
}

/* Read config field `field` of device type `type` into `dst`, its size. */
#define UVIO_CFG_READ(dev, type, field, dst, err) \
	uvio_cfg_read(dev, UVIO_CFG(type, field), &(dst), sizeof(dst), err)

#endif
