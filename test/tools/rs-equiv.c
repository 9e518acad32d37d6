// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rs-equiv: builds a sample ruleset by hand that uses every set kind and
 * every statement kind, then prints it as an nft script, dumps or loads its
 * netlink batch.  test/integration/05-print-vs-netlink.sh compares what the
 * kernel holds after `nft -f` of the script with what it holds after the
 * netlink load.
 *
 *   rs-equiv print [options]    the nft script on stdout
 *   rs-equiv dump [options]     the netlink batch, as `nft --debug=mnl` shows it
 *   rs-equiv load [options]     load through nlbuild + nlbatch (current netns)
 *   rs-equiv genid              print the current generation id
 * options:
 *   --family ip|ip6|both        table(s) to build (default ip)
 *   --bulk N                    N more services of 3 endpoints (multi-message element lists)
 *   --break goto|lookup         (load) make the kernel refuse: an element's goto to a
 *                               missing chain (the last of service-ips, named on
 *                               stderr), and/or a rule's lookup of a missing set
 *   --genid current|stale       (load) guard the batch with the generation id
 *   --dry-run                   (load) no BATCH_END: the kernel checks, then aborts
 * exit: 0 ok, 1 failure, 2 usage, 3 the kernel refused the batch (errors on stderr)
 */
#include <errno.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "nlbatch.h"
#include "nlbuild.h"
#include "ruleset.h"

#define MARK 0x4000u

struct opts {
	const char *cmd;
	const char *family;
	unsigned long bulk;
	bool break_goto, break_lookup, dry_run;
	const char *genid;
};

struct sample {
	struct ruleset *rs;
	struct rs_table *t;
	int af;
	int err;
};

/* "198.18.0.10" in ip, "2001:db8:12::10"-style in ip6: a v4 address mapped into 2001:db8::/32. */
static struct addr A(struct sample *x, const char *v4)
{
	struct addr a = { 0 };
	char buf[64];

	if (x->af == AF_INET) {
		if (addr_parse(v4, &a) < 0)
			x->err = -EINVAL;
		return a;
	}
	snprintf(buf, sizeof(buf), "2001:db8::%s", v4);
	for (char *p = buf + 10; *p; p++)
		if (*p == '.')
			*p = ':';
	if (addr_parse(buf, &a) < 0)
		x->err = -EINVAL;
	return a;
}

static void check(struct sample *x, const void *p)
{
	if (!p && !x->err)
		x->err = -ENOMEM;
}

static struct rs_set *set_(struct sample *x, const char *name, enum rs_set_kind kind, const char *comment)
{
	struct rs_set *s = rs_table_add_set(x->rs, x->t, name, kind, comment);

	check(x, s);
	return s;
}

static struct rs_elem *elem(struct sample *x, struct rs_set *s, const char *comment)
{
	struct rs_elem *e = s ? rs_set_add_elem(x->rs, s) : NULL;

	check(x, e);
	if (e && rs_elem_set_comment(x->rs, e, comment) < 0)
		x->err = -ENOMEM;
	return e;
}

static struct rs_stmt *stmt(struct sample *x, struct rs_rule *r, enum rs_stmt_kind kind, const char *set)
{
	struct rs_stmt *st = r ? rs_rule_add_stmt(r, kind) : NULL;

	check(x, st);
	if (st)
		st->set = set;
	return st;
}

static void verdict(struct sample *x, struct rs_rule *r, enum rs_verdict v, const char *chain)
{
	struct rs_stmt *st = stmt(x, r, RS_ST_VERDICT, NULL);

	if (st) {
		st->verdict = v;
		st->chain = chain;
	}
}

static struct rs_rule *rule(struct sample *x, struct rs_chain *c, const char *comment)
{
	struct rs_rule *r = c ? rs_chain_add_rule(x->rs, c, comment) : NULL;

	check(x, r);
	return r;
}

