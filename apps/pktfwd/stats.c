/* SPDX-License-Identifier: MIT */
/*
 * pktfwd output: the periodic line on stderr (from the threads' own
 * counters, plus the driver's error counters, read while the threads run:
 * plain 64-bit loads, a stale value at worst) and the final summary on
 * stdout, as text or one JSON object (from the driver's counters, read
 * after the threads are joined).
 */
#include <stdarg.h>
#include <string.h>

#include <uvio/net.h>

#include "pktfwd.h"

#define LD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void port_driver_stats(const struct pf_port *p,
			      struct uvio_net_queue_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned q = 0; p->net && q < p->queue_pairs; q++) {
		struct uvio_net_queue_stats st;

		if (uvio_net_get_stats(p->net, (uint16_t)q, &st))
			continue;
		sum->rx_packets += st.rx_packets;
		sum->rx_bytes += st.rx_bytes;
		sum->rx_errors += st.rx_errors;
		sum->rx_nobuf += st.rx_nobuf;
		sum->tx_packets += st.tx_packets;
		sum->tx_bytes += st.tx_bytes;
		sum->tx_errors += st.tx_errors;
		sum->tx_drops += st.tx_drops;
	}
}

void pf_stats_snap(const struct pf_ctx *ctx, struct pf_stats_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->ns = pf_now_ns();
	for (unsigned p = 0; p < ctx->nports; p++) {
		struct uvio_net_queue_stats st;

		for (unsigned q = 0; q < ctx->nthreads; q++) {
			struct pf_qcount *c = &ctx->thr[q].cnt[p];

			s->rx_pkts[p] += LD(c->rx_pkts);
			s->rx_bytes[p] += LD(c->rx_bytes);
			s->tx_pkts[p] += LD(c->tx_pkts);
			s->tx_bytes[p] += LD(c->tx_bytes);
			s->drops[p] += LD(c->drops);
			s->lost[p] += LD(c->lost);
		}
		port_driver_stats(&ctx->port[p], &st);
		s->errors[p] = st.rx_errors + st.tx_errors;
	}
}

/* Gbps counts frame bytes (no preamble, FCS or gap). */
void pf_stats_line(const struct pf_ctx *ctx, const struct pf_stats_snap *a,
		   const struct pf_stats_snap *b)
{
	double dt = (double)(b->ns - a->ns) / 1e9;
	char line[160 * PF_MAX_PORTS];
	size_t at = 0;

	if (dt <= 0)
		return;
	at += (size_t)snprintf(line, sizeof(line), "[%7.1fs]",
			       (double)(b->ns - ctx->start_ns) / 1e9);
	for (unsigned p = 0; p < ctx->nports && at < sizeof(line); p++)
		at += (size_t)snprintf(line + at, sizeof(line) - at,
			"%s p%u rx %.3f Mpps %.3f Gbps tx %.3f Mpps %.3f Gbps "
			"drops %llu err %llu", p ? " |" : "", p,
			(double)(b->rx_pkts[p] - a->rx_pkts[p]) / dt / 1e6,
			(double)(b->rx_bytes[p] - a->rx_bytes[p]) * 8 / dt / 1e9,
			(double)(b->tx_pkts[p] - a->tx_pkts[p]) / dt / 1e6,
			(double)(b->tx_bytes[p] - a->tx_bytes[p]) * 8 / dt / 1e9,
			(unsigned long long)(b->drops[p] - a->drops[p]),
			(unsigned long long)(b->errors[p] - a->errors[p]));
	fprintf(stderr, "%s\n", line);
}

const char *pf_link_word(const struct pf_port *p)
{
	return !p->link_known ? "unknown" : p->link_up ? "up" : "down";
}

const char *pf_link_text(const struct pf_port *p, char *buf, size_t len)
{
	if (p->link_known && p->link_up && p->link_mbps != UINT32_MAX)
		snprintf(buf, len, "link up %u Mbps", p->link_mbps);
	else
		snprintf(buf, len, "link %s", pf_link_word(p));
	return buf;
}

void pf_link_line(const struct pf_ctx *ctx, unsigned p)
{
	char link[48];

	fprintf(stderr, "[%7.1fs] port %u: %s\n",
		(double)(pf_now_ns() - ctx->start_ns) / 1e9, p,
		pf_link_text(&ctx->port[p], link, sizeof(link)));
}

/* ---- summary ---- */

#define MAX_FAILS 8

struct result {
	struct uvio_net_queue_stats port[PF_MAX_PORTS], total;
	uint64_t lost[PF_MAX_PORTS], total_lost;
	unsigned reconnects;
	struct pf_check_counts ck;
	uint64_t generated, handled;
	double elapsed;
	const char *fail[MAX_FAILS];
	char fail_buf[MAX_FAILS][PF_ERR_MAX];
	unsigned nfail;
};

static void add_fail(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_fail(struct result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nfail == MAX_FAILS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->fail_buf[r->nfail], PF_ERR_MAX, fmt, ap);
	va_end(ap);
	r->fail[r->nfail] = r->fail_buf[r->nfail];
	r->nfail++;
}

