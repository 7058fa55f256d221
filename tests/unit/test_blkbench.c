/* SPDX-License-Identifier: MIT */
/*
 * blkbench and the verify format: the pure parts (options, histogram,
 * block generators, CRC32C, unit headers), then the whole workload engine
 * against tests/model's virtio-blk RAM disk (model_blk.c), so that the I/O
 * loop, back-pressure, verify, error and reconnect paths run without a
 * guest. The app's .c files are included here (main.c is left out).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/virtio_blk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uvio/uvio.h>

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

#define ARGV(...) ((char *[]){ "blkbench", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "blkbench", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, msg, ...) \
	bb_opts_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), o, msg, sizeof(msg))

/* ---- options ---- */

static void test_opts_defaults(void **state)
{
	struct bb_opts o;
	char msg[256] = "";

	(void)state;
	assert_int_equal(PARSE(&o, msg, "-d", "pci:00:04.0"), 0);
	assert_string_equal(o.dev, "pci:00:04.0");
	assert_int_equal(o.rw, BB_RANDREAD);
	assert_int_equal(o.bs, 4096);
	assert_int_equal(o.iodepth, 1);
	assert_int_equal(o.queues, 1);
	assert_true(o.runtime == 5.0);
	assert_int_equal(o.offset, 0);
	assert_false(o.size_set);
	assert_int_equal(o.generation, 1);

	assert_int_equal(PARSE(&o, msg, "--dev=pci:1:0.0", "--rw=randrw", "--bs", "64k",
			       "--size", "1G", "--offset=2m", "--io-count", "1k",
			       "--verify", "--seed", "16", "--rwmixread", "70"), 0);
	assert_int_equal(o.rw, BB_RANDRW);
	assert_int_equal(o.bs, 65536);
	assert_int_equal(o.size, 1ull << 30);
	assert_int_equal(o.offset, 2ull << 20);
	assert_int_equal(o.io_count, 1024);
	assert_int_equal(o.seed, 16);
	assert_int_equal(o.rwmixread, 70);
	assert_true(o.runtime == 0);  /* a limit was given */

	/* --verify alone: no runtime, one pass decided by the device check */
	assert_int_equal(PARSE(&o, msg, "-d", "pci:1:0.0", "--verify"), 0);
	assert_true(o.runtime == 0);
	assert_int_equal(PARSE(&o, msg, "-h"), 0);
	assert_true(o.help);
}

static void expect_usage(int rc, const char *msg, const char *want);

/* The shared parsers (tests/unit/test_cli.c) as blkbench's options take them:
 * decimal only, fio's sizes and times, both "--opt value" and "--opt=value". */
static void test_opts_numbers(void **state)
{
	struct bb_opts o;
	char m[256];

	(void)state;
	assert_int_equal(PARSE(&o, m, "-d", "x", "--seed=7", "--iodepth", "010",
			       "--queues=02", "--runtime", "2m", "--generation", "010"), 0);
	assert_int_equal(o.seed, 7);
	assert_int_equal(o.iodepth, 10);
	assert_int_equal(o.queues, 2);
	assert_true(o.runtime == 120);
	assert_int_equal(o.generation, 10);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--bs=4KiB", "--offset", "1M",
			       "--size=2g", "--runtime=500ms", "--reconnect", "1.5s"), 0);
	assert_int_equal(o.bs, 4096);
	assert_int_equal(o.offset, 1u << 20);
	assert_int_equal(o.size, 2ull << 30);
	assert_true(o.runtime == 0.5);
	assert_true(o.reconnect == 1.5);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--runtime", "2h", "--reconnect=1d"), 0);
	assert_true(o.runtime == 7200);
	assert_true(o.reconnect == 86400);
	assert_int_equal(PARSE(&o, m, "--version"), 0);
	assert_true(o.version);

	expect_usage(PARSE(&o, m, "-d", "x", "--seed", "0x10"), m, "--seed: bad number '0x10'");
	expect_usage(PARSE(&o, m, "-d", "x", "--iodepth", "0x10"), m, "--iodepth must be 1..");
	expect_usage(PARSE(&o, m, "-d", "x", "--iodepth", " 1"), m, "--iodepth");
	expect_usage(PARSE(&o, m, "-d", "x", "--queues", "1x"), m, "--queues must be 1..65535");
	expect_usage(PARSE(&o, m, "-d", "x", "--generation", "4294967296"), m, "--generation");
	expect_usage(PARSE(&o, m, "-d", "x", "--runtime", "10x"), m, "--runtime");
	expect_usage(PARSE(&o, m, "-d", "x", "--runtime", "-1"), m, "--runtime");
	expect_usage(PARSE(&o, m, "-d", "x", "--bs", "4p"), m, "--bs: bad size '4p'");
	expect_usage(PARSE(&o, m, "-d", "x", "--size", "16777216T"), m, "--size: too large");
	expect_usage(PARSE(&o, m, "-d", "x", "--offset=-4k"), m, "--offset: bad size");
}

/* -d's syntax: a malformed name is a usage error before anything opens. */
static void test_opts_check_dev(void **state)
{
	struct bb_opts o;
	char m[256];

	(void)state;
	assert_int_equal(PARSE(&o, m, "-d", "pci:0000:ff:1f.7"), 0);
	assert_int_equal(bb_opts_check_dev(&o, m, sizeof(m)), 0);
	assert_int_equal(PARSE(&o, m, "--dev=vhost-user:/tmp/x.sock,server"), 0);
	assert_int_equal(bb_opts_check_dev(&o, m, sizeof(m)), 0);
	assert_int_equal(PARSE(&o, m, "-d", "pci:zz"), 0);
	expect_usage(bb_opts_check_dev(&o, m, sizeof(m)), m, "-d 'pci:zz': not a PCI address");
	assert_int_equal(PARSE(&o, m, "-d", "foo:1"), 0);
	expect_usage(bb_opts_check_dev(&o, m, sizeof(m)), m, "-d 'foo:1': expected pci:BDF");
	assert_int_equal(PARSE(&o, m, "-d", "vhost-user:/s,queues=0"), 0);
	expect_usage(bb_opts_check_dev(&o, m, sizeof(m)), m, "bad option 'queues=0'");
}