/* One service port: its vmap element and its K backends (and hairpin pairs). */
static void service(struct sample *x, const char *ip, uint8_t proto, uint16_t port, unsigned k, const char *label,
		    const char *front)
{
	struct rs_set *vmap = rs_table_find_set(x->t, "service-ips");
	struct rs_set *map = rs_table_find_set(x->t, "service-backends");
	struct rs_set *hp = rs_table_find_set(x->t, "hairpin");
	char buf[160];
	struct rs_elem *e;

	snprintf(buf, sizeof(buf), "%s %s", label, front);
	e = elem(x, vmap, buf);
	if (!e)
		return;
	e->addr = A(x, ip);
	e->proto = proto;
	e->port = port;
	e->verdict = RS_VERDICT_GOTO;
	e->chain = !strcmp(front, "external IP") ? "external-2" : k == 1 ? "cluster-1" : k == 2 ? "cluster-2" : "cluster-3";
	for (unsigned i = 0; i < k; i++) {
		char ep[32];

		snprintf(ep, sizeof(ep), "198.19.%u.%u", (port >> 8) & 0xff, (port & 0x7f) + i + 1);
		snprintf(buf, sizeof(buf), "%s -> %s:%u", label, ep, 8080 + i);
		e = elem(x, map, buf);
		if (!e)
			return;
		*e = (struct rs_elem){ .addr = A(x, ip), .proto = proto, .port = port, .index = i, .to_addr = A(x, ep),
				       .to_port = (uint16_t)(8080 + i), .comment = e->comment };
		e = elem(x, hp, NULL);
		if (e)
			e->addr = e->addr2 = A(x, ep);
	}
}

static void nodeport(struct sample *x, uint8_t proto, uint16_t port, unsigned k, const char *label)
{
	struct rs_set *vmap = rs_table_find_set(x->t, "service-nodeports");
	struct rs_set *map = rs_table_find_set(x->t, "nodeport-backends");
	static const char *const chains[] = { NULL, "nodeport-1", "nodeport-2", "nodeport-3" };
	char buf[160];
	struct rs_elem *e;

	snprintf(buf, sizeof(buf), "%s nodePort", label);
	e = elem(x, vmap, buf);
	if (!e)
		return;
	*e = (struct rs_elem){ .proto = proto, .port = port, .verdict = RS_VERDICT_GOTO, .chain = chains[k],
			       .comment = e->comment };
	for (unsigned i = 0; i < k; i++) {
		char ep[32];

		snprintf(ep, sizeof(ep), "198.19.200.%u", i + 1);
		e = elem(x, map, NULL);
		if (e)
			*e = (struct rs_elem){ .proto = proto, .port = port, .index = i, .to_addr = A(x, ep),
					       .to_port = 8080 };
	}
}

static void no_endpoints(struct sample *x)
{
	struct rs_set *vs = rs_table_find_set(x->t, "no-endpoint-services");
	struct rs_set *vn = rs_table_find_set(x->t, "no-endpoint-nodeports");
	static const struct {
		const char *ip;
		uint8_t proto;
		uint16_t port;
		enum rs_verdict v;
	} svc[] = {
		{ "198.18.0.20", IPPROTO_TCP, 80, RS_VERDICT_GOTO },
		{ "198.18.0.21", IPPROTO_UDP, 53, RS_VERDICT_DROP },
		{ "198.18.0.22", IPPROTO_TCP, 22, RS_VERDICT_ACCEPT },
		{ "198.18.0.23", IPPROTO_TCP, 23, RS_VERDICT_RETURN },
		{ "198.18.0.24", IPPROTO_SCTP, 24, RS_VERDICT_JUMP },
	};
	struct rs_elem *e;

	for (size_t i = 0; i < sizeof(svc) / sizeof(svc[0]); i++) {
		e = elem(x, vs, i ? NULL : "default/empty:http cluster IP: no endpoints");
		if (e)
			*e = (struct rs_elem){ .addr = A(x, svc[i].ip), .proto = svc[i].proto, .port = svc[i].port,
					       .verdict = svc[i].v, .chain = "reject-chain", .comment = e->comment };
	}
	e = elem(x, vn, "default/empty:http nodePort: no endpoints");
	if (e)
		*e = (struct rs_elem){ .proto = IPPROTO_TCP, .port = 30081, .verdict = RS_VERDICT_GOTO,
				       .chain = "reject-chain", .comment = e->comment };
}

