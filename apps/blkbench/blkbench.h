/* SPDX-License-Identifier: MIT */
/* blkbench: what the workload engine, verify and the report share. */
#ifndef BLKBENCH_H
#define BLKBENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <uvio/blk.h>

#include "hist.h"
#include "opts.h"

/*
 * Directions, numbered as fio numbers them (enum fio_ddir, io_ddir.h): the
 * ddir column of --latency-log and the read / write / trim / sync objects
 * of --json. The workload issues no trim; its statistics stay empty, as
 * fio's do for a job that trims nothing.
 */
enum bb_dir { BB_DIR_READ, BB_DIR_WRITE, BB_DIR_TRIM, BB_DIR_SYNC, BB_DIRS };

/* Errors are counted by errno; larger values share the last slot. */
#define BB_ERRNO_SLOTS 160

/*
 * Per-thread counters. The owner stores with relaxed atomics; the progress
 * line loads `ios` and `bytes` while the run goes on. Requests are reads,
 * writes and flushes: every one the queue took completes exactly once, so
 * submitted == completed_ok + completed_error at the end of a run.
 */
struct bb_counters {
	uint64_t ios;            /* reads + writes completed, ok or not */
	uint64_t reads, writes, flushes;
	uint64_t bytes;          /* of reads and writes that succeeded */
	uint64_t io_bytes[BB_DIRS]; /* the same, by direction */
	uint64_t submitted;      /* requests the queue took */
	uint64_t completed_ok;
	uint64_t completed_error;
	uint64_t resubmitted;    /* of submitted: failed ones sent again */
	uint64_t redo;           /* of completed_error: kept to send again
				  * (the back-end went away; --reconnect) */
	uint64_t unrecovered;    /* of redo: never sent again (the run stopped) */
	uint64_t errors;         /* completed_error + submit errors */
	uint64_t by_errno[BB_ERRNO_SLOTS];
	uint64_t verify_checked; /* units */
	uint64_t verify_failed;
	uint64_t verify_skipped; /* randrw: read before this run wrote it */
	uint64_t queue_full;     /* -EAGAIN from submit: back-pressure */
	/* Where the time goes (bench/blk: is the driver or the device the
	 * limit?): bursts sent (one kick each), polls and how many found
	 * nothing, and the time spent polling with requests out and none
	 * back, waiting for the device. */
	uint64_t bursts;
	uint64_t polls, empty_polls;
	uint64_t wait_ns;
};

struct bb_result {
	struct bb_counters c;
	/* By direction: from just before the request went to the queue to
	 * its completion seen by the poll, in ns (fio's clat and lat: see
	 * report.c). */
	struct bb_hist lat[BB_DIRS];
	double secs;
	int64_t end_ms;          /* CLOCK_REALTIME at the end: fio's timestamp */
	double usr_secs, sys_secs; /* CPU time of the process over the run */
	uint64_t ctx, majf, minf;  /* context switches, page faults: the same */
	bool submit_failed;      /* a submit error or a broken queue stopped us */
	unsigned reconnects;     /* --reconnect: times the device came back */
};

/* How the engine learns that a device's back-end went away and brings it
 * back; the unit tests put a model device behind it. */
struct bb_link {
	/* The queues broke because the back-end went away (lock-free, any
	 * thread). */
	bool (*lost)(struct uvio_blk *blk);
	/* Connect again within timeout_ms (the transport only). */
	int (*reconnect)(struct uvio_blk *blk, int timeout_ms,
			 struct uvio_err *err);
};

/* uvio_dev_connected / uvio_dev_reconnect. */
extern const struct bb_link bb_dev_link;

static inline uint64_t bb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bb_counters_merge(struct bb_counters *dst, const struct bb_counters *src);

/* engine.c: run the workload; 0, or 1 when it could not run at all.
 * `link` NULL: bb_dev_link. */
int bb_run_workload(const struct bb_opts *o, struct uvio_blk *blk,
		    const struct bb_link *link, struct bb_result *res);

/* ops.c: one --op command; the exit status. */
int bb_run_op(const struct bb_opts *o, struct uvio_blk *blk);

/* report.c */
const char *bb_errno_name(int e);
void bb_report_device(FILE *f, const struct bb_opts *o,
		      const struct uvio_blk_info *in);
void bb_report_progress(FILE *f, double t, uint64_t ios, uint64_t bytes,
			double interval, uint64_t p99_ns);
void bb_report_text(FILE *f, const struct bb_opts *o,
		    const struct bb_result *r);
/* fio's --output-format=json layout, on one line; report.c says how. */
void bb_report_json(FILE *f, const struct bb_opts *o,
		    const struct uvio_blk_info *in, const struct bb_result *r);
/*
 * One line of fio's latency log as fio 3.33 writes it with log_offset=1
 * (iolog.c, flush_samples): "msec, nsec, ddir, bs, offset, prio". msec is
 * the completion's time from the start of the run, nsec the latency, ddir
 * enum bb_dir, prio 0 (blkbench has no I/O priorities). snprintf's value.
 */
#define BB_LATLOG_LINE_MAX 128
int bb_latlog_line(char *buf, size_t len, uint64_t t_ms, uint64_t lat_ns,
		   enum bb_dir d, uint64_t bs, uint64_t offset);
/* True when the run failed: an I/O error (other than one redone after a
 * reconnect), a verify failure, a submit error, an I/O never redone. */
bool bb_result_failed(const struct bb_result *r);

#endif