static void gather(struct pf_ctx *ctx, struct result *r)
{
	const struct pf_opts *o = &ctx->o;

	memset(r, 0, sizeof(*r));
	r->elapsed = (double)(ctx->end_ns - ctx->start_ns) / 1e9;
	for (unsigned p = 0; p < ctx->nports; p++) {
		struct uvio_net_queue_stats *s = &r->port[p], *t = &r->total;

		port_driver_stats(&ctx->port[p], s);
		t->rx_packets += s->rx_packets;
		t->rx_bytes += s->rx_bytes;
		t->rx_errors += s->rx_errors;
		t->rx_nobuf += s->rx_nobuf;
		t->tx_packets += s->tx_packets;
		t->tx_bytes += s->tx_bytes;
		t->tx_errors += s->tx_errors;
		t->tx_drops += s->tx_drops;
	}
	for (unsigned p = 0; p < ctx->nports; p++) {
		for (unsigned q = 0; q < ctx->nthreads; q++)
			r->lost[p] += atomic_load(&ctx->thr[q].cnt[p].lost);
		r->total_lost += r->lost[p];
		r->reconnects += ctx->port[p].reconnects;
	}
	for (unsigned q = 0; q < ctx->nthreads; q++) {
		pf_check_add(&r->ck, &ctx->thr[q].ck.c);
		r->generated += ctx->thr[q].tx_generated;
		if (ctx->thr[q].error[0])
			add_fail(r, "%s", ctx->thr[q].error);
	}
	r->handled = atomic_load(&ctx->done);
	if (o->count && o->mode == PF_TXONLY && r->generated < o->count)
		add_fail(r, "sent %llu of --count %llu",
			 (unsigned long long)r->generated,
			 (unsigned long long)o->count);
	if (o->count && o->mode != PF_TXONLY && r->handled < o->count)
		add_fail(r, "%s %llu of --count %llu",
			 o->mode == PF_RXONLY ? "received" : "forwarded",
			 (unsigned long long)r->handled,
			 (unsigned long long)o->count);
	if (r->ck.corrupt)
		add_fail(r, "%llu corrupt frames",
			 (unsigned long long)r->ck.corrupt);
	if (ctx->pcap_on && ctx->pcap.failed)
		add_fail(r, "writing %s failed", o->pcap);
}

static double mpps(uint64_t pkts, double s)
{
	return s > 0 ? (double)pkts / s / 1e6 : 0;
}

/* "rx N pkts N bytes, tx N pkts N bytes, drops N, errors N, rx_nobuf N" */
static void text_counts(FILE *out, const struct uvio_net_queue_stats *s)
{
	fprintf(out, "rx %llu pkts %llu bytes, tx %llu pkts %llu bytes, drops "
		"%llu, errors %llu, rx_nobuf %llu",
		(unsigned long long)s->rx_packets,
		(unsigned long long)s->rx_bytes,
		(unsigned long long)s->tx_packets,
		(unsigned long long)s->tx_bytes, (unsigned long long)s->tx_drops,
		(unsigned long long)(s->rx_errors + s->tx_errors),
		(unsigned long long)s->rx_nobuf);
}

static void text_port(struct pf_ctx *ctx, const struct result *r, unsigned p,
		      FILE *out)
{
	const struct pf_port *pt = &ctx->port[p];

	fprintf(out, "port %u %s: link %s, ", p, pt->name, pf_link_word(pt));
	text_counts(out, &r->port[p]);
	fputc('\n', out);
	if (ctx->o.reconnect > 0)
		fprintf(out, "  reconnects %u, lost %llu (tx in flight when "
			"the back-end went away)\n", pt->reconnects,
			(unsigned long long)r->lost[p]);
	for (unsigned q = 0; q < pt->queue_pairs; q++) {
		struct uvio_net_queue_stats st = {0};

		uvio_net_get_stats(pt->net, (uint16_t)q, &st);
		fprintf(out, "  q%u: rx %llu tx %llu\n", q,
			(unsigned long long)st.rx_packets,
			(unsigned long long)st.tx_packets);
	}
}

/* What txonly made, what rxonly's checker saw. */
static void text_mode(const struct pf_opts *o, const struct result *r,
		      FILE *out)
{
	if (o->mode == PF_TXONLY)
		fprintf(out, "txonly: generated %llu frames of %u bytes, %u "
			"flow%s\n", (unsigned long long)r->generated,
			o->pkt_size, o->flows, o->flows == 1 ? "" : "s");
	if (o->mode == PF_RXONLY)
		fprintf(out, "check: received %llu lost %llu dup %llu reordered "
			"%llu corrupt %llu (other frames %llu)\n",
			(unsigned long long)r->ck.received,
			(unsigned long long)r->ck.lost,
			(unsigned long long)r->ck.dup,
			(unsigned long long)r->ck.reordered,
			(unsigned long long)r->ck.corrupt,
			(unsigned long long)r->ck.foreign);
}

