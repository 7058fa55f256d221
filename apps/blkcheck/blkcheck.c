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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../blkbench/blockhdr.h"

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

static const char usage_text[] =
	"usage: blkcheck IMAGE --seed N [--bs N] [--offset B] [--size B] "
	"[--generation N] [--expect-zero OFFSET:LEN]...\n"
	"       blkcheck --write-image IMAGE --seed N --size B [--bs N] "
	"[--offset B] [--generation N]\n"
	"Checks (or writes) the blkbench --verify format: a 32-byte header\n"
	"{\"UVIOBLK1\", lba, seed, generation, crc32c} per unit of min(4096, largest\n"
	"power of two dividing --bs) bytes. --bs defaults to 4096, --generation to 1.\n"
	"Exit status: 0 all units good, 1 a bad unit or an unreadable image, 2 usage.\n";

static int usage(const char *fmt, const char *arg)
{
	fputs("blkcheck: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see blkcheck --help)\n", stderr);
	return 2;
}

/* A number with an optional k/m/g/t suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mul = 1;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	case 't': case 'T': mul = 1ull << 40; end++; break;
	default: break;
	}
	if (*end || (v && mul > UINT64_MAX / v))
		return -1;
	*out = v * mul;
	return 0;
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
	if (parse_size(buf, &r.off) || parse_size(colon + 1, &r.len) || !r.len ||
	    r.off + r.len < r.off)
		return -1;
	a->zero[a->nzero++] = r;
	return 0;
}

/* 0, 2 (usage error) or 3 (--help: done). */
static int parse_args(int argc, char **argv, struct args *a)
{
	char unit[16];

	*a = (struct args){ .bs = 4096, .gen = 1 };
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t g;

		if (strncmp(o, "--", 2)) {
			if (a->image)
				return usage("unexpected argument '%s'", o);
			a->image = o;
			continue;
		}
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			fputs(usage_text, stdout);
			return 3;
		}
		if (!v)
			return usage("%s needs a value", o);
		i++;
		if (!strcmp(o, "--write-image")) {
			a->write = true;
			a->image = v;
		} else if (!strcmp(o, "--seed")) {
			if (parse_size(v, &a->seed))
				return usage("--seed: bad number '%s'", v);
			a->seed_set = true;
		} else if (!strcmp(o, "--bs")) {
			if (parse_size(v, &a->bs) || !a->bs || a->bs % 512)
				return usage("--bs must be a non-zero multiple of 512, not '%s'", v);
		} else if (!strcmp(o, "--offset")) {
			if (parse_size(v, &a->offset))
				return usage("--offset: bad size '%s'", v);
		} else if (!strcmp(o, "--size")) {
			if (parse_size(v, &a->size) || !a->size)
				return usage("--size: bad size '%s'", v);
			a->size_set = true;
		} else if (!strcmp(o, "--generation")) {
			if (parse_size(v, &g) || g > UINT32_MAX)
				return usage("--generation: bad number '%s'", v);
			a->gen = (uint32_t)g;
		} else if (!strcmp(o, "--expect-zero")) {
			if (a->write || parse_zero(a, v))
				return usage("--expect-zero wants OFFSET:LEN (LEN > 0, at most 64 ranges), not '%s'", v);
		} else {
			return usage("unknown option '%s'", o);
		}
	}
	if (!a->image)
		return usage("%s", "no IMAGE given");
	if (!a->seed_set)
		return usage("%s", "--seed is required (the seed blkbench wrote with)");
	if (a->write && a->nzero)
		return usage("%s", "--expect-zero is for checking, not --write-image");
	snprintf(unit, sizeof(unit), "%u", bb_unit_size(a->bs));
	if (a->offset % bb_unit_size(a->bs))
		return usage("--offset must be a multiple of the verify unit (%s bytes)", unit);
	if (a->size_set && a->size % bb_unit_size(a->bs))
		return usage("--size must be a multiple of the verify unit (%s bytes)", unit);
	return 0;
}

static int write_image(const struct args *a)
{
	uint32_t unit = bb_unit_size(a->bs);
	int fd = open(a->image, O_WRONLY | O_CREAT, 0644);
	uint8_t *buf = malloc(CHUNK);

	if (!a->size_set) {
		fprintf(stderr, "blkcheck: --write-image needs --size\n");
		free(buf);
		if (fd >= 0)
			close(fd);
		return 2;
	}
	if (fd < 0 || !buf) {
		fprintf(stderr, "blkcheck: %s: %s\n", a->image, strerror(errno));
		free(buf);
		return 1;
	}
	for (uint64_t done = 0; done < a->size;) {
		size_t n = a->size - done < CHUNK ? (size_t)(a->size - done) : CHUNK;

		for (size_t k = 0; k < n; k += unit)
			bb_unit_fill(buf + k, unit, (a->offset + done + k) / unit, a->seed, a->gen);
		if (pwrite(fd, buf, n, (off_t)(a->offset + done)) != (ssize_t)n) {
			fprintf(stderr, "blkcheck: %s: write: %s\n", a->image, strerror(errno));
			close(fd);
			free(buf);
			return 1;
		}
		done += n;
	}
	free(buf);
	if (close(fd)) {
		fprintf(stderr, "blkcheck: %s: %s\n", a->image, strerror(errno));
		return 1;
	}
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
