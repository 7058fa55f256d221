/* SPDX-License-Identifier: MIT */
/* pktfwd command line: parsed and checked here, nothing touches a device. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include <uvio/uvio.h>

#include "../common/cli.h"
#include "pktfwd.h"

/* help2man reads this: "Usage:" first, then one option per line. */
void pf_usage(FILE *f)
{
	fprintf(f,
"Usage: pktfwd -p DEV [-p DEV]... --mode MODE [OPTION]...\n"
"Forward, generate or check packets on uvio virtio-net ports.\n"
"\n"
"  -p, --port DEV        a device, pci:BDF or vhost-user:PATH[,server]\n"
"                        (repeatable, up to %d)\n"
"  --mode MODE           io: forward port 0<->1 (one port: back out of it);\n"
"                        macswap: io with MACs swapped; txonly: generate\n"
"                        UDP/IPv4; rxonly: count and check received frames\n"
"  --queues N            queue pairs per port, one thread per queue (1)\n"
"  --burst N             frames per rx/tx burst, 1..%d (32)\n"
"  --pkt-size N          txonly frame bytes without FCS, %d..%d (64)\n"
"  --mtu-frames          txonly frames as large as each port's MTU allows\n"
"  --count N             stop after N frames (txonly sent, rxonly received,\n"
"                        io forwarded); k/M/G suffixes, powers of 1000\n"
"  --duration TIME       stop after TIME (rxonly --count: exit 1 if fewer\n"
"                        than N arrived by then)\n"
"  --rate PPS            txonly pacing over all threads (token bucket);\n"
"                        k/M/G suffixes, powers of 1000\n"
"  --stats-interval TIME\n"
"                        a stats line to stderr every TIME, 0 off (1s);\n"
"                        \"port N: link up|down\" lines come when seen (the\n"
"                        link is read every 100 ms)\n"
"  --json                the summary as one JSON object on stdout\n"
"  --pcap FILE           write the first --pcap-count received frames\n"
"  --pcap-count N        how many frames --pcap writes (1000)\n"
"  --promisc on|off      set promiscuous mode (exit 1 when unsupported)\n"
"  --offload LIST        a comma list of csum, tso, rxcsum, lro, rss\n"
"  --no-packed           do not negotiate packed rings (split only)\n"
"  --no-mrg              do not negotiate mergeable rx buffers\n"
"  --vlan VID            add VLAN VID (1..4095) to every port's VLAN filter\n"
"                        (repeatable, up to %d; needs VIRTIO_NET_F_CTRL_VLAN;\n"
"                        QEMU filters only with --promisc off)\n"
"  --reconnect TIME      vhost-user: when a back-end goes away, wait up to\n"
"                        TIME for it, reconnect and go on (pci: no effect)\n"
"  --src-mac MAC         txonly source MAC (default: the port's)\n"
"  --dst-mac MAC         txonly destination MAC (ff:ff:ff:ff:ff:ff)\n"
"  --src-ip ADDR         txonly IPv4 source (198.18.0.1)\n"
"  --dst-ip ADDR         txonly IPv4 destination (198.18.0.2)\n"
"  --src-port PORT       txonly UDP source port (1024)\n"
"  --dst-port PORT       txonly UDP destination port (1025)\n"
"  --flows N             txonly: vary the UDP source port over N values (1)\n"
"  --fill full|headers   txonly: write whole frames with sequence numbers and\n"
"                        a CRC for the far end to check (full, the default),\n"
"                        or the 42 header bytes only, as testpmd's txonly\n"
"                        does (headers: the payload is whatever the buffer\n"
"                        held and cannot be checked)\n"
"  --no-check            rxonly: count frames without reading them, as\n"
"                        testpmd's rxonly does (no sequence or CRC check)\n"
"  --idle-sleep N        io, macswap, rxonly: after N polls that found\n"
"                        nothing, arm the rx interrupts and sleep until a\n"
"                        frame comes (busy-poll while traffic flows); link\n"
"                        changes come from the config interrupt (pci: VFIO)\n"
"  -h, --help            this text, and exit\n"
"  --version             the version, and exit\n"
"\n"
"Numbers are decimal (010 is ten). TIME is seconds, or a number with us,\n"
"ms, s, m, h or d (1.5, 500ms, 10m, 2h).\n"
"\n"
"Counters: tx = frames the driver took (\"sent\"; txonly --count N ends at\n"
"N); lost = of those, in flight when a back-end went away; drops = frames\n"
"given up before the driver took them.\n"
"\n"
"Exit status: 0 ok, 1 runtime error or failed check, 2 usage error.\n",
		PF_MAX_PORTS, PF_MAX_BURST, PF_MIN_FRAME, PF_MAX_FRAME,
		PF_MAX_VLANS);
}

