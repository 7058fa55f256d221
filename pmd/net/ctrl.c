/* SPDX-License-Identifier: MIT */
/*
 * The control virtqueue (spec 5.1.6.5): one command at a time, polled to
 * its ack with a deadline, so a device that never answers costs an error,
 * not a hang.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uvio/dma.h>

#include "net_internal.h"

#define CTRL_BUF 4096            /* header + the largest command (RSS) + ack */
#define CTRL_TIMEOUT_NS 2000000000LL

int uvio_net_ctrl_init(struct uvio_net *net)
{
	struct uvio_err err;
	bool n_pairs = uvio_dev_has_feature(net->dev, VIRTIO_NET_F_MQ) ||
		       uvio_dev_has_feature(net->dev, VIRTIO_NET_F_RSS);
	uint16_t idx = (uint16_t)(n_pairs ? 2 * net->info.max_queue_pairs : 2);
	int rc;

	if (uvio_net_ctrl_emulated(net))
		return 0;  /* no ring: the transport answers (ctrl_emul.c) */
	rc = uvio_dev_setup_queue(net->dev, idx, 64, 0, &net->ctrl.vq);
	if (rc) {
		snprintf(net->error, sizeof(net->error), "%s", uvio_dev_error(net->dev));
		return rc;
	}
	net->ctrl.buf = uvio_dma_alloc(CTRL_BUF, 64, uvio_dev_numa_node(net->dev),
				       &net->ctrl.iova, &err);
	if (!net->ctrl.buf) {
		snprintf(net->error, sizeof(net->error), "%s", err.msg);
		return err.code;
	}
	return 0;
}

