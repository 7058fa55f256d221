/* SPDX-License-Identifier: MIT */
/* blkbench output: the device line, progress, the final report (text or
 * JSON). Everything but the final report goes to stderr. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <uvio/version.h>

#include "blkbench.h"
#include "blockhdr.h"

static const struct { int e; const char *name; } errno_names[] = {
	{ EIO, "EIO" }, { ENOTSUP, "ENOTSUP" }, { EINVAL, "EINVAL" },
	{ ERANGE, "ERANGE" }, { EROFS, "EROFS" }, { EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" }, { ENOSPC, "ENOSPC" }, { ETIMEDOUT, "ETIMEDOUT" },
	{ EPROTO, "EPROTO" }, { EBADMSG, "EBADMSG" }, { ENODEV, "ENODEV" },
	{ EFAULT, "EFAULT" }, { EPERM, "EPERM" }, { EBUSY, "EBUSY" },
	{ E2BIG, "E2BIG" }, { ERESTART, "ERESTART" },
};

const char *bb_errno_name(int e)
{
	static _Thread_local char other[24];

	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].e == e)
			return errno_names[i].name;
	snprintf(other, sizeof(other), "errno %d (%s)", e, strerror(e));
	return other;
}

/* An error counts unless the failed request was kept for a redo (the
 * back-end went away) and the redo happened; the redo's own result is
 * counted like any request's. */
bool bb_result_failed(const struct bb_result *r)
{
	return r->submit_failed || r->c.errors > r->c.redo || r->c.unrecovered ||
	       r->c.verify_failed;
}

void bb_report_device(FILE *f, const struct bb_opts *o,
		      const struct uvio_blk_info *in)
{
	fprintf(f, "blkbench: %s: %llu bytes, block %u, %u/%u queue%s of %u, %s ring%s%s\n",
		o->dev, (unsigned long long)in->capacity, in->block_size,
		in->queues, in->num_queues, in->num_queues == 1 ? "" : "s",
		in->queue_size, in->packed ? "packed" : "split",
		in->read_only ? ", read-only" : "", in->writeback ? ", writeback" : "");
}

void bb_report_progress(FILE *f, double t, uint64_t ios, uint64_t bytes,
			double interval, uint64_t p99_ns)
{
	if (interval <= 0)
		return;
	fprintf(f, "[%5.0fs] %.0f IOPS, %.2f MB/s, p99 %.1f us\n", t,
		(double)ios / interval, (double)bytes / interval / 1e6,
		(double)p99_ns / 1e3);
}

static double per_sec(uint64_t v, double secs)
{
	return secs > 0 ? (double)v / secs : 0;
}

static double lat_us(const struct bb_hist *h, double p)
{
	if (!h->count)
		return 0;
	if (p <= 0)
		return (double)h->min / 1e3;
	return (double)bb_hist_percentile(h, p) / 1e3;
}

static void errors_text(FILE *f, const struct bb_counters *c)
{
	const char *sep = " (";

	fprintf(f, "errors:    %llu", (unsigned long long)c->errors);
	for (int e = 1; e < BB_ERRNO_SLOTS; e++) {
		if (!c->by_errno[e])
			continue;
		fprintf(f, "%s%s %llu", sep, e == BB_ERRNO_SLOTS - 1 ? "other" :
			bb_errno_name(e), (unsigned long long)c->by_errno[e]);
		sep = ", ";
	}
	fprintf(f, "%s\n", *sep == ',' ? ")" : "");
}

/* One direction's line, when there is more than one kind of request: the
 * lines above mix them. */
static void dir_text(FILE *f, const char *name, uint64_t ios, const uint64_t *bytes,
		     const struct bb_hist *h, double secs)
{
	fprintf(f, "%-10s %llu, %.1f IOPS, ", name, (unsigned long long)ios,
		per_sec(ios, secs));
	if (bytes)  /* not for flushes */
		fprintf(f, "%.2f MB/s, ", per_sec(*bytes, secs) / 1e6);
	fprintf(f, "latency min %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f us\n",
		lat_us(h, 0), lat_us(h, 50), lat_us(h, 99), lat_us(h, 99.9), lat_us(h, 100),
		bb_hist_mean(h) / 1e3);
}

