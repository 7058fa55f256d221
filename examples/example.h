/* SPDX-License-Identifier: MIT */
/*
 * The few helpers every example needs and none is about: a usage error, a
 * number and a time from the command line, and opening a block device.
 * Each example defines PROG before including this.
 */
#ifndef UVIO_EXAMPLE_H
#define UVIO_EXAMPLE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <uvio/uvio.h>

/* Exit status 2, after one line that says what is wrong. */
static inline int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, PROG ": %s%s%s; try " PROG " --help\n", what,
		arg ? ": " : "", arg ? arg : "");
	return 2;
}

/* A whole unsigned number (decimal, or 0x hex) up to max: 0, else -1. */
static inline int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10);
	return errno || *end || *out > max ? -1 : 0;
}

/* Seconds above 0 and below a million: 0, else -1. */
static inline int parse_seconds(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || *end || end == s || !(*out > 0 && *out < 1e6) ? -1 : 0;
}

/* uvio_blk_open takes the device over, and closes it when it fails. */
static inline int open_blk(const char *spec, struct uvio_blk **blk)
{
	struct uvio_err err = { 0 };
	struct uvio_dev *dev;

	if (uvio_open(spec, &dev, &err) || uvio_blk_open(dev, NULL, blk, &err)) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return -1;
	}
	return 0;
}

#endif
