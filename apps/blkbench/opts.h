/* SPDX-License-Identifier: MIT */
/* blkbench options: parsing, and the checks that need the device. */
#ifndef BLKBENCH_OPTS_H
#define BLKBENCH_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <uvio/blk.h>

enum bb_rw { BB_READ, BB_WRITE, BB_RANDREAD, BB_RANDWRITE, BB_RANDRW };

/* --completion (completion.c) */
enum bb_completion { BB_COMPLETION_POLL, BB_COMPLETION_IRQ, BB_COMPLETION_HYBRID };

enum bb_op { BB_OP_NONE, BB_OP_FLUSH, BB_OP_WRITE_ZEROES, BB_OP_DISCARD,
	     BB_OP_GET_ID };

struct bb_opts {
	const char *dev;
	enum bb_rw rw;
	unsigned rwmixread;       /* percent of reads for randrw */
	uint64_t bs;
	unsigned iodepth;
	unsigned queues;
	double runtime;           /* seconds; 0 = no time limit */
	bool runtime_set;
	uint64_t io_count;        /* reads+writes over all queues; 0 = no limit */
	bool io_count_set;
	uint64_t offset;
	uint64_t size;            /* 0 = the device from offset */
	bool size_set;
	bool verify;
	uint64_t seed;
	uint32_t generation;
	bool json;
	const char *latency_log;
	uint64_t flush_every;     /* a flush after every N writes; 0 = never */
	enum bb_op op;            /* a single command instead of a workload */
	bool unmap;
	bool no_huge;             /* DMA memory from 4K pinned pages */
	double reconnect;         /* seconds to wait for a back-end that went
				   * away; 0 = give up at once */
	int completion;           /* enum bb_completion */
	bool help;
	bool version;
};

/* Largest --bs: an I/O buffer fits easily in one DMA segment. */
#define BB_BS_MAX ((uint64_t)8 << 20)
#define BB_IODEPTH_MAX 65535u
/* Longest --reconnect wait: 24 hours, and milliseconds fit an int. */
#define BB_RECONNECT_MAX 86400.0

/*
 * Parse argv into *o (defaults filled first). Returns 0 (then see help and
 * version), or 2 for a usage error with one line (no "blkbench: " prefix,
 * no newline) in msg.
 */
int bb_opts_parse(int argc, char **argv, struct bb_opts *o, char *msg,
		  size_t msg_len);

/* -d's syntax (uvio_spec_check), before anything is opened: 0 or 2 with
 * msg as above. */
int bb_opts_check_dev(const struct bb_opts *o, char *msg, size_t msg_len);

/*
 * Checks that need the device: block size, queue count and size, range.
 * On success fills in the defaults that depend on it (size, io_count of
 * verify runs). Returns 0 or 2 with msg as above.
 */
int bb_opts_check_device(struct bb_opts *o, const struct uvio_blk_info *in,
			 char *msg, size_t msg_len);

bool bb_rw_is_random(enum bb_rw rw);
bool bb_rw_writes(enum bb_rw rw);
bool bb_rw_reads(enum bb_rw rw);
const char *bb_rw_name(enum bb_rw rw);
const char *bb_op_name(enum bb_op op);

/* Thread i of n gets blocks [*first, *first + *count) of total. */
void bb_split(uint64_t total, unsigned n, unsigned i, uint64_t *first,
	      uint64_t *count);

void bb_usage(FILE *f);

#endif
