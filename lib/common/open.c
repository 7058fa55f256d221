/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <uvio/uvio.h>

static int open_pci(const char *bdf, struct uvio_dev **out, struct uvio_err *err)
{
	struct uvio_pci_addr addr;

	if (uvio_pci_addr_parse(bdf, &addr))
		return uvio_err_set(err, -EINVAL, "'%s' is not a PCI address: "
				    "expected DDDD:BB:DD.F or BB:DD.F", bdf);
	return uvio_pci_open(&addr, out, err);
}

int uvio_open(const char *spec, struct uvio_dev **out, struct uvio_err *err)
{
	if (!spec || !*spec)
		return uvio_err_set(err, -EINVAL, "no device given: use pci:BDF");
	if (!strncmp(spec, "pci:", 4))
		return open_pci(spec + 4, out, err);
	return uvio_err_set(err, -EINVAL, "unknown device '%s': use pci:BDF "
			    "(e.g. pci:0000:00:04.0)", spec);
}
