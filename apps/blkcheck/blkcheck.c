/* SPDX-License-Identifier: MIT */
/*
 * blkcheck: check, on the host, a disk image that blkbench --verify wrote
 * through a guest; or write such an image (--write-image) so the checker
 * can be tried without a guest. The format is in ../blkbench/blockhdr.h.
 *
 *   blkcheck IMAGE --seed N [--bs N] [--offset B] [--size B]
 *            [--generation N] [--expect-zero OFFSET:LEN]...
 *   blkcheck --write-image IMAGE --seed N [--size B] [--bs N] [--offset B]
 *            [--generation N]
 *
 * Exit status: 0 every unit good, 1 a bad unit (or an unreadable image),
 * 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../blkbench/blockhdr.h"
#include "../common/cli.h"

#define CHUNK ((size_t)1 << 20)
#define MAX_ZERO 64
#define DETAIL_LINES 100

struct range { uint64_t off, len; };

struct args {
	const char *image;
	bool write;
	uint64_t seed, bs, offset, size;
	bool seed_set, size_set;
	uint32_t gen;
	struct range zero[MAX_ZERO];
	unsigned nzero;
};

/* help2man reads this: "Usage:" first, then one option per line. */
static const char usage_text[] =
	"Usage: blkcheck IMAGE --seed N [OPTION]...\n"
	"  or:  blkcheck --write-image IMAGE --seed N --size SIZE [OPTION]...\n"
	"Check (or write) a disk image in the blkbench --verify format: a 32-byte\n"
	"header {\"UVIOBLK1\", lba, seed, generation, crc32c} per unit of\n"
	"min(4096, largest power of two dividing --bs) bytes.\n"
	"\n"
	"  --seed N              the seed blkbench wrote with (required)\n"
	"  --bs SIZE             blkbench's --bs (default 4096)\n"
	"  --offset SIZE         where the range starts (default 0)\n"
	"  --size SIZE           the range's length (default: to the image's end;\n"
	"                        required with --write-image)\n"
	"  --generation N        blkbench's --generation (default 1)\n"
	"  --expect-zero OFFSET:LEN  bytes that must read as zero (a write-zeroes\n"
	"                        or discard range; repeatable, up to 64)\n"
	"  --write-image IMAGE   write such an image instead of checking one\n"
	"  -h, --help            this text, and exit\n"
	"  --version             the version, and exit\n"
	"\n"
	"Numbers are decimal (010 is ten); SIZE, OFFSET and LEN take k, M, G, T\n"
	"suffixes, powers of 1024 (4k, 1M).\n"
	"\n"
	"Exit status: 0 all units good, 1 a bad unit or an unreadable image, 2\n"
	"usage error.\n";

static int usage(const char *fmt, const char *arg)
	__attribute__((format(printf, 1, 0)));

static int usage(const char *fmt, const char *arg)
{
	return cli_usage_error("blkcheck", fmt, arg);
}

static int parse_zero(struct args *a, const char *s)
{
	char buf[128], *colon;
	struct range r;

	if (strlen(s) >= sizeof(buf) || a->nzero == MAX_ZERO)
		return -1;
	strcpy(buf, s);
	colon = strchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	if (cli_parse_size(buf, &r.off) || cli_parse_size(colon + 1, &r.len) || !r.len ||
	    r.off + r.len < r.off)
		return -1;
	a->zero[a->nzero++] = r;
	return 0;
}

enum { O_WRITE = 256, O_SEED, O_BS, O_OFFSET, O_SIZE, O_GEN, O_ZERO, O_VERSION };