static void expect_usage(int rc, const char *msg, const char *want)
{
	assert_int_equal(rc, 2);
	if (!strstr(msg, want))
		fail_msg("message '%s' lacks '%s'", msg, want);
}

static void test_opts_errors(void **state)
{
	struct bb_opts o;
	char m[256];

	(void)state;
	expect_usage(PARSE(&o, m, "--bs", "4k"), m, "missing -d");
	expect_usage(PARSE(&o, m, "-d", "x", "--bs", "0"), m, "--bs must be greater than 0");
	expect_usage(PARSE(&o, m, "-d", "x", "--bs", "1000"), m, "multiple of the device block size");
	expect_usage(PARSE(&o, m, "-d", "x", "--bs", "16m"), m, "--bs must be at most");
	expect_usage(PARSE(&o, m, "-d", "x", "--iodepth", "0"), m, "--iodepth");
	expect_usage(PARSE(&o, m, "-d", "x", "--queues", "0"), m, "--queues");
	expect_usage(PARSE(&o, m, "-d", "x", "--rw", "sideways"), m, "unknown --rw 'sideways'");
	expect_usage(PARSE(&o, m, "-d", "x", "--rwmixread", "101"), m, "--rwmixread must be 0..100");
	expect_usage(PARSE(&o, m, "-d", "x", "--rwmixread", "-1"), m, "--rwmixread");
	expect_usage(PARSE(&o, m, "-d", "x", "--runtime", "0"), m, "--runtime");
	expect_usage(PARSE(&o, m, "-d", "x", "--runtime", "abc"), m, "--runtime");
	expect_usage(PARSE(&o, m, "-d", "x", "--io-count", "0"), m, "--io-count");
	expect_usage(PARSE(&o, m, "-d", "x", "--offset", "100"), m, "--offset must be a multiple of 512");
	expect_usage(PARSE(&o, m, "-d", "x", "--size", "0"), m, "--size");
	expect_usage(PARSE(&o, m, "-d", "x", "--op", "trim"), m, "unknown --op 'trim'");
	expect_usage(PARSE(&o, m, "-d", "x", "--unmap"), m, "--unmap goes with --op write-zeroes");
	expect_usage(PARSE(&o, m, "-d", "x", "--frobnicate"), m, "unknown option '--frobnicate'");
	expect_usage(PARSE(&o, m, "-d", "x", "stray"), m, "unexpected argument 'stray'");
	expect_usage(PARSE(&o, m, "-d", "x", "--bs"), m, "--bs needs a value");
	expect_usage(PARSE(&o, m, "-d", "x", "--verify=1"), m, "--verify takes no value");
	expect_usage(PARSE(&o, m, "-d", "x", "--reconnect", "0"), m, "--reconnect must be a positive");
	expect_usage(PARSE(&o, m, "-d", "x", "--reconnect", "-3"), m, "--reconnect");
	expect_usage(PARSE(&o, m, "-d", "x", "--reconnect", "86401"), m, "at most 86400");
	expect_usage(PARSE(&o, m, "-d", "x", "--reconnect"), m, "--reconnect needs a value");
	expect_usage(PARSE(&o, m, "-d", "x", "--reconnect", "5", "--op", "flush"), m,
		     "--reconnect goes with a workload");
}

static void test_opts_reconnect(void **state)
{
	struct bb_opts o;
	char m[256];

	(void)state;
	assert_int_equal(PARSE(&o, m, "-d", "x"), 0);
	assert_true(o.reconnect == 0);
	assert_int_equal(PARSE(&o, m, "-d", "vhost-user:/s", "--reconnect", "20"), 0);
	assert_true(o.reconnect == 20.0);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--reconnect=0.5s"), 0);
	assert_true(o.reconnect == 0.5);
}

/* --completion poll|irq|hybrid: poll by default; anything else refused. */
static void test_opts_completion(void **state)
{
	struct bb_opts o;
	char m[256];

	(void)state;
	assert_int_equal(PARSE(&o, m, "-d", "x"), 0);
	assert_int_equal(o.completion, BB_COMPLETION_POLL);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--completion", "irq"), 0);
	assert_int_equal(o.completion, BB_COMPLETION_IRQ);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--completion=hybrid"), 0);
	assert_int_equal(o.completion, BB_COMPLETION_HYBRID);
	expect_usage(PARSE(&o, m, "-d", "x", "--completion", "sleep"), m,
		     "unknown --completion 'sleep' (poll|irq|hybrid)");
}

static struct uvio_blk_info fake_info(void)
{
	return (struct uvio_blk_info){ .capacity = 64 << 20, .block_size = 4096,
				       .num_queues = 2, .queues = 2, .queue_size = 128,
				       .flush = true };
}