static void dirs_text(FILE *f, const struct bb_result *r)
{
	const struct bb_counters *c = &r->c;

	if (!!c->reads + !!c->writes + !!c->flushes < 2)
		return;
	if (c->reads)
		dir_text(f, "  read:", c->reads, &c->io_bytes[BB_DIR_READ],
			 &r->lat[BB_DIR_READ], r->secs);
	if (c->writes)
		dir_text(f, "  write:", c->writes, &c->io_bytes[BB_DIR_WRITE],
			 &r->lat[BB_DIR_WRITE], r->secs);
	if (c->flushes)
		dir_text(f, "  flush:", c->flushes, NULL, &r->lat[BB_DIR_SYNC], r->secs);
}

/* Share of the queues' threads' wall time spent waiting for the device
 * (two threads on one CPU: each one's share of its own time, roughly). */
static double wait_pct(const struct bb_opts *o, const struct bb_result *r)
{
	double all = r->secs * 1e9 * (o->queues ? o->queues : 1);

	return all > 0 ? 100.0 * (double)r->c.wait_ns / all : 0.0;
}

void bb_report_text(FILE *f, const struct bb_opts *o, const struct bb_result *r)
{
	const struct bb_counters *c = &r->c;
	struct bb_hist lat;  /* reads and writes: what this line always said */

	bb_hist_init(&lat);
	bb_hist_merge(&lat, &r->lat[BB_DIR_READ]);
	bb_hist_merge(&lat, &r->lat[BB_DIR_WRITE]);

	fprintf(f, "blkbench: %s %s bs=%llu iodepth=%u queues=%u offset=%llu size=%llu%s\n",
		o->dev, bb_rw_name(o->rw), (unsigned long long)o->bs, o->iodepth,
		o->queues, (unsigned long long)o->offset, (unsigned long long)o->size,
		o->verify ? " verify" : "");
	fprintf(f, "ios:       %llu (reads %llu, writes %llu), flushes %llu, in %.3f s\n",
		(unsigned long long)c->ios, (unsigned long long)c->reads,
		(unsigned long long)c->writes, (unsigned long long)c->flushes, r->secs);
	fprintf(f, "IOPS:      %.1f\n", per_sec(c->ios, r->secs));
	fprintf(f, "MB/s:      %.2f\n", per_sec(c->bytes, r->secs) / 1e6);
	fprintf(f, "latency:   min %.1f  p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f us\n",
		lat_us(&lat, 0), lat_us(&lat, 50), lat_us(&lat, 99), lat_us(&lat, 99.9),
		lat_us(&lat, 100), bb_hist_mean(&lat) / 1e3);
	dirs_text(f, r);
	errors_text(f, c);
	fprintf(f, "requests:  submitted %llu, completed ok %llu, completed with error %llu, "
		"resubmitted %llu (submitted %s ok + error)\n",
		(unsigned long long)c->submitted, (unsigned long long)c->completed_ok,
		(unsigned long long)c->completed_error, (unsigned long long)c->resubmitted,
		c->submitted == c->completed_ok + c->completed_error ? "==" : "!=");
	if (c->bursts)
		fprintf(f, "driver:    %.1f requests per kick, %llu polls (%.0f%% empty), "
			"waited for the device %.0f%% of the time\n",
			(double)c->submitted / (double)c->bursts, (unsigned long long)c->polls,
			c->polls ? 100.0 * (double)c->empty_polls / (double)c->polls : 0.0,
			wait_pct(o, r));
	if (o->reconnect > 0 || r->reconnects)
		fprintf(f, "reconnects: %u (%llu failed I/Os kept to redo, %llu never redone)\n",
			r->reconnects, (unsigned long long)c->redo,
			(unsigned long long)c->unrecovered);
	if (o->verify)
		fprintf(f, "verify:    %llu failures, %llu units of %u bytes checked, %llu skipped\n",
			(unsigned long long)c->verify_failed,
			(unsigned long long)c->verify_checked, bb_unit_size(o->bs),
			(unsigned long long)c->verify_skipped);
	fprintf(f, "result:    %s\n", bb_result_failed(r) ? "FAIL" : "ok");
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}


