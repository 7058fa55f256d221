/* SPDX-License-Identifier: MIT */
/* pmd/blk against device errors and a misbehaving device, and closing with
 * requests in flight. The fixture is blk_fixture.h. */
#include <pthread.h>

#include "blk_fixture.h"

/* ---- device errors ---- */

static void test_ioerr_injected(void **state)
{
	struct fx *f = *state;
	struct rec r[2] = { 0 };
	uint8_t *buf;
	struct iovec iov;

	open_base(f);
	buf = dma(f, 8192);
	model_blk_set_bad_sector(f->mb, 20);
	iov = (struct iovec){ buf, 8192 };
	assert_int_equal(uvio_blk_read(f->q, 16 * 512, &iov, 1, on_done, &r[0]), 0);
	iov = (struct iovec){ buf, 4096 };
	assert_int_equal(uvio_blk_write(f->q, 0, &iov, 1, on_done, &r[1]), 0);
	wait_all(f, f->q, r, 2);
	assert_int_equal(r[0].status, -EIO);
	assert_int_equal(r[1].status, 0);
	assert_int_equal(uvio_blk_read_sync(f->q, 20 * 512, buf, 512), -EIO);
	assert_int_equal(uvio_blk_write_zeroes_sync(f->q, 16 * 512, 8192, false), -EIO);
	assert_int_equal(uvio_blk_read_sync(f->q, 21 * 512, buf, 512), 0);
	/* The queue is fine after device I/O errors. */
	assert_string_equal(uvio_blk_queue_error(f->q), "");
	finish(f);
}

static void test_unsupp_status(void **state)
{
	struct fx *f = *state;
	struct rec r = { 0 };
	uint8_t *buf;

	open_base(f);
	buf = dma(f, 4096);
	model_blk_set_unsupp(f->mb, VIRTIO_BLK_T_FLUSH, true);
	assert_int_equal(uvio_blk_flush(f->q, on_done, &r), 0);
	wait_all(f, f->q, &r, 1);
	assert_int_equal(r.status, -ENOTSUP);
	model_blk_set_unsupp(f->mb, VIRTIO_BLK_T_IN, true);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, buf, 4096), -ENOTSUP);
	model_blk_set_unsupp(f->mb, VIRTIO_BLK_T_IN, false);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, buf, 4096), 0);
	finish(f);
}

static void test_status_byte_invalid(void **state)
{
	struct fx *f = *state;
	uint8_t *buf;

	open_base(f);
	buf = dma(f, 4096);
	model_blk_misbehave(f->mb, MODEL_BLK_STATUS, 7, 1);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, buf, 4096), -EIO);
	model_blk_misbehave(f->mb, MODEL_BLK_STATUS, 0xff, 1);
	assert_int_equal(uvio_blk_flush_sync(f->q), -EIO);
	/* The next one is fine. */
	assert_int_equal(uvio_blk_read_sync(f->q, 0, buf, 4096), 0);
	finish(f);
}

static void test_status_never_written(void **state)
{
	struct fx *f = *state;
	uint8_t *buf;
	char id[21];

	open_base(f);
	buf = dma(f, 4096);
	model_blk_misbehave(f->mb, MODEL_BLK_NO_STATUS, 0, 1);
	assert_int_equal(uvio_blk_write_sync(f->q, 0, buf, 4096), -EIO);
	model_blk_misbehave(f->mb, MODEL_BLK_NO_STATUS, 0, 1);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, buf, 4096), -EIO);
	model_blk_misbehave(f->mb, MODEL_BLK_NO_STATUS, 0, 1);
	assert_int_equal(uvio_blk_get_id_sync(f->q, id), -EIO);
	assert_int_equal(uvio_blk_write_sync(f->q, 0, buf, 4096), 0);
	finish(f);
}

/* A device that writes a bad used entry breaks the queue: every request
 * in flight completes with -EIO once, later submits fail with -EIO, no
 * hang. `what` is the vdev_model misbehaviour, written after the device
 * took (and held) all the requests. */