static void test_opts_check_device(void **state)
{
	struct uvio_blk_info in = fake_info();
	struct bb_opts o;
	char m[256];

	(void)state;
	assert_int_equal(PARSE(&o, m, "-d", "x", "--bs", "512"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m,
		     "--bs must be a multiple of the device block size (4096)");
	assert_int_equal(PARSE(&o, m, "-d", "x", "--queues", "3"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m, "the device has 2 queues");
	assert_int_equal(PARSE(&o, m, "-d", "x", "--iodepth", "129"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m, "more than the queue size (128)");
	assert_int_equal(PARSE(&o, m, "-d", "x", "--offset", "64m"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m, "past the end of the device");
	assert_int_equal(PARSE(&o, m, "-d", "x", "--offset", "60m", "--size", "8m"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m, "past the end of the device");
	assert_int_equal(PARSE(&o, m, "-d", "x", "--offset", "1536"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m, "--offset must be a multiple of the device block size");
	assert_int_equal(PARSE(&o, m, "-d", "x", "--size", "6k"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m, "--size must be a multiple of --bs");
	assert_int_equal(PARSE(&o, m, "-d", "x", "--size", "4k", "--queues", "2"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m, "fewer than --queues");
	in.read_only = true;
	assert_int_equal(PARSE(&o, m, "-d", "x", "--rw", "randwrite"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m, "read-only");
	in = fake_info();
	in.flush = false;
	assert_int_equal(PARSE(&o, m, "-d", "x", "--rw", "write", "--flush-every", "4"), 0);
	expect_usage(bb_opts_check_device(&o, &in, m, sizeof(m)), m, "does not support flush");

	/* Good: the defaults that need the device. */
	in = fake_info();
	assert_int_equal(PARSE(&o, m, "-d", "x", "--offset", "1m", "--verify", "--bs", "8k"), 0);
	assert_int_equal(bb_opts_check_device(&o, &in, m, sizeof(m)), 0);
	assert_int_equal(o.size, 63 << 20);
	assert_int_equal(o.io_count, (63 << 20) / 8192);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--op", "write-zeroes", "--offset", "8k",
			       "--size", "4k", "--unmap"), 0);
	assert_int_equal(bb_opts_check_device(&o, &in, m, sizeof(m)), 0);
	assert_true(o.unmap);
}

/* ---- histogram ---- */

static void test_hist_buckets(void **state)
{
	uint64_t st = 1;

	(void)state;
	for (uint64_t v = 0; v < 300; v++) {
		unsigned b = bb_hist_bucket(v);

		assert_true(bb_hist_bucket_low(b) <= v && v <= bb_hist_bucket_high(b));
	}
	for (int i = 0; i < 100000; i++) {
		uint64_t v = bb_rand64(&st) >> (bb_rand64(&st) % 64);
		unsigned b = bb_hist_bucket(v);
		uint64_t lo = bb_hist_bucket_low(b), hi = bb_hist_bucket_high(b);

		assert_true(b < BB_HIST_BUCKETS);
		assert_true(lo <= v && v <= hi);
		if (lo >= 128)  /* 64 sub-buckets per power of two */
			assert_true(hi - lo + 1 <= lo / 64);
	}
	assert_int_equal(bb_hist_bucket(UINT64_MAX), BB_HIST_BUCKETS - 1);
	for (unsigned b = 1; b < BB_HIST_BUCKETS; b++)
		assert_int_equal(bb_hist_bucket_low(b), bb_hist_bucket_high(b - 1) + 1);
}

static void near(uint64_t got, uint64_t want, double rel)
{
	double d = (double)got - (double)want;

	if (d < 0)
		d = -d;
	if (d > rel * (double)want)
		fail_msg("%llu is not within %.1f%% of %llu", (unsigned long long)got,
			 rel * 100, (unsigned long long)want);
}

static void test_hist_percentiles(void **state)
{
	struct bb_hist *h = malloc(3 * sizeof(*h)), *a = h + 1, *d = h + 2;

	(void)state;
	bb_hist_init(h);
	assert_int_equal(bb_hist_percentile(h, 50), 0);
	bb_hist_add(h, 12345);
	assert_int_equal(bb_hist_percentile(h, 50), 12345);  /* clamped: exact */
	assert_int_equal(bb_hist_percentile(h, 99.9), 12345);

	bb_hist_init(h);
	for (uint64_t us = 1; us <= 10000; us++)  /* 1 us .. 10 ms, uniform */
		bb_hist_add(h, us * 1000);
	assert_int_equal(h->count, 10000);
	assert_int_equal(h->min, 1000);
	assert_int_equal(h->max, 10000000);
	near(bb_hist_percentile(h, 50), 5000000, 0.02);
	near(bb_hist_percentile(h, 99), 9900000, 0.02);
	near(bb_hist_percentile(h, 99.9), 9990000, 0.02);
	assert_int_equal(bb_hist_percentile(h, 100), 10000000);
	near(bb_hist_percentile(h, 0.01), 1000, 0.02);

	/* merge and the progress line's interval difference */
	bb_hist_snapshot(a, h);
	assert_int_equal(a->count, 10000);
	for (int i = 0; i < 100; i++)
		bb_hist_add(h, 777000);
	bb_hist_diff(d, h, a);
	assert_int_equal(d->count, 100);
	near(bb_hist_percentile(d, 50), 777000, 0.02);
	near(bb_hist_percentile(d, 99), 777000, 0.02);
	bb_hist_merge(a, d);
	assert_int_equal(a->count, 10100);
	free(h);
}

/* ---- block generators ---- */

static void test_lbagen_perm_covers(void **state)
{
	static const uint64_t ns[] = { 1, 2, 3, 5, 7, 64, 100, 1000, 4097, 65536, 100003 };
	uint8_t *seen = malloc(100003);

	(void)state;
	for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
		uint64_t n = ns[t], same = 0, first[16];
		struct bb_lbagen g;

		bb_lbagen_init(&g, BB_PERM, n, 42 + t);
		for (int pass = 0; pass < 3; pass++) {
			memset(seen, 0, n);
			for (uint64_t i = 0; i < n; i++) {
				uint64_t b = bb_lbagen_next(&g);

				assert_true(b < n);
				assert_int_equal(seen[b], 0);  /* each block once a pass */
				seen[b] = 1;
				if (i < 16 && pass == 0)
					first[i] = b;
				else if (i < 16 && pass == 1)
					same += first[i] == b;
			}
		}
		if (n >= 1000)  /* passes are shuffled differently */
			assert_true(same < 8);
	}
	free(seen);
}

static void test_lbagen_seq_uniform(void **state)
{
	struct bb_lbagen g;
	uint64_t hits[10] = { 0 };

	(void)state;
	bb_lbagen_init(&g, BB_SEQ, 5, 0);
	for (uint64_t i = 0; i < 12; i++)
		assert_int_equal(bb_lbagen_next(&g), i % 5);
	bb_lbagen_init(&g, BB_UNIFORM, 10, 7);
	for (int i = 0; i < 100000; i++)
		hits[bb_lbagen_next(&g)]++;
	for (int i = 0; i < 10; i++)
		assert_true(hits[i] > 9000 && hits[i] < 11000);
}

/* Slices and io-count budgets: together the whole range, each block once. */
static void test_split_whole_device(void **state)
{
	static const uint64_t totals[] = { 1, 7, 8, 1000, 1ull << 40, UINT64_MAX / 512 };

	(void)state;
	for (size_t t = 0; t < sizeof(totals) / sizeof(totals[0]); t++)
		for (unsigned n = 1; n <= 9; n++) {
			uint64_t next = 0;

			if (totals[t] < n)
				continue;
			for (unsigned i = 0; i < n; i++) {
				uint64_t first, count;

				bb_split(totals[t], n, i, &first, &count);
				assert_int_equal(first, next);
				assert_true(count >= totals[t] / n && count <= totals[t] / n + 1);
				next = first + count;
			}
			assert_int_equal(next, totals[t]);
		}
}

/* ---- CRC32C and the unit format ---- */

static void test_crc32c_vectors(void **state)
{
	uint8_t buf[32], big[9000];
	uint64_t st = 3;

	(void)state;
	assert_int_equal(bb_crc32c("123456789", 9), 0xE3069283);
	assert_int_equal(bb_crc32c_sw("123456789", 9), 0xE3069283);
	assert_int_equal(bb_crc32c("", 0), 0);
	/* RFC 3720 B.4 */
	memset(buf, 0, 32);
	assert_int_equal(bb_crc32c(buf, 32), 0x8A9136AA);
	memset(buf, 0xff, 32);
	assert_int_equal(bb_crc32c(buf, 32), 0x62A8AB43);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(bb_crc32c_sw(buf, 32), 0x46DD794E);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(bb_crc32c(buf, 32), 0x113FDB5C);
	/* hardware (when present) and tables agree at every length and offset */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)bb_rand64(&st);
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len < 300; len += 7)
			assert_int_equal(bb_crc32c(big + off, len), bb_crc32c_sw(big + off, len));
	assert_int_equal(bb_crc32c(big, sizeof(big)), bb_crc32c_sw(big, sizeof(big)));
}

static void test_unit_size(void **state)
{
	(void)state;
	assert_int_equal(bb_unit_size(512), 512);
	assert_int_equal(bb_unit_size(1024), 1024);
	assert_int_equal(bb_unit_size(1536), 512);
	assert_int_equal(bb_unit_size(4096), 4096);
	assert_int_equal(bb_unit_size(6144), 2048);
	assert_int_equal(bb_unit_size(1 << 20), 4096);
}

static void test_unit_header(void **state)
{
	static const uint32_t units[] = { 512, 2048, 4096 };
	uint8_t *u = malloc(4096);
	char why[96];

	(void)state;
	for (size_t t = 0; t < 3; t++) {
		uint32_t n = units[t];

		bb_unit_fill(u, n, 1234, 99, 1);
		assert_memory_equal(u, "UVIOBLK1", 8);
		assert_int_equal(bb_get_le64(u + 8), 1234);
		assert_int_equal(bb_get_le64(u + 16), 99);
		assert_int_equal(bb_get_le32(u + 24), 1);
		assert_int_equal(bb_unit_check(u, n, 1234, 99, 1, why, sizeof(why)), BB_UNIT_OK);
		assert_int_equal(bb_unit_check(u, n, 1235, 99, 1, why, sizeof(why)), BB_UNIT_LBA);
		assert_string_equal(why, "lba mismatch (header says 1234)");
		assert_int_equal(bb_unit_check(u, n, 1234, 98, 1, NULL, 0), BB_UNIT_SEED);
		assert_int_equal(bb_unit_check(u, n, 1234, 99, 2, NULL, 0), BB_UNIT_GEN);
		/* any single flipped bit is caught, header or data */
		for (uint32_t byte = 0; byte < n; byte += 37) {
			u[byte] ^= 0x10;
			assert_int_not_equal(bb_unit_check(u, n, 1234, 99, 1, NULL, 0), BB_UNIT_OK);
			u[byte] ^= 0x10;
		}
		u[n - 1] ^= 1;
		assert_int_equal(bb_unit_check(u, n, 1234, 99, 1, why, sizeof(why)), BB_UNIT_CRC);
		assert_non_null(strstr(why, "crc mismatch"));
		memset(u, 0, n);
		assert_int_equal(bb_unit_check(u, n, 1234, 99, 1, NULL, 0), BB_UNIT_ZERO);
	}
	/* data depends on (seed, lba, generation) */
	uint8_t *v = malloc(4096);
	bb_unit_fill(u, 4096, 5, 1, 1);
	bb_unit_fill(v, 4096, 5, 1, 2);
	assert_memory_not_equal(u + 32, v + 32, 4096 - 32);
	bb_unit_fill(v, 4096, 6, 1, 1);
	assert_memory_not_equal(u + 32, v + 32, 4096 - 32);
	free(u);
	free(v);
}

static void test_verify_io(void **state)
{
	unsigned budget = 0;  /* quiet */
	struct bb_verify v = { .unit = 4096, .seed = 7, .generation = 1,
			       .print_budget = &budget };
	uint8_t *buf = malloc(16384);

	(void)state;
	bb_verify_fill(&v, buf, 16384, 1 << 20);
	assert_int_equal(bb_verify_check(&v, buf, 16384, 1 << 20), 0);
	assert_int_equal(bb_verify_check(&v, buf, 16384, 2 << 20), 4);  /* misdirected */
	buf[9000] ^= 0xff;
	assert_int_equal(bb_verify_check(&v, buf, 16384, 1 << 20), 1);
	free(buf);
}

/* ---- the engine against tests/model's virtio-blk RAM disk ---- */

#define BIT(b) (1ULL << (b))

/* What blkbench uses (MQ, flush, write-zeroes, discard) on a 64-entry ring,
 * which iodepth 64 fills; each notify's requests are used in a random order. */
static struct model_blk_cfg disk_cfg(uint64_t bytes, uint16_t queues, bool packed,
				     bool indirect)
{
	return (struct model_blk_cfg){
		.features = BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_BLK_SIZE) |
			    BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_MQ) |
			    BIT(VIRTIO_BLK_F_WRITE_ZEROES) | BIT(VIRTIO_BLK_F_DISCARD),
		.packed = packed,
		.no_indirect = !indirect,
		.no_event_idx = true,
		.queue_max = 64,
		.capacity = bytes / 512,
		.blk_size = 512,
		.seg_max = 16,
		.num_queues = queues,
		.max_discard_sectors = 1 << 16, .max_discard_seg = 1,
		.max_write_zeroes_sectors = 1 << 16, .max_write_zeroes_seg = 1,
		.write_zeroes_may_unmap = 1,
		.order = VDEV_ORDER_RANDOM,
		.order_seed = 1,
	};
}

/* Make the disk and open it on all its queues. */
static struct uvio_blk *open_disk(struct model_blk_cfg cfg, struct model_blk **mb)
{
	struct uvio_blk_opts bo = { .queues = cfg.num_queues };
	struct uvio_err err = { 0 };
	struct uvio_dev *dev = NULL;
	struct uvio_blk *blk = NULL;

	*mb = model_blk_create(&cfg, &dev);
	assert_non_null(*mb);
	if (uvio_blk_open(dev, &bo, &blk, &err))
		fail_msg("model device: %s", err.msg);
	assert_int_equal(uvio_blk_get_info(blk)->queues, cfg.num_queues);
	return blk;
}

/* Close, and the device saw the driver break no rule of the spec. */
static void close_disk(struct uvio_blk *blk, struct model_blk *mb)
{
	struct model_dev *m = model_blk_dev(mb);

	uvio_blk_close(blk);
	if (model_dev_violations(m))
		fail_msg("%u violations, the first: %s", model_dev_violations(m),
			 model_dev_error(m));
	model_blk_put(mb);
}

/* Parse, check against the device, run: like main() without the output. */
static void run_bench(struct uvio_blk *blk, const struct bb_link *link,
		      struct bb_opts *o, struct bb_result *r, int argc, char **argv)
{
	char msg[256] = "";

	if (bb_opts_parse(argc, argv, o, msg, sizeof(msg)) ||
	    bb_opts_check_device(o, uvio_blk_get_info(blk), msg, sizeof(msg)))
		fail_msg("options: %s", msg);
	assert_int_equal(bb_run_workload(o, blk, link, r), 0);
}

#define RUN(blk, o, r, ...) \
	run_bench(blk, NULL, o, r, ARGC("-d", "model", __VA_ARGS__), ARGV("-d", "model", __VA_ARGS__))
#define RUN_LINK(blk, link, o, r, ...) \
	run_bench(blk, link, o, r, ARGC("-d", "model", __VA_ARGS__), \
		  ARGV("-d", "model", __VA_ARGS__))

/* Every unit of the disk carries the stamp of `seed`. */
static void assert_disk_stamped(struct model_blk *mb, uint32_t unit, uint64_t seed)
{
	for (uint64_t off = 0; off < model_blk_disk_size(mb); off += unit)
		assert_int_equal(bb_unit_check(model_blk_disk(mb) + off, unit, off / unit,
					       seed, 1, NULL, 0), BB_UNIT_OK);
}

/* The device wrote each sector (OUT requests it did) min..max times. */
static void assert_sector_writes(struct model_blk *mb, uint32_t min, uint32_t max)
{
	uint64_t n = model_blk_disk_size(mb) / 512;
	uint32_t *writes = calloc(n, sizeof(*writes));

	assert_non_null(writes);
	for (unsigned i = 0; i < model_blk_nreqs(mb); i++) {
		const struct model_blk_req *r = model_blk_req_at(mb, i);

		if (r->type == VIRTIO_BLK_T_OUT && r->status == VIRTIO_BLK_S_OK)
			for (uint64_t s = r->sector; s < r->sector + r->data_len / 512; s++)
				writes[s]++;
	}
	for (uint64_t s = 0; s < n; s++)
		if (writes[s] < min || writes[s] > max)
			fail_msg("sector %llu written %u times", (unsigned long long)s,
				 writes[s]);
	free(writes);
}

static void test_model_seq_write_read_verify(void **state)
{
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(disk_cfg(4 << 20, 1, false, true), &mb);
	struct bb_opts o;
	struct bb_result r;

	(void)state;
	RUN(blk, &o, &r, "--rw", "write", "--verify", "--seed", "5", "--iodepth", "8");
	assert_false(bb_result_failed(&r));
	assert_int_equal(r.c.writes, 1024);  /* one pass: the whole device */
	assert_int_equal(r.c.bytes, 4 << 20);
	assert_sector_writes(mb, 1, 1);
	assert_disk_stamped(mb, 4096, 5);

	RUN(blk, &o, &r, "--rw", "read", "--verify", "--seed", "5", "--iodepth", "4");
	assert_false(bb_result_failed(&r));
	assert_int_equal(r.c.reads, 1024);
	assert_int_equal(r.c.verify_checked, 1024);
	assert_int_equal(r.c.verify_failed, 0);

	/* one flipped byte: one bad unit, and the run fails */
	model_blk_disk(mb)[777 * 4096 + 100] ^= 0x40;
	RUN(blk, &o, &r, "--rw", "read", "--verify", "--seed", "5");
	assert_int_equal(r.c.verify_failed, 1);
	assert_true(bb_result_failed(&r));
	close_disk(blk, mb);
}

static void test_model_randwrite_multiqueue(void **state)
{
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(disk_cfg(4 << 20, 4, true, true), &mb);
	struct bb_opts o;
	struct bb_result r;

	(void)state;
	RUN(blk, &o, &r, "--rw", "randwrite", "--verify", "--seed", "77", "--bs", "8k",
	    "--queues", "4", "--iodepth", "16");
	assert_false(bb_result_failed(&r));
	assert_int_equal(r.c.writes, 512);
	assert_sector_writes(mb, 1, 1);  /* a permutation */
	assert_disk_stamped(mb, 4096, 77);

	RUN(blk, &o, &r, "--rw", "randread", "--verify", "--seed", "77", "--bs", "8k",
	    "--queues", "3", "--iodepth", "7");
	assert_false(bb_result_failed(&r));
	assert_int_equal(r.c.verify_checked, 1024);

	/* a runtime-limited verify pass goes round the device more than once */
	RUN(blk, &o, &r, "--rw", "randwrite", "--verify", "--seed", "77", "--bs", "8k",
	    "--queues", "2", "--iodepth", "32", "--io-count", "3000");
	assert_false(bb_result_failed(&r));
	assert_int_equal(r.c.writes, 3000);
	assert_disk_stamped(mb, 4096, 77);
	close_disk(blk, mb);
}

/* No indirect descriptors, 64-entry ring, iodepth 64: -EAGAIN all along;
 * randrw with verify keeps in-flight blocks apart on a small disk. */
static void test_model_backpressure_randrw(void **state)
{
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(disk_cfg(1 << 20, 2, false, false), &mb);
	struct bb_opts o;
	struct bb_result r;

	(void)state;
	RUN(blk, &o, &r, "--rw", "randrw", "--verify", "--seed", "3", "--iodepth", "64",
	    "--queues", "2", "--io-count", "20000", "--rwmixread", "60");
	assert_false(bb_result_failed(&r));
	assert_int_equal(r.c.ios, 20000);
	assert_true(r.c.verify_checked > 1000);
	assert_true(r.c.verify_skipped > 0);
	assert_int_equal(r.c.verify_checked + r.c.verify_skipped, r.c.reads);
	assert_true(r.c.queue_full > 0);  /* back-pressure happened */
	close_disk(blk, mb);
}

static void test_model_io_error(void **state)
{
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(disk_cfg(1 << 20, 1, false, true), &mb);
	struct bb_opts o;
	struct bb_result r;

	(void)state;
	model_blk_set_bad_sector(mb, 100);  /* in block 12 of 4k */
	RUN(blk, &o, &r, "--rw", "read", "--io-count", "256", "--iodepth", "4");
	assert_int_equal(r.c.ios, 256);
	assert_int_equal(r.c.errors, 1);
	assert_int_equal(r.c.by_errno[EIO], 1);
	assert_int_equal(r.c.bytes, 255 * 4096);
	assert_true(bb_result_failed(&r));
	close_disk(blk, mb);
}

static void test_model_flush_and_reports(void **state)
{
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(disk_cfg(1 << 20, 1, false, true), &mb);
	char logpath[] = "/tmp/blkbench-test-XXXXXX";
	struct bb_opts o;
	struct bb_result r;
	char *text = NULL, line[128];
	size_t len = 0;
	unsigned lines = 0;
	FILE *f;
	int fd = mkstemp(logpath);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	RUN(blk, &o, &r, "--rw", "write", "--io-count", "100", "--flush-every", "10",
	    "--iodepth", "4", "--latency-log", logpath);
	assert_false(bb_result_failed(&r));
	assert_int_equal(r.c.flushes, 10);
	assert_int_equal(model_blk_count(mb, VIRTIO_BLK_T_FLUSH), 10);
	f = fopen(logpath, "r");
	assert_non_null(f);
	/* fio's lat log: writes only (ddir 1), flushes are not logged. */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long t, lat, bs, off;
		unsigned ddir, prio;

		assert_int_equal(sscanf(line, "%llu, %llu, %u, %llu, %llu, %u", &t, &lat,
					&ddir, &bs, &off, &prio), 6);
		assert_int_equal(ddir, 1);
		assert_int_equal(bs, 4096);
		lines++;
	}
	fclose(f);
	unlink(logpath);
	assert_int_equal(lines, 100);

	RUN(blk, &o, &r, "--rw", "randread", "--runtime", "0.2", "--json");
	assert_true(r.c.ios > 0 && r.secs >= 0.2 && r.secs < 5);
	f = open_memstream(&text, &len);
	bb_report_json(f, &o, uvio_blk_get_info(blk), &r);
	fclose(f);
	assert_true(text[0] == '{' && !strcmp(text + len - 2, "}\n"));
	assert_ptr_equal(strchr(text, '\n'), text + len - 1);
	assert_non_null(strstr(text, "\"ok\":true"));
	assert_non_null(strstr(text, "\"99.900000\":"));
	free(text);
	f = open_memstream(&text, &len);
	bb_report_text(f, &o, &r);
	fclose(f);
	assert_non_null(strstr(text, "IOPS:"));
	assert_non_null(strstr(text, "p99.9"));
	free(text);
	close_disk(blk, mb);
}

static void test_model_ops(void **state)
{
	struct model_blk_cfg cfg;
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(disk_cfg(1 << 20, 1, false, true), &mb);
	struct bb_opts o;
	char m[256];

	(void)state;
	memset(model_blk_disk(mb), 0xab, 1 << 20);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--op", "write-zeroes", "--offset", "8k",
			       "--size", "16k", "--unmap"), 0);
	assert_int_equal(bb_opts_check_device(&o, uvio_blk_get_info(blk), m, sizeof(m)), 0);
	assert_int_equal(bb_run_op(&o, blk), 0);
	assert_true(bb_is_zero(model_blk_disk(mb) + 8192, 16384));
	assert_int_equal(model_blk_disk(mb)[8191], 0xab);
	assert_int_equal(model_blk_disk(mb)[8192 + 16384], 0xab);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--op", "get-id"), 0);
	assert_int_equal(bb_opts_check_device(&o, uvio_blk_get_info(blk), m, sizeof(m)), 0);
	assert_int_equal(bb_run_op(&o, blk), 0);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--op", "flush"), 0);
	assert_int_equal(bb_run_op(&o, blk), 0);
	assert_int_equal(model_blk_count(mb, VIRTIO_BLK_T_FLUSH), 1);
	close_disk(blk, mb);

	cfg = disk_cfg(1 << 20, 1, false, true);
	cfg.features &= ~BIT(VIRTIO_BLK_F_DISCARD);
	blk = open_disk(cfg, &mb);
	assert_int_equal(PARSE(&o, m, "-d", "x", "--op", "discard", "--size", "4k"), 0);
	assert_int_equal(bb_opts_check_device(&o, uvio_blk_get_info(blk), m, sizeof(m)), 0);
	assert_int_equal(bb_run_op(&o, blk), 1);  /* -ENOTSUP */
	close_disk(blk, mb);
}

