/* SPDX-License-Identifier: MIT */
/*
 * blkbench's fio-compatible output: --json in fio 3.33's layout and
 * --latency-log in fio's lat-log format. A result built by hand from a
 * known distribution checks the figures (percentiles, mean, stddev, bw,
 * iops, runtime) and that reads, writes and flushes stay apart; a run of
 * the engine against tests/model's RAM disk checks the same against what
 * the workload really did. The JSON is read back by a small parser here
 * (and by python3's json module when there is one), not by string search.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uvio/uvio.h>

#include "../../apps/blkbench/engine.c"
#include "../../apps/blkbench/hist.c"
#include "../../apps/blkbench/lbagen.c"
#include "../../apps/blkbench/opts.c"
#include "../../apps/blkbench/report.c"
#include "../../apps/blkbench/verify.c"
#include "../../apps/blkbench/worker.c"
#include "../../apps/blkbench/completion.c"
#include "../model/model_dev.h"

/* ---- a JSON reader: enough to validate and to walk a path ---- */

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* Past one string; NULL when malformed. */
static const char *skip_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if (!*p || (unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\' && !*++p)
			return NULL;
	}
	return p + 1;
}

static const char *skip_value(const char *p);

/* Past an object or array (open is '{' or '['). */
static const char *skip_container(const char *p, char close)
{
	p = ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if (!(p = skip_string(p)))
				return NULL;
			p = ws(p);
			if (*p++ != ':')
				return NULL;
		}
		if (!(p = skip_value(ws(p))))
			return NULL;
		p = ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = ws(p);
	}
}