static void print_text(struct pf_ctx *ctx, const struct result *r, FILE *out)
{
	const struct pf_opts *o = &ctx->o;
	const struct uvio_net_queue_stats *t = &r->total;

	fprintf(out, "pktfwd %s: %u port%s, %u queue%s, %.3f s\n",
		pf_mode_name(o->mode), ctx->nports, ctx->nports == 1 ? "" : "s",
		ctx->nthreads, ctx->nthreads == 1 ? "" : "s", r->elapsed);
	for (unsigned p = 0; p < ctx->nports; p++)
		text_port(ctx, r, p, out);
	fprintf(out, "total: ");
	text_counts(out, t);
	fputc('\n', out);
	if (o->reconnect > 0)
		fprintf(out, "reconnects: %u, lost %llu\n", r->reconnects,
			(unsigned long long)r->total_lost);
	text_mode(o, r, out);
	fprintf(out, "average: rx %.3f Mpps, tx %.3f Mpps\n",
		mpps(t->rx_packets, r->elapsed), mpps(t->tx_packets, r->elapsed));
	for (unsigned i = 0; i < r->nfail; i++)
		fprintf(out, "FAIL: %s\n", r->fail[i]);
	fprintf(out, "result: %s\n", r->nfail ? "FAIL" : "ok");
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_counts(FILE *out, const struct uvio_net_queue_stats *s)
{
	fprintf(out, "\"rx_packets\":%llu,\"rx_bytes\":%llu,\"tx_packets\":%llu,"
		"\"tx_bytes\":%llu,\"drops\":%llu,\"errors\":%llu,"
		"\"rx_nobuf\":%llu", (unsigned long long)s->rx_packets,
		(unsigned long long)s->rx_bytes,
		(unsigned long long)s->tx_packets,
		(unsigned long long)s->tx_bytes, (unsigned long long)s->tx_drops,
		(unsigned long long)(s->rx_errors + s->tx_errors),
		(unsigned long long)s->rx_nobuf);
}

static void print_json(struct pf_ctx *ctx, const struct result *r, FILE *out)
{
	const struct pf_opts *o = &ctx->o;

	fprintf(out, "{\"mode\":\"%s\",\"queues\":%u,\"elapsed_s\":%.6f,"
		"\"ports\":[", pf_mode_name(o->mode), ctx->nthreads, r->elapsed);
	for (unsigned p = 0; p < ctx->nports; p++) {
		fprintf(out, "%s{\"port\":%u,\"dev\":", p ? "," : "", p);
		json_str(out, ctx->port[p].name);
		fprintf(out, ",\"link\":\"%s\",", pf_link_word(&ctx->port[p]));
		json_counts(out, &r->port[p]);
		fprintf(out, ",\"lost\":%llu,\"reconnects\":%u,\"queues\":[",
			(unsigned long long)r->lost[p], ctx->port[p].reconnects);
		for (unsigned q = 0; q < ctx->port[p].queue_pairs; q++) {
			struct uvio_net_queue_stats st = {0};

			uvio_net_get_stats(ctx->port[p].net, (uint16_t)q, &st);
			fprintf(out, "%s{\"q\":%u,\"rx_packets\":%llu,"
				"\"tx_packets\":%llu}", q ? "," : "", q,
				(unsigned long long)st.rx_packets,
				(unsigned long long)st.tx_packets);
		}
		fprintf(out, "]}");
	}
	fprintf(out, "],\"total\":{");
	json_counts(out, &r->total);
	fprintf(out, ",\"lost\":%llu},\"reconnects\":%u,\"tx_generated\":%llu,",
		(unsigned long long)r->total_lost, r->reconnects,
		(unsigned long long)r->generated);
	fprintf(out, "\"pkt_size\":%u,\"flows\":%u,"
		"\"check\":{\"received\":%llu,\"lost\":%llu,\"dup\":%llu,"
		"\"reordered\":%llu,\"corrupt\":%llu,\"other\":%llu},"
		"\"avg_rx_mpps\":%.6f,\"avg_tx_mpps\":%.6f,\"ok\":%s,"
		"\"failures\":[", o->pkt_size, o->flows, (unsigned long long)r->ck.received,
		(unsigned long long)r->ck.lost, (unsigned long long)r->ck.dup,
		(unsigned long long)r->ck.reordered,
		(unsigned long long)r->ck.corrupt,
		(unsigned long long)r->ck.foreign,
		mpps(r->total.rx_packets, r->elapsed),
		mpps(r->total.tx_packets, r->elapsed),
		r->nfail ? "false" : "true");
	for (unsigned i = 0; i < r->nfail; i++) {
		if (i)
			fputc(',', out);
		json_str(out, r->fail[i]);
	}
	fprintf(out, "]}\n");
}

int pf_summary(struct pf_ctx *ctx, FILE *out)
{
	static struct result r;     /* big: keep it off the stack */

	gather(ctx, &r);
	if (ctx->o.json)
		print_json(ctx, &r, out);
	else
		print_text(ctx, &r, out);
	fflush(out);
	return r.nfail ? 1 : 0;
}
