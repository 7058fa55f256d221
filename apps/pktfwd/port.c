/* SPDX-License-Identifier: MIT */
/* pktfwd ports: open each device as virtio-net, configure it, close it. */
#include <errno.h>
#include <string.h>

#include <uvio/net.h>
#include <uvio/uvio.h>

#include "pktfwd.h"

#define RX_DATA_ROOM 2048   /* bigger MTUs chain mergeable rx buffers */
#define RING_MAX     1024   /* QEMU's largest virtio-net ring */
#define CACHE_SIZE   256    /* per thread; the driver's rx caches too */

/*
 * Buffers a port-queue can hold at once: its rx ring, the tx ring it feeds,
 * the driver's rx cache and ours (pool caches may hold up to twice their
 * size), and the bursts in the hands of the threads.
 */
static unsigned pool_count(const struct pf_opts *o, unsigned nports)
{
	return nports * o->queues * (2 * RING_MAX + 4 * CACHE_SIZE + 4 * o->burst);
}

static const char *off_names(uint32_t offs, char *buf, size_t len)
{
	static const struct { uint32_t bit; const char *name; } n[] = {
		{ UVIO_NET_OFF_TX_CSUM, "csum" }, { UVIO_NET_OFF_TSO, "tso" },
		{ UVIO_NET_OFF_RX_CSUM, "rxcsum" }, { UVIO_NET_OFF_LRO, "lro" },
		{ UVIO_NET_OFF_RSS, "rss" },
	};
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		if (offs & n[i].bit)
			at += (size_t)snprintf(buf + at, len - at, "%s%s",
					       at ? "," : "", n[i].name);
	if (!at)
		snprintf(buf, len, "none");
	return buf;
}

static int port_promisc(struct pf_port *p, bool on)
{
	int rc = uvio_net_set_promisc(p->net, on);

	if (rc == -ENOTSUP) {
		fprintf(stderr, "pktfwd: %s: promiscuous mode not supported: %s\n",
			p->name, uvio_net_ctrl_error(p->net));
		return -1;
	}
	if (rc) {
		fprintf(stderr, "pktfwd: %s: device %s promiscuous %s (%s)\n",
			p->name, rc == -EIO ? "refused" : "did not ack",
			on ? "on" : "off", strerror(-rc));
		return -1;
	}
	fprintf(stderr, "pktfwd: %s: promiscuous %s (device acked)\n", p->name,
		on ? "on" : "off");
	return 0;
}

bool pf_port_link_changed(struct pf_port *p)
{
	struct uvio_net_link l;
	bool was_up = p->link_up, was_known = p->link_known;

	if (uvio_net_get_link(p->net, &l))
		return false;   /* keep what we knew; the device check says why */
	p->link_known = true;
	p->link_up = l.up;
	p->link_mbps = l.speed_mbps;
	return was_known && was_up != l.up;
}

/* --vlan: every VID into the device's filter (spec 5.1.6.5.3). */
static int port_vlans(struct pf_port *p, const struct pf_opts *o)
{
	for (unsigned i = 0; i < o->nvlans; i++) {
		int rc = uvio_net_vlan_add(p->net, o->vlans[i]);

		if (rc == -ENOTSUP) {
			fprintf(stderr, "pktfwd: %s: --vlan: the device has no "
				"VLAN filter (no control queue or CTRL_VLAN); "
				"run without --vlan\n", p->name);
			return -1;
		}
		if (rc) {
			fprintf(stderr, "pktfwd: %s: --vlan %u: device %s (%s)\n",
				p->name, o->vlans[i], rc == -EIO ? "refused it" :
				"did not ack", strerror(-rc));
			return -1;
		}
	}
	if (o->nvlans)
		fprintf(stderr, "pktfwd: %s: VLAN filter: %u VID%s added "
			"(device acked)\n", p->name, o->nvlans,
			o->nvlans == 1 ? "" : "s");
	return 0;
}

/* What the port came up with, on stderr: one line, and one more when the
 * device did not give every offload asked for. */
static void port_describe(const struct pf_port *p, const struct pf_opts *o,
			  const struct uvio_net_info *in)
{
	char want[64], got[64], link[48];

	if ((in->offloads & o->offloads) != o->offloads)
		fprintf(stderr, "pktfwd: %s: offloads asked %s, in effect %s%s\n",
			p->name, off_names(o->offloads, want, sizeof(want)),
			off_names(in->offloads, got, sizeof(got)),
			(o->offloads & ~in->offloads & UVIO_NET_OFF_RSS) ?
			" (rss: -ENOTSUP: the device offers no VIRTIO_NET_F_RSS)" : "");
	fprintf(stderr, "pktfwd: %s: %02x:%02x:%02x:%02x:%02x:%02x mtu %u, "
		"%s, %u queue pair%s of %u/%u, %s rings (%s path), offloads %s\n", p->name,
		p->mac[0], p->mac[1], p->mac[2], p->mac[3], p->mac[4], p->mac[5],
		p->mtu, pf_link_text(p, link, sizeof(link)),
		in->queue_pairs, in->queue_pairs == 1 ? "" : "s",
		in->rx_queue_size, in->tx_queue_size,
		in->packed ? "packed" : "split", in->simd_bitwidth >= 256 ? "avx2 batch" : "scalar",
		off_names(in->offloads, got, sizeof(got)));
}

