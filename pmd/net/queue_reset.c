/* SPDX-License-Identifier: MIT */
/*
 * Resetting one queue pair while the others run (VIRTIO_F_RING_RESET,
 * spec 2.6.1): its rx queue 2qp and tx queue 2qp+1 (spec 5.1.2) are reset
 * and re-enabled one after the other through the device core. Nothing here
 * touches another pair, so their threads keep polling without a lock.
 */
#include <errno.h>

#include "net_internal.h"

/* An rx buffer the device never filled: back to the pool (not a loss). */
static void rx_unused(void *ctx, uint16_t q, void *cookie)
{
	struct net_rxq *rxq = ctx;
	struct uvio_pkt *p = cookie;

	(void)q;
	uvio_pkt_free_bulk(rxq->cache, &p, 1);
}

/* A frame the device never sent: freed and counted as a tx drop. */
static void tx_unused(void *ctx, uint16_t q, void *cookie)
{
	struct net_txq *txq = ctx;
	struct uvio_pkt *p = cookie;

	(void)q;
	uvio_pkt_free_bulk(txq->cache, &p, 1);
	txq->st->tx_drops++;
}

static int rxq_reset(struct uvio_net *net, uint16_t qp, uint16_t size)
{
	struct net_rxq *rxq = &net->rxq[qp];
	int rc;

	/* A mergeable frame half-received dies with the ring it came in. */
	if (rxq->partial)
		uvio_pkt_free_bulk(rxq->cache, &rxq->partial, 1);
	rxq->partial = rxq->partial_tail = NULL;
	rxq->partial_left = 0;
	rc = uvio_dev_reset_queue(net->dev, (uint16_t)(2 * qp), size, rx_unused, rxq,
				  &rxq->vq);
	if (rc)
		return rc;
	/* The device is running (DRIVER_OK): a re-enabled queue takes
	 * buffers and notifications at once (spec 2.6.1.2). */
	uvio_net_rxq_fill(net, rxq, true);
	return 0;
}

static int txq_reset(struct uvio_net *net, uint16_t qp, uint16_t size)
{
	struct net_txq *txq = &net->txq[qp];

	return uvio_dev_reset_queue(net->dev, (uint16_t)(2 * qp + 1), size, tx_unused,
				    txq, &txq->vq);
}

int uvio_net_queue_reset(struct uvio_net *net, uint16_t qp, uint16_t new_size)
{
	int rc;

	if (!net->rxq || qp >= net->info.queue_pairs)
		return -EINVAL;
	if (!uvio_dev_can_reset_queue(net->dev))
		return -ENOTSUP;
	rc = txq_reset(net, qp, new_size);
	if (!rc)
		rc = rxq_reset(net, qp, new_size);
	if (rc)
		return rc;
	if (qp == 0) {
		net->info.rx_queue_size = uvio_vq_size(net->rxq[0].vq);
		net->info.tx_queue_size = uvio_vq_size(net->txq[0].vq);
	}
	return 0;
}