static void prefixes(struct sample *x)
{
	struct rs_set *s = rs_table_find_set(x->t, "nodeport-addresses");
	static const struct {
		const char *net4, *net6;
		uint8_t len4, len6;
		const char *comment;
	} p[] = {
		{ "203.0.113.0", "2001:db8:203::", 24, 48, "node LAN" },
		{ "198.51.100.7", "2001:db8:51::7", 32, 128, NULL },
		{ "198.51.100.128", "2001:db8:51::180", 25, 121, "odd-sized prefix" },
		{ "198.18.0.0", "2001:db8:18::", 15, 47, NULL },
	};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		struct rs_elem *e = elem(x, s, p[i].comment);

		if (e && addr_parse(x->af == AF_INET ? p[i].net4 : p[i].net6, &e->addr) < 0)
			x->err = -EINVAL;
		if (e)
			e->prefix_len = x->af == AF_INET ? p[i].len4 : p[i].len6;
	}
}

static void cluster_ips(struct sample *x)
{
	struct rs_set *s = rs_table_find_set(x->t, "cluster-ips");
	static const char *const ips[] = { "198.18.0.10", "198.18.0.11", "198.18.0.12", "198.18.0.13", "198.18.0.20" };

	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		struct rs_elem *e = elem(x, s, i == 0 ? "default/web" : NULL);

		if (e)
			e->addr = A(x, ips[i]);
	}
}

static void sets(struct sample *x)
{
	set_(x, "service-ips", RS_SET_ADDR_PROTO_PORT_VMAP, "ClusterIP and external IP services");
	set_(x, "service-nodeports", RS_SET_PROTO_PORT_VMAP, "NodePort traffic");
	set_(x, "no-endpoint-services", RS_SET_ADDR_PROTO_PORT_VMAP, NULL);
	set_(x, "no-endpoint-nodeports", RS_SET_PROTO_PORT_VMAP, "nodePorts without endpoints");
	set_(x, "service-backends", RS_SET_ADDR_PROTO_PORT_INDEX_MAP,
	     "backends by service address, protocol, port and slot: a set comment this long is cut");
	set_(x, "nodeport-backends", RS_SET_PROTO_PORT_INDEX_MAP, NULL);
	set_(x, "cluster-ips", RS_SET_ADDR, "active ClusterIPs");
	set_(x, "hairpin", RS_SET_ADDR_ADDR, "endpoint . endpoint");
	set_(x, "nodeport-addresses", RS_SET_PREFIX, "addresses that accept NodePort traffic");
	set_(x, "unused-prefixes", RS_SET_PREFIX, "an empty set");
	set_(x, "service-traffic", RS_SET_ADDR_PROTO_PORT, "traffic per service port");
	set_(x, "nodeport-traffic", RS_SET_PROTO_PORT, NULL);
	set_(x, "firewall-ips", RS_SET_ADDR_PROTO_PORT, "load-balancer IPs with source ranges");
	set_(x, "aff-web-0", RS_SET_ADDR_DYNAMIC, "default/web:http -> 198.19.0.81:8080: clients of the last 10800s");
	set_(x, "aff-web-1", RS_SET_ADDR_DYNAMIC, NULL);
	if (!x->err) {
		rs_table_find_set(x->t, "service-traffic")->counter = true;
		rs_table_find_set(x->t, "nodeport-traffic")->counter = true;
		rs_table_find_set(x->t, "aff-web-0")->timeout = 10800;
		rs_table_find_set(x->t, "aff-web-1")->timeout = 300;
	}
}

/* Elements of the plain (non-map) concatenated sets: traffic counters, firewall. */
static void plain_concat_sets(struct sample *x)
{
	struct rs_set *st = rs_table_find_set(x->t, "service-traffic");
	struct rs_set *nt = rs_table_find_set(x->t, "nodeport-traffic");
	struct rs_set *fw = rs_table_find_set(x->t, "firewall-ips");
	struct rs_elem *e = elem(x, st, "default/web:http cluster IP");

	if (e)
		*e = (struct rs_elem){ .addr = A(x, "198.18.0.10"), .proto = IPPROTO_TCP, .port = 80, .comment = e->comment };
	e = elem(x, st, NULL);
	if (e)
		*e = (struct rs_elem){ .addr = A(x, "198.18.0.11"), .proto = IPPROTO_UDP, .port = 53 };
	e = elem(x, nt, "default/web:http nodePort");
	if (e)
		*e = (struct rs_elem){ .proto = IPPROTO_TCP, .port = 30080, .comment = e->comment };
	e = elem(x, fw, "default/lb:http load-balancer IP");
	if (e)
		*e = (struct rs_elem){ .addr = A(x, "203.0.113.50"), .proto = IPPROTO_TCP, .port = 80, .comment = e->comment };
}