const char *pf_mode_name(enum pf_mode m)
{
	static const char *const names[] = {
		[PF_IO] = "io", [PF_MACSWAP] = "macswap",
		[PF_TXONLY] = "txonly", [PF_RXONLY] = "rxonly",
	};

	return (unsigned)m < 4 ? names[m] : "?";
}

static int bad(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int pf_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		const char *b = s + 3 * i;

		if (!isxdigit((unsigned char)b[0]) ||
		    !isxdigit((unsigned char)b[1]))
			return -1;
		if (i < 5 && b[2] != ':')
			return -1;
	}
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

int pf_parse_ipv4(const char *s, uint32_t *ip)
{
	uint32_t r = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;

		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned)(*s++ - '0');
			if (++digits > 3)
				return -1;
		}
		if (!digits || v > 255)
			return -1;
		r = r << 8 | v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	if (*s)
		return -1;
	*ip = r;
	return 0;
}

/* --count, --rate: frames, so k/M/G are powers of 1000, as testpmd's. */
static int parse_count(const char *s, uint64_t *out)
{
	static const char suffixes[] = "kmg";
	size_t n = strlen(s);
	const char *sfx = n ? strchr(suffixes, tolower((unsigned char)s[n - 1])) : NULL;
	uint64_t mul = 1, v;
	char digits[32];

	if (sfx && *sfx) {
		for (const char *k = suffixes; k <= sfx; k++)
			mul *= 1000;
		n--;
	}
	if (n >= sizeof(digits))
		return -ERANGE;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (cli_parse_uint(digits, 0, UINT64_MAX / mul, &v))
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int parse_offloads(const char *s, uint32_t *out)
{
	static const struct { const char *name; uint32_t bit; } names[] = {
		{ "csum", UVIO_NET_OFF_TX_CSUM }, { "tso", UVIO_NET_OFF_TSO },
		{ "rxcsum", UVIO_NET_OFF_RX_CSUM }, { "lro", UVIO_NET_OFF_LRO },
		{ "rss", UVIO_NET_OFF_RSS },
	};
	uint32_t r = 0;

	while (*s) {
		size_t n = strcspn(s, ",");
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strlen(names[i].name) == n &&
			    !strncmp(names[i].name, s, n))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -1;
		r |= names[i].bit;
		s += n;
		if (*s == ',' && *++s == '\0')
			return -1;
	}
	*out = r;
	return 0;
}

enum {
	O_MODE = 256, O_QUEUES, O_BURST, O_PKT_SIZE, O_MTU_FRAMES, O_COUNT,
	O_DURATION, O_RATE, O_STATS, O_JSON, O_PCAP, O_PCAP_COUNT, O_PROMISC,
	O_OFFLOAD, O_SRC_MAC, O_DST_MAC, O_SRC_IP, O_DST_IP, O_SRC_PORT,
	O_DST_PORT, O_FLOWS, O_FILL, O_NO_CHECK, O_NO_PACKED, O_NO_MRG, O_RECONNECT, O_VLAN,
	O_VERSION, O_IDLE_SLEEP,
};