/* ---- --reconnect against a model back-end that goes away ---- */

/* The link to the disk: a reconnect brings its back-end back (unless
 * refused) and arms the next loss. */
struct link_state {
	struct model_blk *mb;
	const uint64_t *lose_at;  /* request numbers, ascending, then 0 */
	bool refuse;
	unsigned reconnects;
};

static struct link_state link_state;

static void arm_next_loss(void)
{
	model_blk_disconnect_at(link_state.mb, *link_state.lose_at);
	if (*link_state.lose_at)
		link_state.lose_at++;
}

/* model_link leads to mb, whose back-end goes away at each of lose_at. */
static void link_disk(struct model_blk *mb, const uint64_t *lose_at)
{
	link_state = (struct link_state){ .mb = mb, .lose_at = lose_at };
	arm_next_loss();
}

static bool model_lost(struct uvio_blk *blk)
{
	(void)blk;
	return !model_dev_connected(model_blk_dev(link_state.mb));
}

static int model_reconnect(struct uvio_blk *blk, int timeout_ms, struct uvio_err *err)
{
	(void)blk;
	assert_true(timeout_ms > 0 && timeout_ms <= RECONNECT_TRY_MS);
	if (link_state.refuse)
		return uvio_err_set(err, -ECONNREFUSED, "model: nobody listens");
	link_state.reconnects++;
	model_dev_reconnect(model_blk_dev(link_state.mb));
	arm_next_loss();
	return 0;
}

