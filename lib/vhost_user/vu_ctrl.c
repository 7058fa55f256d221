/* SPDX-License-Identifier: MIT */
/*
 * A virtio-net device's front-end half over vhost-user: the configuration
 * space and the control virtqueue (spec 5.1.4, 5.1.6.5), which a vhost-user
 * net back-end (DPDK's net_vhost) does not have: QEMU's virtio-net keeps
 * both itself, and DPDK's virtio_user emulates the control queue. So does
 * uvio, answering each command with what vhost-user can carry:
 *   MQ VQ_PAIRS_SET     SET_VRING_ENABLE 1 on the pairs in use, 0 on the
 *                       others (spec 5.1.6.5.5: the device uses only the
 *                       first N pairs; vhost-user.rst "Multiple queue
 *                       support": a disabled ring is not processed);
 *   MAC ADDR_SET        SET_CONFIG of the config space's mac, where the
 *                       back-end has the CONFIG protocol feature;
 *   everything else     -ENOTSUP with one line: the protocol has no message
 *                       for rx modes, MAC tables, VLAN filters or RSS.
 * Unlike DPDK's virtio_user, which acks the commands it cannot carry, a
 * command that has no effect says so.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "common/virtio_compat.h"
#include "vu_internal.h"

/* Why a command cannot be carried, per command (class << 8 | cmd). */
static const struct {
	uint16_t cmd;
	const char *why;
} no_message[] = {
	{ VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_PROMISC,
	  "the protocol has no promiscuous-mode message" },
	{ VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_ALLMULTI,
	  "the protocol has no all-multicast message" },
	{ VIRTIO_NET_CTRL_MAC << 8 | VIRTIO_NET_CTRL_MAC_TABLE_SET,
	  "the protocol has no MAC filter table message" },
	{ VIRTIO_NET_CTRL_VLAN << 8 | VIRTIO_NET_CTRL_VLAN_ADD,
	  "the protocol has no VLAN filter message" },
	{ VIRTIO_NET_CTRL_VLAN << 8 | VIRTIO_NET_CTRL_VLAN_DEL,
	  "the protocol has no VLAN filter message" },
	{ VIRTIO_NET_CTRL_MQ << 8 | VIRTIO_NET_CTRL_MQ_RSS_CONFIG,
	  "the protocol has no RSS message (the back-end offers no VIRTIO_NET_F_RSS)" },
	{ VIRTIO_NET_CTRL_ANNOUNCE << 8 | VIRTIO_NET_CTRL_ANNOUNCE_ACK,
	  "the protocol has no announce message (a back-end announces by itself)" },
};

static uint16_t pairs_of(const struct vu *v)
{
	return (uint16_t)(v->nqueues / 2);
}

/* What a net device is offered on top of the back-end's own features: the
 * emulated control queue, and MQ when there is more than one pair to
 * choose from (the back-end's VIRTIO_NET_F_MQ, or MQ protocol feature
 * with GET_QUEUE_NUM > 1). */
uint64_t uvio_vu_net_features(const struct vu *v, uint64_t backend)
{
	uint64_t f = backend | BIT(VIRTIO_NET_F_CTRL_VQ);
	bool mq = (v->features & BIT(VIRTIO_NET_F_MQ)) ||
		  (v->protocol & BIT(VU_PROTOCOL_F_MQ));

	if (mq && pairs_of(v) > 1)
		f |= BIT(VIRTIO_NET_F_MQ);
	return f;
}

/* SET_FEATURES carries only what the back-end offered: the control queue
 * is ours alone (DPDK's virtio_user strips it too), and so is MQ when the
 * back-end has only the protocol feature. */
uint64_t uvio_vu_net_backend_features(const struct vu *v, uint64_t features)
{
	return features & ~BIT(VIRTIO_NET_F_CTRL_VQ) &
	       (v->features | ~BIT(VIRTIO_NET_F_MQ));
}

/* The config space the front-end makes up (spec 5.1.4): only
 * max_virtqueue_pairs, which MQ guards; nothing else is offered. */
int uvio_vu_net_read_config(const struct vu *v, uint32_t off, void *buf, uint32_t len)
{
	struct virtio_net_config c;
	uint16_t pairs = pairs_of(v) ? pairs_of(v) : 1;

	if (off > sizeof(c) || len > sizeof(c) - off)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	memcpy((char *)&c + offsetof(struct virtio_net_config, max_virtqueue_pairs),
	       &pairs, sizeof(pairs));
	memcpy(buf, (char *)&c + off, len);
	return 0;
}

