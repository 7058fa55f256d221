/* SPDX-License-Identifier: MIT */
/* pmd/blk: flush, discard, write zeroes, secure erase, get id, writeback
 * and several queues. The fixture is blk_fixture.h. */
#include "blk_fixture.h"

/* ---- other commands ---- */

static void test_flush(void **state)
{
	struct fx *f = *state;
	const struct model_blk_req *req;

	open_base(f);
	assert_int_equal(uvio_blk_flush_sync(f->q), 0);
	assert_int_equal(model_blk_count(f->mb, VIRTIO_BLK_T_FLUSH), 1);
	req = model_blk_req_at(f->mb, 0);
	assert_int_equal(req->sector, 0);
	assert_int_equal(req->status, VIRTIO_BLK_S_OK);
	finish(f);
}

static void test_discard(void **state)
{
	struct fx *f = *state;
	const struct model_blk_req *req;
	unsigned n;

	open_base(f);
	assert_int_equal(uvio_blk_discard_sync(f->q, 8192, 4096), 0);
	req = model_blk_req_at(f->mb, 0);
	assert_int_equal(req->type, VIRTIO_BLK_T_DISCARD);
	assert_int_equal(req->nranges, 1);
	assert_int_equal(req->range0.sector, 16);
	assert_int_equal(req->range0.num_sectors, 8);
	assert_int_equal(req->range0.flags, 0);
	/* Longer than max_discard_sectors (1024): several requests. */
	model_blk_clear_log(f->mb);
	assert_int_equal(uvio_blk_discard_sync(f->q, 0, 3000 * 512), 0);
	n = model_blk_nreqs(f->mb);
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < n; i++)
		assert_true(model_blk_req_at(f->mb, i)->range0.num_sectors <= 1024);
	finish(f);
}

static void test_write_zeroes(void **state)
{
	struct fx *f = *state;
	uint8_t *disk, *buf;
	const struct model_blk_req *req;
	static const uint8_t zero[8192];

	open_base(f);
	disk = model_blk_disk(f->mb);
	buf = dma(f, 16384);
	memset(buf, 0xab, 16384);
	assert_int_equal(uvio_blk_write_sync(f->q, 0, buf, 16384), 0);
	model_blk_clear_log(f->mb);
	assert_int_equal(uvio_blk_write_zeroes_sync(f->q, 4096, 8192, false), 0);
	req = model_blk_req_at(f->mb, 0);
	assert_int_equal(req->type, VIRTIO_BLK_T_WRITE_ZEROES);
	assert_int_equal(req->range0.sector, 8);
	assert_int_equal(req->range0.num_sectors, 16);
	assert_int_equal(req->range0.flags, 0);
	assert_memory_equal(disk + 4096, zero, 8192);
	assert_int_equal(disk[4095], 0xab);
	assert_int_equal(disk[12288], 0xab);
	/* With unmap. */
	model_blk_clear_log(f->mb);
	assert_int_equal(uvio_blk_write_zeroes_sync(f->q, 0, 512, true), 0);
	req = model_blk_req_at(f->mb, 0);
	assert_int_equal(req->range0.flags, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	assert_memory_equal(disk, zero, 512);
	/* Reads see zeroes. */
	assert_int_equal(uvio_blk_read_sync(f->q, 0, buf, 16384), 0);
	assert_memory_equal(buf, zero, 512);
	assert_int_equal(buf[512], 0xab);
	assert_memory_equal(buf + 4096, zero, 8192);
	finish(f);
}

static void test_secure_erase(void **state)
{
	struct fx *f = *state;
	struct rec r = { 0 };
	uint8_t *disk;
	static const uint8_t zero[4096];

	open_base(f);
	disk = model_blk_disk(f->mb);
	memset(disk, 0x11, 16384);
	assert_int_equal(uvio_blk_secure_erase(f->q, 4096, 4096, on_done, &r), 0);
	wait_all(f, f->q, &r, 1);
	assert_int_equal(r.status, 0);
	assert_int_equal(model_blk_count(f->mb, VIRTIO_BLK_T_SECURE_ERASE), 1);
	assert_memory_equal(disk + 4096, zero, 4096);
	assert_int_equal(disk[4095], 0x11);
	assert_int_equal(disk[8192], 0x11);
	finish(f);
}

static void test_get_id(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	char id[21];
	struct rec r = { 0 };

	cfg.id = "serial-42";
	open_ok(f, &cfg, NULL);
	memset(id, 'x', sizeof(id));
	assert_int_equal(uvio_blk_get_id_sync(f->q, id), 0);
	assert_string_equal(id, "serial-42");
	finish(f);

	/* 20 bytes: no NUL from the device; the driver terminates it. */
	model_blk_put(f->mb);
	cfg.id = "ABCDEFGHIJKLMNOPQRST";
	open_ok(f, &cfg, NULL);
	memset(id, 'x', sizeof(id));
	assert_int_equal(uvio_blk_get_id(f->q, id, on_done, &r), 0);
	wait_all(f, f->q, &r, 1);
	assert_int_equal(r.status, 0);
	assert_string_equal(id, "ABCDEFGHIJKLMNOPQRST");
	finish(f);
}

static void test_set_writeback(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);

	cfg.writeback = 0;
	open_ok(f, &cfg, NULL);
	assert_false(uvio_blk_get_info(f->blk)->writeback);
	assert_int_equal(uvio_blk_set_writeback(f->blk, true), 0);
	assert_true(uvio_blk_get_info(f->blk)->writeback);
	assert_int_equal(model_blk_writeback(f->mb), 1);
	assert_int_equal(uvio_blk_set_writeback(f->blk, false), 0);
	assert_false(uvio_blk_get_info(f->blk)->writeback);
	assert_int_equal(model_blk_writeback(f->mb), 0);
	finish(f);
}

