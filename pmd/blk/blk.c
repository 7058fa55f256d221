/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk device set-up (spec 5.2): features, configuration, queues.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "blk_internal.h"
#include "common/virtio_compat.h"

/* Every request type and config field QEMU's virtio-blk implements. */
static const uint64_t blk_features =
	BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_SEG_MAX) |
	BIT(VIRTIO_BLK_F_GEOMETRY) | BIT(VIRTIO_BLK_F_RO) |
	BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) |
	BIT(VIRTIO_BLK_F_TOPOLOGY) | BIT(VIRTIO_BLK_F_CONFIG_WCE) |
	BIT(VIRTIO_BLK_F_MQ) | BIT(VIRTIO_BLK_F_DISCARD) |
	BIT(VIRTIO_BLK_F_WRITE_ZEROES) | BIT(VIRTIO_BLK_F_SECURE_ERASE);

/* Spec 5.2.4: the config fields a feature guards, in reading order, and
 * the uvio_blk_info field each goes into (read at that field's size). */
#define GUARDED(bit, field, dst) { bit, UVIO_CFG(blk, field), \
	offsetof(struct uvio_blk_info, dst), sizeof(((struct uvio_blk_info *)0)->dst) }

static const struct {
	unsigned bit;
	uint32_t off;
	size_t dst, len;
} guarded[] = {
	GUARDED(VIRTIO_BLK_F_SIZE_MAX, size_max, size_max),
	GUARDED(VIRTIO_BLK_F_SEG_MAX, seg_max, seg_max),
	GUARDED(VIRTIO_BLK_F_GEOMETRY, geometry.cylinders, cylinders),
	GUARDED(VIRTIO_BLK_F_GEOMETRY, geometry.heads, heads),
	GUARDED(VIRTIO_BLK_F_GEOMETRY, geometry.sectors, sectors),
	GUARDED(VIRTIO_BLK_F_TOPOLOGY, physical_block_exp, physical_block_exp),
	GUARDED(VIRTIO_BLK_F_TOPOLOGY, alignment_offset, alignment_offset),
	GUARDED(VIRTIO_BLK_F_TOPOLOGY, min_io_size, min_io_size),
	GUARDED(VIRTIO_BLK_F_TOPOLOGY, opt_io_size, opt_io_size),
	GUARDED(VIRTIO_BLK_F_DISCARD, max_discard_sectors, max_discard_sectors),
	GUARDED(VIRTIO_BLK_F_DISCARD, max_discard_seg, max_discard_seg),
	GUARDED(VIRTIO_BLK_F_DISCARD, discard_sector_alignment, discard_sector_alignment),
	GUARDED(VIRTIO_BLK_F_WRITE_ZEROES, max_write_zeroes_sectors, max_write_zeroes_sectors),
	GUARDED(VIRTIO_BLK_F_WRITE_ZEROES, max_write_zeroes_seg, max_write_zeroes_seg),
	GUARDED(VIRTIO_BLK_F_WRITE_ZEROES, write_zeroes_may_unmap, write_zeroes_may_unmap),
	GUARDED(VIRTIO_BLK_F_SECURE_ERASE, max_secure_erase_sectors, max_secure_erase_sectors),
	GUARDED(VIRTIO_BLK_F_SECURE_ERASE, max_secure_erase_seg, max_secure_erase_seg),
	GUARDED(VIRTIO_BLK_F_SECURE_ERASE, secure_erase_sector_alignment,
		secure_erase_sector_alignment),
};