static void broken_queue(struct fx *f, enum vdev_evil what, bool reads)
{
	enum { N = 4 };
	struct rec r[N] = { 0 }, late = { 0 };
	struct vdev_model *vq;
	uint8_t *buf;
	int rc = 0;

	open_base(f);
	buf = dma(f, N * 4096);
	model_blk_hold(f->mb, true);
	for (unsigned i = 0; i < N; i++) {
		struct iovec iov = { buf + i * 4096, 4096 };

		if (reads)
			rc = uvio_blk_read(f->q, i * 4096, &iov, 1, on_done, &r[i]);
		else
			rc = uvio_blk_write(f->q, i * 4096, &iov, 1, on_done, &r[i]);
		assert_int_equal(rc, 0);
	}
	vq = model_dev_vq(f->m, 0);
	assert_int_equal(model_blk_held(f->mb, 0), N);
	assert_int_equal(vdev_model_misbehave(vq, what, vdev_model_pending_at(vq, 0)), 0);
	for (int i = 0; i < 10 && rc >= 0; i++)
		rc = uvio_blk_poll(f->q, 64);
	assert_int_equal(rc, -EIO);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, -EIO);
	}
	assert_int_equal(uvio_blk_queue_in_flight(f->q), 0);
	assert_true(strlen(uvio_blk_queue_error(f->q)) > 0);
	{
		struct iovec iov = { buf, 4096 };

		assert_int_equal(uvio_blk_read(f->q, 0, &iov, 1, on_done, &late), -EIO);
		assert_int_equal(uvio_blk_write(f->q, 0, &iov, 1, on_done, &late), -EIO);
	}
	assert_int_equal(uvio_blk_flush(f->q, on_done, &late), -EIO);
	assert_int_equal(uvio_blk_read_sync(f->q, 0, buf, 4096), -EIO);
	assert_int_equal(uvio_blk_poll(f->q, 64), -EIO);
	/* The device goes on completing what it held: nothing changes. */
	model_blk_complete(f->mb, 0, VDEV_ORDER_FIFO, 0);
	assert_int_equal(uvio_blk_poll(f->q, 64), -EIO);
	finish(f);
	assert_int_equal(late.calls, 0);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(r[i].calls, 1);
}

static void test_broken_used_id_range(void **state)
{
	broken_queue(*state, VDEV_EVIL_ID_RANGE, false);
}

static void test_broken_used_id_not_in_flight(void **state)
{
	broken_queue(*state, VDEV_EVIL_ID_NOT_IN_FLIGHT, true);
}

static void test_broken_used_len_too_long(void **state)
{
	broken_queue(*state, VDEV_EVIL_LEN, true);
}

static void test_broken_idx_jump(void **state)
{
	broken_queue(*state, VDEV_EVIL_IDX_JUMP, true);
}

static void test_broken_bad_wrap(void **state)
{
	broken_queue(*state, VDEV_EVIL_BAD_WRAP, false);
}

/* A device that completes a request twice. */
static void test_broken_double_completion(void **state)
{
	struct fx *f = *state;
	struct rec r[2] = { 0 };
	struct vdev_model *vq;
	uint8_t *buf;
	struct iovec iov;
	int rc = 0;

	open_base(f);
	buf = dma(f, 8192);
	model_blk_hold(f->mb, true);
	iov = (struct iovec){ buf, 4096 };
	assert_int_equal(uvio_blk_write(f->q, 0, &iov, 1, on_done, &r[0]), 0);
	iov = (struct iovec){ buf + 4096, 4096 };
	assert_int_equal(uvio_blk_write(f->q, 4096, &iov, 1, on_done, &r[1]), 0);
	vq = model_dev_vq(f->m, 0);
	vdev_model_push(vq, vdev_model_pending_at(vq, 0), 1);
	assert_int_equal(uvio_blk_poll(f->q, 8), 1);
	assert_int_equal(r[0].status, 0);
	/* The first one again, while only the second is in flight. */
	assert_int_equal(vdev_model_misbehave(vq, VDEV_EVIL_DOUBLE, NULL), 0);
	for (int i = 0; i < 10 && rc >= 0; i++)
		rc = uvio_blk_poll(f->q, 64);
	assert_int_equal(rc, -EIO);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].status, -EIO);
	finish(f);
}

/* A completion for a buffer id the driver has just reused is
 * indistinguishable from a real one: the status byte the device never
 * wrote makes it -EIO, not success. */
static void test_double_completion_recycled_id(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct rec r[2] = { 0 };
	uint8_t *buf;
	struct iovec iov;

	cfg.manual = true;
	open_ok(f, &cfg, NULL);
	buf = dma(f, 8192);
	memset(model_blk_disk(f->mb), 0x77, 8192);
	iov = (struct iovec){ buf, 4096 };
	assert_int_equal(uvio_blk_read(f->q, 0, &iov, 1, on_done, &r[0]), 0);
	model_dev_process(f->m);
	assert_int_equal(uvio_blk_poll(f->q, 8), 1);
	assert_int_equal(r[0].status, 0);
	iov = (struct iovec){ buf + 4096, 4096 };
	assert_int_equal(uvio_blk_read(f->q, 4096, &iov, 1, on_done, &r[1]), 0);
	assert_int_equal(vdev_model_misbehave(model_dev_vq(f->m, 0), VDEV_EVIL_DOUBLE, NULL), 0);
	for (int i = 0; i < 10 && !r[1].calls; i++)
		uvio_blk_poll(f->q, 64);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].status, -EIO);
	finish(f);
}

