/* SPDX-License-Identifier: MIT */
/* blkbench output: the device line, progress, the final report (text or
 * JSON). Everything but the final report goes to stderr. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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

static double lat_us(const struct bb_result *r, double p)
{
	if (!r->lat.count)
		return 0;
	if (p <= 0)
		return (double)r->lat.min / 1e3;
	return (double)bb_hist_percentile(&r->lat, p) / 1e3;
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

void bb_report_text(FILE *f, const struct bb_opts *o, const struct bb_result *r)
{
	const struct bb_counters *c = &r->c;

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
		lat_us(r, 0), lat_us(r, 50), lat_us(r, 99), lat_us(r, 99.9),
		lat_us(r, 100), r->lat.count ? (double)r->lat.sum / (double)r->lat.count / 1e3 : 0);
	errors_text(f, c);
	fprintf(f, "requests:  submitted %llu, completed ok %llu, completed with error %llu, "
		"resubmitted %llu (submitted %s ok + error)\n",
		(unsigned long long)c->submitted, (unsigned long long)c->completed_ok,
		(unsigned long long)c->completed_error, (unsigned long long)c->resubmitted,
		c->submitted == c->completed_ok + c->completed_error ? "==" : "!=");
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

void bb_report_json(FILE *f, const struct bb_opts *o,
		    const struct uvio_blk_info *in, const struct bb_result *r)
{
	const struct bb_counters *c = &r->c;

	fprintf(f, "{\"device\":");
	json_str(f, o->dev);
	fprintf(f, ",\"capacity\":%llu,\"block_size\":%u,\"rw\":\"%s\",\"rwmixread\":%u,"
		"\"bs\":%llu,\"iodepth\":%u,\"queues\":%u,\"offset\":%llu,\"size\":%llu,"
		"\"seed\":%llu,\"runtime_s\":%.6f,",
		(unsigned long long)in->capacity, in->block_size, bb_rw_name(o->rw),
		o->rwmixread, (unsigned long long)o->bs, o->iodepth, o->queues,
		(unsigned long long)o->offset, (unsigned long long)o->size,
		(unsigned long long)o->seed, r->secs);
	fprintf(f, "\"ios\":%llu,\"reads\":%llu,\"writes\":%llu,\"flushes\":%llu,"
		"\"bytes\":%llu,\"iops\":%.3f,\"mb_s\":%.3f,",
		(unsigned long long)c->ios, (unsigned long long)c->reads,
		(unsigned long long)c->writes, (unsigned long long)c->flushes,
		(unsigned long long)c->bytes, per_sec(c->ios, r->secs),
		per_sec(c->bytes, r->secs) / 1e6);
	fprintf(f, "\"lat_us\":{\"min\":%.3f,\"p50\":%.3f,\"p99\":%.3f,\"p99_9\":%.3f,"
		"\"max\":%.3f,\"mean\":%.3f},",
		lat_us(r, 0), lat_us(r, 50), lat_us(r, 99), lat_us(r, 99.9), lat_us(r, 100),
		r->lat.count ? (double)r->lat.sum / (double)r->lat.count / 1e3 : 0);
	fprintf(f, "\"errors\":{\"total\":%llu", (unsigned long long)c->errors);
	for (int e = 1; e < BB_ERRNO_SLOTS; e++)
		if (c->by_errno[e])
			fprintf(f, ",\"%s\":%llu", e == BB_ERRNO_SLOTS - 1 ? "other" :
				bb_errno_name(e), (unsigned long long)c->by_errno[e]);
	fprintf(f, "},\"verify\":{\"enabled\":%s,\"unit\":%u,\"checked\":%llu,"
		"\"failures\":%llu,\"skipped\":%llu},",
		o->verify ? "true" : "false", bb_unit_size(o->bs),
		(unsigned long long)c->verify_checked, (unsigned long long)c->verify_failed,
		(unsigned long long)c->verify_skipped);
	fprintf(f, "\"queue_full\":%llu,", (unsigned long long)c->queue_full);
	fprintf(f, "\"requests\":{\"submitted\":%llu,\"completed_ok\":%llu,"
		"\"completed_error\":%llu,\"resubmitted\":%llu,\"redo\":%llu,"
		"\"unrecovered\":%llu,\"balanced\":%s},\"reconnects\":%u,",
		(unsigned long long)c->submitted, (unsigned long long)c->completed_ok,
		(unsigned long long)c->completed_error, (unsigned long long)c->resubmitted,
		(unsigned long long)c->redo, (unsigned long long)c->unrecovered,
		c->submitted == c->completed_ok + c->completed_error ? "true" : "false",
		r->reconnects);
	fprintf(f, "\"submit_failed\":%s,\"ok\":%s}\n", r->submit_failed ? "true" : "false",
		bb_result_failed(r) ? "false" : "true");
}