/* The first failure is the one reported (err holds its code). */
static int read_guarded(struct uvio_blk *blk, struct uvio_err *err)
{
	struct uvio_blk_info *in = &blk->info;

	in->discard = uvio_has(blk->dev, VIRTIO_BLK_F_DISCARD);
	in->write_zeroes = uvio_has(blk->dev, VIRTIO_BLK_F_WRITE_ZEROES);
	in->secure_erase = uvio_has(blk->dev, VIRTIO_BLK_F_SECURE_ERASE);
	for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++) {
		int rc;

		if (!uvio_has(blk->dev, guarded[i].bit))
			continue;
		rc = uvio_cfg_read(blk->dev, guarded[i].off, (char *)in + guarded[i].dst,
				   (uint32_t)guarded[i].len, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Spec 5.2.4/5.2.5: the config, guarded field by field by its feature. */
static int read_config(struct uvio_blk *blk, struct uvio_err *err)
{
	struct uvio_blk_info *in = &blk->info;
	uint64_t sectors = 0;
	uint8_t wce = 0;
	int rc = UVIO_CFG_READ(blk->dev, blk, capacity, sectors, err);

	in->block_size = 512;
	if (!rc && uvio_has(blk->dev, VIRTIO_BLK_F_BLK_SIZE))
		rc = UVIO_CFG_READ(blk->dev, blk, blk_size, in->block_size, err);
	if (rc)
		return rc;
	if (in->block_size < 512 || in->block_size > 65536 ||
	    (in->block_size & (in->block_size - 1)))
		return uvio_err_set(err, -EIO, "%s: device reports block size %u; "
				    "need a power of two in 512..65536",
				    uvio_dev_name(blk->dev), in->block_size);
	if (sectors > UINT64_MAX / 512)
		return uvio_err_set(err, -EIO, "%s: capacity %llu sectors overflows",
				    uvio_dev_name(blk->dev), (unsigned long long)sectors);
	in->capacity = sectors * 512;
	in->read_only = uvio_has(blk->dev, VIRTIO_BLK_F_RO);
	in->flush = uvio_has(blk->dev, VIRTIO_BLK_F_FLUSH);
	in->wce_configurable = uvio_has(blk->dev, VIRTIO_BLK_F_CONFIG_WCE);
	in->writeback = in->flush;
	if (in->wce_configurable && !UVIO_CFG_READ(blk->dev, blk, wce, wce, err))
		in->writeback = wce;
	in->num_queues = 1;
	if (uvio_has(blk->dev, VIRTIO_BLK_F_MQ) &&
	    (rc = UVIO_CFG_READ(blk->dev, blk, num_queues, in->num_queues, err)))
		return rc;
	if (in->num_queues == 0)
		in->num_queues = 1;
	return read_guarded(blk, err);
}

static uint64_t wanted_features(const struct uvio_blk_opts *o)
{
	uint64_t want = blk_features | uvio_dev_ring_features();

	return want & ~o->disable_features;
}

static int setup_queues(struct uvio_blk *blk, const struct uvio_blk_opts *o,
			struct uvio_err *err)
{
	struct uvio_blk_info *in = &blk->info;
	uint16_t want = o->queues ? o->queues : 1;

	in->queues = want < in->num_queues ? want : in->num_queues;
	if (uvio_dev_max_queues(blk->dev) && in->queues > uvio_dev_max_queues(blk->dev))
		in->queues = uvio_dev_max_queues(blk->dev);
	blk->queues = calloc(in->queues, sizeof(*blk->queues));
	if (!blk->queues)
		return uvio_err_set(err, -ENOMEM, "out of memory");
	for (uint16_t i = 0; i < in->queues; i++) {
		struct uvio_vq *vq;
		uint16_t segs = in->seg_max && in->seg_max < 126 ? (uint16_t)in->seg_max : 126;
		uint16_t ind = uvio_has(blk->dev, VIRTIO_RING_F_INDIRECT_DESC) ? segs + 2 : 0;
		int rc = uvio_dev_setup_queue(blk->dev, i, o->queue_size, ind, &vq);

		if (rc)
			return uvio_err_set(err, rc, "%s", uvio_dev_error(blk->dev));
		rc = uvio_blk_queue_init(blk, &blk->queues[i], vq, err);
		if (rc)
			return rc;
	}
	in->queue_size = uvio_vq_size(blk->queues[0].vq);
	in->packed = uvio_vq_is_packed(blk->queues[0].vq);
	return 0;
}

/* Spec 3.1.1 steps 4-8 for a device at ACKNOWLEDGE|DRIVER. */
static int bring_up(struct uvio_blk *blk, struct uvio_err *err)
{
	int rc = uvio_dev_negotiate(blk->dev, wanted_features(&blk->opts),
				    &blk->info.features);

	if (rc)
		rc = uvio_err_set(err, rc, "%s", uvio_dev_error(blk->dev));
	if (!rc)
		rc = read_config(blk, err);
	if (!rc)
		rc = setup_queues(blk, &blk->opts, err);
	if (!rc && (rc = uvio_dev_start(blk->dev)))
		uvio_err_set(err, rc, "%s", uvio_dev_error(blk->dev));
	if (rc)
		uvio_dev_fail(blk->dev);
	return rc;
}

/* After a reset: fail what was in flight, free the queues' memory. */
static void drop_queues(struct uvio_blk *blk, const char *why)
{
	for (uint16_t i = 0; blk->queues && i < blk->info.queues; i++) {
		if (!blk->queues[i].vq)
			continue;
		/* A callback that resubmits must fail, not notify a reset device. */
		uvio_vq_set_broken(blk->queues[i].vq, why);
		uvio_blk_queue_fail_all(&blk->queues[i]);
	}
}

static void free_queues(struct uvio_blk *blk)
{
	for (uint16_t i = 0; blk->queues && i < blk->info.queues; i++)
		uvio_blk_queue_fini(&blk->queues[i]);
	free(blk->queues);
	blk->queues = NULL;
}

int uvio_blk_open(struct uvio_dev *dev, const struct uvio_blk_opts *opts,
		  struct uvio_blk **out, struct uvio_err *err)
{
	struct uvio_blk *blk;
	int rc = uvio_dev_expect_type(dev, VIRTIO_ID_BLOCK, err);

	if (rc) {
		uvio_dev_destroy(dev);
		return rc;
	}
	blk = calloc(1, sizeof(*blk));
	if (!blk) {
		uvio_dev_destroy(dev);
		return uvio_err_set(err, -ENOMEM, "out of memory");
	}
	blk->dev = dev;
	if (opts)
		blk->opts = *opts;
	rc = bring_up(blk, err);
	if (rc) {
		uvio_blk_close(blk);
		return rc;
	}
	*out = blk;
	return 0;
}

void uvio_blk_close(struct uvio_blk *blk)
{
	if (!blk)
		return;
	/* Reset first: the device must be done with the buffers we give back
	 * and the slots we free. */
	uvio_dev_reset(blk->dev);
	drop_queues(blk, "device closed");
	uvio_dev_destroy(blk->dev);
	free_queues(blk);
	free(blk);
}

int uvio_blk_check(struct uvio_blk *blk)
{
	return uvio_dev_check(blk->dev);
}

int uvio_blk_reinit(struct uvio_blk *blk, struct uvio_err *err)
{
	int rc = uvio_dev_reset(blk->dev);

	if (rc)
		return uvio_err_set(err, rc, "%s", uvio_dev_error(blk->dev));
	drop_queues(blk, "device reset");
	free_queues(blk);
	rc = uvio_dev_reinit(blk->dev, NULL, NULL);
	if (rc)
		return uvio_err_set(err, rc, "%s", uvio_dev_error(blk->dev));
	return bring_up(blk, err);
}

const struct uvio_blk_info *uvio_blk_get_info(const struct uvio_blk *blk)
{
	return &blk->info;
}

struct uvio_dev *uvio_blk_dev(const struct uvio_blk *blk)
{
	return blk->dev;
}

struct uvio_blk_queue *uvio_blk_get_queue(struct uvio_blk *blk, uint16_t q)
{
	return q < blk->info.queues ? &blk->queues[q] : NULL;
}

/* Spec 5.2.5.1: the writeback field, when CONFIG_WCE was negotiated. */
int uvio_blk_set_writeback(struct uvio_blk *blk, bool on)
{
	uint8_t wce = on, back = !on;
	int rc;

	if (!blk->info.wce_configurable)
		return -ENOTSUP;
	rc = uvio_dev_write_config(blk->dev, UVIO_CFG(blk, wce), &wce, 1);
	if (!rc)
		rc = uvio_dev_read_config(blk->dev, UVIO_CFG(blk, wce), &back, 1);
	if (rc)
		return rc;
	blk->info.writeback = back;
	return back == wce ? 0 : -EIO;
}