static const char *skip_value(const char *p)
{
	char *end;

	if (*p == '{')
		return skip_container(p, '}');
	if (*p == '[')
		return skip_container(p, ']');
	if (*p == '"')
		return skip_string(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	if (*p != '-' && !isdigit((unsigned char)*p))
		return NULL;  /* also rejects nan and inf */
	strtod(p, &end);
	return end;
}

static bool json_valid(const char *s)
{
	const char *p = skip_value(ws(s));

	return p && !*ws(p);
}

/* The value at key (in an object) or at index (in an array, key "0", "1"...). */
static const char *member(const char *p, const char *key)
{
	bool array = *p == '[';
	unsigned idx = 0, want = (unsigned)atoi(key);
	size_t klen = strlen(key);

	if (*p != '{' && !array)
		return NULL;
	p = ws(p + 1);
	while (*p && *p != '}' && *p != ']') {
		bool hit = array ? idx++ == want :
			   !strncmp(p + 1, key, klen) && p[1 + klen] == '"';

		if (!array) {
			p = ws(skip_string(p));
			p = ws(p + 1);  /* the ':' */
		}
		if (hit)
			return p;
		p = ws(skip_value(p));
		if (*p == ',')
			p = ws(p + 1);
	}
	return NULL;
}

/* Walk "a", "b", ... from the top; NULL when a step is missing. */
static const char *at(const char *json, const char *const *path)
{
	const char *p = ws(json);

	for (; p && *path; path++)
		p = member(p, *path);
	return p;
}

#define AT(json, ...) at(json, (const char *const[]){ __VA_ARGS__, NULL })

static double num(const char *json, const char *const *path)
{
	const char *p = at(json, path);

	if (!p)
		fail_msg("no %s...%s in the JSON", path[0], path[1] ? path[1] : "");
	return strtod(p, NULL);
}

#define NUM(json, ...) num(json, (const char *const[]){ __VA_ARGS__, NULL })

static void assert_str_at(const char *p, const char *want)
{
	assert_non_null(p);
	assert_int_equal(*p, '"');
	assert_memory_equal(p + 1, want, strlen(want));
	assert_int_equal(p[1 + strlen(want)], '"');
}

static void near(double got, double want, double rel)
{
	if (fabs(got - want) > rel * fabs(want) + 1e-9)
		fail_msg("%f is not within %g%% of %f", got, rel * 100, want);
}

static char *json_of(const struct bb_opts *o, const struct uvio_blk_info *in,
		     const struct bb_result *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	bb_report_json(f, o, in, r);
	assert_int_equal(fclose(f), 0);
	/* One line: the tests and guest scripts grep it. */
	assert_ptr_equal(strchr(text, '\n'), text + len - 1);
	return text;
}

/* python3's json module agrees that it is JSON (skipped without python3). */
static void python_accepts(const char *text)
{
	FILE *p;

	if (system("python3 -c '' 2>/dev/null") != 0)
		return;
	p = popen("python3 -c 'import json, sys; d = json.load(sys.stdin); "
		  "sys.exit(0 if d[\"jobs\"][0][\"jobname\"] == \"blkbench\" else 3)'", "w");
	assert_non_null(p);
	fputs(text, p);
	assert_int_equal(pclose(p), 0);
}

/* ---- the JSON of a known result ---- */

static const struct uvio_blk_info info = {
	.capacity = 1 << 30, .block_size = 512, .queues = 2, .num_queues = 2,
	.queue_size = 256,
};

/*
 * Reads took 1, 2, ... 1000 us; writes 50 us each, 200 of them; three
 * flushes 2, 3 and 4 ms; all in 2 s over 2 queues of bs 4k.
 */
static void known_result(struct bb_result *r, struct bb_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->dev = "vhost-user:/tmp/x \"q\".sock";
	o->rw = BB_RANDRW;
	o->rwmixread = 83;
	o->bs = 4096;
	o->iodepth = 8;
	o->queues = 2;
	o->size = 1 << 30;
	o->seed = 7;
	o->runtime = 2;
	memset(r, 0, sizeof(*r));
	for (unsigned d = 0; d < BB_DIRS; d++)
		bb_hist_init(&r->lat[d]);
	for (uint64_t us = 1; us <= 1000; us++)
		bb_hist_add(&r->lat[BB_DIR_READ], us * 1000);
	for (unsigned i = 0; i < 200; i++)
		bb_hist_add(&r->lat[BB_DIR_WRITE], 50000);
	for (uint64_t ms = 2; ms <= 4; ms++)
		bb_hist_add(&r->lat[BB_DIR_SYNC], ms * 1000000);
	r->c.reads = 1000;
	r->c.writes = 200;
	r->c.flushes = 3;
	r->c.ios = 1200;
	r->c.io_bytes[BB_DIR_READ] = 1000 * 4096;
	r->c.io_bytes[BB_DIR_WRITE] = 200 * 4096;
	r->c.bytes = 1200 * 4096;
	r->c.submitted = r->c.completed_ok = 1203;
	r->secs = 2.0;
	r->end_ms = 1796288125056;
	r->usr_secs = 1.0;
	r->sys_secs = 0.5;
	r->ctx = 17;
}

static void test_json_top(void **state)
{
	struct bb_opts o;
	struct bb_result r;
	char *j, want[64];

	(void)state;
	known_result(&r, &o);
	j = json_of(&o, &info, &r);
	assert_true(json_valid(j));
	python_accepts(j);
	snprintf(want, sizeof(want), "blkbench (uvio) %s", uvio_version());
	assert_str_at(AT(j, "fio version"), want);
	assert_true(NUM(j, "timestamp_ms") == 1796288125056.0);
	assert_true(NUM(j, "timestamp") == 1796288125.0);
	assert_non_null(AT(j, "time"));
	/* One job for the run, as fio's numjobs=queues with group_reporting. */
	assert_non_null(AT(j, "jobs", "0"));
	assert_null(AT(j, "jobs", "1"));
	assert_str_at(AT(j, "jobs", "0", "jobname"), "blkbench");
	assert_str_at(AT(j, "jobs", "0", "job options", "numjobs"), "2");
	assert_str_at(AT(j, "jobs", "0", "job options", "rw"), "randrw");
	assert_str_at(AT(j, "jobs", "0", "job options", "rwmixread"), "83");
	assert_str_at(AT(j, "jobs", "0", "job options", "filename"),
		      "vhost-user:/tmp/x \\\"q\\\".sock");
	assert_true(NUM(j, "jobs", "0", "error") == 0);
	/* fio's job_runtime and CPU figures are over the jobs' summed time. */
	assert_true(NUM(j, "jobs", "0", "job_runtime") == 4000);
	assert_true(NUM(j, "jobs", "0", "usr_cpu") == 25);
	assert_true(NUM(j, "jobs", "0", "sys_cpu") == 12.5);
	assert_true(NUM(j, "jobs", "0", "ctx") == 17);
	free(j);
}

/* bw from known bytes and time; the percentiles of 1..1000 us. */
static void test_json_read(void **state)
{
	struct bb_opts o;
	struct bb_result r;
	char *j;

	(void)state;
	known_result(&r, &o);
	j = json_of(&o, &info, &r);
	assert_true(NUM(j, "jobs", "0", "read", "io_bytes") == 4096000);
	assert_true(NUM(j, "jobs", "0", "read", "io_kbytes") == 4000);
	assert_true(NUM(j, "jobs", "0", "read", "bw_bytes") == 2048000);
	assert_true(NUM(j, "jobs", "0", "read", "bw") == 2000);  /* KiB/s */
	assert_true(NUM(j, "jobs", "0", "read", "iops") == 500);
	assert_true(NUM(j, "jobs", "0", "read", "runtime") == 2000);  /* ms */
	assert_true(NUM(j, "jobs", "0", "read", "total_ios") == 1000);
	assert_true(NUM(j, "jobs", "0", "read", "slat_ns", "N") == 0);
	for (const char *k = "clat_ns"; k; k = strcmp(k, "clat_ns") ? NULL : "lat_ns") {
		assert_true(NUM(j, "jobs", "0", "read", k, "min") == 1000);
		assert_true(NUM(j, "jobs", "0", "read", k, "max") == 1000000);
		assert_true(NUM(j, "jobs", "0", "read", k, "N") == 1000);
		assert_true(NUM(j, "jobs", "0", "read", k, "mean") == 500500);
		/* The sample stddev of 1..n is sqrt(n (n + 1) / 12). */
		near(NUM(j, "jobs", "0", "read", k, "stddev"), 1000 * sqrt(1000 * 1001 / 12.0),
		     1e-6);
		/* fio's rank: the first value with p% of the samples at or below. */
		near(NUM(j, "jobs", "0", "read", k, "percentile", "1.000000"), 10000, 0.02);
		near(NUM(j, "jobs", "0", "read", k, "percentile", "50.000000"), 500000, 0.02);
		near(NUM(j, "jobs", "0", "read", k, "percentile", "99.000000"), 990000, 0.02);
		near(NUM(j, "jobs", "0", "read", k, "percentile", "99.900000"), 999000, 0.02);
		assert_true(NUM(j, "jobs", "0", "read", k, "percentile", "99.990000") == 1000000);
	}
	free(j);
}

/* Writes, trims and flushes keep their own figures. */
static void test_json_directions(void **state)
{
	struct bb_opts o;
	struct bb_result r;
	char *j;

	(void)state;
	known_result(&r, &o);
	j = json_of(&o, &info, &r);
	assert_true(NUM(j, "jobs", "0", "write", "total_ios") == 200);
	assert_true(NUM(j, "jobs", "0", "write", "io_bytes") == 200 * 4096);
	assert_true(NUM(j, "jobs", "0", "write", "iops") == 100);
	assert_true(NUM(j, "jobs", "0", "write", "bw") == 400);
	assert_true(NUM(j, "jobs", "0", "write", "clat_ns", "min") == 50000);
	assert_true(NUM(j, "jobs", "0", "write", "clat_ns", "max") == 50000);
	assert_true(NUM(j, "jobs", "0", "write", "clat_ns", "stddev") == 0);
	assert_true(NUM(j, "jobs", "0", "write", "clat_ns", "N") == 200);
	assert_true(NUM(j, "jobs", "0", "write", "lat_ns", "percentile", "99.000000") == 50000);
	/* Nothing trimmed: fio's empty direction, no percentiles. */
	assert_true(NUM(j, "jobs", "0", "trim", "total_ios") == 0);
	assert_true(NUM(j, "jobs", "0", "trim", "runtime") == 0);
	assert_true(NUM(j, "jobs", "0", "trim", "bw") == 0);
	assert_true(NUM(j, "jobs", "0", "trim", "clat_ns", "min") == 0);
	assert_true(NUM(j, "jobs", "0", "trim", "clat_ns", "N") == 0);
	assert_null(AT(j, "jobs", "0", "trim", "clat_ns", "percentile"));
	/* Flushes are fio's "sync". */
	assert_true(NUM(j, "jobs", "0", "sync", "total_ios") == 3);
	assert_true(NUM(j, "jobs", "0", "sync", "lat_ns", "mean") == 3000000);
	assert_true(NUM(j, "jobs", "0", "sync", "lat_ns", "stddev") == 1000000);
	assert_true(NUM(j, "jobs", "0", "sync", "lat_ns", "min") == 2000000);
	free(j);
}

/* fio's latency bands: the percent of reads and writes (not flushes) in each. */
static void test_json_lat_bands(void **state)
{
	static const char *const levels[] = { "latency_ns", "latency_us", "latency_ms" };
	static const char *const keys[] = { "2", "4", "10", "20", "50", "100", "250",
					    "500", "750", "1000", "2000", ">=2000" };
	const double one = 100.0 / 1200;  /* one request */
	struct bb_opts o;
	struct bb_result r;
	double sum = 0;
	char *j;

	(void)state;
	known_result(&r, &o);
	j = json_of(&o, &info, &r);
	for (unsigned l = 0; l < 3; l++)
		for (unsigned k = 0; k < (l == 2 ? 12u : 10u); k++)
			sum += NUM(j, "jobs", "0", levels[l], keys[k]);
	near(sum, 100, 1e-6);
	assert_null(AT(j, "jobs", "0", "latency_us", "2000"));
	assert_true(NUM(j, "jobs", "0", "latency_ns", "1000") == 0);
	/* [100, 250) us: reads of 100..249 us, give or take one at an edge. */
	near(NUM(j, "jobs", "0", "latency_us", "250"), 150 * one, 1.0 / 150);
	/* [20, 50) us: 30 reads, and the 200 writes of 50 us sit on its edge. */
	assert_true(NUM(j, "jobs", "0", "latency_us", "50") >= 29 * one);
	assert_true(NUM(j, "jobs", "0", "latency_us", "50") <= 231 * one);
	assert_true(NUM(j, "jobs", "0", "latency_ms", ">=2000") == 0);
	/* The flushes of 2..4 ms are not in it. */
	assert_true(NUM(j, "jobs", "0", "latency_ms", "4") == 0);
	free(j);
}

/* blkbench's own figures are apart, and say a failed run failed. */
static void test_json_extras(void **state)
{
	struct bb_opts o;
	struct bb_result r;
	char *j;

	(void)state;
	known_result(&r, &o);
	j = json_of(&o, &info, &r);
	assert_true(NUM(j, "jobs", "0", "blkbench", "capacity") == 1 << 30);
	assert_true(NUM(j, "jobs", "0", "blkbench", "errors", "total") == 0);
	assert_true(NUM(j, "jobs", "0", "blkbench", "requests", "submitted") == 1203);
	assert_true(!strncmp(AT(j, "jobs", "0", "blkbench", "ok"), "true", 4));
	assert_true(!strncmp(AT(j, "jobs", "0", "blkbench", "verify", "enabled"), "false", 5));
	free(j);

	r.c.errors = r.c.completed_error = 2;
	r.c.by_errno[EIO] = 2;
	r.c.completed_ok -= 2;
	o.verify = true;
	r.c.verify_checked = 990;
	j = json_of(&o, &info, &r);
	assert_true(json_valid(j));
	assert_true(NUM(j, "jobs", "0", "error") == EIO);
	assert_true(NUM(j, "jobs", "0", "blkbench", "errors", "EIO") == 2);
	assert_true(NUM(j, "jobs", "0", "blkbench", "verify", "checked") == 990);
	assert_true(!strncmp(AT(j, "jobs", "0", "blkbench", "ok"), "false", 5));
	assert_true(!strncmp(AT(j, "jobs", "0", "blkbench", "requests", "balanced"),
			     "true", 4));
	free(j);
}

/* A run that did nothing still writes valid JSON: no nan from 0 / 0. */
static void test_json_empty(void **state)
{
	struct bb_opts o;
	struct bb_result r;
	char *j;

	(void)state;
	known_result(&r, &o);
	memset(&r.c, 0, sizeof(r.c));
	for (unsigned d = 0; d < BB_DIRS; d++)
		bb_hist_init(&r.lat[d]);
	r.secs = 0;
	j = json_of(&o, &info, &r);
	assert_true(json_valid(j));
	assert_true(NUM(j, "jobs", "0", "read", "iops") == 0);
	assert_true(NUM(j, "jobs", "0", "read", "clat_ns", "mean") == 0);
	free(j);
}

/* ---- the text report ---- */

static char *text_of(const struct bb_opts *o, const struct bb_result *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	bb_report_text(f, o, r);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* Its lines stay what scripts grep; a mixed run adds one per direction. */
static void test_text_lines(void **state)
{
	struct bb_opts o;
	struct bb_result r;
	char *t;

	(void)state;
	known_result(&r, &o);
	t = text_of(&o, &r);
	assert_non_null(strstr(t, "\nios:       1200 (reads 1000, writes 200), flushes 3, in 2.000 s\n"));
	assert_non_null(strstr(t, "\nIOPS:      600.0\n"));
	assert_non_null(strstr(t, "\nlatency:   min 1.0  p50 "));
	assert_non_null(strstr(t, "\nerrors:    0\n"));
	assert_non_null(strstr(t, "\nresult:    ok\n"));
	assert_non_null(strstr(t, "\n  read:    1000, 500.0 IOPS, 2.05 MB/s, latency min 1.0 "));
	assert_non_null(strstr(t, "\n  write:   200, 100.0 IOPS, 0.41 MB/s, latency min 50.0 "));
	assert_non_null(strstr(t, "max 50.0  mean 50.0 us\n"));
	assert_non_null(strstr(t, "\n  flush:   3, 1.5 IOPS, latency min 2000.0 "));
	free(t);

	/* Reads alone: the lines above say it all. */
	r.c.writes = r.c.flushes = 0;
	t = text_of(&o, &r);
	assert_null(strstr(t, "  read:"));
	free(t);
}

/* ---- the latency log ---- */

/* The line fio 3.33 itself wrote for this I/O (write_lat_log, log_offset=1). */
static void test_latlog_line(void **state)
{
	char buf[BB_LATLOG_LINE_MAX];

	(void)state;
	assert_int_equal(bb_latlog_line(buf, sizeof(buf), 3, 13132, BB_DIR_READ, 4096, 61440),
			 (int)strlen("3, 13132, 0, 4096, 61440, 0\n"));
	assert_string_equal(buf, "3, 13132, 0, 4096, 61440, 0\n");
	bb_latlog_line(buf, sizeof(buf), 0, 15390, BB_DIR_WRITE, 4096, 188416);
	assert_string_equal(buf, "0, 15390, 1, 4096, 188416, 0\n");
	/* The longest line fits. */
	assert_true(bb_latlog_line(buf, sizeof(buf), UINT64_MAX, UINT64_MAX, BB_DIR_TRIM,
				   UINT64_MAX, UINT64_MAX) < BB_LATLOG_LINE_MAX);
}

/* ---- a real run against the model disk ---- */

#define BIT(b) (1ULL << (b))
#define DISK_BYTES (4u << 20)

static struct uvio_blk *open_disk(struct model_blk **mb)
{
	struct model_blk_cfg cfg = {
		.features = BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_BLK_SIZE) |
			    BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_MQ),
		.no_event_idx = true, .queue_max = 64, .capacity = DISK_BYTES / 512,
		.blk_size = 512, .seg_max = 16, .num_queues = 2,
		.order = VDEV_ORDER_RANDOM, .order_seed = 1,
	};
	struct uvio_blk_opts bo = { .queues = 2 };
	struct uvio_err err = { 0 };
	struct uvio_dev *dev = NULL;
	struct uvio_blk *blk = NULL;

	*mb = model_blk_create(&cfg, &dev);
	assert_non_null(*mb);
	if (uvio_blk_open(dev, &bo, &blk, &err))
		fail_msg("model device: %s", err.msg);
	return blk;
}