static const struct bb_link model_link = { model_lost, model_reconnect };

static void assert_balanced(const struct bb_counters *c)
{
	assert_int_equal(c->submitted, c->completed_ok + c->completed_error);
}

/* Lost twice mid-pass: the failed writes are counted, redone after each
 * reconnect, and every block ends up written exactly once on the disk. */
static void test_model_reconnect_write(void **state)
{
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(disk_cfg(4 << 20, 2, false, true), &mb);
	struct bb_opts o;
	struct bb_result r;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	link_disk(mb, (const uint64_t[]){ 300, 700, 0 });
	RUN_LINK(blk, &model_link, &o, &r, "--rw", "randwrite", "--verify", "--seed", "9",
		 "--queues", "2", "--iodepth", "8", "--reconnect", "5");
	assert_int_equal(r.reconnects, 2);
	assert_int_equal(link_state.reconnects, 2);
	assert_false(bb_result_failed(&r));
	assert_balanced(&r.c);
	assert_true(r.c.completed_error > 0);
	assert_int_equal(r.c.errors, r.c.completed_error);
	assert_int_equal(r.c.by_errno[EIO], r.c.completed_error);
	assert_int_equal(r.c.redo, r.c.completed_error);
	assert_int_equal(r.c.resubmitted, r.c.redo);
	assert_int_equal(r.c.unrecovered, 0);
	assert_int_equal(r.c.completed_ok, 1024);
	assert_int_equal(r.c.writes, 1024 + r.c.completed_error);
	/* Some writes the device did may have been reported failed (the
	 * other queue broke under them): redone, written twice. */
	assert_sector_writes(mb, 1, UINT32_MAX);
	assert_disk_stamped(mb, 4096, 9);

	f = open_memstream(&text, &len);
	bb_report_json(f, &o, uvio_blk_get_info(blk), &r);
	fclose(f);
	assert_non_null(strstr(text, "\"reconnects\":2,"));
	assert_non_null(strstr(text, "\"balanced\":true"));
	assert_non_null(strstr(text, "\"ok\":true"));
	free(text);
	f = open_memstream(&text, &len);
	bb_report_text(f, &o, &r);
	fclose(f);
	assert_non_null(strstr(text, "(submitted == ok + error)"));
	assert_non_null(strstr(text, "reconnects: 2"));
	assert_non_null(strstr(text, "result:    ok"));
	free(text);
	close_disk(blk, mb);
}

