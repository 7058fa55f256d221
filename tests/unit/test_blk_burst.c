/* SPDX-License-Identifier: MIT */
/*
 * Bursts on a virtio-blk queue: uvio_blk_poll reaps every completion it is
 * allowed in one call (several POLL_BURSTs), and blkbench's worker sends
 * what it reaped back as one burst with one notification, at QD1, QD32
 * and QD128. Over tests/model's RAM disk without EVENT_IDX, so that every
 * kick the driver sends is a notification the model counts; the model
 * serves a queue synchronously on each notification, so the number of
 * bursts is known in advance. And the one-piece submit path cuts a buffer
 * as the general one does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../apps/blkbench/engine.c"
#include "../../apps/blkbench/hist.c"
#include "../../apps/blkbench/lbagen.c"
#include "../../apps/blkbench/ops.c"
#include "../../apps/blkbench/opts.c"
#include "../../apps/blkbench/report.c"
#include "../../apps/blkbench/verify.c"
#include "../../apps/blkbench/worker.c"
#include "../../apps/blkbench/completion.c"
#include "../model/model_dev.h"

#define BIT(b) (1ULL << (b))
#define IOS 1024u

/* blk_fixture.h's names clash with worker.c's (fill, finish): the few
 * helpers these tests need are here. */
struct fx {
	bool packed;
	struct model_blk *mb;
	struct model_dev *m;
	struct uvio_blk *blk;
	struct uvio_blk_queue *q;
};

static struct fx layout_split = { .packed = false };
static struct fx layout_packed = { .packed = true };

/* A 4 MiB disk on 256-entry queues with indirect descriptors: QD128 fits. */
static void open_disk(struct fx *f, bool manual)
{
	struct model_blk_cfg cfg = {
		.features = BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_SEG_MAX) |
			    BIT(VIRTIO_BLK_F_SIZE_MAX),
		.packed = f->packed,
		.no_event_idx = true,       /* every kick is a notification */
		.manual = manual,
		.queue_max = 256,
		.capacity = 8192,
		.blk_size = 512,
		.seg_max = 16,
		.size_max = 1u << 20,
	};
	struct uvio_err err = { 0 };
	struct uvio_dev *dev = NULL;

	f->mb = model_blk_create(&cfg, &dev);
	assert_non_null(f->mb);
	f->m = model_blk_dev(f->mb);
	if (uvio_blk_open(dev, NULL, &f->blk, &err))
		fail_msg("model device: %s", err.msg);
	f->q = uvio_blk_get_queue(f->blk, 0);
	assert_non_null(f->q);
}

/* Bytes the reads can be checked against. */
static void fill_disk(struct fx *f)
{
	uint8_t *d = model_blk_disk(f->mb);

	for (size_t i = 0; i < model_blk_disk_size(f->mb); i++)
		d[i] = (uint8_t)(i * 7 + (i >> 12));
}

/* Close, and the device saw the driver break no rule of the spec. */
static void close_disk(struct fx *f)
{
	uvio_blk_close(f->blk);
	if (model_dev_violations(f->m))
		fail_msg("%u violations, the first: %s", model_dev_violations(f->m),
			 model_dev_error(f->m));
	model_blk_put(f->mb);
}

/* blkbench --rw randread --bs 4k --iodepth QD --io-count IOS on queue 0;
 * its text and JSON reports in text[2] (to free). */