/* A device that takes a request and never completes it: close fails it. */
static void test_close_with_requests_in_flight(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	enum { N = 5 };
	struct rec r[N + 1] = { 0 };
	uint8_t *buf;

	cfg.manual = true;
	open_ok(f, &cfg, NULL);
	buf = dma(f, N * 4096);
	for (unsigned i = 0; i < N; i++) {
		struct iovec iov = { buf + i * 4096, 4096 };

		assert_int_equal(uvio_blk_read(f->q, i * 4096, &iov, 1, on_done, &r[i]), 0);
	}
	assert_int_equal(uvio_blk_flush(f->q, on_done, &r[N]), 0);
	/* Some taken by the device and dropped, the rest never looked at. */
	model_blk_misbehave(f->mb, MODEL_BLK_DROP, 0, 2);
	model_dev_process_queue(f->m, 0);
	assert_int_equal(uvio_blk_poll(f->q, 64), N + 1 - 2);
	model_blk_misbehave(f->mb, MODEL_BLK_OK, 0, 0);
	for (unsigned i = 2; i < N; i++)
		assert_int_equal(r[i].status, 0);
	assert_int_equal(uvio_blk_queue_in_flight(f->q), 2);
	finish(f);
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[0].status, -EIO);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].status, -EIO);
	for (unsigned i = 2; i <= N; i++)
		assert_int_equal(r[i].calls, 1);
}

static void test_close_never_processed(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	enum { N = 7 };
	struct rec r[N] = { 0 };
	uint8_t *buf;
	char id[21];

	cfg.manual = true;
	open_ok(f, &cfg, NULL);
	buf = dma(f, 4096);
	for (unsigned i = 0; i < N - 2; i++) {
		struct iovec iov = { buf, 512 };

		assert_int_equal(uvio_blk_write(f->q, i * 512, &iov, 1, on_done, &r[i]), 0);
	}
	assert_int_equal(uvio_blk_get_id(f->q, id, on_done, &r[N - 2]), 0);
	assert_int_equal(uvio_blk_discard(f->q, 0, 4096, on_done, &r[N - 1]), 0);
	finish(f);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, -EIO);
	}
	assert_int_equal(model_blk_nreqs(f->mb), 0);
}

/* A callback that retries when close fails its request: the retry must
 * either be refused or complete; it must not vanish. */
struct retry {
	struct uvio_blk_queue *q;
	uint8_t *buf;
	int calls, status, retry_rc;
	struct rec retried;
};

static void on_done_retry(void *arg, int status)
{
	struct retry *t = arg;
	struct iovec iov = { t->buf, 512 };

	t->calls++;
	t->status = status;
	if (t->calls == 1 && status == -EIO)
		t->retry_rc = uvio_blk_read(t->q, 0, &iov, 1, on_done, &t->retried);
}

static void test_close_retry_from_callback(void **state)
{
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct retry t = { 0 };
	struct iovec iov;

	cfg.manual = true;
	cfg.no_event_idx = true;  /* every kick notifies */
	open_ok(f, &cfg, NULL);
	t.q = f->q;
	t.buf = dma(f, 4096);
	iov = (struct iovec){ t.buf, 512 };
	assert_int_equal(uvio_blk_read(f->q, 0, &iov, 1, on_done_retry, &t), 0);
	uvio_blk_close(f->blk);
	f->blk = NULL;
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.status, -EIO);
	if (t.retry_rc == 0)
		assert_int_equal(t.retried.calls, 1);
	/* Regression (found by this suite): the retry is accepted on a queue whose
	 * device close has already reset, and it notifies that device. */
	if (model_dev_early_kicks(f->m))
		fail_msg("a submit from a close-time callback returned %d and notified "
			 "the reset device (spec 3.1.1: no notification before DRIVER_OK)",
			 t.retry_rc);
	assert_clean(f);
}

/* ---- a queue broken by another thread, during submits ---- */

struct breaker {
	struct model_dev *m;
	unsigned spins;
};

/* A back-end that goes away: lib/vhost_user marks the device gone and
 * breaks its queues from its own thread, whatever the driver's thread is
 * doing at that moment. */
static void *break_after_spins(void *arg)
{
	struct breaker *b = arg;

	for (volatile unsigned i = 0; i < b->spins; i++)
		;
	model_dev_disconnect(b->m, "test: back-end gone");
	return NULL;
}

static void count_done(void *arg, int status)
{
	(void)status;
	(*(unsigned *)arg)++;
}

/* One round: submit (single-piece reads, two-piece writes, flushes) until
 * the queue is found broken, then poll. Every submit that returned 0
 * completes exactly once. A submit that passed its checks just before
 * the break and then had its add refused used to return 0 with nothing on
 * the ring: no poll ever completed it, and blkbench --reconnect waited for
 * it forever. */