/* randrw with flushes: reads, writes and flushes are redone, and reads
 * still only check what this run wrote. */
static void test_model_reconnect_randrw(void **state)
{
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(disk_cfg(1 << 20, 2, false, false), &mb);
	struct bb_opts o;
	struct bb_result r;

	(void)state;
	/* 1001: at once again, the first redo fails too */
	link_disk(mb, (const uint64_t[]){ 1000, 1001, 4000, 0 });
	RUN_LINK(blk, &model_link, &o, &r, "--rw", "randrw", "--verify", "--seed", "4",
		 "--queues", "2", "--iodepth", "32", "--io-count", "8000",
		 "--flush-every", "16", "--reconnect", "5");
	assert_int_equal(r.reconnects, 3);
	assert_false(bb_result_failed(&r));
	assert_balanced(&r.c);
	assert_int_equal(r.c.resubmitted, r.c.redo);
	assert_int_equal(r.c.verify_failed, 0);
	assert_true(r.c.verify_checked > 0);
	assert_int_equal(r.c.ios + r.c.flushes, r.c.completed_ok + r.c.completed_error);
	assert_int_equal(r.c.bytes, 8000 * 4096);  /* every I/O ok once in the end */
	close_disk(blk, mb);
}

/* Nobody comes back: the failed I/Os stay undone and the run fails; the
 * counters still add up. Without --reconnect the loss stops the run. */