/* ---- --json: fio 3.33's --output-format=json layout ----
 *
 * The key names, nesting and units are fio's (stat.c, show_thread_status_json
 * and show_ddir_status_json), so that fio's tools and users' scripts read
 * blkbench's output as they read fio's. Differences, all deliberate:
 * - One line, no spaces: the tests and the guest scripts grep it.
 * - One job, "blkbench", for the whole run: each queue's thread is a fio
 *   job of numjobs=queues, and the figures are their sum, as fio's with
 *   group_reporting. "job options" says so.
 * - Latency: a request is timed from just before it goes to the queue
 *   (uvio_blk_read/write/flush: a few ring stores, and the notify) to the
 *   poll that sees it complete. uvio has no separate submission step to time,
 *   so clat_ns and lat_ns are the same figures, and slat_ns is empty (N 0),
 *   as fio's for its synchronous engines. Both carry percentiles, as fio's
 *   with clat_percentiles=1 and lat_percentiles=1.
 * - Rates divide by the run's exact time, not by its whole milliseconds as
 *   fio does: a short run's figures are not off by up to 1/runtime.
 * - latency_ns/us/ms are to the histogram's resolution (hist.h, 1/64): a
 *   request within that of a band's edge may count in the band beside.
 * - Not there: what blkbench does not measure (iodepth_level, bw and iops
 *   samples, disk_util).
 * - What fio has no key for (errors by errno, verify, the request balance,
 *   reconnects, the verdict) is in the job's "blkbench" object.
 */

static const double fio_percentiles[] = {
	1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99,
};

static const char *const dir_keys[BB_DIRS] = {
	[BB_DIR_READ] = "read", [BB_DIR_WRITE] = "write", [BB_DIR_TRIM] = "trim",
	[BB_DIR_SYNC] = "sync",
};

static uint64_t dir_ios(const struct bb_counters *c, enum bb_dir d)
{
	switch (d) {
	case BB_DIR_READ:
		return c->reads;
	case BB_DIR_WRITE:
		return c->writes;
	case BB_DIR_SYNC:
		return c->flushes;
	default:
		return 0;
	}
}

/* "NAME":{"min","max","mean","stddev","N"[,"percentile"]}: fio leaves the
 * percentiles out while empty, and says min 0 then. */
static void json_lat(FILE *f, const char *name, const struct bb_hist *h,
		     bool percentiles)
{
	fprintf(f, "\"%s\":{\"min\":%llu,\"max\":%llu,\"mean\":%f,\"stddev\":%f,\"N\":%llu",
		name, (unsigned long long)(h->count ? h->min : 0),
		(unsigned long long)h->max, bb_hist_mean(h), bb_hist_stddev(h),
		(unsigned long long)h->count);
	if (percentiles && h->count) {
		const char *sep = "";

		fprintf(f, ",\"percentile\":{");
		for (size_t i = 0; i < sizeof(fio_percentiles) / sizeof(fio_percentiles[0]); i++) {
			fprintf(f, "%s\"%f\":%llu", sep, fio_percentiles[i],
				(unsigned long long)bb_hist_percentile(h, fio_percentiles[i]));
			sep = ",";
		}
		fputc('}', f);
	}
	fputc('}', f);
}

/* One of "read", "write", "trim". bw is KiB/s, bw_bytes B/s, runtime ms (0
 * for a direction that did nothing, as fio's). */
static void json_ddir(FILE *f, const struct bb_result *r, enum bb_dir d)
{
	uint64_t ios = dir_ios(&r->c, d), bytes = r->c.io_bytes[d];
	double secs = ios ? r->secs : 0;
	uint64_t bw_bytes = secs > 0 ? (uint64_t)((double)bytes / secs) : 0;
	static const struct bb_hist empty = { .min = UINT64_MAX };

	fprintf(f, "\"%s\":{\"io_bytes\":%llu,\"io_kbytes\":%llu,\"bw_bytes\":%llu,"
		"\"bw\":%llu,\"iops\":%f,\"runtime\":%llu,\"total_ios\":%llu,"
		"\"short_ios\":0,\"drop_ios\":0,", dir_keys[d],
		(unsigned long long)bytes, (unsigned long long)(bytes >> 10),
		(unsigned long long)bw_bytes, (unsigned long long)(bw_bytes >> 10),
		per_sec(ios, secs), (unsigned long long)(secs * 1e3 + 0.5),
		(unsigned long long)ios);
	json_lat(f, "slat_ns", &empty, false);
	fputc(',', f);
	json_lat(f, "clat_ns", &r->lat[d], true);
	fputc(',', f);
	json_lat(f, "lat_ns", &r->lat[d], true);
	fputc('}', f);
}

/* fio's "sync": flushes (--flush-every), their count and latency. */
static void json_sync(FILE *f, const struct bb_result *r)
{
	fprintf(f, "\"sync\":{\"total_ios\":%llu,", (unsigned long long)r->c.flushes);
	json_lat(f, "lat_ns", &r->lat[BB_DIR_SYNC], true);
	fputc('}', f);
}

/* fio's job "error": the errno that failed the job; EILSEQ for a verify
 * failure, as fio's verify says. */
