/* SPDX-License-Identifier: MIT */
/* pmd/blk: a random mix checked against a shadow disk (the fuzz seeds).
 * The fixture is blk_fixture.h. */
#include "blk_fixture.h"

/* ---- fuzz seeds: a random mix checked against a shadow disk ---- */

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void random_ops(struct fx *f, uint32_t seed, unsigned nops, bool evil_status)
{
	struct model_blk_cfg cfg = base_cfg(f);
	enum { SLOTS = 32, MAXLEN = 16384 };
	struct rec r[SLOTS];
	uint8_t *bufs, *shadow;
	uint64_t off[SLOTS];
	uint32_t len[SLOTS];
	bool is_read[SLOTS];
	const uint64_t disk = 1u << 20;

	cfg.capacity = disk / 512;
	cfg.seg_max = 3;
	cfg.size_max = 4096;
	cfg.manual = true;
	cfg.queue_max = 32;
	open_ok(f, &cfg, NULL);
	bufs = dma(f, SLOTS * MAXLEN);
	shadow = calloc(1, disk);
	assert_non_null(shadow);
	model_blk_hold(f->mb, true);
	for (unsigned round = 0; round < nops / SLOTS; round++) {
		memset(r, 0, sizeof(r));
		/* Non-overlapping requests, so any completion order is valid. */
		for (unsigned i = 0; i < SLOTS; i++) {
			struct iovec iov[3];
			uint8_t *b = bufs + i * MAXLEN;
			uint32_t l = (1 + rnd(&seed) % (MAXLEN / 512)) * 512;
			uint64_t o = (uint64_t)i * (disk / SLOTS) + (rnd(&seed) % 8) * 512;
			unsigned cut = l > 1024 ? (rnd(&seed) % (l / 512 - 1) + 1) * 512 : l;
			int rc;

			is_read[i] = rnd(&seed) & 1;
			off[i] = o;
			len[i] = l;
			iov[0] = (struct iovec){ b, cut };
			iov[1] = (struct iovec){ b + cut, l - cut };
			if (!is_read[i])
				fill(b, l, rnd(&seed));
			rc = is_read[i] ? uvio_blk_read(f->q, o, iov, 2, on_done, &r[i])
					: uvio_blk_write(f->q, o, iov, 2, on_done, &r[i]);
			if (rc == -EAGAIN) {
				r[i].calls = -1;  /* not submitted */
				continue;
			}
			assert_int_equal(rc, 0);
		}
		if (evil_status && round % 3 == 1)
			model_blk_misbehave(f->mb, MODEL_BLK_STATUS, (int)(rnd(&seed) % 256), 1);
		model_dev_process(f->m);
		model_blk_complete(f->mb, 0, VDEV_ORDER_RANDOM, rnd(&seed) | 1);
		for (int k = 0; k < 1000 && uvio_blk_queue_in_flight(f->q); k++)
			uvio_blk_poll(f->q, SLOTS);
		assert_int_equal(uvio_blk_queue_in_flight(f->q), 0);
		for (unsigned i = 0; i < SLOTS; i++) {
			uint8_t *b = bufs + i * MAXLEN;

			if (r[i].calls < 0)
				continue;
			assert_int_equal(r[i].calls, 1);
			if (r[i].status) {
				/* A bad status byte: the data is unknown; resync. */
				assert_true(evil_status);
				memcpy(shadow + off[i], model_blk_disk(f->mb) + off[i], len[i]);
				continue;
			}
			if (is_read[i])
				assert_memory_equal(b, shadow + off[i], len[i]);
			else
				memcpy(shadow + off[i], b, len[i]);
		}
	}
	assert_memory_equal(shadow, model_blk_disk(f->mb), disk);
	free(shadow);
	finish(f);
}

static void test_random_ops_seed1(void **state)
{
	random_ops(*state, 1, 256, false);
}

static void test_random_ops_seed2(void **state)
{
	random_ops(*state, 0xdeadbeef, 256, false);
}

static void test_random_ops_evil_status(void **state)
{
	random_ops(*state, 77, 192, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_random_ops_seed1),
		BOTH(test_random_ops_seed2),
		BOTH(test_random_ops_evil_status),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
