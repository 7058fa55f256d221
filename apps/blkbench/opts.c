/* SPDX-License-Identifier: MIT */
/*
 * blkbench command line: getopt_long and the shared parsers of
 * apps/common/cli.h. getopt's state is reset on each call, so the unit
 * tests can parse again and again.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include <uvio/uvio.h>

#include "../common/cli.h"
#include "blockhdr.h"
#include "completion.h"
#include "opts.h"

enum opt_id {
	O_RW = 256, O_MIX, O_BS, O_IODEPTH, O_QUEUES, O_RUNTIME, O_IOCOUNT,
	O_OFFSET, O_SIZE, O_VERIFY, O_SEED, O_GEN, O_JSON, O_LATLOG, O_FLUSH,
	O_OP, O_UNMAP, O_NOHUGE, O_RECONNECT, O_VERSION, O_COMPLETION,
};

static const struct option long_opts[] = {
	{ "dev", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ "rw", required_argument, NULL, O_RW },
	{ "rwmixread", required_argument, NULL, O_MIX },
	{ "bs", required_argument, NULL, O_BS },
	{ "iodepth", required_argument, NULL, O_IODEPTH },
	{ "queues", required_argument, NULL, O_QUEUES },
	{ "runtime", required_argument, NULL, O_RUNTIME },
	{ "io-count", required_argument, NULL, O_IOCOUNT },
	{ "offset", required_argument, NULL, O_OFFSET },
	{ "size", required_argument, NULL, O_SIZE },
	{ "verify", no_argument, NULL, O_VERIFY },
	{ "seed", required_argument, NULL, O_SEED },
	{ "generation", required_argument, NULL, O_GEN },
	{ "json", no_argument, NULL, O_JSON },
	{ "latency-log", required_argument, NULL, O_LATLOG },
	{ "flush-every", required_argument, NULL, O_FLUSH },
	{ "op", required_argument, NULL, O_OP },
	{ "unmap", no_argument, NULL, O_UNMAP },
	{ "no-huge", no_argument, NULL, O_NOHUGE },
	{ "reconnect", required_argument, NULL, O_RECONNECT },
	{ "completion", required_argument, NULL, O_COMPLETION },
	{ NULL, 0, NULL, 0 },
};

static const char *const rw_names[] = {
	[BB_READ] = "read", [BB_WRITE] = "write", [BB_RANDREAD] = "randread",
	[BB_RANDWRITE] = "randwrite", [BB_RANDRW] = "randrw",
};

static const char *const op_names[] = {
	[BB_OP_NONE] = "none", [BB_OP_FLUSH] = "flush",
	[BB_OP_WRITE_ZEROES] = "write-zeroes", [BB_OP_DISCARD] = "discard",
	[BB_OP_GET_ID] = "get-id",
};

const char *bb_rw_name(enum bb_rw rw) { return rw_names[rw]; }
const char *bb_op_name(enum bb_op op) { return op_names[op]; }
bool bb_rw_is_random(enum bb_rw rw) { return rw >= BB_RANDREAD; }
bool bb_rw_writes(enum bb_rw rw) { return rw == BB_WRITE || rw >= BB_RANDWRITE; }
bool bb_rw_reads(enum bb_rw rw) { return rw != BB_WRITE && rw != BB_RANDWRITE; }

/* help2man reads this: "Usage:" first, then one option per line. */
void bb_usage(FILE *f)
{
	fputs(
"Usage: blkbench -d DEV [OPTION]...\n"
"Load and check a virtio-blk device through uvio: a fio-like workload, or\n"
"one command (--op).\n"
"\n"
"  -d, --dev DEV         the device: pci:BDF (e.g. pci:0000:01:00.0) or\n"
"                        vhost-user:PATH[,server][,queues=N]\n"
"  --rw MODE             read, write, randread, randwrite or randrw\n"
"                        (default randread)\n"
"  --rwmixread P         percent reads for randrw (default 50)\n"
"  --bs SIZE             I/O size (default 4k)\n"
"  --iodepth N           requests in flight per queue (default 1)\n"
"  --queues N            queues, one polling thread each (default 1)\n"
"  --runtime TIME        how long to run (default 5s, unless --io-count or\n"
"                        --verify is given)\n"
"  --io-count N          stop after N reads+writes over all queues (with\n"
"                        --runtime: whichever comes first)\n"
"  --offset SIZE         where the range to work on starts (default 0)\n"
"  --size SIZE           the range's length (default: to the device's end)\n"
"  --verify              write verifiable blocks, or check them on read;\n"
"                        without a limit one pass over the range: each block\n"
"                        once\n"
"  --seed N              the verify stamp's seed (default 0)\n"
"  --generation N        the verify stamp's generation (default 1)\n"
"  --flush-every N       a flush after every N writes, per queue\n"
"  --json                the report in fio's --output-format=json layout, one line\n"
"  --latency-log FILE    fio's lat log, a line per read/write: msec, nsec, ddir, bs, offset, prio\n"
"  --no-huge             DMA memory from 4K pinned pages (VFIO with an\n"
"                        IOMMU)\n"
"  --reconnect TIME      vhost-user: when the back-end goes away, count the\n"
"                        I/Os that failed, wait up to TIME for it to come\n"
"                        back, reconnect and send them again (pci: no\n"
"                        effect)\n"
"  --completion MODE     poll (spin, the default), irq (sleep on the queue's\n"
"                        interrupt whenever nothing completed) or hybrid\n"
"                        (poll a while, then sleep); pci: VFIO\n"
"  --op CMD              flush, write-zeroes, discard or get-id: one command\n"
"                        and exit (--offset and --size give the range)\n"
"  --unmap               with --op write-zeroes: let the device unmap\n"
"  -h, --help            this text, and exit\n"
"  --version             the version, and exit\n"
"\n"
"Numbers are decimal (010 is ten). SIZE and --io-count take k, M, G, T\n"
"suffixes, powers of 1024 (4k, 4KiB, 1M). TIME is seconds, or a number with\n"
"us, ms, s, m, h or d (1.5, 500ms, 10m, 2h).\n"
"\n"
"Verify format: a 32-byte header {\"UVIOBLK1\", lba, seed, generation,\n"
"crc32c} at the start of every unit of min(4096, largest power of two\n"
"dividing bs) bytes; the rest is data derived from (seed, lba, generation).\n"
"\n"
"Report: submitted = completed ok + completed with error; resubmitted\n"
"counts the failed I/Os sent again after a reconnect (they are in submitted\n"
"too).\n"
"\n"
"Exit status: 0 all good, 1 I/O error or verify failure, 2 usage error.\n"
"With --reconnect, I/Os that failed because the back-end went away and\n"
"then succeeded after the reconnect do not fail the run (they are\n"
"reported).\n", f);
}