static int job_error(const struct bb_result *r)
{
	if (!bb_result_failed(r))
		return 0;
	for (int e = 1; e < BB_ERRNO_SLOTS; e++)
		if (r->c.by_errno[e])
			return e;
	return r->c.verify_failed ? EILSEQ : EIO;
}

/* fio keeps every option as the string it was given. */
static void json_options(FILE *f, const struct bb_opts *o)
{
	fprintf(f, "\"job options\":{\"name\":\"blkbench\",\"filename\":");
	json_str(f, o->dev);
	fprintf(f, ",\"rw\":\"%s\",\"bs\":\"%llu\",\"iodepth\":\"%u\",\"numjobs\":\"%u\","
		"\"group_reporting\":\"1\",\"offset\":\"%llu\",\"size\":\"%llu\","
		"\"randseed\":\"%llu\"", bb_rw_name(o->rw), (unsigned long long)o->bs,
		o->iodepth, o->queues, (unsigned long long)o->offset,
		(unsigned long long)o->size, (unsigned long long)o->seed);
	if (o->rw == BB_RANDRW)
		fprintf(f, ",\"rwmixread\":\"%u\"", o->rwmixread);
	if (o->runtime > 0)
		fprintf(f, ",\"runtime\":\"%g\"", o->runtime);
	if (o->io_count)
		fprintf(f, ",\"number_ios\":\"%llu\"", (unsigned long long)o->io_count);
	fprintf(f, ",\"clat_percentiles\":\"1\",\"lat_percentiles\":\"1\"}");
}

static void json_errors(FILE *f, const struct bb_counters *c)
{
	fprintf(f, "\"errors\":{\"total\":%llu", (unsigned long long)c->errors);
	for (int e = 1; e < BB_ERRNO_SLOTS; e++)
		if (c->by_errno[e])
			fprintf(f, ",\"%s\":%llu", e == BB_ERRNO_SLOTS - 1 ? "other" :
				bb_errno_name(e), (unsigned long long)c->by_errno[e]);
	fputc('}', f);
}

/* fio's job_runtime is the sum of its jobs' (here: queues') run times, and
 * its usr_cpu and sys_cpu are the CPU time over that sum: a polling thread
 * that never sleeps is near 100%. */
static void json_cpu(FILE *f, const struct bb_opts *o, const struct bb_result *r)
{
	double thread_secs = r->secs * o->queues;

	fprintf(f, ",\"job_runtime\":%llu,\"usr_cpu\":%f,\"sys_cpu\":%f,\"ctx\":%llu,"
		"\"majf\":%llu,\"minf\":%llu", (unsigned long long)(thread_secs * 1e3 + 0.5),
		thread_secs > 0 ? r->usr_secs * 100 / thread_secs : 0,
		thread_secs > 0 ? r->sys_secs * 100 / thread_secs : 0,
		(unsigned long long)r->ctx, (unsigned long long)r->majf,
		(unsigned long long)r->minf);
}

/* Requests of h below v ns, to the histogram's resolution (a bucket counts
 * where it starts). */
static uint64_t count_below(const struct bb_hist *h, uint64_t v)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < BB_HIST_BUCKETS && bb_hist_bucket_low(i) < v; i++)
		n += h->b[i];
	return n;
}

/* fio's latency_ns, latency_us, latency_ms: the percent of reads, writes
 * and trims in each band, key k holding [key k-1, key k) of the unit (the
 * first band of us and ms starts at 1 of the unit: below is the level
 * before). stat.c, io_u_mark_lat_nsec/usec/msec. */
static const unsigned lat_edges[] = { 2, 4, 10, 20, 50, 100, 250, 500, 750, 1000, 2000 };

static void json_lat_level(FILE *f, const struct bb_hist *h, unsigned level)
{
	static const char *const names[] = { "latency_ns", "latency_us", "latency_ms" };
	uint64_t unit = level == 0 ? 1 : level == 1 ? 1000 : 1000000;
	unsigned n = level == 2 ? 11 : 10;
	uint64_t lo = level ? unit : 0;
	double all = (double)h->count;

	fprintf(f, ",\"%s\":{", names[level]);
	for (unsigned k = 0; k < n; k++) {
		uint64_t hi = lat_edges[k] * unit;

		fprintf(f, "%s\"%u\":%f", k ? "," : "", lat_edges[k],
			all > 0 ? (double)(count_below(h, hi) - count_below(h, lo)) * 100 / all : 0);
		lo = hi;
	}
	if (level == 2)
		fprintf(f, ",\">=2000\":%f",
			all > 0 ? (double)(h->count - count_below(h, lo)) * 100 / all : 0);
	fputc('}', f);
}