static const struct option long_opts[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ "mode", required_argument, NULL, O_MODE },
	{ "queues", required_argument, NULL, O_QUEUES },
	{ "burst", required_argument, NULL, O_BURST },
	{ "pkt-size", required_argument, NULL, O_PKT_SIZE },
	{ "mtu-frames", no_argument, NULL, O_MTU_FRAMES },
	{ "count", required_argument, NULL, O_COUNT },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "rate", required_argument, NULL, O_RATE },
	{ "stats-interval", required_argument, NULL, O_STATS },
	{ "json", no_argument, NULL, O_JSON },
	{ "pcap", required_argument, NULL, O_PCAP },
	{ "pcap-count", required_argument, NULL, O_PCAP_COUNT },
	{ "promisc", required_argument, NULL, O_PROMISC },
	{ "offload", required_argument, NULL, O_OFFLOAD },
	{ "no-packed", no_argument, NULL, O_NO_PACKED },
	{ "no-mrg", no_argument, NULL, O_NO_MRG },
	{ "src-mac", required_argument, NULL, O_SRC_MAC },
	{ "dst-mac", required_argument, NULL, O_DST_MAC },
	{ "src-ip", required_argument, NULL, O_SRC_IP },
	{ "dst-ip", required_argument, NULL, O_DST_IP },
	{ "src-port", required_argument, NULL, O_SRC_PORT },
	{ "dst-port", required_argument, NULL, O_DST_PORT },
	{ "flows", required_argument, NULL, O_FLOWS },
	{ "fill", required_argument, NULL, O_FILL },
	{ "no-check", no_argument, NULL, O_NO_CHECK },
	{ "idle-sleep", required_argument, NULL, O_IDLE_SLEEP },
	{ "reconnect", required_argument, NULL, O_RECONNECT },
	{ "vlan", required_argument, NULL, O_VLAN },
	{ NULL, 0, NULL, 0 },
};

static const char *opt_name(int c)
{
	for (const struct option *lo = long_opts; lo->name; lo++)
		if (lo->val == c)
			return lo->name;
	return "?";
}

/* A decimal option within [lo, hi]. */
static int num_opt(int c, const char *arg, uint64_t lo, uint64_t hi,
		   uint64_t *out, char *err, size_t errlen)
{
	int rc = cli_parse_uint(arg, lo, hi, out);

	if (rc == -EINVAL)
		return bad(err, errlen, "--%s: '%s' is not a decimal number",
			    opt_name(c), arg);
	if (rc)
		return bad(err, errlen, "--%s: %s is out of range %llu..%llu",
			    opt_name(c), arg, (unsigned long long)lo,
			    (unsigned long long)hi);
	return 0;
}

/* A frame count within [lo, hi], k/M/G allowed. */
static int count_opt(int c, const char *arg, uint64_t lo, uint64_t hi,
		     uint64_t *out, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_count(arg, &v))
		return bad(err, errlen, "--%s: '%s' is not a number (decimal, "
			    "k/M/G suffixes)", opt_name(c), arg);
	if (v < lo || v > hi)
		return bad(err, errlen, "--%s: %s is out of range %llu..%llu",
			    opt_name(c), arg, (unsigned long long)lo,
			    (unsigned long long)hi);
	*out = v;
	return 0;
}

/* --duration, --stats-interval, --reconnect: in (0, max], or [0, max]
 * when zero is allowed (--stats-interval 0: no periodic line). */
static int time_opt(int c, const char *arg, bool zero_ok, double max,
		    double *out, char *err, size_t errlen)
{
	double t = -1;

	if (cli_parse_time(arg, &t) || (t == 0 && !zero_ok) || t > max)
		return bad(err, errlen, "--%s: '%s' is not a %stime of at most "
			    "%.0f s (e.g. 30, 500ms, 10m, 2h)", opt_name(c), arg,
			    zero_ok ? "" : "positive ", max);
	*out = t;
	return 0;
}

