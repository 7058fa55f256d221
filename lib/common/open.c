/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <uvio/uvio.h>
#include <uvio/vhost_user.h>

/* A device name taken apart. uvio_open() and uvio_spec_check() both go
 * through spec_parse(), so a name that passes the check fails to open only
 * for want of the device. */
struct spec {
	bool vhost_user;
	struct uvio_pci_addr pci;
	struct uvio_vhost_user_opts vu;
	char path[256];             /* vu.path points here */
};

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
static int parse_vhost_user(const char *spec, struct spec *s, struct uvio_err *err)
{
	char *save = NULL, *tok;

	if (strlen(spec) >= sizeof(s->path))
		return uvio_err_set(err, -ENAMETOOLONG, "'%s': too long", spec);
	strcpy(s->path, spec + strlen("vhost-user:"));
	s->vu.path = s->path[0] == ',' ? "" : strtok_r(s->path, ",", &save);
	if (!s->vu.path || !*s->vu.path)
		return uvio_err_set(err, -EINVAL, "'%s': no socket path: expected "
				    "vhost-user:/path/to.sock[,server][,queues=N]", spec);
	while ((tok = strtok_r(NULL, ",", &save)))
		if (vhost_user_option(tok, &s->vu, spec, err))
			return -EINVAL;
	s->vhost_user = true;
	return 0;
}

static int spec_parse(const char *spec, struct spec *s, struct uvio_err *err)
{
	memset(s, 0, sizeof(*s));
	if (!spec || !*spec)
		return uvio_err_set(err, -EINVAL, "no device given: expected pci:BDF or "
				    "vhost-user:/path/to.sock");
	if (!strncmp(spec, "vhost-user:", 11))
		return parse_vhost_user(spec, s, err);
	if (strncmp(spec, "pci:", 4))
		return uvio_err_set(err, -EINVAL, "'%s': expected pci:BDF "
				    "(e.g. pci:0000:00:04.0) or vhost-user:/path/to.sock"
				    "[,server][,queues=N]", spec);
	if (uvio_pci_addr_parse(spec + 4, &s->pci))
		return uvio_err_set(err, -EINVAL, "'%s': not a PCI address: "
				    "expected DDDD:BB:DD.F or BB:DD.F", spec);
	return 0;
}

int uvio_spec_check(const char *spec, struct uvio_err *err)
{
	struct spec s;

	return spec_parse(spec, &s, err);
}

int uvio_open(const char *spec, struct uvio_dev **out, struct uvio_err *err)
{
	struct spec s;
	int rc = spec_parse(spec, &s, err);

	if (rc)
		return rc;
	return s.vhost_user ? uvio_vhost_user_open(&s.vu, out, err) :
			      uvio_pci_open(&s.pci, out, err);
}