static int usage_fail(char *msg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int usage_fail(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return 2;
}

static const char *opt_name(int id)
{
	for (const struct option *lo = long_opts; lo->name; lo++)
		if (lo->val == id)
			return lo->name;
	return "?";
}

static int lookup(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return (int)i;
	return -1;
}

static int size_opt(struct bb_opts *o, int id, const char *v, char *msg,
		    size_t len)
{
	uint64_t u;
	int rc = cli_parse_size(v, &u);

	if (rc)
		return usage_fail(msg, len, "--%s: %s '%s' (a number with an optional "
				  "k/M/G/T suffix)", opt_name(id),
				  rc == -ERANGE ? "too large:" : "bad size", v);
	if (id == O_BS)
		o->bs = u;
	else if (id == O_OFFSET)
		o->offset = u;
	else if (id == O_SIZE)
		o->size = u, o->size_set = true;
	else
		o->io_count = u, o->io_count_set = true;
	return 0;
}

/* A decimal option in [0, max]. */
static int uint_opt(int id, const char *v, uint64_t max, uint64_t *out,
		    char *msg, size_t len)
{
	if (cli_parse_uint(v, 0, max, out) && max == UINT64_MAX)
		return usage_fail(msg, len, "--%s: bad number '%s' (decimal)",
				  opt_name(id), v);
	if (cli_parse_uint(v, 0, max, out))
		return usage_fail(msg, len, "--%s: bad number '%s' (decimal, 0..%llu)",
				  opt_name(id), v, (unsigned long long)max);
	return 0;
}

static int count_opt(struct bb_opts *o, int id, const char *v, char *msg,
		     size_t len)
{
	uint64_t u = 0;
	unsigned max = id == O_IODEPTH ? BB_IODEPTH_MAX : 65535;

	if (cli_parse_uint(v, 1, max, &u))
		return usage_fail(msg, len, "--%s must be 1..%u, not '%s'",
				  opt_name(id), max, v);
	*(id == O_IODEPTH ? &o->iodepth : &o->queues) = (unsigned)u;
	return 0;
}

static int time_opt(struct bb_opts *o, int id, const char *v, char *msg,
		    size_t len)
{
	double max = id == O_RUNTIME ? 1e9 : BB_RECONNECT_MAX, t = 0;
	bool ok = !cli_parse_time(v, &t) && t > 0 && t <= max;

	if (!ok && id == O_RECONNECT)
		return usage_fail(msg, len, "--reconnect must be a positive time, at most "
				  "%.0f s (e.g. 30, 500ms, 10m), not '%s'", max, v);
	if (!ok)
		return usage_fail(msg, len, "--runtime must be a positive time (e.g. 30, "
				  "500ms, 10m, 2h), not '%s'", v);
	if (id == O_RUNTIME)
		o->runtime = t, o->runtime_set = true;
	else
		o->reconnect = t;
	return 0;
}

static int name_opt(struct bb_opts *o, int id, const char *v, char *msg,
		    size_t len)
{
	int i;

	if (id == O_RW) {
		i = lookup(rw_names, 5, v);
		if (i < 0)
			return usage_fail(msg, len, "unknown --rw '%s' (read|write|randread|randwrite|randrw)", v);
		o->rw = (enum bb_rw)i;
		return 0;
	}
	i = lookup(op_names, 5, v);
	if (i <= 0)
		return usage_fail(msg, len, "unknown --op '%s' (flush|write-zeroes|discard|get-id)", v);
	o->op = (enum bb_op)i;
	return 0;
}

/* One option with its value (NULL for flags). */
static int apply(struct bb_opts *o, int id, const char *v, char *msg, size_t len)
{
	uint64_t u = 0;

	switch (id) {
	case 'd': o->dev = v; return 0;
	case 'h': o->help = true; return 0;
	case O_VERSION: o->version = true; return 0;
	case O_RW: case O_OP: return name_opt(o, id, v, msg, len);
	case O_MIX:
		if (cli_parse_uint(v, 0, 100, &u))
			return usage_fail(msg, len, "--rwmixread must be 0..100, not '%s'", v);
		o->rwmixread = (unsigned)u;
		return 0;
	case O_BS: case O_OFFSET: case O_SIZE: case O_IOCOUNT:
		return size_opt(o, id, v, msg, len);
	case O_IODEPTH: case O_QUEUES: return count_opt(o, id, v, msg, len);
	case O_RUNTIME: case O_RECONNECT: return time_opt(o, id, v, msg, len);
	case O_COMPLETION:
		o->completion = bb_completion_parse(v);
		if (o->completion < 0)
			return usage_fail(msg, len, "unknown --completion '%s' (poll|irq|hybrid)", v);
		return 0;
	case O_SEED: return uint_opt(id, v, UINT64_MAX, &o->seed, msg, len);
	case O_GEN:
		if (uint_opt(id, v, UINT32_MAX, &u, msg, len))
			return 2;
		o->generation = (uint32_t)u;
		return 0;
	case O_FLUSH: return uint_opt(id, v, UINT64_MAX, &o->flush_every, msg, len);
	case O_LATLOG: o->latency_log = v; return 0;
	case O_VERIFY: o->verify = true; return 0;
	case O_JSON: o->json = true; return 0;
	case O_UNMAP: o->unmap = true; return 0;
	case O_NOHUGE: o->no_huge = true; return 0;
	}
	return usage_fail(msg, len, "internal: option %d", id);
}

/* What can be checked without the device. */
static int check(struct bb_opts *o, char *msg, size_t len)
{
	if (!o->dev)
		return usage_fail(msg, len, "missing -d DEV (e.g. -d pci:0000:01:00.0)");
	if (o->bs == 0)
		return usage_fail(msg, len, "--bs must be greater than 0");
	if (o->bs % 512)
		return usage_fail(msg, len, "--bs must be a multiple of the device block size (at least 512)");
	if (o->bs > BB_BS_MAX)
		return usage_fail(msg, len, "--bs must be at most %llu", (unsigned long long)BB_BS_MAX);
	if (o->offset % 512)
		return usage_fail(msg, len, "--offset must be a multiple of 512");
	if (o->size_set && (o->size == 0 || o->size % 512))
		return usage_fail(msg, len, "--size must be a non-zero multiple of 512");
	if (o->io_count_set && o->io_count == 0)
		return usage_fail(msg, len, "--io-count must be at least 1");
	if (o->unmap && o->op != BB_OP_WRITE_ZEROES)
		return usage_fail(msg, len, "--unmap goes with --op write-zeroes");
	if (o->reconnect > 0 && o->op)
		return usage_fail(msg, len, "--reconnect goes with a workload, not --op");
	if (!o->runtime_set && !o->io_count_set && !o->verify)
		o->runtime = 5.0;
	return 0;
}

int bb_opts_parse(int argc, char **argv, struct bb_opts *o, char *msg,
		  size_t msg_len)
{
	int c;

	*o = (struct bb_opts){ .rw = BB_RANDREAD, .rwmixread = 50, .bs = 4096,
			       .iodepth = 1, .queues = 1, .generation = 1 };
	opterr = 0;
	optind = 0;     /* GNU: start over */
	/* '+': stop at the first non-option; ':': report missing values. */
	while ((c = getopt_long(argc, argv, "+:d:h", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			cli_getopt_msg(c, argv, msg, msg_len);
			return 2;
		}
		if (apply(o, c, optarg, msg, msg_len))
			return 2;
	}
	if (optind < argc)
		return usage_fail(msg, msg_len, "unexpected argument '%s'", argv[optind]);
	return o->help || o->version ? 0 : check(o, msg, msg_len);
}

int bb_opts_check_dev(const struct bb_opts *o, char *msg, size_t len)
{
	struct uvio_err err = { 0 };

	if (uvio_spec_check(o->dev, &err))
		return usage_fail(msg, len, "-d %s", err.msg);
	return 0;
}

void bb_split(uint64_t total, unsigned n, unsigned i, uint64_t *first,
	      uint64_t *count)
{
	/* total * i / n without overflow for any 64-bit total. */
	uint64_t a = (uint64_t)((unsigned __int128)total * i / n);
	uint64_t b = (uint64_t)((unsigned __int128)total * (i + 1) / n);

	*first = a;
	*count = b - a;
}

static int check_range(struct bb_opts *o, const struct uvio_blk_info *in,
		       uint64_t unit, char *msg, size_t len)
{
	const char *what = o->op ? "the device block size" : "--bs";

	if (o->offset >= in->capacity)
		return usage_fail(msg, len, "--offset %llu is past the end of the device (%llu bytes)",
			    (unsigned long long)o->offset, (unsigned long long)in->capacity);
	if (o->size_set && o->size > in->capacity - o->offset)
		return usage_fail(msg, len, "--offset + --size (%llu) is past the end of the device (%llu bytes)",
			    (unsigned long long)(o->offset + o->size),
			    (unsigned long long)in->capacity);
	if (o->size_set && o->size % unit)
		return usage_fail(msg, len, "--size must be a multiple of %s (%llu)", what,
			    (unsigned long long)unit);
	if (!o->size_set)
		o->size = (in->capacity - o->offset) / unit * unit;
	if (o->size == 0)
		return usage_fail(msg, len, "less than one block of %s (%llu) between --offset and the end of the device",
			    what, (unsigned long long)unit);
	return 0;
}

int bb_opts_check_device(struct bb_opts *o, const struct uvio_blk_info *in,
			 char *msg, size_t len)
{
	uint64_t blocks;
	int rc;

	if (o->offset % in->block_size)
		return usage_fail(msg, len, "--offset must be a multiple of the device block size (%u)",
			    in->block_size);
	if (o->op)
		return check_range(o, in, in->block_size, msg, len);
	if (o->bs % in->block_size)
		return usage_fail(msg, len, "--bs must be a multiple of the device block size (%u)",
			    in->block_size);
	if (o->queues > in->queues)
		return usage_fail(msg, len, "--queues %u: the device has %u queue%s", o->queues,
			    in->queues, in->queues == 1 ? "" : "s");
	if (o->iodepth > in->queue_size)
		return usage_fail(msg, len, "--iodepth %u is more than the queue size (%u)",
			    o->iodepth, in->queue_size);
	if (bb_rw_writes(o->rw) && in->read_only)
		return usage_fail(msg, len, "--rw %s: the device is read-only", bb_rw_name(o->rw));
	if (o->flush_every && !in->flush)
		return usage_fail(msg, len, "--flush-every: the device does not support flush");
	if (o->verify && o->offset % bb_unit_size(o->bs))
		return usage_fail(msg, len, "--offset must be a multiple of the verify unit (%u) with --verify",
			    bb_unit_size(o->bs));
	rc = check_range(o, in, o->bs, msg, len);
	if (rc)
		return rc;
	blocks = o->size / o->bs;
	if (blocks < o->queues)
		return usage_fail(msg, len, "the range holds %llu block%s of --bs, fewer than --queues %u",
			    (unsigned long long)blocks, blocks == 1 ? "" : "s", o->queues);
	/* A verify run with no limit is one pass over the range. */
	if (o->verify && !o->io_count_set && !o->runtime_set)
		o->io_count = blocks;
	return 0;
}