/* -p: a malformed name is a usage error here, not a failed open later. */
static int port_opt(struct pf_opts *o, int c, const char *arg, char *err,
		    size_t errlen)
{
	struct uvio_err e = { 0 };

	(void)c;
	if (o->nports == PF_MAX_PORTS)
		return bad(err, errlen, "too many -p (at most %d)", PF_MAX_PORTS);
	if (uvio_spec_check(arg, &e))
		return bad(err, errlen, "-p %s", e.msg);
	o->ports[o->nports++] = arg;
	return 0;
}

/* 802.1Q: VID 0 means "no VLAN" (priority tag only), so it is no filter
 * entry; 4095 is reserved but the device's table has it, so it is allowed. */
static int vlan_opt(struct pf_opts *o, int c, const char *arg, char *err,
		    size_t errlen)
{
	uint64_t vid;

	(void)c;
	if (cli_parse_uint(arg, 1, 4095, &vid))
		return bad(err, errlen, "--vlan %s: expected a VLAN ID in "
			    "1..4095", arg);
	for (unsigned i = 0; i < o->nvlans; i++)
		if (o->vlans[i] == vid)
			return 0;       /* once is enough for the device */
	if (o->nvlans == PF_MAX_VLANS)
		return bad(err, errlen, "too many --vlan (at most %d)",
			    PF_MAX_VLANS);
	o->vlans[o->nvlans++] = (uint16_t)vid;
	return 0;
}

static void defaults(struct pf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = PF_IO;
	o->queues = 1;
	o->burst = 32;
	o->pkt_size = 64;
	o->stats_interval = 1;
	o->pcap_count = 1000;
	o->promisc = -1;
	memset(o->dst_mac, 0xff, 6);
	o->src_ip = 198u << 24 | 18u << 16 | 1;       /* 198.18.0.1 (RFC 2544) */
	o->dst_ip = 198u << 24 | 18u << 16 | 2;
	o->src_port = 1024;
	o->dst_port = 1025;
	o->flows = 1;
}

/* ---- the options that are more than a number or a flag ---- */

static int mode_opt(struct pf_opts *o, int c, const char *arg, char *err,
		    size_t errlen)
{
	(void)c;
	for (int m = PF_IO; m <= PF_RXONLY; m++)
		if (!strcmp(arg, pf_mode_name((enum pf_mode)m))) {
			o->mode = (enum pf_mode)m;
			return 0;
		}
	return bad(err, errlen, "--mode %s: unknown mode (io, macswap, "
		    "txonly, rxonly)", arg);
}

static int pcap_opt(struct pf_opts *o, int c, const char *arg, char *err,
		    size_t errlen)
{
	(void)c;
	if (!*arg)
		return bad(err, errlen, "--pcap: empty file name");
	o->pcap = arg;
	return 0;
}

static int fill_opt(struct pf_opts *o, int c, const char *arg, char *err,
		    size_t errlen)
{
	(void)c;
	if (strcmp(arg, "full") && strcmp(arg, "headers"))
		return bad(err, errlen, "--fill %s: expected full or headers",
			    arg);
	o->fill_headers = !strcmp(arg, "headers");
	return 0;
}

static int promisc_opt(struct pf_opts *o, int c, const char *arg, char *err,
		       size_t errlen)
{
	bool on;

	(void)c;
	if (cli_parse_bool(arg, &on))
		return bad(err, errlen, "--promisc %s: expected on or off", arg);
	o->promisc = on;
	return 0;
}

static int offload_opt(struct pf_opts *o, int c, const char *arg, char *err,
		       size_t errlen)
{
	(void)c;
	if (parse_offloads(arg, &o->offloads))
		return bad(err, errlen, "--offload %s: expected a comma list of "
			    "csum, tso, rxcsum, lro, rss", arg);
	return 0;
}

