/* SPDX-License-Identifier: MIT */
/*
 * Device-specific configuration access for both virtio-pci layouts: the
 * modern DEVICE_CFG structure (virtio_pci.c) and the legacy header's tail
 * (virtio_pci_legacy.c). Below both, so that neither calls the other for it.
 */
#include <errno.h>
#include <string.h>

#include "pci_internal.h"

/*
 * Spec 4.1.3.1: 8-bit fields with 8-bit accesses, 16-bit with aligned
 * 16-bit, 32- and 64-bit with aligned 32-bit ones. A caller reading a
 * whole struct gets the widest aligned access at each offset.
 */
int uvio_virtio_pci_cfg_access(struct uvio_pci_bus *bus, int bar, uint64_t base,
			       uint32_t off, void *data, uint32_t len, bool write)
{
	uint8_t *buf = data;

	while (len) {
		uint64_t at = base + off;
		unsigned w = len >= 4 && !(off & 3) ? 4 : len >= 2 && !(off & 1) ? 2 : 1;
		int rc = 0;

		if (write) {
			uint32_t v32;
			uint16_t v16;

			if (w == 4) {
				memcpy(&v32, buf, 4);
				rc = uvio_pci_bar_write32(bus, bar, at, v32);
			} else if (w == 2) {
				memcpy(&v16, buf, 2);
				rc = uvio_pci_bar_write16(bus, bar, at, v16);
			} else {
				rc = uvio_pci_bar_write8(bus, bar, at, buf[0]);
			}
		} else if (w == 4) {
			uint32_t v32 = uvio_pci_bar_read32(bus, bar, at);

			memcpy(buf, &v32, 4);
		} else if (w == 2) {
			uint16_t v16 = uvio_pci_bar_read16(bus, bar, at);

			memcpy(buf, &v16, 2);
		} else {
			buf[0] = uvio_pci_bar_read8(bus, bar, at);
		}
		if (rc)
			return rc;
		buf += w;
		off += w;
		len -= w;
	}
	return 0;
}