static struct rs_chain *chain(struct sample *x, const char *name, const char *comment)
{
	struct rs_chain *c = rs_table_add_chain(x->rs, x->t, name, comment);

	check(x, c);
	return c;
}

static struct rs_chain *base(struct sample *x, const char *name, enum rs_chain_type type, enum rs_hook hook,
			     int32_t prio, const char *comment)
{
	struct rs_chain *c = rs_table_add_base_chain(x->rs, x->t, name, type, hook, prio, comment);

	check(x, c);
	return c;
}

static void mark_or(struct sample *x, struct rs_rule *r)
{
	struct rs_stmt *st = stmt(x, r, RS_ST_MARK_OR, NULL);

	if (st)
		st->mark = MARK;
}

static void k_chain(struct sample *x, const char *prefix, unsigned k, bool nodeport, bool masq_outside)
{
	char name[32], comment[96];
	struct rs_chain *c;
	struct rs_rule *r;
	struct rs_stmt *st;

	snprintf(name, sizeof(name), "%s-%u", prefix, k);
	snprintf(comment, sizeof(comment), "services with %u endpoint%s: pick one at random", k, k == 1 ? "" : "s");
	c = chain(x, name, comment);
	r = rule(x, c, masq_outside ? "masquerade traffic from outside the cluster" : NULL);
	if (masq_outside) {
		st = stmt(x, r, RS_ST_SADDR_NOT_PREFIX, NULL);
		if (st) {
			st->prefix = A(x, "198.19.0.0");
			st->prefix_len = x->af == AF_INET ? 16 : 112;
		}
	}
	mark_or(x, r);
	r = rule(x, c, NULL);
	st = stmt(x, r, nodeport ? RS_ST_DNAT_PROTO_DPORT_NG : RS_ST_DNAT_DADDR_PROTO_DPORT_NG,
		  nodeport ? "nodeport-backends" : "service-backends");
	if (st)
		st->mod = k;
}

static void dispatch_chains(struct sample *x)
{
	struct rs_chain *c = chain(x, "services", "dispatch on destination: service IPs, then nodePorts");
	struct rs_rule *r = rule(x, c, NULL);

	stmt(x, r, RS_ST_VMAP_DADDR_PROTO_DPORT, "service-ips");
	r = rule(x, c, "nodePorts on local addresses");
	stmt(x, r, RS_ST_FIB_DADDR_LOCAL, NULL);
	stmt(x, r, RS_ST_DADDR_NOT_LOOPBACK, NULL);
	stmt(x, r, RS_ST_VMAP_PROTO_DPORT, "service-nodeports");

	c = chain(x, "endpoints-check", "new connections to service ports without endpoints");
	r = rule(x, c, NULL);
	stmt(x, r, RS_ST_VMAP_DADDR_PROTO_DPORT, "no-endpoint-services");
	r = rule(x, c, NULL);
	stmt(x, r, RS_ST_DADDR_IN_SET, "nodeport-addresses");
	stmt(x, r, RS_ST_VMAP_PROTO_DPORT, "no-endpoint-nodeports");
}

static void prefix_rule(struct sample *x, struct rs_chain *c, const char *net, uint8_t len4, uint8_t len6,
			bool counter, enum rs_verdict v, const char *comment)
{
	struct rs_rule *r = rule(x, c, comment);
	struct rs_stmt *st = stmt(x, r, RS_ST_DADDR_PREFIX, NULL);

	if (st) {
		st->prefix = A(x, net);
		st->prefix_len = x->af == AF_INET ? len4 : len6;
	}
	if (counter)
		stmt(x, r, RS_ST_COUNTER, NULL);
	verdict(x, r, v, NULL);
}