static void test_model_reconnect_fails(void **state)
{
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(disk_cfg(1 << 20, 1, false, true), &mb);
	struct bb_opts o;
	struct bb_result r;
	uint64_t t0 = bb_now_ns();

	(void)state;
	link_disk(mb, (const uint64_t[]){ 50, 0 });
	link_state.refuse = true;
	RUN_LINK(blk, &model_link, &o, &r, "--rw", "write", "--verify", "--iodepth", "4",
		 "--reconnect", "0.3");
	assert_true(bb_now_ns() - t0 >= 300000000ull);
	assert_int_equal(r.reconnects, 0);
	assert_true(bb_result_failed(&r));
	assert_true(r.submit_failed);
	assert_balanced(&r.c);
	assert_true(r.c.completed_error > 0);
	assert_int_equal(r.c.unrecovered, r.c.redo);
	assert_int_equal(r.c.resubmitted, 0);
	close_disk(blk, mb);

	blk = open_disk(disk_cfg(1 << 20, 1, false, true), &mb);
	link_disk(mb, (const uint64_t[]){ 50, 0 });
	RUN_LINK(blk, &model_link, &o, &r, "--rw", "write", "--iodepth", "4",
		 "--io-count", "200");
	assert_true(bb_result_failed(&r));
	assert_true(r.submit_failed);
	assert_int_equal(r.reconnects, 0);
	assert_int_equal(r.c.redo, 0);
	assert_balanced(&r.c);
	close_disk(blk, mb);
}