/* VQ_PAIRS_SET (spec 5.1.6.5.5): rings 2q and 2q+1 run for q < pairs. A
 * ring set up later (uvio_dev_setup_queue on a running device) is enabled
 * by setup_queue itself. Under the lock. */
static int set_pairs(struct vu *v, uint16_t pairs, char *why, uint32_t why_len)
{
	if (pairs < 1 || pairs > pairs_of(v)) {
		snprintf(why, why_len, "vhost-user: %u queue pairs asked, the "
			 "back-end has 1..%u", pairs, pairs_of(v));
		return -EINVAL;
	}
	if (!(v->features & BIT(VU_F_PROTOCOL_FEATURES))) {
		snprintf(why, why_len, "vhost-user: the back-end has no "
			 "PROTOCOL_FEATURES, so its rings cannot be disabled "
			 "(SET_VRING_ENABLE)");
		return -ENOTSUP;
	}
	for (uint16_t q = 0; q < v->nqueues; q++) {
		struct vu_msg m;
		int rc;

		if (!v->q[q].live)
			continue;
		uvio_vu_msg_init(&m, VU_SET_VRING_ENABLE, sizeof(m.p.state));
		m.p.state.index = q;
		m.p.state.num = q < 2u * pairs;
		rc = uvio_vu_request(v, &m, NULL, 0, NULL);
		if (rc) {
			snprintf(why, why_len, "%s", v->error);
			return rc == -ENOTCONN ? rc : -EIO;
		}
	}
	return 0;
}

/* MAC ADDR_SET (spec 5.1.6.5.2) as a config write of mac (5.1.4), which
 * only a back-end with the CONFIG protocol feature takes. Under the lock. */
static int set_mac(struct vu *v, const void *mac, uint32_t len, char *why,
		   uint32_t why_len)
{
	struct vu_msg m;
	int rc;

	if (!(v->protocol & BIT(VU_PROTOCOL_F_CONFIG))) {
		snprintf(why, why_len, "vhost-user: the back-end has no CONFIG "
			 "protocol feature, so the MAC address cannot be set "
			 "(SET_CONFIG)");
		return -ENOTSUP;
	}
	if (len != 6) {
		snprintf(why, why_len, "vhost-user: a MAC address has 6 bytes, not %u", len);
		return -EINVAL;
	}
	uvio_vu_msg_init(&m, VU_SET_CONFIG, VU_CONFIG_HDR + 6);
	m.p.config.offset = offsetof(struct virtio_net_config, mac);
	m.p.config.size = 6;
	m.p.config.flags = 0;  /* VHOST_SET_CONFIG_TYPE_FRONTEND */
	memcpy(m.p.config.region, mac, 6);
	rc = uvio_vu_request(v, &m, NULL, 0, NULL);
	if (rc) {
		snprintf(why, why_len, "%s", v->error);
		return rc == -ENOTCONN ? rc : -EIO;
	}
	return 0;
}

int uvio_vu_net_ctrl(void *t, uint8_t cls, uint8_t cmd, const void *data,
		     uint32_t len, char *why, uint32_t why_len)
{
	struct vu *v = t;
	uint16_t key = (uint16_t)(cls << 8 | cmd), pairs;
	int rc;

	for (size_t i = 0; i < sizeof(no_message) / sizeof(no_message[0]); i++)
		if (no_message[i].cmd == key) {
			snprintf(why, why_len, "vhost-user: %s", no_message[i].why);
			return -ENOTSUP;
		}
	pthread_mutex_lock(&v->lock);
	if (key == (VIRTIO_NET_CTRL_MQ << 8 | VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET) &&
	    len == sizeof(pairs)) {
		memcpy(&pairs, data, sizeof(pairs));
		rc = set_pairs(v, pairs, why, why_len);
	} else if (key == (VIRTIO_NET_CTRL_MAC << 8 | VIRTIO_NET_CTRL_MAC_ADDR_SET)) {
		rc = set_mac(v, data, len, why, why_len);
	} else {
		snprintf(why, why_len, "vhost-user: no emulation of control "
			 "command class %u command %u", cls, cmd);
		rc = -ENOTSUP;
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}