static void check_chains(struct sample *x)
{
	struct rs_chain *c = chain(x, "cluster-ips-check", "after DNAT: what still goes to a ClusterIP matched no port");
	struct rs_rule *r = rule(x, c, "reject traffic to unknown ports of ClusterIPs");
	struct rs_stmt *st;

	stmt(x, r, RS_ST_DADDR_IN_SET, "cluster-ips");
	verdict(x, r, RS_VERDICT_GOTO, "reject-chain");
	prefix_rule(x, c, "198.18.0.0", 16, 112, true, RS_VERDICT_DROP, "drop traffic to unallocated ClusterIPs");
	prefix_rule(x, c, "198.18.0.0", 15, 111, false, RS_VERDICT_DROP, NULL);
	prefix_rule(x, c, "198.18.0.1", 32, 128, false, RS_VERDICT_ACCEPT,
		    "quotes \" and \\ backslash,\ttab, caf\xc3\xa9, bad \xff byte, and a comment far longer than "
		    "nft's 128-byte limit for comments, which both back ends cut at the same place");

	c = chain(x, "masquerading", "source NAT for traffic marked on its way in");
	r = rule(x, c, NULL);
	st = stmt(x, r, RS_ST_MARK_CLEAR_TEST, NULL);
	if (st)
		st->mark = MARK;
	verdict(x, r, RS_VERDICT_RETURN, NULL);
	r = rule(x, c, NULL);
	st = stmt(x, r, RS_ST_MARK_XOR, NULL);
	if (st)
		st->mark = MARK;
	r = rule(x, c, NULL);
	stmt(x, r, RS_ST_MASQUERADE, NULL);
}

static void jump_chain(struct sample *x, const char *name, enum rs_chain_type type, enum rs_hook hook, int32_t prio,
		       bool new_only, const char *target)
{
	struct rs_chain *c = base(x, name, type, hook, prio, new_only ? NULL : "base chain");
	struct rs_rule *r = rule(x, c, NULL);

	if (new_only)
		stmt(x, r, RS_ST_CT_STATE_NEW, NULL);
	verdict(x, r, RS_VERDICT_JUMP, target);
}

/* Session affinity, as the compiler builds it: one dynamic set and one chain per endpoint. */
static void affinity_chains(struct sample *x)
{
	static const char *const ep[] = { "198.19.0.81", "198.19.0.82" };
	struct rs_chain *c;
	struct rs_rule *r;
	struct rs_stmt *st;
	char name[32];

	for (unsigned i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "aff-web-%u", i);
		c = chain(x, name, i ? NULL : "default/web:http -> 198.19.0.81:8080: clients of the last 10800s");
		stmt(x, rule(x, c, NULL), RS_ST_UPDATE_SADDR, rs_table_find_set(x->t, name)->name);
		r = rule(x, c, NULL);
		st = stmt(x, r, RS_ST_L4PROTO, NULL);
		if (st)
			st->proto = IPPROTO_TCP;
		st = stmt(x, r, RS_ST_DNAT_TO, NULL);
		if (st) {
			st->to_addr = A(x, ep[i]);
			st->port = (uint16_t)(8080 + i);
		}
	}
	c = chain(x, "aff-web", "session affinity (ClientIP)");
	r = rule(x, c, "a client seen recently keeps its endpoint");
	stmt(x, r, RS_ST_SADDR_IN_SET, "aff-web-0");
	verdict(x, r, RS_VERDICT_GOTO, "aff-web-0");
	r = rule(x, c, NULL);
	stmt(x, r, RS_ST_SADDR_IN_SET, "aff-web-1");
	verdict(x, r, RS_VERDICT_GOTO, "aff-web-1");
	r = rule(x, c, "a new client gets an endpoint at random");
	st = stmt(x, r, RS_ST_NUMGEN_ZERO, NULL);
	if (st)
		st->mod = 2;
	verdict(x, r, RS_VERDICT_GOTO, "aff-web-0");
	verdict(x, rule(x, c, NULL), RS_VERDICT_GOTO, "aff-web-1");
}