static const struct option long_opts[] = {
	{ "write-image", required_argument, NULL, O_WRITE },
	{ "seed", required_argument, NULL, O_SEED },
	{ "bs", required_argument, NULL, O_BS },
	{ "offset", required_argument, NULL, O_OFFSET },
	{ "size", required_argument, NULL, O_SIZE },
	{ "generation", required_argument, NULL, O_GEN },
	{ "expect-zero", required_argument, NULL, O_ZERO },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* One option and its value: 0 or 2 (usage error, said). */
static int apply(struct args *a, int c, const char *v)
{
	uint64_t g;

	switch (c) {
	case O_WRITE:
		a->write = true;
		a->image = v;
		return 0;
	case O_SEED:
		if (cli_parse_uint(v, 0, UINT64_MAX, &a->seed))
			return usage("--seed: bad number '%s' (decimal)", v);
		a->seed_set = true;
		return 0;
	case O_BS:
		if (cli_parse_size(v, &a->bs) || !a->bs || a->bs % 512)
			return usage("--bs must be a non-zero multiple of 512, not '%s'", v);
		return 0;
	case O_OFFSET:
		if (cli_parse_size(v, &a->offset))
			return usage("--offset: bad size '%s'", v);
		return 0;
	case O_SIZE:
		if (cli_parse_size(v, &a->size) || !a->size)
			return usage("--size: bad size '%s'", v);
		a->size_set = true;
		return 0;
	case O_GEN:
		if (cli_parse_uint(v, 0, UINT32_MAX, &g))
			return usage("--generation: bad number '%s' (decimal, 0..4294967295)", v);
		a->gen = (uint32_t)g;
		return 0;
	case O_ZERO:
		if (parse_zero(a, v))
			return usage("--expect-zero wants OFFSET:LEN (LEN > 0, at most 64 ranges), not '%s'", v);
		return 0;
	}
	return usage("internal: option %s", "?");
}

/* What the options say together. 0 or 2. */
static int check_args(const struct args *a)
{
	char unit[16];

	if (!a->image)
		return usage("%s", "no IMAGE given");
	if (!a->seed_set)
		return usage("%s", "--seed is required (the seed blkbench wrote with)");
	if (a->write && a->nzero)
		return usage("%s", "--expect-zero is for checking, not --write-image");
	if (a->write && !a->size_set)
		return usage("%s", "--write-image needs --size");
	snprintf(unit, sizeof(unit), "%u", bb_unit_size(a->bs));
	if (a->offset % bb_unit_size(a->bs))
		return usage("--offset must be a multiple of the verify unit (%s bytes)", unit);
	if (a->size_set && a->size % bb_unit_size(a->bs))
		return usage("--size must be a multiple of the verify unit (%s bytes)", unit);
	return 0;
}

/* 0, 2 (usage error) or 3 (--help or --version: done). */
static int parse_args(int argc, char **argv, struct args *a)
{
	char msg[128];
	int c;

	*a = (struct args){ .bs = 4096, .gen = 1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 3;
		}
		if (c == O_VERSION)
			return cli_print_version("blkcheck"), 3;
		if (c == '?' || c == ':') {
			cli_getopt_msg(c, argv, msg, sizeof(msg));
			return usage("%s", msg);
		}
		if (apply(a, c, optarg))
			return 2;
	}
	/* getopt_long moved IMAGE (and anything else) to the end. */
	for (; optind < argc; optind++) {
		if (a->image)
			return usage("unexpected argument '%s'", argv[optind]);
		a->image = argv[optind];
	}
	return check_args(a);
}

/* Remove the image write_image() created, so that an error leaves no
 * half-written file behind; one that was there before is left alone. */
static int write_failed(const struct args *a, bool created, const char *what)
{
	fprintf(stderr, "blkcheck: %s: %s%s\n", a->image, what, strerror(errno));
	if (created)
		unlink(a->image);
	return 1;
}

/* The image, created if it is not there: *created says which. */
static int open_image(const char *path, bool *created)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY);
	return fd;
}

/* A short write is retried, so that a failure comes with its errno
 * (ENOSPC, EFBIG) rather than a count. */
