/* SPDX-License-Identifier: MIT */
/*
 * The parsers of cli.h. Digits are scanned here rather than by strtoull or
 * strtod: those take a sign, leading spaces, "0x", octal, "inf" and
 * exponents, each of which once turned a typo into a silently different
 * run ("--iodepth 010" was 8).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <uvio/version.h>

#include "cli.h"

/* Leading decimal digits of s into *v; *end after them. 0, -EINVAL (no
 * digit) or -ERANGE (more than 64 bits). */
static int scan_digits(const char *s, const char **end, uint64_t *v)
{
	uint64_t r = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (r > (UINT64_MAX - d) / 10)
			return -ERANGE;
		r = r * 10 + d;
	}
	if (p == s)
		return -EINVAL;
	*end = p;
	*v = r;
	return 0;
}

int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int rc;

	if (!s)
		return -EINVAL;
	rc = scan_digits(s, &end, &v);
	if (rc)
		return rc;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* The power of 1024 that a size suffix's letter names; -1 for none. */
static int size_shift(char c)
{
	static const char letters[] = "kmgt";
	const char *p = c ? strchr(letters, tolower((unsigned char)c)) : NULL;

	return p ? 10 * (int)(p - letters + 1) : -1;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int shift = 0, rc;

	if (!s)
		return -EINVAL;
	rc = scan_digits(s, &end, &v);
	if (rc)
		return rc;
	if (*end) {
		shift = size_shift(*end++);
		/* "k", "ki", "kib", "kb": fio's kb_base=1024 reading. */
		if (shift < 0 || (strcasecmp(end, "") && strcasecmp(end, "i") &&
				  strcasecmp(end, "ib") && strcasecmp(end, "b")))
			return -EINVAL;
	}
	if (v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* Seconds per unit of a time suffix; 0 for an unknown one. */
static double time_unit(const char *suffix)
{
	static const struct { const char *name; double sec; } units[] = {
		{ "", 1 }, { "s", 1 }, { "us", 1e-6 }, { "ms", 1e-3 },
		{ "m", 60 }, { "h", 3600 }, { "d", 86400 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(suffix, units[i].name))
			return units[i].sec;
	return 0;
}

int cli_parse_time(const char *s, double *out_seconds)
{
	char num[64];
	size_t n, frac = 0;
	double unit, v;

	if (!s)
		return -EINVAL;
	n = strspn(s, "0123456789");
	if (n && s[n] == '.')
		frac = strspn(s + n + 1, "0123456789");
	if (!n || (s[n] == '.' && !frac))
		return -EINVAL;
	n += frac ? frac + 1 : 0;
	unit = time_unit(s + n);
	if (unit == 0)
		return -EINVAL;
	if (n >= sizeof(num))
		return -ERANGE;
	/* Only digits and one '.' reach strtod, so no sign, hex or "inf". */
	memcpy(num, s, n);
	num[n] = '\0';
	v = strtod(num, NULL) * unit;
	if (v > 1e15)
		return -ERANGE;
	*out_seconds = v;
	return 0;
}

int cli_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "yes", "1", "true" };
	static const char *const no[] = { "off", "no", "0", "false" };

	for (size_t i = 0; s && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

void cli_getopt_msg(int c, char *const *argv, char *msg, size_t len)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	bool is_long = arg && !strncmp(arg, "--", 2);
	int name_len = is_long ? (int)strcspn(arg, "=") : 0;

	if (c == ':' && is_long)
		snprintf(msg, len, "%.*s needs a value", name_len, arg);
	else if (c == ':')
		snprintf(msg, len, "-%c needs a value", optopt);
	/* getopt_long sets optopt only for an option it knew: here, one
	 * without a value that was given "=value". */
	else if (is_long && optopt && arg[name_len] == '=')
		snprintf(msg, len, "%.*s takes no value", name_len, arg);
	else if (is_long)
		snprintf(msg, len, "unknown option '%.*s'", name_len, arg);
	else if (optopt)
		snprintf(msg, len, "unknown option '-%c'", optopt);
	else
		snprintf(msg, len, "unknown option '%s'", arg ? arg : "");
}

int cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", prog);
	return 2;
}

int cli_print_version(const char *prog)
{
	printf("%s (uvio) %s\n", prog, UVIO_VERSION);
	return 0;
}