/* loadBalancerSourceRanges and the traffic counters. */
static void firewall_chains(struct sample *x)
{
	struct rs_chain *c = chain(x, "firewall-check", "load-balancer source ranges");
	struct rs_rule *r = rule(x, c, "default/lb:http");
	struct rs_stmt *st = stmt(x, r, RS_ST_DADDR_EQ, NULL);

	if (st)
		st->prefix = A(x, "203.0.113.50");
	st = stmt(x, r, RS_ST_L4PROTO, NULL);
	if (st)
		st->proto = IPPROTO_TCP;
	st = stmt(x, r, RS_ST_DPORT_EQ, NULL);
	if (st)
		st->port = 80;
	st = stmt(x, r, RS_ST_SADDR_PREFIX, NULL);
	if (st) {
		st->prefix = A(x, "198.51.100.0");
		st->prefix_len = x->af == AF_INET ? 24 : 120;
	}
	verdict(x, r, RS_VERDICT_RETURN, NULL);
	r = rule(x, c, NULL);
	stmt(x, r, RS_ST_DADDR_PROTO_DPORT_IN_SET, "firewall-ips");
	verdict(x, r, RS_VERDICT_DROP, NULL);

	c = chain(x, "count-traffic", NULL);
	r = rule(x, c, NULL);
	stmt(x, r, RS_ST_DADDR_PROTO_DPORT_IN_SET, "service-traffic");
	verdict(x, r, RS_VERDICT_RETURN, NULL);
	r = rule(x, c, NULL);
	stmt(x, r, RS_ST_FIB_DADDR_LOCAL, NULL);
	stmt(x, r, RS_ST_PROTO_DPORT_IN_SET, "nodeport-traffic");
}

static void chains(struct sample *x)
{
	struct rs_chain *c = chain(x, "reject-chain", "services without endpoints: refuse at once");
	struct rs_rule *r = rule(x, c, NULL);
	struct rs_stmt *st = stmt(x, r, RS_ST_L4PROTO, NULL);

	if (st)
		st->proto = IPPROTO_TCP;
	stmt(x, r, RS_ST_REJECT_TCP_RESET, NULL);
	stmt(x, rule(x, c, NULL), RS_ST_REJECT, NULL);
	for (unsigned k = 1; k <= 3; k++)
		k_chain(x, "cluster", k, false, true);
	k_chain(x, "external", 2, false, false);
	for (unsigned k = 1; k <= 3; k++)
		k_chain(x, "nodeport", k, true, false);
	affinity_chains(x);
	firewall_chains(x);
	dispatch_chains(x);
	check_chains(x);
	jump_chain(x, "filter-prerouting", RS_CHAIN_FILTER, RS_HOOK_PREROUTING, -110, true, "endpoints-check");
	jump_chain(x, "filter-output", RS_CHAIN_FILTER, RS_HOOK_OUTPUT, -110, true, "endpoints-check");
	jump_chain(x, "filter-prerouting-post-dnat", RS_CHAIN_FILTER, RS_HOOK_PREROUTING, -90, true, "cluster-ips-check");
	jump_chain(x, "filter-output-post-dnat", RS_CHAIN_FILTER, RS_HOOK_OUTPUT, -90, true, "cluster-ips-check");
	jump_chain(x, "nat-prerouting", RS_CHAIN_NAT, RS_HOOK_PREROUTING, -100, false, "services");
	jump_chain(x, "nat-output", RS_CHAIN_NAT, RS_HOOK_OUTPUT, -100, false, "services");
	c = base(x, "nat-postrouting", RS_CHAIN_NAT, RS_HOOK_POSTROUTING, 100, NULL);
	r = rule(x, c, "hairpin: a pod reaching itself through a service");
	stmt(x, r, RS_ST_CT_STATUS_DNAT, NULL);
	stmt(x, r, RS_ST_SADDR_DADDR_IN_SET, "hairpin");
	mark_or(x, r);
	verdict(x, rule(x, c, NULL), RS_VERDICT_JUMP, "masquerading");
}

static void services(struct sample *x, unsigned long bulk)
{
	service(x, "198.18.0.10", IPPROTO_TCP, 80, 2, "default/web:http", "cluster IP");
	service(x, "198.18.0.10", IPPROTO_TCP, 443, 2, "default/web:https", "cluster IP");
	service(x, "198.18.0.11", IPPROTO_UDP, 53, 1, "kube-system/dns:dns", "cluster IP");
	service(x, "198.18.0.12", IPPROTO_SCTP, 9000, 3, "default/sctp:data", "cluster IP");
	service(x, "203.0.113.10", IPPROTO_TCP, 80, 2, "default/web:http", "external IP");
	for (unsigned long i = 0; i < bulk && !x->err; i++) {
		char ip[32], label[64];

		snprintf(ip, sizeof(ip), "198.18.%lu.%lu", 1 + i / 250, 1 + i % 250);
		snprintf(label, sizeof(label), "bulk/svc-%lu:http", i);
		service(x, ip, IPPROTO_TCP, (uint16_t)(1000 + i % 60000), 3, label, "cluster IP");
	}
	nodeport(x, IPPROTO_TCP, 30080, 2, "default/web:http");
	nodeport(x, IPPROTO_UDP, 30053, 1, "kube-system/dns:dns");
	nodeport(x, IPPROTO_SCTP, 30900, 3, "default/sctp:data");
}