/* What the log says, counted by direction; every line checked. */
static void read_latlog(const char *path, uint64_t per_dir[BB_DIRS])
{
	FILE *f = fopen(path, "r");
	char line[BB_LATLOG_LINE_MAX];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long t, lat, bs, off;
		unsigned ddir, prio;
		int end = 0;

		assert_int_equal(sscanf(line, "%llu, %llu, %u, %llu, %llu, %u%n", &t, &lat,
					&ddir, &bs, &off, &prio, &end), 6);
		assert_string_equal(line + end, "\n");
		assert_true(ddir == BB_DIR_READ || ddir == BB_DIR_WRITE);
		assert_int_equal(bs, 4096);
		assert_int_equal(off % 4096, 0);
		assert_true(off < DISK_BYTES);
		assert_int_equal(prio, 0);
		assert_true(t < 60000 && lat > 0);
		per_dir[ddir]++;
	}
	fclose(f);
}

static void test_engine_run(void **state)
{
	char logpath[] = "/tmp/blkbench-report-XXXXXX", msg[256] = "";
	char *argv[] = { "blkbench", "-d", "model", "--rw", "randrw", "--rwmixread", "70",
			 "--io-count", "2000", "--queues", "2", "--iodepth", "8",
			 "--flush-every", "50", "--json", "--latency-log", logpath, NULL };
	uint64_t per_dir[BB_DIRS] = { 0 };
	struct model_blk *mb;
	struct uvio_blk *blk = open_disk(&mb);
	struct bb_opts o;
	struct bb_result r;
	int fd = mkstemp(logpath);
	char *j;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	if (bb_opts_parse((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, &o, msg, sizeof(msg)) ||
	    bb_opts_check_device(&o, uvio_blk_get_info(blk), msg, sizeof(msg)))
		fail_msg("options: %s", msg);
	assert_int_equal(bb_run_workload(&o, blk, NULL, &r), 0);
	assert_false(bb_result_failed(&r));
	/* Each direction's histogram holds its own requests, and only them. */
	assert_int_equal(r.c.reads + r.c.writes, 2000);
	assert_true(r.c.reads > 1000 && r.c.writes > 300);
	assert_int_equal(r.lat[BB_DIR_READ].count, r.c.reads);
	assert_int_equal(r.lat[BB_DIR_WRITE].count, r.c.writes);
	assert_int_equal(r.lat[BB_DIR_SYNC].count, r.c.flushes);
	assert_true(r.c.flushes > 0);
	assert_int_equal(r.lat[BB_DIR_TRIM].count, 0);
	assert_int_equal(r.c.io_bytes[BB_DIR_READ], r.c.reads * 4096);
	assert_int_equal(r.c.io_bytes[BB_DIR_WRITE], r.c.writes * 4096);
	read_latlog(logpath, per_dir);
	unlink(logpath);
	assert_int_equal(per_dir[BB_DIR_READ], r.c.reads);
	assert_int_equal(per_dir[BB_DIR_WRITE], r.c.writes);

	j = json_of(&o, uvio_blk_get_info(blk), &r);
	assert_true(json_valid(j));
	python_accepts(j);
	assert_true(NUM(j, "jobs", "0", "read", "total_ios") == (double)r.c.reads);
	assert_true(NUM(j, "jobs", "0", "write", "total_ios") == (double)r.c.writes);
	assert_true(NUM(j, "jobs", "0", "sync", "total_ios") == (double)r.c.flushes);
	near(NUM(j, "jobs", "0", "read", "iops"), (double)r.c.reads / r.secs, 1e-6);
	assert_true(NUM(j, "jobs", "0", "read", "clat_ns", "min") <=
		    NUM(j, "jobs", "0", "read", "clat_ns", "percentile", "50.000000"));
	free(j);
	uvio_blk_close(blk);
	model_blk_put(mb);
}

/* 4K pinned pages: unit tests run without root or hugepages. */
static int group_setup(void **state)
{
	(void)state;
	return uvio_dma_init(&(struct uvio_dma_opts){ .backing = UVIO_DMA_4K_PINNED,
						      .segment_size = 8u << 20 }, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_top),
		cmocka_unit_test(test_json_read),
		cmocka_unit_test(test_json_directions),
		cmocka_unit_test(test_json_lat_bands),
		cmocka_unit_test(test_json_extras),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_text_lines),
		cmocka_unit_test(test_latlog_line),
		cmocka_unit_test(test_engine_run),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
