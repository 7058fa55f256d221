/* SPDX-License-Identifier: MIT */
/*
 * apps/common/cli: the number, size, time and bool parsers every tool
 * shares, and the one line for an option getopt_long refused. Each
 * refusal here is an input that some tool once took as something else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include <uvio/uvio.h>

#include "../../apps/common/cli.h"

static uint64_t uint_ok(const char *s)
{
	uint64_t v = 12345;

	assert_int_equal(cli_parse_uint(s, 0, UINT64_MAX, &v), 0);
	return v;
}

static void test_uint(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(uint_ok("0"), 0);
	assert_int_equal(uint_ok("10"), 10);
	assert_int_equal(uint_ok("010"), 10);         /* never octal */
	assert_int_equal(uint_ok("18446744073709551615"), UINT64_MAX);
	assert_int_equal(cli_parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(cli_parse_uint("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(cli_parse_uint("0x10", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_parse_uint("-1", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_parse_uint("+1", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_parse_uint(" 1", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_parse_uint("1 ", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_parse_uint("1x", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_parse_uint("1k", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_parse_uint("", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(cli_parse_uint(NULL, 0, UINT64_MAX, &v), -EINVAL);
	/* The range, both ends. */
	assert_int_equal(cli_parse_uint("1", 1, 512, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(cli_parse_uint("512", 1, 512, &v), 0);
	assert_int_equal(v, 512);
	v = 7;
	assert_int_equal(cli_parse_uint("0", 1, 512, &v), -ERANGE);
	assert_int_equal(cli_parse_uint("513", 1, 512, &v), -ERANGE);
	assert_int_equal(v, 7);                       /* untouched on failure */
}

static uint64_t size_ok(const char *s)
{
	uint64_t v = 12345;

	if (cli_parse_size(s, &v))
		fail_msg("'%s' refused", s);
	return v;
}

static void test_size(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(size_ok("0"), 0);
	assert_int_equal(size_ok("512"), 512);
	assert_int_equal(size_ok("010"), 10);
	assert_int_equal(size_ok("4k"), 4096);
	assert_int_equal(size_ok("4K"), 4096);
	assert_int_equal(size_ok("4KiB"), 4096);
	assert_int_equal(size_ok("4kib"), 4096);
	assert_int_equal(size_ok("4Ki"), 4096);
	assert_int_equal(size_ok("4kb"), 4096);
	assert_int_equal(size_ok("4KB"), 4096);
	assert_int_equal(size_ok("1M"), 1u << 20);
	assert_int_equal(size_ok("3m"), 3u << 20);
	assert_int_equal(size_ok("2g"), 2ull << 30);
	assert_int_equal(size_ok("2GiB"), 2ull << 30);
	assert_int_equal(size_ok("1t"), 1ull << 40);
	assert_int_equal(size_ok("16777215T"), 16777215ull << 40);
	assert_int_equal(cli_parse_size("16777216T", &v), -ERANGE);
	assert_int_equal(cli_parse_size("99999999999999t", &v), -ERANGE);
	assert_int_equal(cli_parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(cli_parse_size("", &v), -EINVAL);
	assert_int_equal(cli_parse_size("k", &v), -EINVAL);
	assert_int_equal(cli_parse_size("-1", &v), -EINVAL);
	assert_int_equal(cli_parse_size("-4k", &v), -EINVAL);
	assert_int_equal(cli_parse_size(" 4k", &v), -EINVAL);
	assert_int_equal(cli_parse_size("0x10", &v), -EINVAL);
	assert_int_equal(cli_parse_size("4p", &v), -EINVAL);
	assert_int_equal(cli_parse_size("4kk", &v), -EINVAL);
	assert_int_equal(cli_parse_size("4kx", &v), -EINVAL);
	assert_int_equal(cli_parse_size("4kiB ", &v), -EINVAL);
	assert_int_equal(cli_parse_size("1.5k", &v), -EINVAL);
	assert_int_equal(cli_parse_size("4b", &v), -EINVAL);
	assert_int_equal(v, 7);
}

static double time_ok(const char *s)
{
	double v = -1;

	if (cli_parse_time(s, &v))
		fail_msg("'%s' refused", s);
	return v;
}

static void test_time(void **state)
{
	double v = -7;

	(void)state;
	assert_true(time_ok("10") == 10);
	assert_true(time_ok("010") == 10);
	assert_true(time_ok("0") == 0);
	assert_true(time_ok("10s") == 10);
	assert_true(time_ok("500ms") == 0.5);
	assert_true(time_ok("250us") == 250e-6);
	assert_true(time_ok("10m") == 600);
	assert_true(time_ok("2h") == 7200);
	assert_true(time_ok("1d") == 86400);
	assert_true(time_ok("1.5s") == 1.5);
	assert_true(time_ok("1.5") == 1.5);
	assert_true(time_ok("0.25") == 0.25);
	assert_true(time_ok("1.5m") == 90);
	assert_int_equal(cli_parse_time("10x", &v), -EINVAL);
	assert_int_equal(cli_parse_time("10sec", &v), -EINVAL);
	assert_int_equal(cli_parse_time("10 s", &v), -EINVAL);
	assert_int_equal(cli_parse_time("10S", &v), -EINVAL);
	assert_int_equal(cli_parse_time("1w", &v), -EINVAL);
	assert_int_equal(cli_parse_time("", &v), -EINVAL);
	assert_int_equal(cli_parse_time("s", &v), -EINVAL);
	assert_int_equal(cli_parse_time("-1", &v), -EINVAL);
	assert_int_equal(cli_parse_time("+1", &v), -EINVAL);
	assert_int_equal(cli_parse_time(" 1", &v), -EINVAL);
	assert_int_equal(cli_parse_time(".5", &v), -EINVAL);
	assert_int_equal(cli_parse_time("1.", &v), -EINVAL);
	assert_int_equal(cli_parse_time("1.2.3", &v), -EINVAL);
	assert_int_equal(cli_parse_time("1e3", &v), -EINVAL);
	assert_int_equal(cli_parse_time("0x10", &v), -EINVAL);
	assert_int_equal(cli_parse_time("inf", &v), -EINVAL);
	assert_int_equal(cli_parse_time("nan", &v), -EINVAL);
	assert_int_equal(cli_parse_time("99999999999999999999d", &v), -ERANGE);
	assert_true(v == -7);
}

static void test_bool(void **state)
{
	static const char *const yes[] = { "on", "yes", "1", "true", "ON", "Yes" };
	static const char *const no[] = { "off", "no", "0", "false", "OFF", "No" };
	bool b;

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(cli_parse_bool(yes[i], &b), 0);
		assert_true(b);
		b = true;
		assert_int_equal(cli_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	assert_int_equal(cli_parse_bool("", &b), -EINVAL);
	assert_int_equal(cli_parse_bool("onn", &b), -EINVAL);
	assert_int_equal(cli_parse_bool("2", &b), -EINVAL);
	assert_int_equal(cli_parse_bool(NULL, &b), -EINVAL);
}

/* What getopt_long refuses, said in one line. */
static const char *refused(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bs", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 256 },
		{ "queues", required_argument, NULL, 257 },
		{ NULL, 0, NULL, 0 },
	};
	static char msg[128];
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":b:q", lo, NULL)) != -1) {
		if (c == '?' || c == ':') {
			cli_getopt_msg(c, argv, msg, sizeof(msg));
			return msg;
		}
	}
	return "";
}

#define REFUSED(...) refused((int)(sizeof((char *[]){ "p", __VA_ARGS__ }) / sizeof(char *)), \
			     (char *[]){ "p", __VA_ARGS__, NULL })

static void test_getopt_msg(void **state)
{
	(void)state;
	assert_string_equal(REFUSED("--bs"), "--bs needs a value");
	assert_string_equal(REFUSED("--json", "-b"), "-b needs a value");
	assert_string_equal(REFUSED("--json=1"), "--json takes no value");
	assert_string_equal(REFUSED("--bogus"), "unknown option '--bogus'");
	assert_string_equal(REFUSED("--bogus=3"), "unknown option '--bogus'");
	assert_string_equal(REFUSED("-x"), "unknown option '-x'");
	assert_string_equal(REFUSED("-qx"), "unknown option '-x'");
	assert_string_equal(REFUSED("--bs=4k", "--json", "-q"), "");
}

/* uvio_spec_check: uvio_open's parser, opening nothing. */
static void expect_spec(const char *spec, int code, const char *needle)
{
	struct uvio_err err = { 0 };

	assert_int_equal(uvio_spec_check(spec, &err), code);
	if (code && !strstr(err.msg, needle))
		fail_msg("'%s': message '%s' lacks '%s'", spec, err.msg, needle);
}

static void test_spec_check(void **state)
{
	struct uvio_dev *dev = NULL;
	struct uvio_err err = { 0 };

	(void)state;
	/* Well-formed, though none of these exists. */
	expect_spec("pci:0000:ff:1f.7", 0, NULL);
	expect_spec("pci:01:00.0", 0, NULL);
	expect_spec("vhost-user:/nonexistent/x.sock", 0, NULL);
	expect_spec("vhost-user:/s,server,queues=4,queue_size=256,timeout=-1", 0, NULL);
	expect_spec("", -EINVAL, "no device given");
	expect_spec(NULL, -EINVAL, "no device given");
	expect_spec("pci:zz", -EINVAL, "'pci:zz': not a PCI address");
	expect_spec("pci:", -EINVAL, "not a PCI address");
	expect_spec("0000:01:00.0", -EINVAL, "expected pci:BDF");
	expect_spec("foo:1", -EINVAL, "'foo:1': expected pci:BDF");
	expect_spec("vhost-user:", -EINVAL, "no socket path");
	expect_spec("vhost-user:/s,queues=0", -EINVAL, "bad option 'queues=0'");
	expect_spec("vhost-user:/s,fast", -EINVAL, "bad option 'fast'");
	/* The same line from uvio_open, which opens nothing either. */
	assert_int_equal(uvio_open("pci:zz", &dev, &err), -EINVAL);
	assert_null(dev);
	assert_non_null(strstr(err.msg, "'pci:zz': not a PCI address"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_getopt_msg),
		cmocka_unit_test(test_spec_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
