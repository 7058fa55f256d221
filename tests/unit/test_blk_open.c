/* SPDX-License-Identifier: MIT */
/* pmd/blk: opening a device (features, config, refusals), the generic
 * recovery calls, and reinit after DEVICE_NEEDS_RESET. The fixture is
 * blk_fixture.h. */
#include "blk_fixture.h"

/* ---- open and config ---- */

static void test_open_reads_config(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	const struct uvio_blk_info *in;
	const uint8_t *log;
	unsigned nlog;

	cfg.features |= BIT(VIRTIO_BLK_F_MQ) | BIT(VIRTIO_BLK_F_GEOMETRY) |
			BIT(VIRTIO_BLK_F_TOPOLOGY);
	cfg.capacity = 16384;
	cfg.blk_size = 4096;
	cfg.num_queues = 4;
	cfg.seg_max = 17;
	cfg.size_max = 8192;
	cfg.cylinders = 1000;
	cfg.heads = 16;
	cfg.sectors = 63;
	cfg.physical_block_exp = 3;
	cfg.alignment_offset = 1;
	cfg.min_io_size = 8;
	cfg.opt_io_size = 256;
	cfg.max_discard_sectors = 77;
	cfg.max_discard_seg = 3;
	cfg.discard_sector_alignment = 9;
	cfg.max_write_zeroes_sectors = 88;
	cfg.max_write_zeroes_seg = 4;
	cfg.write_zeroes_may_unmap = 1;
	cfg.max_secure_erase_sectors = 99;
	cfg.max_secure_erase_seg = 5;
	cfg.secure_erase_sector_alignment = 11;
	cfg.queue_max = 64;
	open_ok(f, &cfg, &(struct uvio_blk_opts){ .queues = 2 });
	in = uvio_blk_get_info(f->blk);
	assert_int_equal(in->capacity, 16384ull * 512);
	assert_int_equal(in->block_size, 4096);
	assert_int_equal(in->size_max, 8192);
	assert_int_equal(in->seg_max, 17);
	assert_int_equal(in->cylinders, 1000);
	assert_int_equal(in->heads, 16);
	assert_int_equal(in->sectors, 63);
	assert_int_equal(in->physical_block_exp, 3);
	assert_int_equal(in->alignment_offset, 1);
	assert_int_equal(in->min_io_size, 8);
	assert_int_equal(in->opt_io_size, 256);
	assert_false(in->read_only);
	assert_true(in->flush);
	assert_true(in->wce_configurable);
	assert_true(in->writeback);
	assert_int_equal(in->num_queues, 4);
	assert_int_equal(in->queues, 2);
	assert_int_equal(in->queue_size, 64);
	assert_true(in->discard && in->write_zeroes && in->secure_erase);
	assert_int_equal(in->max_discard_sectors, 77);
	assert_int_equal(in->max_discard_seg, 3);
	assert_int_equal(in->discard_sector_alignment, 9);
	assert_int_equal(in->max_write_zeroes_sectors, 88);
	assert_int_equal(in->max_write_zeroes_seg, 4);
	assert_true(in->write_zeroes_may_unmap);
	assert_int_equal(in->max_secure_erase_sectors, 99);
	assert_int_equal(in->max_secure_erase_seg, 5);
	assert_int_equal(in->secure_erase_sector_alignment, 11);
	assert_int_equal(in->packed, f->packed);
	assert_int_equal(!!(in->features & BIT(VIRTIO_F_RING_PACKED)), f->packed);
	assert_int_equal(in->features, model_dev_driver_features(f->m));
	assert_non_null(uvio_blk_get_queue(f->blk, 1));
	assert_null(uvio_blk_get_queue(f->blk, 2));
	/* Spec 3.1.1: reset, ACK, DRIVER, FEATURES_OK, DRIVER_OK. */
	assert_int_equal(model_dev_status(f->m), VIRTIO_CONFIG_S_ACKNOWLEDGE |
			 VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
			 VIRTIO_CONFIG_S_DRIVER_OK);
	nlog = model_dev_status_log(f->m, &log);
	assert_true(nlog >= 5);
	assert_int_equal(log[0], 0);
	assert_int_equal(log[1], VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(log[2], VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	assert_true(model_dev_queue_size(f->m, 0) && model_dev_queue_size(f->m, 1));
	assert_int_equal(model_dev_queue_size(f->m, 2), 0);
	finish(f);
}

/* Without the optional features the defaults hold. */
static void test_open_minimal_device(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = { .packed = f->packed, .capacity = 100 };
	const struct uvio_blk_info *in;

	open_ok(f, &cfg, &(struct uvio_blk_opts){ .queues = 4 });
	in = uvio_blk_get_info(f->blk);
	assert_int_equal(in->capacity, 100 * 512);
	assert_int_equal(in->block_size, 512);
	assert_int_equal(in->seg_max, 0);
	assert_int_equal(in->size_max, 0);
	assert_false(in->flush || in->writeback || in->wce_configurable);
	assert_false(in->discard || in->write_zeroes || in->secure_erase);
	assert_int_equal(in->num_queues, 1);
	assert_int_equal(in->queues, 1);
	finish(f);
}

static void test_open_config_churn_retries(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct uvio_dev *dev;

	/* The generation moves during the first reads: the core retries. */
	f->mb = model_blk_create(&cfg, &dev);
	f->m = model_blk_dev(f->mb);
	model_dev_config_churn(f->m, 5);
	assert_int_equal(uvio_blk_open(dev, NULL, &f->blk, NULL), 0);
	assert_int_equal(uvio_blk_get_info(f->blk)->capacity, 8192 * 512);
	finish(f);
}

static void test_open_config_never_settles(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;

	f->mb = model_blk_create(&cfg, &dev);
	f->m = model_blk_dev(f->mb);
	model_dev_config_churn(f->m, 100000);
	assert_int_equal(uvio_blk_open(dev, NULL, &f->blk, &err), -EIO);
	f->blk = NULL;
	assert_true(strlen(err.msg) > 0);
	assert_false(model_dev_alive(f->m));
	assert_clean(f);
}

/* A device that refuses the driver's features (FEATURES_OK does not
 * stick, 3.1.1 step 6): open fails, FAILED is set. */
static void test_open_features_refused(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct uvio_err err = { 0 };
	const uint8_t *log;
	unsigned n;
	bool failed = false;

	cfg.refuse_features = BIT(VIRTIO_BLK_F_DISCARD);
	assert_int_equal(open_cfg(f, &cfg, NULL, &err), -ENOTSUP);
	assert_true(strlen(err.msg) > 0);
	assert_false(model_dev_alive(f->m));
	n = model_dev_status_log(f->m, &log);
	for (unsigned i = 0; i < n; i++)
		failed |= log[i] & VIRTIO_CONFIG_S_FAILED;
	assert_true(failed);
	assert_clean(f);
	model_blk_put(f->mb);

	/* Without that feature the same device opens. */
	open_ok(f, &cfg, &(struct uvio_blk_opts){
		.disable_features = BIT(VIRTIO_BLK_F_DISCARD) });
	assert_false(uvio_blk_get_info(f->blk)->discard);
	assert_true(uvio_blk_get_info(f->blk)->write_zeroes);
	finish(f);
}

/* A virtio-net device handed to uvio_blk_open is refused with one line,
 * and destroyed as on any failed open. */
static void test_open_refuses_net_device(void **state)
{
	struct fx *f = *state;
	struct model_net_cfg nc = { .packed = f->packed };
	struct uvio_err err = { 0 };
	struct uvio_dev *dev = NULL;
	struct model_net *mn = model_net_create(&nc, &dev);

	assert_non_null(mn);
	assert_int_equal(uvio_dev_device_id(dev), VIRTIO_ID_NET);
	assert_int_equal(uvio_blk_open(dev, NULL, &f->blk, &err), -ENODEV);
	assert_string_equal(err.msg, "model: is a virtio-net device, not virtio-blk");
	assert_false(model_dev_alive(model_net_dev(mn)));
	assert_int_equal(model_dev_violations(model_net_dev(mn)), 0);
	f->blk = NULL;
	model_net_put(mn);
}

/* The generic recovery calls (uvio/dev.h) over the model's transport:
 * release lets go and breaks the queue, so the request in flight fails
 * at the next poll; the model has a back-end to lose but cannot reconnect. */
static void test_dev_release_and_reconnect(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct uvio_err err = { 0 };
	struct rec r = { 0 };
	struct iovec iov;
	struct uvio_dev *dev;

	cfg.manual = true;
	open_ok(f, &cfg, NULL);
	dev = uvio_blk_dev(f->blk);
	iov = (struct iovec){ dma(f, 512), 512 };
	assert_int_equal(uvio_dev_removal_fd(dev), -1);
	assert_false(uvio_dev_is_removed(dev));
	assert_true(uvio_dev_connected(dev));
	assert_false(uvio_dev_can_reconnect(dev));
	assert_int_equal(uvio_dev_reconnect(dev, 0, &err), -ENOTSUP);
	assert_string_equal(err.msg, "model: its transport (model) cannot reconnect");
	assert_int_equal(uvio_blk_read(f->q, 0, &iov, 1, on_done, &r), 0);
	assert_int_equal(uvio_dev_release(dev), 0);
	assert_int_equal(model_dev_releases(f->m), 1);
	assert_true(uvio_vq_is_broken(uvio_dev_queue(dev, 0)));
	assert_int_equal(uvio_blk_poll(f->q, 8), -EIO);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -EIO);
	model_dev_disconnect(f->m, "test");
	assert_false(uvio_dev_connected(dev));
	assert_int_equal(uvio_blk_check(f->blk), -ERESTART);
	finish(f);
}

/* A device that needs a reset during initialisation (2.1.2). */
static void test_open_needs_reset(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct uvio_err err = { 0 };

	cfg.needs_reset_on = VIRTIO_CONFIG_S_DRIVER_OK;
	assert_int_equal(open_cfg(f, &cfg, NULL, &err), -EIO);
	assert_false(model_dev_alive(f->m));
	assert_clean(f);
	model_blk_put(f->mb);
	cfg.needs_reset_on = VIRTIO_CONFIG_S_FEATURES_OK;
	assert_int_equal(open_cfg(f, &cfg, NULL, &err), -EIO);
	assert_false(model_dev_alive(f->m));
	assert_clean(f);
}

static void test_open_ro(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	uint8_t *buf;
	struct iovec iov;
	struct rec r = { 0 };

	cfg.features |= BIT(VIRTIO_BLK_F_RO);
	open_ok(f, &cfg, NULL);
	buf = dma(f, 4096);
	iov = (struct iovec){ buf, 4096 };
	assert_true(uvio_blk_get_info(f->blk)->read_only);
	assert_int_equal(uvio_blk_write(f->q, 0, &iov, 1, on_done, &r), -EROFS);
	assert_int_equal(uvio_blk_write_sync(f->q, 0, buf, 4096), -EROFS);
	assert_int_equal(uvio_blk_discard(f->q, 0, 4096, on_done, &r), -EROFS);
	assert_int_equal(uvio_blk_write_zeroes(f->q, 0, 4096, false, on_done, &r), -EROFS);
	assert_int_equal(uvio_blk_secure_erase(f->q, 0, 4096, on_done, &r), -EROFS);
	assert_int_equal(r.calls, 0);
	/* Reads work. */
	memset(model_blk_disk(f->mb), 0x5a, 4096);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, buf, 4096), 0);
	assert_int_equal(buf[4095], 0x5a);
	assert_int_equal(model_blk_count(f->mb, VIRTIO_BLK_T_OUT), 0);
	finish(f);
}

