/* SPDX-License-Identifier: MIT */
/*
 * blkbench command line. A small hand-rolled parser (no getopt state) so
 * the unit tests can call it again and again.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "blockhdr.h"
#include "opts.h"

enum opt_id {
	O_DEV, O_RW, O_MIX, O_BS, O_IODEPTH, O_QUEUES, O_RUNTIME, O_IOCOUNT,
	O_OFFSET, O_SIZE, O_VERIFY, O_SEED, O_GEN, O_JSON, O_LATLOG, O_FLUSH,
	O_OP, O_UNMAP, O_NOHUGE, O_RECONNECT, O_HELP,
};

static const struct opt_def {
	const char *name;
	enum opt_id id;
	bool arg;
} opt_defs[] = {
	{ "dev", O_DEV, true },           { "rw", O_RW, true },
	{ "rwmixread", O_MIX, true },     { "bs", O_BS, true },
	{ "iodepth", O_IODEPTH, true },   { "queues", O_QUEUES, true },
	{ "runtime", O_RUNTIME, true },   { "io-count", O_IOCOUNT, true },
	{ "offset", O_OFFSET, true },     { "size", O_SIZE, true },
	{ "verify", O_VERIFY, false },    { "seed", O_SEED, true },
	{ "generation", O_GEN, true },    { "json", O_JSON, false },
	{ "latency-log", O_LATLOG, true }, { "flush-every", O_FLUSH, true },
	{ "op", O_OP, true },             { "unmap", O_UNMAP, false },
	{ "no-huge", O_NOHUGE, false },   { "reconnect", O_RECONNECT, true },
	{ "help", O_HELP, false },
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

void bb_usage(FILE *f)
{
	fputs(
"usage: blkbench -d pci:BDF [options]\n"
"  --rw read|write|randread|randwrite|randrw   (default randread)\n"
"  --rwmixread P     percent reads for randrw (default 50)\n"
"  --bs N            I/O size (default 4k; k/m/g are powers of 1024)\n"
"  --iodepth N       requests in flight per queue (default 1)\n"
"  --queues N        queues, one polling thread each (default 1)\n"
"  --runtime S       seconds (default 5, unless --io-count or --verify)\n"
"  --io-count N      stop after N reads+writes over all queues (with\n"
"                    --runtime: whichever comes first)\n"
"  --offset B --size B   the range to work on (default: the whole device)\n"
"  --verify          write verifiable blocks / check them on read; without\n"
"                    a limit one pass over the range: each block once\n"
"  --seed N --generation N   the verify stamp (defaults 0 and 1)\n"
"  --flush-every N   a flush after every N writes, per queue\n"
"  --json            the report as one JSON object on stdout\n"
"  --latency-log F   one line per I/O: ns_since_start latency_ns op\n"
"                    (time of completion; read|write|flush)\n"
"  --no-huge         DMA memory from 4K pinned pages (VFIO with an IOMMU)\n"
"  --reconnect S     vhost-user: when the back-end goes away, count the\n"
"                    I/Os that failed, wait up to S seconds for it to come\n"
"                    back, reconnect and send them again (pci: no effect)\n"
"  --op flush|write-zeroes|discard|get-id   one command and exit\n"
"                    (--offset/--size for the range, --unmap for write-zeroes)\n"
"Verify format: 32-byte header {\"UVIOBLK1\", lba, seed, generation, crc32c}\n"
"at the start of every unit of min(4096, largest power of two dividing bs)\n"
"bytes; the rest is data derived from (seed, lba, generation).\n"
"Report: submitted = completed ok + completed with error; resubmitted counts\n"
"the failed I/Os sent again after a reconnect (they are in submitted too).\n"
"Exit status: 0 all good, 1 I/O error or verify failure, 2 usage error.\n"
"With --reconnect, I/Os that failed because the back-end went away and then\n"
"succeeded after the reconnect do not fail the run (they are reported).\n", f);
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

int bb_parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v, mul = 1;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	case 't': case 'T': mul = 1ull << 40; end++; break;
	default: break;
	}
	if (*end || (v && mul > UINT64_MAX / v))
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	uint64_t v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end == 's')
		end++;
	if (errno || end == s || *end || !(v > 0) || v > 1e9)
		return -EINVAL;
	*out = v;
	return 0;
}

static int lookup(const char *const *names, unsigned n, const char *s)
{
	for (unsigned i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return (int)i;
	return -1;
}

/* One option with its value (NULL for flags). */
static int apply(struct bb_opts *o, enum opt_id id, const char *name,
		 const char *v, char *msg, size_t len)
{
	uint64_t u = 0;
	int i;

	switch (id) {
	case O_DEV: o->dev = v; return 0;
	case O_RW:
		i = lookup(rw_names, 5, v);
		if (i < 0)
			return usage_fail(msg, len, "unknown --rw '%s' (read|write|randread|randwrite|randrw)", v);
		o->rw = (enum bb_rw)i;
		return 0;
	case O_OP:
		i = lookup(op_names, 5, v);
		if (i <= 0)
			return usage_fail(msg, len, "unknown --op '%s' (flush|write-zeroes|discard|get-id)", v);
		o->op = (enum bb_op)i;
		return 0;
	case O_MIX:
		if (parse_uint(v, 100, &u))
			return usage_fail(msg, len, "--rwmixread must be 0..100, not '%s'", v);
		o->rwmixread = (unsigned)u;
		return 0;
	case O_BS: case O_OFFSET: case O_SIZE: case O_IOCOUNT:
		if (bb_parse_size(v, &u))
			return usage_fail(msg, len, "--%s: bad size '%s' (a number, k/m/g/t suffix)", name, v);
		if (id == O_BS)
			o->bs = u;
		else if (id == O_OFFSET)
			o->offset = u;
		else if (id == O_SIZE)
			o->size = u, o->size_set = true;
		else
			o->io_count = u, o->io_count_set = true;
		return 0;
	case O_IODEPTH: case O_QUEUES:
		if (parse_uint(v, UINT32_MAX, &u))
			return usage_fail(msg, len, "--%s: bad number '%s'", name, v);
		*(id == O_IODEPTH ? &o->iodepth : &o->queues) = (unsigned)u;
		return 0;
	case O_RUNTIME:
		if (parse_seconds(v, &o->runtime))
			return usage_fail(msg, len, "--runtime must be a positive number of seconds, not '%s'", v);
		o->runtime_set = true;
		return 0;
	case O_SEED:
		if (parse_uint(v, UINT64_MAX, &o->seed))
			return usage_fail(msg, len, "--seed: bad number '%s'", v);
		return 0;
	case O_GEN:
		if (parse_uint(v, UINT32_MAX, &u))
			return usage_fail(msg, len, "--generation: bad number '%s' (0..4294967295)", v);
		o->generation = (uint32_t)u;
		return 0;
	case O_FLUSH:
		if (parse_uint(v, UINT64_MAX, &o->flush_every))
			return usage_fail(msg, len, "--flush-every: bad number '%s'", v);
		return 0;
	case O_RECONNECT:
		if (parse_seconds(v, &o->reconnect) || o->reconnect > BB_RECONNECT_MAX)
			return usage_fail(msg, len, "--reconnect must be a positive number of seconds, at most %.0f, not '%s'",
				    BB_RECONNECT_MAX, v);
		return 0;
	case O_LATLOG: o->latency_log = v; return 0;
	case O_VERIFY: o->verify = true; return 0;
	case O_JSON: o->json = true; return 0;
	case O_UNMAP: o->unmap = true; return 0;
	case O_NOHUGE: o->no_huge = true; return 0;
	case O_HELP: o->help = true; return 0;
	}
	return 0;
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
	if (o->iodepth == 0 || o->iodepth > BB_IODEPTH_MAX)
		return usage_fail(msg, len, "--iodepth must be 1..%u", BB_IODEPTH_MAX);
	if (o->queues == 0 || o->queues > 65535)
		return usage_fail(msg, len, "--queues must be 1..65535");
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
	*o = (struct bb_opts){ .rw = BB_RANDREAD, .rwmixread = 50, .bs = 4096,
			       .iodepth = 1, .queues = 1, .generation = 1 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const struct opt_def *d = NULL;
		char name[32];
		size_t n;

		if (!strcmp(a, "-d"))
			a = "--dev";
		else if (!strcmp(a, "-h"))
			a = "--help";
		if (strncmp(a, "--", 2))
			return usage_fail(msg, msg_len, "unexpected argument '%s'", a);
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (n >= sizeof(name))
			return usage_fail(msg, msg_len, "unknown option '%s'", a);
		memcpy(name, a + 2, n);
		name[n] = '\0';
		for (size_t k = 0; k < sizeof(opt_defs) / sizeof(opt_defs[0]); k++)
			if (!strcmp(opt_defs[k].name, name))
				d = &opt_defs[k];
		if (!d)
			return usage_fail(msg, msg_len, "unknown option '%s' (try --help)", a);
		if (d->arg && eq)
			val = eq + 1;
		else if (d->arg && i + 1 < argc)
			val = argv[++i];
		else if (d->arg)
			return usage_fail(msg, msg_len, "--%s needs a value", name);
		else if (eq)
			return usage_fail(msg, msg_len, "--%s takes no value", name);
		if (apply(o, d->id, name, val, msg, msg_len))
			return 2;
	}
	return o->help ? 0 : check(o, msg, msg_len);
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
