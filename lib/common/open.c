/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <uvio/uvio.h>
#include <uvio/vhost_user.h>

static int open_pci(const char *bdf, struct uvio_dev **out, struct uvio_err *err)
{
	struct uvio_pci_addr addr;

	if (uvio_pci_addr_parse(bdf, &addr))
		return uvio_err_set(err, -EINVAL, "'%s' is not a PCI address: "
				    "expected DDDD:BB:DD.F or BB:DD.F", bdf);
	return uvio_pci_open(&addr, out, err);
}

/* A decimal number in [min, max] that is all of `s`. */
static bool parse_num(const char *s, long min, long max, long *val)
{
	char *end;

	errno = 0;
	*val = strtol(s, &end, 10);
	return !errno && end != s && !*end && *val >= min && *val <= max;
}

/* One ",key[=value]" of a vhost-user spec. */
static int vhost_user_option(char *opt, struct uvio_vhost_user_opts *o,
			     const char *spec, struct uvio_err *err)
{
	char *val = strchr(opt, '=');
	long n;

	if (val)
		*val++ = '\0';
	if (!strcmp(opt, "server") && !val) {
		o->server = true;
	} else if (!strcmp(opt, "queues") && val && parse_num(val, 1, 256, &n)) {
		o->queues = (uint16_t)n;
	} else if (!strcmp(opt, "queue_size") && val && parse_num(val, 1, 32768, &n)) {
		o->queue_size = (uint16_t)n;
	} else if (!strcmp(opt, "timeout") && val && parse_num(val, -1, INT_MAX, &n)) {
		o->timeout_ms = (int)n;
	} else {
		return uvio_err_set(err, -EINVAL, "'%s': bad option '%s%s%s': expected "
				    "server, queues=1..256, queue_size=N or timeout=MS",
				    spec, opt, val ? "=" : "", val ? val : "");
	}
	return 0;
}

/* vhost-user:PATH[,server][,queues=N][,queue_size=N][,timeout=MS] */
static int open_vhost_user(const char *spec, struct uvio_dev **out,
			   struct uvio_err *err)
{
	struct uvio_vhost_user_opts o = { 0 };
	char buf[256], *save = NULL, *tok;

	if (strlen(spec) >= sizeof(buf))
		return uvio_err_set(err, -ENAMETOOLONG, "'%s': too long", spec);
	strcpy(buf, spec + strlen("vhost-user:"));
	o.path = buf[0] == ',' ? "" : strtok_r(buf, ",", &save);
	if (!o.path || !*o.path)
		return uvio_err_set(err, -EINVAL, "'%s': no socket path: expected "
				    "vhost-user:/path/to.sock[,server][,queues=N]", spec);
	while ((tok = strtok_r(NULL, ",", &save)))
		if (vhost_user_option(tok, &o, spec, err))
			return -EINVAL;
	return uvio_vhost_user_open(&o, out, err);
}

int uvio_open(const char *spec, struct uvio_dev **out, struct uvio_err *err)
{
	if (!spec || !*spec)
		return uvio_err_set(err, -EINVAL, "no device given: use pci:BDF or "
				    "vhost-user:/path/to.sock");
	if (!strncmp(spec, "pci:", 4))
		return open_pci(spec + 4, out, err);
	if (!strncmp(spec, "vhost-user:", 11))
		return open_vhost_user(spec, out, err);
	return uvio_err_set(err, -EINVAL, "unknown device '%s': use pci:BDF "
			    "(e.g. pci:0000:00:04.0) or vhost-user:/path/to.sock"
			    "[,server][,queues=N]", spec);
}