static void test_legacy_device(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	uint8_t *a, *b;

	cfg.legacy = true;
	cfg.packed = false;  /* legacy: split only */
	cfg.features &= ~BIT(VIRTIO_BLK_F_SECURE_ERASE);  /* bit 16 is fine; keep it simple */
	open_ok(f, &cfg, NULL);
	assert_true(uvio_dev_is_legacy(uvio_blk_dev(f->blk)));
	assert_false(uvio_blk_get_info(f->blk)->packed);
	assert_false(uvio_blk_get_info(f->blk)->features & BIT(VIRTIO_F_VERSION_1));
	a = dma(f, 8192);
	b = dma(f, 8192);
	fill(a, 8192, 7);
	assert_int_equal(uvio_blk_write_sync(f->q, 512, a, 8192), 0);
	assert_int_equal(uvio_blk_read_sync(f->q, 512, b, 8192), 0);
	assert_memory_equal(a, b, 8192);
	finish(f);
}

/* Issue 7: DEVICE_NEEDS_RESET is detected, the request the device dropped
 * fails with -EIO (nothing hangs, nothing is lost silently), and reinit
 * brings the device back with working queues. */
static void test_needs_reset_reinit(void **state)
{
	struct fx *f = *state;
	struct uvio_err err = { 0 };
	struct rec r = { 0 };
	struct iovec iov;
	uint8_t *a, *b;

	open_base(f);
	a = dma(f, 4096);
	b = dma(f, 4096);
	fill(a, 4096, 7);
	assert_int_equal(uvio_blk_check(f->blk), 0);
	model_dev_raise_needs_reset(f->m);
	assert_int_equal(uvio_blk_check(f->blk), -ERESTART);
	iov = (struct iovec){ a, 4096 };
	assert_int_equal(uvio_blk_write(f->q, 0, &iov, 1, on_done, &r), 0);
	model_dev_process(f->m);
	uvio_blk_poll(f->q, 8);
	assert_int_equal(r.calls, 0);          /* the device serves nothing */
	assert_int_equal(uvio_blk_reinit(f->blk, &err), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, -EIO);
	assert_int_equal(uvio_blk_check(f->blk), 0);
	f->q = uvio_blk_get_queue(f->blk, 0);
	assert_int_equal(uvio_blk_write_sync(f->q, 0, a, 4096), 0);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, b, 4096), 0);
	assert_memory_equal(a, b, 4096);
	assert_true(model_dev_resets(f->m) >= 2);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_open_reads_config),
		BOTH(test_needs_reset_reinit),
		BOTH(test_open_minimal_device),
		BOTH(test_open_config_churn_retries),
		BOTH(test_open_config_never_settles),
		BOTH(test_open_features_refused),
		BOTH(test_open_refuses_net_device),
		BOTH(test_dev_release_and_reconnect),
		BOTH(test_open_needs_reset),
		BOTH(test_open_ro),
		SPLIT(test_legacy_device),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