static int build_table(struct ruleset *rs, int af, const struct opts *o)
{
	struct sample x = { .rs = rs, .af = af };

	x.t = ruleset_add_table(rs, af == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6, "svcnat",
				"svcnat test ruleset: every set kind and statement kind");
	check(&x, x.t);
	if (x.err)
		return x.err;
	sets(&x);
	if (x.err)
		return x.err;
	services(&x, o->bulk);
	no_endpoints(&x);
	cluster_ips(&x);
	prefixes(&x);
	plain_concat_sets(&x);
	chains(&x);
	return x.err;
}

/* Equal keys are adjacent once sorted; keep the first (hairpin pairs repeat). */
static void dedup(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct rs_table *t = &rs->tables[i];

		for (size_t j = 0; j < t->n_sets; j++) {
			struct rs_set *s = &t->sets[j];
			uint8_t a[RS_KEY_MAX], b[RS_KEY_MAX];
			size_t n = 0;

			for (size_t k = 0; k < s->n_elems; k++) {
				size_t la = rs_elem_key(t, s, &s->elems[k], a);

				if (n && la == rs_elem_key(t, s, &s->elems[n - 1], b) && !memcmp(a, b, la))
					continue;
				s->elems[n++] = s->elems[k];
			}
			s->n_elems = n;
		}
	}
}

/* The refusals of --break: an element going to a missing chain, a rule naming a missing set. */
static void break_ruleset(struct ruleset *rs, const struct opts *o)
{
	struct rs_table *t = &rs->tables[0];

	if (o->break_goto) {
		/* The last: with --bulk, past the first chunk of elements. */
		struct rs_set *s = rs_table_find_set(t, "service-ips");
		struct rs_elem *e = &s->elems[s->n_elems - 1];

		e->chain = "cluster-99";
		fprintf(stderr, "rs-equiv: broke map '%s' element #%zu comment \"%s\"\n", s->name, s->n_elems - 1,
			e->comment);
	}
	if (o->break_lookup) {
		struct rs_chain *c = rs_table_find_chain(t, "services");

		c->rules[0].stmts[0].set = "no-such-map";
	}
}

static struct ruleset *build(const struct opts *o)
{
	struct ruleset *rs = ruleset_new();
	bool ip = !strcmp(o->family, "ip") || !strcmp(o->family, "both");
	bool ip6 = !strcmp(o->family, "ip6") || !strcmp(o->family, "both");
	int err = rs ? 0 : -ENOMEM;

	if (!err && ip)
		err = build_table(rs, AF_INET, o);
	if (!err && ip6)
		err = build_table(rs, AF_INET6, o);
	if (err) {
		fprintf(stderr, "rs-equiv: building the sample ruleset: %s\n", strerror(-err));
		ruleset_free(rs);
		return NULL;
	}
	ruleset_sort(rs);
	dedup(rs);
	break_ruleset(rs, o);
	return rs;
}

static int get_genid(struct mnl_socket *nl, const struct opts *o, uint32_t *ret)
{
	int err;

	*ret = 0;
	if (!o->genid)
		return 0;
	err = nl_get_genid(nl, ret);
	if (err < 0)
		fprintf(stderr, "rs-equiv: reading the generation id: %s\n", strerror(-err));
	else if (!strcmp(o->genid, "stale"))
		(*ret)--;
	return err;
}