static void run_randread(struct fx *f, unsigned qd, struct bb_result *r, char **text)
{
	char depth[16], count[16], msg[256] = "";
	char *argv[] = { "blkbench", "-d", "model", "--rw", "randread", "--bs", "4k",
			 "--iodepth", depth, "--io-count", count, NULL };
	struct bb_opts o;

	snprintf(depth, sizeof(depth), "%u", qd);
	snprintf(count, sizeof(count), "%u", IOS);
	if (bb_opts_parse((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, &o, msg,
			  sizeof(msg)) ||
	    bb_opts_check_device(&o, uvio_blk_get_info(f->blk), msg, sizeof(msg)))
		fail_msg("options: %s", msg);
	assert_int_equal(bb_run_workload(&o, f->blk, NULL, r), 0);
	assert_false(bb_result_failed(r));
	assert_int_equal(r->c.reads, IOS);
	assert_int_equal(r->c.completed_ok, IOS);
	for (int k = 0; k < 2; k++) {
		size_t len;
		FILE *m = open_memstream(&text[k], &len);

		assert_non_null(m);
		if (k)
			bb_report_json(m, &o, uvio_blk_get_info(f->blk), r);
		else
			bb_report_text(m, &o, r);
		fclose(m);
	}
}

/* The model answers each notification at once, so every poll finds the
 * whole burst the last kick sent, and the next fill() sends it back:
 * IOS / QD bursts, one notification each (IOS / QD is a whole number). */
static void bursts_of(struct fx *f, unsigned qd)
{
	struct bb_result r;
	char *text[2], want[64];
	unsigned k0;

	open_disk(f, false);
	k0 = model_dev_kicks(f->m, 0);
	run_randread(f, qd, &r, text);
	assert_int_equal(model_dev_kicks(f->m, 0) - k0, IOS / qd);
	assert_int_equal(r.c.bursts, IOS / qd);     /* what the report says */
	assert_true(r.c.polls >= r.c.bursts);
	snprintf(want, sizeof(want), "\ndriver:    %u.0 requests per kick, ", qd);
	assert_non_null(strstr(text[0], want));
	snprintf(want, sizeof(want), "\"bursts\":%u,\"polls\":", IOS / qd);
	assert_non_null(strstr(text[1], want));
	assert_non_null(strstr(text[1], "\"device_wait_pct\":"));
	free(text[0]);
	free(text[1]);
	close_disk(f);
}

static void test_qd1_kick_per_io(void **state)
{
	bursts_of(*state, 1);
}

static void test_qd32_kick_per_burst(void **state)
{
	bursts_of(*state, 32);
}

static void test_qd128_kick_per_burst(void **state)
{
	bursts_of(*state, 128);
}

/* r points at {calls, status}. */
static void on_done(void *arg, int status)
{
	int *r = arg;

	r[0]++;
	r[1] = status;
}

/* uvio_blk_poll: 128 completions are one call's work when max allows,
 * never more than max, and nothing is left behind or reaped twice. */
static void test_poll_reaps_whole_burst(void **state)
{
	struct fx *f = *state;
	enum { N = 128 };
	struct done { int calls, status; } r[N] = { { 0 } };
	uint64_t iova;
	uint8_t *a;

	open_disk(f, true);
	a = uvio_dma_alloc(N * 4096, 4096, -1, &iova, NULL);
	assert_non_null(a);
	uvio_blk_defer_kicks(f->q, true);
	for (unsigned i = 0; i < N; i++) {
		struct iovec iov = { a + i * 4096, 4096 };

		assert_int_equal(uvio_blk_read(f->q, i * 4096, &iov, 1, on_done, &r[i].calls),
				 0);
	}
	uvio_blk_kick(f->q);
	model_dev_process(f->m);
	assert_int_equal(uvio_blk_poll(f->q, 40), 40);
	assert_int_equal(uvio_blk_queue_in_flight(f->q), N - 40);
	assert_int_equal(uvio_blk_poll(f->q, 256), N - 40);
	assert_int_equal(uvio_blk_poll(f->q, 256), 0);
	assert_int_equal(uvio_blk_queue_in_flight(f->q), 0);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 0);
	}
	uvio_dma_free(a);
	close_disk(f);
}

/* One buffer, read at `off` in a 4 MiB DMA area aligned to 2 MiB: the
 * device sees `segs` data descriptors and the right bytes. */
static void read_at(struct fx *f, uint8_t *a, size_t off, size_t len, unsigned segs)
{
	int r[2] = { 0 };
	struct iovec iov = { a + off, len };
	const struct model_blk_req *req;

	memset(a + off, 0, len);
	assert_int_equal(uvio_blk_read(f->q, 0, &iov, 1, on_done, r), 0);
	for (int i = 0; i < 1000 && !r[0]; i++)
		uvio_blk_poll(f->q, 1);
	assert_int_equal(r[0], 1);
	assert_int_equal(r[1], 0);
	req = model_blk_req_at(f->mb, model_blk_nreqs(f->mb) - 1);
	assert_int_equal(req->data_len, len);
	if (req->data_segs != segs)
		fail_msg("read at %zu + %zu (%p): %u segments, not %u", off, len, (void *)(a + off), req->data_segs, segs);
	assert_memory_equal(a + off, model_blk_disk(f->mb), len);
}

/* The one-piece fast path and the general path cut a buffer alike: one
 * segment when it fits, two across a 2 MiB boundary, size_max pieces
 * when longer. */
static void test_one_piece_or_pieces(void **state)
{
	struct fx *f = *state;
	uint64_t iova;
	uint8_t *a = uvio_dma_alloc(4u << 20, 2u << 20, -1, &iova, NULL);

	assert_non_null(a);
	open_disk(f, false);
	fill_disk(f);
	read_at(f, a, 0, 4096, 1);
	read_at(f, a, (2u << 20) - 4096, 4096, 1);     /* ends at the boundary */
	read_at(f, a, (2u << 20) - 4096, 8192, 2);     /* crosses it */
	read_at(f, a, 4096, 1u << 20, 1);              /* = size_max */
	read_at(f, a, 4096, (1u << 20) + 4096, 2);     /* size_max + 4K */
	uvio_dma_free(a);
	close_disk(f);
}

static int group_setup(void **state)
{
	(void)state;
	return uvio_dma_init(&(struct uvio_dma_opts){ .backing = UVIO_DMA_4K_PINNED,
						      .segment_size = 16u << 20 }, NULL);
}

#define BOTH(fn) \
	{ "split/" #fn, fn, NULL, NULL, &layout_split }, \
	{ "packed/" #fn, fn, NULL, NULL, &layout_packed }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_qd1_kick_per_io),
		BOTH(test_qd32_kick_per_burst),
		BOTH(test_qd128_kick_per_burst),
		BOTH(test_poll_reaps_whole_burst),
		BOTH(test_one_piece_or_pieces),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