static int model_group_setup(void **state)
{
	(void)state;
	return uvio_dma_init(&(struct uvio_dma_opts){ .backing = UVIO_DMA_4K_PINNED,
						      .segment_size = 8u << 20 }, NULL);
}

#define MODEL_TESTS \
	cmocka_unit_test(test_model_seq_write_read_verify), \
	cmocka_unit_test(test_model_randwrite_multiqueue), \
	cmocka_unit_test(test_model_backpressure_randrw), \
	cmocka_unit_test(test_model_io_error), \
	cmocka_unit_test(test_model_flush_and_reports), \
	cmocka_unit_test(test_model_ops), \
	cmocka_unit_test(test_model_reconnect_write), \
	cmocka_unit_test(test_model_reconnect_randrw), \
	cmocka_unit_test(test_model_reconnect_fails),

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_defaults),
		cmocka_unit_test(test_opts_numbers),
		cmocka_unit_test(test_opts_check_dev),
		cmocka_unit_test(test_opts_errors),
		cmocka_unit_test(test_opts_reconnect),
		cmocka_unit_test(test_opts_completion),
		cmocka_unit_test(test_opts_check_device),
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_hist_percentiles),
		cmocka_unit_test(test_lbagen_perm_covers),
		cmocka_unit_test(test_lbagen_seq_uniform),
		cmocka_unit_test(test_split_whole_device),
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_unit_size),
		cmocka_unit_test(test_unit_header),
		cmocka_unit_test(test_verify_io),
		MODEL_TESTS
	};

	return cmocka_run_group_tests(tests, model_group_setup, NULL);
}