static int mac_opt(struct pf_opts *o, int c, const char *arg, char *err,
		   size_t errlen)
{
	if (pf_parse_mac(arg, c == O_SRC_MAC ? o->src_mac : o->dst_mac))
		return bad(err, errlen, "--%s %s: bad MAC address (expected "
			    "xx:xx:xx:xx:xx:xx)", opt_name(c), arg);
	if (c == O_SRC_MAC)
		o->src_mac_set = true;
	return 0;
}

static int ip_opt(struct pf_opts *o, int c, const char *arg, char *err,
		  size_t errlen)
{
	if (pf_parse_ipv4(arg, c == O_SRC_IP ? &o->src_ip : &o->dst_ip))
		return bad(err, errlen, "--%s %s: bad IPv4 address (expected "
			    "a.b.c.d)", opt_name(c), arg);
	return 0;
}

/* ---- the table ---- */

/*
 * NUM: a decimal in [lo, hi]; COUNT: the same with k/M/G; TIME: seconds up
 * to hi, zero allowed when lo is 0 (else positive only); FLAG: the bool
 * becomes true; FEATURE: a feature bit not to negotiate; FN: its own
 * parser. NUM and COUNT fields are uint16_t, unsigned or uint64_t
 * (store_uint). One line per option, so a new one is a line here, one in
 * long_opts and one in pf_usage.
 */
enum opt_kind { NUM, COUNT, TIME, FLAG, FEATURE, FN };

struct opt_spec {
	int c;
	enum opt_kind kind;
	size_t off, size;       /* the pf_opts field */
	uint64_t lo, hi;
	uint64_t bit;           /* FEATURE */
	int (*fn)(struct pf_opts *o, int c, const char *arg, char *err,
		  size_t errlen);
};

#define FIELD(f) .off = offsetof(struct pf_opts, f), \
		 .size = sizeof(((struct pf_opts *)0)->f)
#define OPT_NUM(code, f, l, h)   { .c = (code), .kind = NUM, FIELD(f), .lo = (l), .hi = (h) }
#define OPT_COUNT(code, f, l, h) { .c = (code), .kind = COUNT, FIELD(f), .lo = (l), .hi = (h) }
#define OPT_TIME(code, f, zero_ok, max) \
	{ .c = (code), .kind = TIME, FIELD(f), .lo = (zero_ok) ? 0 : 1, .hi = (max) }
#define OPT_FLAG(code, f)        { .c = (code), .kind = FLAG, FIELD(f) }
#define OPT_FEATURE(code, b)     { .c = (code), .kind = FEATURE, .bit = 1ULL << (b) }
#define OPT_FN(code, f)          { .c = (code), .kind = FN, .fn = (f) }

static const struct opt_spec specs[] = {
	OPT_FN('p', port_opt),
	OPT_FN(O_MODE, mode_opt),
	OPT_NUM(O_QUEUES, queues, 1, PF_MAX_QUEUES),
	OPT_NUM(O_BURST, burst, 1, PF_MAX_BURST),
	OPT_NUM(O_PKT_SIZE, pkt_size, PF_MIN_FRAME, PF_MAX_FRAME),
	OPT_FLAG(O_MTU_FRAMES, mtu_frames),
	OPT_COUNT(O_COUNT, count, 1, UINT64_MAX / 2),
	OPT_COUNT(O_RATE, rate, 1, 1000000000000ull),
	OPT_NUM(O_PCAP_COUNT, pcap_count, 1, UINT32_MAX),
	OPT_NUM(O_FLOWS, flows, 1, PF_MAX_FLOWS),
	OPT_NUM(O_SRC_PORT, src_port, 0, 65535),
	OPT_NUM(O_DST_PORT, dst_port, 0, 65535),
	OPT_TIME(O_DURATION, duration, false, 1000000000),
	OPT_TIME(O_STATS, stats_interval, true, 1000000000),
	OPT_TIME(O_RECONNECT, reconnect, false, (uint64_t)PF_RECONNECT_MAX),
	OPT_FN(O_VLAN, vlan_opt),
	OPT_FLAG(O_JSON, json),
	OPT_FEATURE(O_NO_PACKED, VIRTIO_F_RING_PACKED),
	OPT_FEATURE(O_NO_MRG, VIRTIO_NET_F_MRG_RXBUF),
	OPT_FN(O_PCAP, pcap_opt),
	OPT_FLAG(O_NO_CHECK, no_check),
	OPT_NUM(O_IDLE_SLEEP, idle_sleep, 1, UINT32_MAX),
	OPT_FN(O_FILL, fill_opt),
	OPT_FN(O_PROMISC, promisc_opt),
	OPT_FN(O_OFFLOAD, offload_opt),
	OPT_FN(O_SRC_MAC, mac_opt),
	OPT_FN(O_DST_MAC, mac_opt),
	OPT_FN(O_SRC_IP, ip_opt),
	OPT_FN(O_DST_IP, ip_opt),
};