static void json_lat_levels(FILE *f, const struct bb_result *r)
{
	struct bb_hist all;

	bb_hist_init(&all);
	for (enum bb_dir d = BB_DIR_READ; d <= BB_DIR_TRIM; d++)
		bb_hist_merge(&all, &r->lat[d]);
	for (unsigned level = 0; level < 3; level++)
		json_lat_level(f, &all, level);
}

/* What fio has no key for; the names are blkbench's before the fio layout,
 * which the host and VM tests read. */
static void json_extras(FILE *f, const struct bb_opts *o,
			const struct uvio_blk_info *in, const struct bb_result *r)
{
	const struct bb_counters *c = &r->c;

	fprintf(f, "\"blkbench\":{\"device\":");
	json_str(f, o->dev);
	fprintf(f, ",\"capacity\":%llu,\"block_size\":%u,\"queues\":%u,\"seed\":%llu,"
		"\"runtime_s\":%.6f,", (unsigned long long)in->capacity, in->block_size,
		o->queues, (unsigned long long)o->seed, r->secs);
	json_errors(f, c);
	fprintf(f, ",\"verify\":{\"enabled\":%s,\"unit\":%u,\"checked\":%llu,"
		"\"failures\":%llu,\"skipped\":%llu},", o->verify ? "true" : "false",
		bb_unit_size(o->bs), (unsigned long long)c->verify_checked,
		(unsigned long long)c->verify_failed, (unsigned long long)c->verify_skipped);
	fprintf(f, "\"queue_full\":%llu,\"requests\":{\"submitted\":%llu,"
		"\"completed_ok\":%llu,\"completed_error\":%llu,\"resubmitted\":%llu,"
		"\"redo\":%llu,\"unrecovered\":%llu,\"balanced\":%s},\"reconnects\":%u,",
		(unsigned long long)c->queue_full, (unsigned long long)c->submitted,
		(unsigned long long)c->completed_ok, (unsigned long long)c->completed_error,
		(unsigned long long)c->resubmitted, (unsigned long long)c->redo,
		(unsigned long long)c->unrecovered,
		c->submitted == c->completed_ok + c->completed_error ? "true" : "false",
		r->reconnects);
	fprintf(f, "\"bursts\":%llu,\"polls\":%llu,\"empty_polls\":%llu,"
		"\"device_wait_pct\":%.1f,", (unsigned long long)c->bursts,
		(unsigned long long)c->polls, (unsigned long long)c->empty_polls,
		wait_pct(o, r));
	fprintf(f, "\"submit_failed\":%s,\"ok\":%s}", r->submit_failed ? "true" : "false",
		bb_result_failed(r) ? "false" : "true");
}

/* fio's "time": ctime() without its newline, local time. */
static void json_time(FILE *f, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[64] = "";

	if (localtime_r(&t, &tm))
		strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(f, "\"timestamp\":%lld,\"timestamp_ms\":%lld,\"time\":\"%s\"",
		(long long)(ms / 1000), (long long)ms, buf);
}

void bb_report_json(FILE *f, const struct bb_opts *o,
		    const struct uvio_blk_info *in, const struct bb_result *r)
{
	fprintf(f, "{\"fio version\":\"blkbench (uvio) %s\",", uvio_version());
	json_time(f, r->end_ms);
	fprintf(f, ",\"jobs\":[{\"jobname\":\"blkbench\",\"groupid\":0,\"error\":%d,"
		"\"eta\":0,\"elapsed\":%llu,", job_error(r),
		(unsigned long long)(r->secs + 0.5));
	json_options(f, o);
	for (enum bb_dir d = BB_DIR_READ; d <= BB_DIR_TRIM; d++) {
		fputc(',', f);
		json_ddir(f, r, d);
	}
	fputc(',', f);
	json_sync(f, r);
	json_cpu(f, o, r);
	json_lat_levels(f, r);
	fputc(',', f);
	json_extras(f, o, in, r);
	fprintf(f, "}]}\n");
}

/* ---- --latency-log ---- */

int bb_latlog_line(char *buf, size_t len, uint64_t t_ms, uint64_t lat_ns,
		   enum bb_dir d, uint64_t bs, uint64_t offset)
{
	return snprintf(buf, len, "%llu, %llu, %u, %llu, %llu, 0\n",
			(unsigned long long)t_ms, (unsigned long long)lat_ns, (unsigned)d,
			(unsigned long long)bs, (unsigned long long)offset);
}
