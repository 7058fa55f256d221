/* SPDX-License-Identifier: MIT */
/*
 * What every uvio tool parses the same way: numbers, sizes, times, and the
 * one-line usage error. Linked into each program under apps/ (not into
 * libuvio). Sizes are fio's: k/M/G/T are powers of 1024, case-insensitive,
 * with an optional trailing "i"/"iB"/"B" ("4k", "4KiB", "1M", "2g"). Times are
 * fio's too: a bare number is seconds; suffixes us, ms, s, m, h, d
 * ("500ms", "10m", "2h"). Integers are decimal only: "010" is ten, never
 * octal; no sign, no spaces, no trailing junk. All functions are pure and
 * thread-safe.
 */
#ifndef UVIO_APPS_CLI_H
#define UVIO_APPS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Decimal unsigned integer within [min, max]. 0, -EINVAL (not a number),
 * or -ERANGE (outside [min, max], or more than 64 bits). */
int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Size with an optional k/M/G/T suffix (1024-based; "kb" is 1024 too, as in
 * fio). 0, -EINVAL or -ERANGE (more than 64 bits). */
int cli_parse_size(const char *s, uint64_t *out);

/* Time: bare seconds or us/ms/s/m/h/d, fractions allowed ("1.5s", not ".5"
 * or "1e3"). Result in seconds, >= 0. 0, -EINVAL, or -ERANGE above 1e15 s. */
int cli_parse_time(const char *s, double *out_seconds);

/* "on"/"off" (also yes/no, 1/0, true/false). 0 or -EINVAL. */
int cli_parse_bool(const char *s, bool *out);

/*
 * getopt_long() returned '?' or ':' (the caller set opterr = 0 and began
 * optstring with ':'): the one line saying why, without the "PROG: " prefix,
 * into msg: "--bs needs a value", "--json takes no value", "unknown option
 * '--bogus'". Call it before getopt_long() is called again.
 */
void cli_getopt_msg(int c, char *const *argv, char *msg, size_t len);

/*
 * Print "PROG: <message>\n" (message from fmt) on stderr with the hint
 * "(see 'PROG --help')" appended, and return 2, the exit status of a usage
 * error. Use: return cli_usage_error("blkbench", "--bs: %s: not a size", v);
 */
int cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "PROG (uvio) VERSION\n" on stdout: the --version line every tool
 * gives (help2man reads it to make the man page). Returns 0. */
int cli_print_version(const char *prog);

#endif