/* The device is already open (p->dev); this makes it a virtio-net port. */
static int port_open(struct pf_ctx *ctx, struct pf_port *p)
{
	const struct pf_opts *o = &ctx->o;
	struct uvio_net_opts no = {
		.queue_pairs = (uint16_t)o->queues,
		.offloads = o->offloads,
		.rx_pool = ctx->pool,
		.disable_features = o->disable_features,
	};
	const struct uvio_net_info *in;
	struct uvio_err err = {0};
	int rc;

	p->can_reconnect = uvio_dev_can_reconnect(p->dev);
	rc = uvio_net_open(p->dev, &no, &p->net, &err);

	p->dev = NULL;                          /* the net device owns it */
	if (rc < 0) {
		fprintf(stderr, "pktfwd: %s\n", err.msg);
		return -1;
	}
	in = uvio_net_get_info(p->net);
	memcpy(p->mac, in->mac, 6);
	p->mtu = in->mtu;
	p->queue_pairs = in->queue_pairs;
	p->tx_csum = in->offloads & UVIO_NET_OFF_TX_CSUM;
	if (in->queue_pairs < o->queues) {
		fprintf(stderr, "pktfwd: %s: --queues %u, but the device gives "
			"%u (max %u%s); use --queues %u\n", p->name, o->queues,
			in->queue_pairs, in->max_queue_pairs,
			in->ctrl_vq ? "" : ", no control queue", in->queue_pairs);
		return -1;
	}
	pf_port_link_changed(p);
	port_describe(p, o, in);
	if (o->promisc >= 0 && port_promisc(p, o->promisc == 1))
		return -1;
	return port_vlans(p, o);
}

/* txonly: the frame size (per --mtu-frames, the smallest MTU decides) and
 * a pool of buffers that hold a whole frame each. */
static int tx_pool_open(struct pf_ctx *ctx)
{
	struct pf_opts *o = &ctx->o;
	struct uvio_err err = {0};
	unsigned room;

	for (unsigned i = 0; i < ctx->nports; i++) {
		unsigned max = ctx->port[i].mtu + PF_ETH_HLEN;

		if (o->mtu_frames && (i == 0 || max < o->pkt_size))
			o->pkt_size = max < PF_MAX_FRAME ? max : PF_MAX_FRAME;
		if (o->pkt_size > max) {
			fprintf(stderr, "pktfwd: %s: --pkt-size %u is more than "
				"MTU %u + %u allows\n", ctx->port[i].name,
				o->pkt_size, ctx->port[i].mtu, PF_ETH_HLEN);
			return -1;
		}
	}
	room = o->pkt_size > RX_DATA_ROOM ? o->pkt_size : RX_DATA_ROOM;
	if (uvio_pktpool_create("pktfwd-tx", pool_count(o, ctx->nports) / 2,
				(uint16_t)room, uvio_dev_numa_node(
					uvio_net_dev(ctx->port[0].net)),
				&ctx->tx_pool, &err) < 0) {
		fprintf(stderr, "pktfwd: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int pf_ports_open(struct pf_ctx *ctx)
{
	const struct pf_opts *o = &ctx->o;
	struct uvio_err err = {0};

	/* Devices first: a wrong address is the likelier mistake. */
	for (unsigned i = 0; i < o->nports; i++) {
		ctx->port[i].name = o->ports[i];
		ctx->nports = i + 1;
		if (uvio_open(o->ports[i], &ctx->port[i].dev, &err) < 0) {
			fprintf(stderr, "pktfwd: %s\n", err.msg);
			return -1;
		}
	}
	/* One rx pool for every port: DMA memory is process-wide, so a frame
	 * from port 0 can leave by port 1. */
	if (uvio_pktpool_create("pktfwd-rx", pool_count(o, o->nports),
				RX_DATA_ROOM,
				uvio_dev_numa_node(ctx->port[0].dev),
				&ctx->pool, &err) < 0) {
		fprintf(stderr, "pktfwd: %s\n", err.msg);
		return -1;
	}
	for (unsigned i = 0; i < o->nports; i++)
		if (port_open(ctx, &ctx->port[i]))
			return -1;
	if (o->mode == PF_TXONLY)
		return tx_pool_open(ctx);
	return 0;
}

/* After the threads are gone: every buffer is back in its pool once the
 * devices have let go of theirs. */
void pf_ports_close(struct pf_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nports; i++) {
		uvio_net_close(ctx->port[i].net);
		if (ctx->port[i].dev)           /* opened, never made a port */
			uvio_dev_destroy(ctx->port[i].dev);
		ctx->port[i].net = NULL;
		ctx->port[i].dev = NULL;
	}
	uvio_pktpool_destroy(ctx->tx_pool);
	uvio_pktpool_destroy(ctx->pool);
	ctx->tx_pool = ctx->pool = NULL;
}