static void submit_while_breaking(struct fx *f, uint8_t *buf, unsigned spins)
{
	struct breaker b;
	pthread_t t;
	unsigned accepted = 0, done = 0;
	int rc = 0;

	open_base(f);
	b = (struct breaker){ f->m, spins };
	assert_int_equal(pthread_create(&t, NULL, break_after_spins, &b), 0);
	for (unsigned k = 0; k < 1000000 && rc != -EIO; k++) {
		struct iovec iov[2] = { { buf, 4096 }, { buf + 4096, 4096 } };

		if (k % 3 == 0)
			rc = uvio_blk_read(f->q, (k % 64) * 4096, iov, 1, count_done, &done);
		else if (k % 3 == 1)
			rc = uvio_blk_write(f->q, (k % 64) * 8192, iov, 2, count_done, &done);
		else
			rc = uvio_blk_flush(f->q, count_done, &done);
		if (rc == 0)
			accepted++;
		else if (rc == -EAGAIN)
			rc = uvio_blk_poll(f->q, 64);
		if (k % 8 == 7 && rc != -EIO)
			rc = uvio_blk_poll(f->q, 64);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(rc, -EIO);
	assert_int_equal(uvio_blk_poll(f->q, 64), -EIO);
	assert_int_equal(done, accepted);
	assert_int_equal(uvio_blk_queue_in_flight(f->q), 0);
	uvio_blk_close(f->blk);
	f->blk = NULL;
	f->q = NULL;
	model_blk_put(f->mb);
	f->mb = NULL;
}

static void test_broken_by_another_thread(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = dma(f, 2 * 4096);
	unsigned seed = 12345;

	memset(buf, 0x5a, 2 * 4096);
	for (unsigned round = 0; round < 200; round++) {
		seed = seed * 1103515245u + 12345u;
		submit_while_breaking(f, buf, (seed >> 8) % 200000);
	}
}

/* ---- what a broken queue answers ---- */

/* A broken queue answers every submit -EIO: -E2BIG or -EAGAIN would send
 * a caller to split or retry a request that no poll will ever take, where
 * it has to reset the queue. The fuzzer found a too-big request answered
 * -E2BIG (tests/fuzz/crashes-found/fuzz_blk_status/). */
static void test_broken_answers_eio_first(void **state)
{
	enum { N = 16 };                /* apart, so no two pieces merge */
	struct fx *f = *state;
	struct model_blk_cfg cfg = base_cfg(f);
	struct uvio_blk_opts opts = {
		.queue_size = 8, .disable_features = 1ull << VIRTIO_RING_F_INDIRECT_DESC,
	};
	struct iovec iov[N];
	uint8_t *buf = dma(f, N * 1024);
	unsigned done = 0, accepted = 0;
	int rc;

	for (unsigned i = 0; i < N; i++)
		iov[i] = (struct iovec){ buf + i * 1024, 512 };
	open_ok(f, &cfg, &opts);
	assert_int_equal(uvio_blk_read(f->q, 0, iov, N, count_done, &done), -E2BIG);
	model_blk_hold(f->mb, true);
	while ((rc = uvio_blk_read(f->q, 0, iov, 1, count_done, &done)) == 0)
		accepted++;
	assert_int_equal(rc, -EAGAIN);
	assert_true(accepted > 0);
	model_dev_disconnect(f->m, "test: back-end gone");
	assert_int_equal(uvio_blk_read(f->q, 0, iov, 1, count_done, &done), -EIO);
	assert_int_equal(uvio_blk_read(f->q, 0, iov, N, count_done, &done), -EIO);
	assert_int_equal(uvio_blk_flush(f->q, count_done, &done), -EIO);
	assert_int_equal(uvio_blk_discard(f->q, 0, 4096, count_done, &done), -EIO);
	assert_int_equal(uvio_blk_poll(f->q, 64), -EIO);
	assert_int_equal(done, accepted);
	assert_int_equal(uvio_blk_queue_in_flight(f->q), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_ioerr_injected),
		BOTH(test_unsupp_status),
		BOTH(test_status_byte_invalid),
		BOTH(test_status_never_written),
		BOTH(test_broken_used_id_range),
		BOTH(test_broken_used_id_not_in_flight),
		BOTH(test_broken_used_len_too_long),
		SPLIT(test_broken_idx_jump),
		PACKED(test_broken_bad_wrap),
		BOTH(test_broken_double_completion),
		BOTH(test_double_completion_recycled_id),
		BOTH(test_close_with_requests_in_flight),
		BOTH(test_close_never_processed),
		BOTH(test_close_retry_from_callback),
		BOTH(test_broken_by_another_thread),
		BOTH(test_broken_answers_eio_first),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
