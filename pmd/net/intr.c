/* SPDX-License-Identifier: MIT */
/*
 * Event mode for rx queues (net.h): arm the used buffer notification of a
 * receiveq (spec 5.1.2: receiveqN is virtqueue 2(N-1)) and sleep on the
 * transport's eventfd, as DPDK's rte_eth_dev_rx_intr_enable + epoll.
 * Transmit queues keep notifications off: uvio reclaims them on the next
 * tx_burst.
 */
#include <errno.h>

#include "net_internal.h"

static struct uvio_vq *rx_vq(const struct uvio_net *net, uint16_t q)
{
	return q < net->info.queue_pairs ? net->rxq[q].vq : NULL;
}

int uvio_net_rxq_eventfd(struct uvio_net *net, uint16_t q)
{
	struct uvio_vq *vq = rx_vq(net, q);

	if (!vq)
		return -EINVAL;
	return uvio_dev_queue_eventfd(net->dev, uvio_vq_index(vq));
}

/* Spec 2.7.7.1 / 2.8.10.1: after enabling, the driver must look at the
 * ring again, or a buffer used just before the device saw the new
 * used_event (or flags) would never be notified: a lost wake-up. */
int uvio_net_rxq_intr_enable(struct uvio_net *net, uint16_t q)
{
	struct uvio_vq *vq = rx_vq(net, q);

	if (!vq)
		return -EINVAL;
	if (uvio_vq_is_broken(vq))
		return -EIO;
	return uvio_vq_enable_cb(vq) ? 0 : 1;
}

int uvio_net_rxq_intr_disable(struct uvio_net *net, uint16_t q)
{
	struct uvio_vq *vq = rx_vq(net, q);

	if (!vq)
		return -EINVAL;
	uvio_vq_disable_cb(vq);
	return 0;
}