/* FLUSH without CONFIG_WCE: a writeback cache is assumed (5.2.5). */
static void test_writeback_from_flush(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);

	cfg.features &= ~BIT(VIRTIO_BLK_F_CONFIG_WCE);
	open_ok(f, &cfg, NULL);
	assert_true(uvio_blk_get_info(f->blk)->writeback);
	assert_false(uvio_blk_get_info(f->blk)->wce_configurable);
	assert_int_equal(uvio_blk_set_writeback(f->blk, false), -ENOTSUP);
	finish(f);
}

/* Two queues are independent: one's completions never show on the other. */
static void test_multiqueue(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct uvio_blk_queue *q0, *q1;
	struct rec r0 = { 0 }, r1 = { 0 };
	uint8_t *a, *b;
	struct iovec iov;

	cfg.features |= BIT(VIRTIO_BLK_F_MQ);
	cfg.num_queues = 2;
	cfg.manual = true;
	open_ok(f, &cfg, &(struct uvio_blk_opts){ .queues = 2 });
	assert_int_equal(uvio_blk_get_info(f->blk)->queues, 2);
	q0 = uvio_blk_get_queue(f->blk, 0);
	q1 = uvio_blk_get_queue(f->blk, 1);
	a = dma(f, 4096);
	b = dma(f, 4096);
	fill(a, 4096, 14);
	fill(b, 4096, 15);
	iov = (struct iovec){ a, 4096 };
	assert_int_equal(uvio_blk_write(q0, 0, &iov, 1, on_done, &r0), 0);
	iov = (struct iovec){ b, 4096 };
	assert_int_equal(uvio_blk_write(q1, 8192, &iov, 1, on_done, &r1), 0);
	model_dev_process_queue(f->m, 1);
	assert_int_equal(uvio_blk_poll(q0, 8), 0);
	assert_int_equal(r0.calls, 0);
	assert_int_equal(uvio_blk_poll(q1, 8), 1);
	assert_int_equal(r1.status, 0);
	assert_int_equal(uvio_blk_queue_in_flight(q0), 1);
	model_dev_process_queue(f->m, 0);
	assert_int_equal(uvio_blk_poll(q0, 8), 1);
	assert_int_equal(r0.status, 0);
	assert_memory_equal(model_blk_disk(f->mb), a, 4096);
	assert_memory_equal(model_blk_disk(f->mb) + 8192, b, 4096);
	for (unsigned i = 0; i < model_blk_nreqs(f->mb); i++)
		assert_int_equal(model_blk_req_at(f->mb, i)->q,
				 model_blk_req_at(f->mb, i)->sector ? 1 : 0);
	/* Breaking one queue leaves the other working. */
	iov = (struct iovec){ a, 4096 };
	r0 = (struct rec){ 0 };
	assert_int_equal(uvio_blk_read(q0, 0, &iov, 1, on_done, &r0), 0);
	model_blk_misbehave(f->mb, MODEL_BLK_USED_EVIL, VDEV_EVIL_ID_RANGE, 1);
	model_dev_process_queue(f->m, 0);
	assert_int_equal(uvio_blk_poll(q0, 8), -EIO);
	assert_int_equal(r0.status, -EIO);
	iov = (struct iovec){ b, 4096 };
	r1 = (struct rec){ 0 };
	assert_int_equal(uvio_blk_read(q1, 8192, &iov, 1, on_done, &r1), 0);
	model_dev_process_queue(f->m, 1);
	assert_int_equal(uvio_blk_poll(q1, 8), 1);
	assert_int_equal(r1.status, 0);
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_flush),
		BOTH(test_discard),
		BOTH(test_write_zeroes),
		BOTH(test_secure_erase),
		BOTH(test_get_id),
		BOTH(test_set_writeback),
		BOTH(test_writeback_from_flush),
		BOTH(test_multiqueue),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