static int report(struct nlbatch *b, int err, const struct nlbatch_error *first)
{
	char line[4 * NLBATCH_TEXT_MAX];

	if (!nlbatch_n_errors(b)) {
		nlbatch_error_format(first, line, sizeof(line));
		fprintf(stderr, "rs-equiv: %s\n", line);
		return 1;
	}
	for (size_t i = 0; i < nlbatch_n_errors(b); i++) {
		const struct nlbatch_error *e = nlbatch_get_error(b, i);

		nlbatch_error_format(e, line, sizeof(line));
		fprintf(stderr, "rs-equiv: kernel refused seq %u: %s\n", e->seq, line);
	}
	return err < 0 ? 3 : 1;
}

static int cmd_load(const struct ruleset *rs, const struct opts *o)
{
	struct mnl_socket *nl = NULL;
	struct nlbatch *b = NULL;
	struct nlbatch_error first = { 0 };
	uint32_t genid;
	int err = nl_socket_open(&nl), ret = 1;

	if (err < 0) {
		fprintf(stderr, "rs-equiv: netlink socket: %s\n", strerror(-err));
		return 1;
	}
	if (get_genid(nl, o, &genid) < 0)
		goto out;
	b = nlbatch_new(genid);
	err = b ? nlbuild_load_full(rs, b) : -ENOMEM;
	if (err < 0) {
		fprintf(stderr, "rs-equiv: building the batch: %s\n", strerror(-err));
		goto out;
	}
	err = nlbatch_commit(b, nl, o->dry_run ? NLBATCH_DRY_RUN : 0, &first);
	if (err < 0) {
		ret = report(b, err, &first);
		goto out;
	}
	printf("loaded: %zu messages, %zu bytes, %s\n", nlbatch_n_msgs(b), nlbatch_size(b),
	       o->dry_run ? "dry run" : nlbatch_acked(b) ? "commit acknowledged" : "no error reported");
	ret = 0;
out:
	nlbatch_free(b);
	mnl_socket_close(nl);
	return ret;
}

static int cmd_dump(const struct ruleset *rs)
{
	struct nlbatch *b = nlbatch_new(0);
	int err = b ? nlbuild_load_full(rs, b) : -ENOMEM;

	if (!err)
		nlbatch_dump(b, stdout);
	nlbatch_free(b);
	if (err)
		fprintf(stderr, "rs-equiv: building the batch: %s\n", strerror(-err));
	return err ? 1 : 0;
}

static int cmd_genid(void)
{
	struct mnl_socket *nl;
	uint32_t genid;
	int err = nl_socket_open(&nl);

	if (!err) {
		err = nl_get_genid(nl, &genid);
		mnl_socket_close(nl);
	}
	if (err) {
		fprintf(stderr, "rs-equiv: genid: %s\n", strerror(-err));
		return 1;
	}
	printf("%u\n", genid);
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .cmd = argc > 1 ? argv[1] : "", .family = "ip" };
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--dry-run")) {
			o->dry_run = true;
			continue;
		}
		if (!v)
			return -EINVAL;
		i++;
		if (!strcmp(a, "--family") && (!strcmp(v, "ip") || !strcmp(v, "ip6") || !strcmp(v, "both")))
			o->family = v;
		else if (!strcmp(a, "--bulk"))
			o->bulk = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--break") && (!strcmp(v, "goto") || !strcmp(v, "lookup")))
			*(v[0] == 'g' ? &o->break_goto : &o->break_lookup) = true;
		else if (!strcmp(a, "--genid") && (!strcmp(v, "current") || !strcmp(v, "stale")))
			o->genid = v;
		else
			return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ruleset *rs;
	struct opts o;
	int ret;

	if (parse_opts(argc, argv, &o) < 0 || !*o.cmd) {
		fprintf(stderr, "usage: rs-equiv print|dump|load|genid [--family ip|ip6|both] [--bulk N] "
				"[--break goto|lookup] [--genid current|stale] [--dry-run]\n");
		return 2;
	}
	if (!strcmp(o.cmd, "genid"))
		return cmd_genid();
	rs = build(&o);
	if (!rs)
		return 1;
	if (!strcmp(o.cmd, "print"))
		ret = print_nft_ruleset(stdout, rs) < 0 ? 1 : 0;
	else if (!strcmp(o.cmd, "dump"))
		ret = cmd_dump(rs);
	else if (!strcmp(o.cmd, "load"))
		ret = cmd_load(rs, &o);
	else
		ret = 2;
	ruleset_free(rs);
	return ret;
}
