/* SPDX-License-Identifier: MIT */
/*
 * blkbench: load and check a virtio-blk device through uvio.
 * Exit status: 0 all good, 1 an I/O error or verify failure, 2 usage.
 */
#include <stdio.h>

#include <uvio/uvio.h>

#include "../common/cli.h"
#include "blkbench.h"

static int usage_error(const char *msg)
{
	return cli_usage_error("blkbench", "%s", msg);
}

static int open_blk(const struct bb_opts *o, struct uvio_blk **blk)
{
	struct uvio_blk_opts bo = { .queues = (uint16_t)o->queues };
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;

	if (o->no_huge) {
		struct uvio_dma_opts d = { .backing = UVIO_DMA_4K_PINNED };

		if (uvio_dma_init(&d, &err)) {
			fprintf(stderr, "blkbench: %s\n", err.msg);
			return 1;
		}
	}
	if (uvio_open(o->dev, &dev, &err) || uvio_blk_open(dev, &bo, blk, &err)) {
		fprintf(stderr, "blkbench: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bb_opts o;
	struct bb_result res;
	struct uvio_blk *blk;
	char msg[256];
	int rc = bb_opts_parse(argc, argv, &o, msg, sizeof(msg));

	if (rc)
		return usage_error(msg);
	if (o.help) {
		bb_usage(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	if (o.version)
		return cli_print_version("blkbench");
	if (bb_opts_check_dev(&o, msg, sizeof(msg)))
		return usage_error(msg);
	if (open_blk(&o, &blk))
		return 1;
	bb_report_device(stderr, &o, uvio_blk_get_info(blk));
	rc = bb_opts_check_device(&o, uvio_blk_get_info(blk), msg, sizeof(msg));
	if (rc) {
		uvio_blk_close(blk);
		return usage_error(msg);
	}
	if (o.op) {
		rc = bb_run_op(&o, blk);
	} else {
		rc = bb_run_workload(&o, blk, NULL, &res);
		if (!rc) {
			if (o.json)
				bb_report_json(stdout, &o, uvio_blk_get_info(blk), &res);
			else
				bb_report_text(stdout, &o, &res);
			rc = bb_result_failed(&res) ? 1 : 0;
		}
	}
	uvio_blk_close(blk);
	if (fflush(stdout))
		rc = 1;
	return rc;
}