static void store_uint(void *field, size_t size, uint64_t v)
{
	if (size == sizeof(uint16_t))
		*(uint16_t *)field = (uint16_t)v;
	else if (size == sizeof(unsigned))
		*(unsigned *)field = (unsigned)v;
	else
		*(uint64_t *)field = v;
}

static int one_opt(struct pf_opts *o, int c, const char *arg, char *err,
		   size_t errlen)
{
	const struct opt_spec *s = specs;
	void *field;
	uint64_t v;

	while (s < specs + sizeof(specs) / sizeof(specs[0]) && s->c != c)
		s++;
	if (s == specs + sizeof(specs) / sizeof(specs[0]))
		return bad(err, errlen, "internal: option %d", c);
	field = (char *)o + s->off;
	switch (s->kind) {
	case NUM:
		if (num_opt(c, arg, s->lo, s->hi, &v, err, errlen))
			return -1;
		store_uint(field, s->size, v);
		return 0;
	case COUNT:
		if (count_opt(c, arg, s->lo, s->hi, &v, err, errlen))
			return -1;
		store_uint(field, s->size, v);
		return 0;
	case TIME:
		return time_opt(c, arg, s->lo == 0, (double)s->hi, field, err,
				errlen);
	case FLAG:
		*(bool *)field = true;
		return 0;
	case FEATURE:
		o->disable_features |= s->bit;
		return 0;
	default:
		return s->fn(o, c, arg, err, errlen);
	}
}

int pf_parse_options(int argc, char **argv, struct pf_opts *o, char *err,
		     size_t errlen)
{
	bool have_mode = false;
	int c;

	defaults(o);
	err[0] = '\0';
	opterr = 0;
	optind = 0;     /* GNU: start over, so tests can parse many times */
	/* '+': stop at the first non-option; ':': report missing values. */
	while ((c = getopt_long(argc, argv, "+:p:h", long_opts, NULL)) != -1) {
		if (c == 'h' || c == O_VERSION)
			return c == 'h' ? 1 : 2;
		if (c == '?' || c == ':') {
			cli_getopt_msg(c, argv, err, errlen);
			return -1;
		}
		if (one_opt(o, c, optarg, err, errlen))
			return -1;
		have_mode |= c == O_MODE;
	}
	if (optind < argc)
		return bad(err, errlen, "unexpected argument '%s'",
			    argv[optind]);
	if (!have_mode)
		return bad(err, errlen, "--mode is required (io, macswap, "
			    "txonly, rxonly)");
	if (!o->nports)
		return bad(err, errlen, "--mode %s needs at least one port: "
			    "-p pci:BDF", pf_mode_name(o->mode));
	if (o->rate && o->rate < (uint64_t)o->nports * o->queues)
		return bad(err, errlen, "--rate %llu is less than one frame per "
			    "second for each of %u port queues",
			    (unsigned long long)o->rate, o->nports * o->queues);
	if ((uint32_t)o->src_port + o->flows - 1 > 65535)
		return bad(err, errlen, "--src-port %u with --flows %u goes "
			    "past port 65535", o->src_port, o->flows);
	return 0;
}
