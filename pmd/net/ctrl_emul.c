/* SPDX-License-Identifier: MIT */
/*
 * Control commands a transport answers itself (the transport op net_ctrl):
 * a vhost-user back-end has no control virtqueue (spec 5.1.6.5), so its
 * front-end emulates one, as DPDK's virtio_user does. ctrl.c builds every
 * command as for a real queue and hands it here instead.
 */
#include <errno.h>
#include <stdio.h>

#include "net_internal.h"

bool uvio_net_ctrl_emulated(const struct uvio_net *net)
{
	return uvio_dev_ops(net->dev)->net_ctrl != NULL;
}

int uvio_net_ctrl_emul(struct uvio_net *net, uint8_t cls, uint8_t cmd,
		       const void *data, uint32_t len)
{
	const struct uvio_transport_ops *ops = uvio_dev_ops(net->dev);

	net->ctrl_why[0] = '\0';
	return ops->net_ctrl(uvio_dev_transport(net->dev), cls, cmd, data, len,
			     net->ctrl_why, sizeof(net->ctrl_why));
}

const char *uvio_net_ctrl_error(const struct uvio_net *net)
{
	return net->ctrl_why;
}
