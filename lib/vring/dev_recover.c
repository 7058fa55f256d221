/* SPDX-License-Identifier: MIT */
/*
 * Removal and reconnection over any transport (uvio/dev.h): the generic
 * face of uvio_pci_release() and uvio_vhost_user_reconnect(), so that an
 * application recovers a device without knowing its transport. Built on
 * dev.c's public calls only.
 */
#include <errno.h>

#include <uvio/dev.h>

static const struct uvio_transport_ops *ops(const struct uvio_dev *dev)
{
	return uvio_dev_ops(dev);
}

int uvio_dev_removal_fd(const struct uvio_dev *dev)
{
	return ops(dev)->removal_fd ? ops(dev)->removal_fd(uvio_dev_transport(dev)) : -1;
}

bool uvio_dev_is_removed(const struct uvio_dev *dev)
{
	return ops(dev)->is_removed && ops(dev)->is_removed(uvio_dev_transport(dev));
}

int uvio_dev_release(struct uvio_dev *dev)
{
	int rc;

	if (!ops(dev)->release)
		return -ENOTSUP;
	rc = ops(dev)->release(uvio_dev_transport(dev));
	/* What is in flight will never complete: break every queue (an
	 * atomic flag, safe while their threads poll), so that each owner's
	 * next call fails it with -EIO instead of waiting forever. */
	for (uint16_t q = 0; q < uvio_dev_max_queues(dev); q++) {
		struct uvio_vq *vq = uvio_dev_queue(dev, q);

		if (vq)
			uvio_vq_set_broken(vq, "device removed");
	}
	return rc;
}

bool uvio_dev_connected(const struct uvio_dev *dev)
{
	return !ops(dev)->connected || ops(dev)->connected(uvio_dev_transport(dev));
}

bool uvio_dev_can_reconnect(const struct uvio_dev *dev)
{
	return ops(dev)->reconnect != NULL;
}

int uvio_dev_reconnect(struct uvio_dev *dev, int timeout_ms, struct uvio_err *err)
{
	if (!ops(dev)->reconnect)
		return uvio_err_set(err, -ENOTSUP, "%s: its transport (%s) cannot "
				    "reconnect", uvio_dev_name(dev), ops(dev)->name);
	return ops(dev)->reconnect(uvio_dev_transport(dev), timeout_ms, err);
}