void uvio_net_ctrl_fini(struct uvio_net *net)
{
	uvio_dma_free(net->ctrl.buf);
	net->ctrl.buf = NULL;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int wait_ack(struct uvio_net *net, const volatile uint8_t *ack)
{
	int64_t deadline = now_ns() + CTRL_TIMEOUT_NS;
	struct uvio_vq_used used;
	int n;

	while ((n = uvio_vq_get_used(net->ctrl.vq, &used, 1)) == 0)
		if (now_ns() > deadline) {
			/* The buffer stays posted; the queue is useless now. */
			uvio_vq_set_broken(net->ctrl.vq, "control command timed out");
			return -ETIMEDOUT;
		}
	if (n < 0)
		return -EIO;
	return *ack == VIRTIO_NET_OK ? 0 : -EIO;
}

int uvio_net_ctrl_cmd(struct uvio_net *net, uint8_t cls, uint8_t cmd,
		      const void *data, uint32_t len)
{
	struct virtio_net_ctrl_hdr *h;
	struct uvio_sg sg[3];
	uint8_t *ack;
	int rc;

	if (uvio_net_ctrl_emulated(net))
		return uvio_net_ctrl_emul(net, cls, cmd, data, len);
	if (!net->ctrl.vq || !net->ctrl.buf)
		return -ENOTSUP;
	h = (void *)net->ctrl.buf;
	ack = net->ctrl.buf + CTRL_BUF - 1;
	if (len > CTRL_BUF - 64)
		return -EINVAL;
	h->class = cls;
	h->cmd = cmd;
	if (len)
		memcpy(net->ctrl.buf + 64, data, len);
	*ack = 0xff;
	sg[0] = (struct uvio_sg){ net->ctrl.iova, sizeof(*h) };
	sg[1] = (struct uvio_sg){ net->ctrl.iova + 64, len };
	sg[2] = (struct uvio_sg){ net->ctrl.iova + CTRL_BUF - 1, 1 };
	if (len)
		rc = uvio_vq_add(net->ctrl.vq, sg, 2, 1, net);
	else
		rc = uvio_vq_add(net->ctrl.vq, (struct uvio_sg[]){ sg[0], sg[2] }, 1, 1, net);
	if (rc)
		return rc;
	uvio_vq_kick(net->ctrl.vq);
	rc = wait_ack(net, ack);
	if (rc)
		snprintf(net->ctrl_why, sizeof(net->ctrl_why), "%s: control command "
			 "class %u command %u: %s", uvio_dev_name(net->dev), cls, cmd,
			 rc == -ETIMEDOUT ? "no answer within 2 s" :
			 rc == -EIO && *ack == VIRTIO_NET_ERR ? "the device said VIRTIO_NET_ERR" :
			 "the control queue is broken");
	return rc;
}

/* An emulated control queue takes every command and says itself which it
 * cannot carry. */
static int need(struct uvio_net *net, unsigned bit)
{
	net->ctrl_why[0] = '\0';
	if (uvio_net_ctrl_emulated(net) || uvio_dev_has_feature(net->dev, bit))
		return 0;
	snprintf(net->ctrl_why, sizeof(net->ctrl_why), "%s: the device does not "
		 "offer feature bit %u (spec 5.1.3)", uvio_dev_name(net->dev), bit);
	return -ENOTSUP;
}

static int rx_mode(struct uvio_net *net, uint8_t cmd, bool on)
{
	uint8_t v = on;
	int rc = need(net, VIRTIO_NET_F_CTRL_RX);

	return rc ? rc : uvio_net_ctrl_cmd(net, VIRTIO_NET_CTRL_RX, cmd, &v, 1);
}

int uvio_net_set_promisc(struct uvio_net *net, bool on)
{
	return rx_mode(net, VIRTIO_NET_CTRL_RX_PROMISC, on);
}

int uvio_net_set_allmulti(struct uvio_net *net, bool on)
{
	return rx_mode(net, VIRTIO_NET_CTRL_RX_ALLMULTI, on);
}

int uvio_net_set_mac(struct uvio_net *net, const uint8_t mac[6])
{
	int rc = need(net, VIRTIO_NET_F_CTRL_MAC_ADDR);

	if (!rc)
		rc = uvio_net_ctrl_cmd(net, VIRTIO_NET_CTRL_MAC,
				       VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6);
	if (!rc)
		memcpy(net->info.mac, mac, 6);
	return rc;
}

/* Spec 5.1.6.5.2: two tables, unicast then multicast, each a count and
 * its entries. */
int uvio_net_set_mac_tables(struct uvio_net *net, const uint8_t (*uc)[6],
			    unsigned n_uc, const uint8_t (*mc)[6], unsigned n_mc)
{
	uint8_t buf[CTRL_BUF - 64];
	uint32_t nu = n_uc, nm = n_mc, off = 0;
	int rc = need(net, VIRTIO_NET_F_CTRL_RX);

	if (rc)
		return rc;
	if (8 + 6ull * (n_uc + n_mc) > sizeof(buf))
		return -EINVAL;
	memcpy(buf, &nu, 4);
	if (n_uc)
		memcpy(buf + 4, uc, 6 * n_uc);
	off = 4 + 6 * n_uc;
	memcpy(buf + off, &nm, 4);
	if (n_mc)
		memcpy(buf + off + 4, mc, 6 * n_mc);
	return uvio_net_ctrl_cmd(net, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
				 buf, off + 4 + 6 * n_mc);
}

static int vlan(struct uvio_net *net, uint8_t cmd, uint16_t vid)
{
	int rc = need(net, VIRTIO_NET_F_CTRL_VLAN);

	if (!rc && vid > 4095)
		rc = -EINVAL;
	return rc ? rc : uvio_net_ctrl_cmd(net, VIRTIO_NET_CTRL_VLAN, cmd, &vid, 2);
}

int uvio_net_vlan_add(struct uvio_net *net, uint16_t vid)
{
	return vlan(net, VIRTIO_NET_CTRL_VLAN_ADD, vid);
}

int uvio_net_vlan_del(struct uvio_net *net, uint16_t vid)
{
	return vlan(net, VIRTIO_NET_CTRL_VLAN_DEL, vid);
}

int uvio_net_announce_ack(struct uvio_net *net)
{
	int rc = need(net, VIRTIO_NET_F_GUEST_ANNOUNCE);

	return rc ? rc : uvio_net_ctrl_cmd(net, VIRTIO_NET_CTRL_ANNOUNCE,
					   VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0);
}

int uvio_net_set_queue_pairs(struct uvio_net *net, uint16_t pairs)
{
	int rc = need(net, VIRTIO_NET_F_MQ);

	if (!rc && (pairs < 1 || pairs > net->info.queue_pairs)) {
		snprintf(net->ctrl_why, sizeof(net->ctrl_why), "%s: %u queue pairs "
			 "asked; 1..%u are set up", uvio_dev_name(net->dev), pairs,
			 net->info.queue_pairs);
		rc = -EINVAL;
	}
	return rc ? rc : uvio_net_ctrl_cmd(net, VIRTIO_NET_CTRL_MQ,
					   VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2);
}

/* Spec 5.1.6.5.7.1: the table length is a power of two; each entry is
 * bits 1-16 of a receive virtqueue's index, i.e. its pair number. */
int uvio_net_set_rss(struct uvio_net *net, uint32_t hash_types, const uint8_t *key,
		     uint8_t key_len, const uint16_t *table, uint16_t table_len)
{
	uint8_t buf[CTRL_BUF - 64];
	uint16_t mask = (uint16_t)(table_len - 1), zero = 0, max_tx = net->info.queue_pairs;
	uint32_t off = 8;
	int rc = need(net, VIRTIO_NET_F_RSS);

	if (rc)
		return rc;
	if (uvio_net_ctrl_emulated(net))  /* before the checks: none is offered */
		return uvio_net_ctrl_emul(net, VIRTIO_NET_CTRL_MQ,
					  VIRTIO_NET_CTRL_MQ_RSS_CONFIG, NULL, 0);
	if (!table_len || (table_len & mask) ||
	    (hash_types & ~net->info.supported_hash_types) ||
	    table_len > net->info.rss_max_indirection_table_length ||
	    key_len > net->info.rss_max_key_size || 11u + 2u * table_len + key_len > sizeof(buf))
		return -EINVAL;
	memcpy(buf, &hash_types, 4);
	memcpy(buf + 4, &mask, 2);
	memcpy(buf + 6, &zero, 2);
	for (uint16_t i = 0; i < table_len; i++, off += 2) {
		if (table[i] >= net->info.queue_pairs)
			return -EINVAL;
		memcpy(buf + off, &table[i], 2);
	}
	memcpy(buf + off, &max_tx, 2);
	buf[off + 2] = key_len;
	memcpy(buf + off + 3, key, key_len);
	return uvio_net_ctrl_cmd(net, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG,
				 buf, off + 3 + key_len);
}