static int pwrite_all(int fd, const uint8_t *buf, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, buf, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -1 : (errno = EIO, -1);
		buf += w;
		off += (uint64_t)w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_image(const struct args *a)
{
	uint32_t unit = bb_unit_size(a->bs);
	uint8_t *buf = malloc(CHUNK);
	bool created = false;
	int fd = buf ? open_image(a->image, &created) : -1;

	if (fd < 0) {
		free(buf);
		return write_failed(a, created, "");
	}
	for (uint64_t done = 0; done < a->size;) {
		size_t n = a->size - done < CHUNK ? (size_t)(a->size - done) : CHUNK;

		for (size_t k = 0; k < n; k += unit)
			bb_unit_fill(buf + k, unit, (a->offset + done + k) / unit, a->seed, a->gen);
		if (pwrite_all(fd, buf, n, a->offset + done)) {
			close(fd);
			free(buf);
			return write_failed(a, created, "write: ");
		}
		done += n;
	}
	free(buf);
	if (close(fd))
		return write_failed(a, created, "");
	printf("blkcheck: wrote %llu units of %u bytes at offset %llu, seed %llu, generation %u\n",
	       (unsigned long long)(a->size / unit), unit, (unsigned long long)a->offset,
	       (unsigned long long)a->seed, a->gen);
	return 0;
}

struct tally {
	uint64_t ok, bad;
	unsigned shown;
};

static void report_bad(struct tally *t, uint64_t lba, uint64_t off, const char *why)
{
	t->bad++;
	if (t->shown++ < DETAIL_LINES)
		printf("blkcheck: lba %llu (offset %llu): %s\n", (unsigned long long)lba,
		       (unsigned long long)off, why);
	else if (t->shown == DETAIL_LINES + 1)
		printf("blkcheck: more bad units are not shown\n");
}

/* A unit touching an --expect-zero range: the bytes inside it must be
 * zero; the unit's header is not checked. Returns false when none does. */
static bool check_zero(const struct args *a, const uint8_t *p, uint64_t off,
		       uint32_t unit, struct tally *t)
{
	bool touched = false;

	for (unsigned i = 0; i < a->nzero; i++) {
		uint64_t lo = a->zero[i].off > off ? a->zero[i].off : off;
		uint64_t hi = a->zero[i].off + a->zero[i].len;

		if (hi > off + unit)
			hi = off + unit;
		if (lo >= hi)
			continue;
		if (!touched)
			touched = true;
		if (!bb_is_zero(p + (lo - off), hi - lo)) {
			char why[96];

			snprintf(why, sizeof(why), "not zero inside --expect-zero %llu:%llu",
				 (unsigned long long)a->zero[i].off,
				 (unsigned long long)a->zero[i].len);
			report_bad(t, off / unit, off, why);
			return true;
		}
	}
	if (touched)
		t->ok++;
	return touched;
}

static bool in_zero_or_range(const struct args *a, uint64_t off, uint32_t unit,
			     uint64_t end)
{
	if (off >= a->offset && off < end)
		return true;
	for (unsigned i = 0; i < a->nzero; i++)
		if (a->zero[i].off < off + unit && a->zero[i].off + a->zero[i].len > off)
			return true;
	return false;
}

static int check_image(struct args *a)
{
	uint32_t unit = bb_unit_size(a->bs);
	int fd = open(a->image, O_RDONLY);
	uint8_t *buf = malloc(CHUNK);
	struct tally t = { 0 };
	uint64_t isize, end, lo, hi;
	struct stat st;
	char why[96];

	if (fd < 0 || !buf || fstat(fd, &st)) {
		fprintf(stderr, "blkcheck: %s: %s\n", a->image, strerror(errno));
		free(buf);
		return 1;
	}
	isize = (uint64_t)st.st_size;
	if (!a->size_set)
		a->size = a->offset < isize ? (isize - a->offset) / unit * unit : 0;
	end = a->offset + a->size;
	lo = a->offset;
	hi = end;
	for (unsigned i = 0; i < a->nzero; i++) {
		if (a->zero[i].off / unit * unit < lo)
			lo = a->zero[i].off / unit * unit;
		if (a->zero[i].off + a->zero[i].len > hi)
			hi = a->zero[i].off + a->zero[i].len;
	}
	hi = (hi + unit - 1) / unit * unit;
	if (hi > isize || !a->size) {
		fprintf(stderr, "blkcheck: %s is %llu bytes; the range to check ends at %llu\n",
			a->image, (unsigned long long)isize, (unsigned long long)hi);
		close(fd);
		free(buf);
		return 1;
	}
	for (uint64_t pos = lo; pos < hi;) {
		size_t n = hi - pos < CHUNK ? (size_t)(hi - pos) : CHUNK;

		if (pread(fd, buf, n, (off_t)pos) != (ssize_t)n) {
			fprintf(stderr, "blkcheck: %s: read at %llu: %s\n", a->image,
				(unsigned long long)pos, errno ? strerror(errno) : "short read");
			close(fd);
			free(buf);
			return 1;
		}
		for (size_t k = 0; k < n; k += unit) {
			uint64_t off = pos + k;

			if (!in_zero_or_range(a, off, unit, end) ||
			    check_zero(a, buf + k, off, unit, &t))
				continue;
			if (bb_unit_check(buf + k, unit, off / unit, a->seed, a->gen, why,
					  sizeof(why)) == BB_UNIT_OK)
				t.ok++;
			else
				report_bad(&t, off / unit, off, why);
		}
		pos += n;
	}
	close(fd);
	free(buf);
	printf("blkcheck: %llu units ok, %llu bad\n", (unsigned long long)t.ok,
	       (unsigned long long)t.bad);
	return t.bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);

	if (rc)
		return rc == 3 ? 0 : rc;
	return a.write ? write_image(&a) : check_image(&a);
}
