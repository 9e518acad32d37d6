// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * model -> ruleset.  The layout (svcnat(8), RULESET LAYOUT) keeps the number
 * of kernel objects constant as services grow: every service port is a map
 * element, and the only chains that vary are one per distinct endpoint
 * count K, holding "numgen random mod K" (MEASUREMENTS.md, design C: the
 * kernel's commit cost grows with chains and sets, not with elements).
 */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#include <linux/netfilter.h>

#define SET_SERVICE_IPS "service-ips"
#define SET_SERVICE_NODEPORTS "service-nodeports"
#define SET_SERVICE_BACKENDS "service-backends"
#define SET_NODEPORT_BACKENDS "nodeport-backends"
#define SET_NO_EP_SERVICES "no-endpoint-services"
#define SET_NO_EP_NODEPORTS "no-endpoint-nodeports"
#define SET_CLUSTER_IPS "cluster-ips"
#define SET_HAIRPIN "hairpin"
#define SET_SERVICE_TRAFFIC "service-traffic"
#define SET_NODEPORT_TRAFFIC "nodeport-traffic"
#define SET_NODEPORTS "nodeports"
#define SET_FIREWALL_IPS "firewall-ips"
#define SET_SC_IPS "short-circuit-ips"
#define SET_SC_NODEPORTS "short-circuit-nodeports"
#define SET_SC_BACKENDS "short-circuit-backends"
#define SET_SC_NODEPORT_BACKENDS "short-circuit-nodeport-backends"
#define CHAIN_SHORT_CIRCUIT "short-circuit"
#define CHAIN_FIREWALL "firewall-check"
#define CHAIN_REJECT "reject-chain"

/*
 * How traffic reached a service port, which decides the endpoints it may use
 * (traffic policies), whether it is masqueraded, and its chain: the *_LOCAL
 * kinds (externalTrafficPolicy: Local) keep the client's address.  The
 * SHORT_CIRCUIT kinds are the same ports reached from a pod or from the node
 * itself, which kube-proxy sends to every endpoint whatever the policy: such a
 * client is inside the cluster, and a Local policy is about outside clients.
 */
enum frontend {
	FRONT_CLUSTER,
	FRONT_EXTERNAL,
	FRONT_NODEPORT,
	FRONT_EXTERNAL_LOCAL,
	FRONT_NODEPORT_LOCAL,
	FRONT_SHORT_CIRCUIT,
	FRONT_SHORT_CIRCUIT_NODEPORT,
	N_FRONTENDS,
};

static const char *const front_chain[] = { "cluster", "external", "nodeport", "external-local", "nodeport-local",
					   "short-circuit", "short-circuit-nodeport" };

/* A service port with session affinity, whose chains and sets are emitted after the services. */
struct affinity_job {
	const char *name;	/* "affinity-<ns>/<svc>/<proto>/<port>-<kind>" */
	const char *ep_name;	/* "affinity-<ns>/<svc>/<proto>/<port>[-local]": + "-<i>" per endpoint */
	const char *label;
	enum frontend f;
	uint8_t proto;
	uint32_t timeout;
	struct backend *be;	/* owned */
	size_t k;
};

struct compile_ctx {
	const struct model *m;
	const struct config *c;
	struct ruleset *rs;
	struct rs_table *t;
	int family;
	struct rs_set *service_ips, *service_nodeports, *backends, *nodeport_backends;
	struct rs_set *no_ep_services, *no_ep_nodeports, *cluster_ips, *hairpin;
	struct rs_set *service_traffic, *nodeport_traffic, *nodeports, *firewall_ips;
	struct rs_set *sc_ips, *sc_nodeports, *sc_backends, *sc_nodeport_backends;
	struct rs_chain *firewall;	/* allow rules of loadBalancerSourceRanges, filled as services compile */
	/* Which "front-K" chains are needed: bit K of each frontend kind's bitmap. */
	uint32_t *used_k[N_FRONTENDS];
	size_t max_k;
	struct affinity_job *aff;
	size_t n_aff, cap_aff;
	struct compile_stats *stats;
	bool node_hosts_endpoints;	/* some endpoint's nodeName is this node's name */
	struct topology topo;		/* this node's name and zone */
	struct addr *endpoints;		/* every endpoint address, to count them (stats) */
	size_t n_endpoints, cap_endpoints;
};

static struct rs_stmt *stmt(struct rs_rule *r, enum rs_stmt_kind kind, const char *set)
{
	struct rs_stmt *st = rs_rule_add_stmt(r, kind);

	if (st)
		st->set = set;
	return st;
}

static struct rs_stmt *verdict(struct rs_rule *r, enum rs_verdict v, const char *chain)
{
	struct rs_stmt *st = rs_rule_add_stmt(r, RS_ST_VERDICT);

	if (st) {
		st->verdict = v;
		st->chain = chain;
	}
	return st;
}

static int cmp_backends(const void *a, const void *b)
{
	const struct backend *x = a, *y = b;
	int c = addr_cmp(&x->addr, &y->addr);

	return c ? c : (x->port > y->port) - (x->port < y->port);
}

/* publishNotReadyAddresses: every address serves, ready or not. */
static bool addr_usable(const struct service *s, const struct ep_addr *a, bool terminating_fallback)
{
	if (s->publish_not_ready)
		return true;
	return terminating_fallback ? a->serving && a->terminating : a->ready;
}

static bool named(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name && *name && i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

enum topology_mode {
	TOPOLOGY_NONE,
	TOPOLOGY_SAME_NODE,
	TOPOLOGY_SAME_ZONE,
};

/* kube-proxy's topologyModeFromHints, over the port's ready endpoints of the family. */
static enum topology_mode topology_mode(const struct service *s, const struct svc_port *p, int family,
					const struct topology *topo)
{
	bool any = false, all_node = true, for_node = false, all_zone = true, for_zone = false;

	for (size_t g = 0; topo && g < s->n_groups; g++) {
		const struct ep_group *grp = s->groups[g];

		for (size_t i = 0; ep_group_target(grp, p) && i < grp->n_addrs; i++) {
			const struct ep_addr *a = &grp->addrs[i];

			if ((family && a->addr.family != family) || !addr_usable(s, a, false))
				continue;
			any = true;
			all_node &= a->hints && a->hints->n_nodes > 0;
			all_zone &= a->hints && a->hints->n_zones > 0;
			if (!a->hints)
				continue;
			for_node |= named(a->hints->nodes, a->hints->n_nodes, topo->node);
			for_zone |= named(a->hints->zones, a->hints->n_zones, topo->zone);
		}
	}
	if (any && all_node && for_node)
		return TOPOLOGY_SAME_NODE;
	return any && all_zone && for_zone ? TOPOLOGY_SAME_ZONE : TOPOLOGY_NONE;
}

static bool topology_allows(const struct ep_addr *a, enum topology_mode mode, const struct topology *topo)
{
	if (mode == TOPOLOGY_NONE)
		return true;
	if (mode == TOPOLOGY_SAME_NODE)
		return named(a->hints->nodes, a->hints->n_nodes, topo->node);
	return named(a->hints->zones, a->hints->n_zones, topo->zone);
}

int service_port_backends(const struct service *s, const struct svc_port *p, int family, const char *node,
			  const struct topology *topo, struct backend **ret, size_t *ret_n)
{
	enum topology_mode mode = node ? TOPOLOGY_NONE : topology_mode(s, p, family, topo);
	size_t cap = 0, n = 0;
	struct backend *v = NULL;

	/* The terminating fallback ignores topology: no ready endpoint is left anywhere. */
	for (int fallback = 0; fallback < 2 && n == 0; fallback++)
		for (size_t g = 0; g < s->n_groups; g++) {
			const struct ep_group *grp = s->groups[g];
			uint16_t port = ep_group_target(grp, p);

			for (size_t a = 0; port && a < grp->n_addrs; a++) {
				if ((family && grp->addrs[a].addr.family != family) ||
				    (node && (!grp->addrs[a].node_name || strcmp(grp->addrs[a].node_name, node))) ||
				    !addr_usable(s, &grp->addrs[a], fallback) ||
				    (!fallback && !topology_allows(&grp->addrs[a], mode, topo)))
					continue;
				if (n == cap) {
					struct backend *nv = realloc(v, (cap = cap ? cap * 2 : 8) * sizeof(*v));

					if (!nv) {
						free(v);
						return -ENOMEM;
					}
					v = nv;
				}
				v[n++] = (struct backend){ grp->addrs[a].addr, port, grp->addrs[a].node_name,
							   !fallback };
			}
		}
	if (n)
		qsort(v, n, sizeof(*v), cmp_backends);
	for (size_t i = 1, j = 1; i <= n; i++) {
		if (i == n) {
			n = j;
			break;
		}
		if (cmp_backends(&v[i], &v[j - 1]))
			v[j++] = v[i];
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int service_local_ready_endpoints(const struct service *s, const char *node, size_t *ret_n)
{
	struct backend *all = NULL;
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; r == 0 && i < s->n_ports; i++) {
		struct backend *be = NULL, *v;
		size_t k = 0;

		r = service_port_backends(s, &s->ports[i], 0, node, NULL, &be, &k);
		/* The terminating fallback's endpoints are not ready: a health check says no. */
		if (r == 0 && k && !be[0].ready)
			k = 0;
		if (r == 0 && k) {
			v = realloc(all, (n + k) * sizeof(*all));
			if (v) {
				all = v;
				memcpy(all + n, be, k * sizeof(*be));
				n += k;
			} else
				r = -ENOMEM;
		}
		free(be);
	}
	if (r == 0 && n)
		qsort(all, n, sizeof(*all), cmp_backends);
	*ret_n = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		*ret_n += !i || cmp_backends(&all[i - 1], &all[i]);
	free(all);
	return r;
}

static int mark_k_used(struct compile_ctx *x, enum frontend f, size_t k)
{
	if (k > x->max_k) {
		size_t words = k / 32 + 1;

		for (int i = 0; i < N_FRONTENDS; i++) {
			uint32_t *v = realloc(x->used_k[i], words * sizeof(*v));

			if (!v)
				return -ENOMEM;
			memset(v + (x->max_k / 32 + (x->max_k ? 1 : 0)), 0,
			       (words - (x->max_k / 32 + (x->max_k ? 1 : 0))) * sizeof(*v));
			x->used_k[i] = v;
		}
		x->max_k = words * 32 - 1;
	}
	x->used_k[f][k / 32] |= 1u << (k % 32);
	return 0;
}

static const char *port_label(struct compile_ctx *x, const struct service *s, const struct svc_port *p)
{
	if (*p->name)
		return arena_printf(&x->rs->arena, "%s/%s:%s", s->ns, s->name, p->name);
	return arena_printf(&x->rs->arena, "%s/%s:%u/%s", s->ns, s->name, p->port, proto_name(p->proto));
}

static const char *chain_name(struct compile_ctx *x, enum frontend f, size_t k)
{
	return arena_printf(&x->rs->arena, "%s-%zu", front_chain[f], k);
}

static bool is_nodeport(enum frontend f)
{
	return f == FRONT_NODEPORT || f == FRONT_NODEPORT_LOCAL || f == FRONT_SHORT_CIRCUIT_NODEPORT;
}

static bool is_short_circuit(enum frontend f)
{
	return f == FRONT_SHORT_CIRCUIT || f == FRONT_SHORT_CIRCUIT_NODEPORT;
}

/* The map that dispatches a frontend kind's traffic, and the one that holds its endpoints. */
static struct rs_set *dispatch_map(const struct compile_ctx *x, enum frontend f)
{
	if (is_short_circuit(f))
		return is_nodeport(f) ? x->sc_nodeports : x->sc_ips;
	return is_nodeport(f) ? x->service_nodeports : x->service_ips;
}

static const char *backends_map(enum frontend f)
{
	if (is_short_circuit(f))
		return is_nodeport(f) ? SET_SC_NODEPORT_BACKENDS : SET_SC_BACKENDS;
	return is_nodeport(f) ? SET_NODEPORT_BACKENDS : SET_SERVICE_BACKENDS;
}

static bool is_local(enum frontend f)
{
	return f == FRONT_EXTERNAL_LOCAL || f == FRONT_NODEPORT_LOCAL;
}

/* Whether a frontend kind picks from the node's own endpoints (a Local policy) rather than all. */
static bool uses_local_endpoints(const struct service *s, enum frontend f)
{
	return is_local(f) || (f == FRONT_CLUSTER && s->internal_local);
}

/* A service port with session affinity gets its own small chains, one per frontend kind. */
static const char *affinity_chain(struct compile_ctx *x, const struct service *s, const struct svc_port *p,
				  enum frontend f, const struct backend *be, size_t k)
{
	struct affinity_job *j;
	const char *name = arena_printf(&x->rs->arena, "affinity-%s/%s/%s/%u-%s", s->ns, s->name,
					proto_nft_name(p->proto), p->port, front_chain[f]);

	for (size_t i = 0; name && i < x->n_aff; i++)
		if (!strcmp(x->aff[i].name, name))
			return name;	/* another IP of the same kind shares it */
	if (!name)
		return NULL;
	if (x->n_aff == x->cap_aff) {
		struct affinity_job *v = realloc(x->aff, (x->cap_aff = x->cap_aff ? x->cap_aff * 2 : 16) * sizeof(*v));

		if (!v)
			return NULL;
		x->aff = v;
	}
	j = &x->aff[x->n_aff];
	*j = (struct affinity_job){ .name = name, .label = port_label(x, s, p), .f = f, .proto = p->proto,
				    .timeout = s->affinity_timeout, .k = k, .be = malloc(k * sizeof(*be)) };
	/*
	 * The kinds that pick from the same endpoints share the per-endpoint
	 * sets, so a client keeps its endpoint whether it comes through the
	 * ClusterIP, an external IP or the nodePort, as with kube-proxy.
	 */
	j->ep_name = arena_printf(&x->rs->arena, "affinity-%s/%s/%s/%u%s", s->ns, s->name, proto_nft_name(p->proto),
				  p->port, uses_local_endpoints(s, f) ? "-local" : "");
	if (!j->be || !j->label || !j->ep_name) {
		free(j->be);
		return NULL;
	}
	memcpy(j->be, be, k * sizeof(*be));
	x->n_aff++;
	return name;
}

/* A frontend's traffic counter: same key, and the comment svcnat describe sums by. */
static int add_counter(struct compile_ctx *x, const struct rs_elem *e, bool np, const char *label, const char *what)
{
	struct rs_elem *c = rs_set_add_elem(x->rs, np ? x->nodeport_traffic : x->service_traffic);

	if (!c)
		return -ENOMEM;
	*c = (struct rs_elem){ .addr = e->addr, .proto = e->proto, .port = e->port,
			       .comment = arena_concat(&x->rs->arena, label, " ", what, NULL) };
	if (!c->comment)
		return -ENOMEM;
	if (!np)
		return 0;
	c = rs_set_add_elem(x->rs, x->nodeports);
	if (!c)
		return -ENOMEM;
	*c = (struct rs_elem){ .proto = e->proto, .port = e->port };
	return 0;
}

/* Slot i of the frontend e: its endpoint in the backends map. */
static int add_backend(struct compile_ctx *x, enum frontend f, const struct rs_elem *e, const char *label, size_t i,
		       const struct backend *be)
{
	struct rs_set *map = is_short_circuit(f) ? (is_nodeport(f) ? x->sc_nodeport_backends : x->sc_backends) :
			     is_nodeport(f) ? x->nodeport_backends : x->backends;
	struct rs_elem *b = rs_set_add_elem(x->rs, map);
	char buf[ADDR_PORT_STRLEN];

	if (!b)
		return -ENOMEM;
	*b = (struct rs_elem){ .addr = e->addr, .proto = e->proto, .port = e->port, .index = (uint32_t)i,
			       .to_addr = be->addr, .to_port = be->port };
	b->comment = arena_concat(&x->rs->arena, label, " -> ", addr_port_to_str(&be->addr, be->port, buf), NULL);
	return b->comment ? 0 : -ENOMEM;
}

/*
 * The dispatch element, its counter, and (without affinity) its endpoints in
 * the backends map.  A port without endpoints is rejected before DNAT (the
 * no-endpoint maps); with a Local policy and no endpoint here it is dropped
 * instead, and in the DNAT dispatch, after the short-circuit had its chance:
 * the client's load balancer will try another node.
 */
static int add_frontend(struct compile_ctx *x, enum frontend f, const struct addr *ip, const struct service *s,
			const struct svc_port *p, const char *what, const struct backend *be, size_t k)
{
	bool np = is_nodeport(f), aff = s->affinity_client_ip && k;
	bool drop = !k && (is_local(f) || (f == FRONT_CLUSTER && s->internal_local));
	const char *label = port_label(x, s, p);
	struct rs_set *vmap = k || drop ? dispatch_map(x, f) : np ? x->no_ep_nodeports : x->no_ep_services;
	struct rs_elem *e = rs_set_add_elem(x->rs, vmap);
	uint16_t port = np ? p->node_port : p->port;
	int r = 0;

	if (!e || !label)
		return -ENOMEM;
	if (ip)
		e->addr = *ip;
	e->proto = p->proto;
	e->port = port;
	e->verdict = drop ? RS_VERDICT_DROP : RS_VERDICT_GOTO;
	e->chain = aff ? affinity_chain(x, s, p, f, be, k) : k ? chain_name(x, f, k) :
		   e->verdict == RS_VERDICT_GOTO ? CHAIN_REJECT : NULL;
	e->comment = arena_concat(&x->rs->arena, label, " ", what,
				  k ? "" : e->verdict == RS_VERDICT_DROP ? ": no local endpoints" : ": no endpoints", NULL);
	if ((e->verdict == RS_VERDICT_GOTO && !e->chain) || !e->comment || (k && !aff && mark_k_used(x, f, k) < 0))
		return -ENOMEM;
	if (!is_short_circuit(f))
		r = add_counter(x, e, np, label, what);
	for (size_t i = 0; r == 0 && !aff && i < k; i++)
		r = add_backend(x, f, e, label, i, &be[i]);
	return r;
}

static int add_ip_frontends(struct compile_ctx *x, enum frontend f, const struct ip_list *ips, const char *what,
			    const struct service *s, const struct svc_port *p, const struct backend *be, size_t k)
{
	for (size_t i = 0; i < ips->n; i++)
		if (ips->v[i].family == x->family && add_frontend(x, f, &ips->v[i], s, p, what, be, k) < 0)
			return -ENOMEM;
	return 0;
}

/*
 * loadBalancerSourceRanges: per load-balancer IP and port, a rule per allowed
 * range that returns early, and the frontend in firewall-ips, whose rule
 * drops what is left.  Rules grow with such services only (a handful).
 * NodePorts are not subject to the ranges, as in kube-proxy.
 */
static int add_firewall(struct compile_ctx *x, const struct service *s, const struct svc_port *p)
{
	const char *label = port_label(x, s, p);

	for (size_t i = 0; label && i < s->lb_ips.n; i++) {
		const struct addr *ip = &s->lb_ips.v[i];
		struct rs_elem *e;

		if (ip->family != x->family)
			continue;
		for (size_t j = 0; j < s->n_source_ranges; j++) {
			const struct ip_prefix *pr = &s->source_ranges[j];
			struct rs_rule *r;
			struct rs_stmt *st[4];

			if (pr->net.family != x->family)
				continue;
			r = rs_chain_add_rule(x->rs, x->firewall, label);
			if (!r || !(st[0] = rs_rule_add_stmt(r, RS_ST_DADDR_EQ)) || !(st[1] = rs_rule_add_stmt(r, RS_ST_L4PROTO)) ||
			    !(st[2] = rs_rule_add_stmt(r, RS_ST_DPORT_EQ)) || !(st[3] = rs_rule_add_stmt(r, RS_ST_SADDR_PREFIX)) ||
			    !verdict(r, RS_VERDICT_RETURN, NULL))
				return -ENOMEM;
			st[0]->prefix = *ip;
			st[1]->proto = p->proto;
			st[2]->port = p->port;
			st[3]->prefix = pr->net;
			st[3]->prefix_len = pr->len;
		}
		e = rs_set_add_elem(x->rs, x->firewall_ips);
		if (!e)
			return -ENOMEM;
		*e = (struct rs_elem){ .addr = *ip, .proto = p->proto, .port = p->port,
				       .comment = arena_printf(&x->rs->arena, "%s load-balancer IP", label) };
	}
	return label ? 0 : -ENOMEM;
}

/*
 * Hairpin traffic (a pod reaching itself through a service) starts on the
 * pod's own node, so a node needs the entries of its own endpoints only.  An
 * endpoint of another node is left out when its nodeName says so, and only
 * when some endpoint names this node: if none does, this node's name may not
 * be the one Kubernetes knows (hostnameOverride), and every entry is kept.
 * At 10,000 services on 7 nodes that is 6 entries in 7 fewer to load.
 */
static bool on_other_node(const struct compile_ctx *x, const struct backend *be)
{
	return x->node_hosts_endpoints && be->node && strcmp(be->node, x->c->hostname);
}

static int add_hairpin(struct compile_ctx *x, const struct backend *be, size_t k)
{
	struct addr *v = k ? tree_grow(x->endpoints, &x->cap_endpoints, x->n_endpoints + k, sizeof(*v)) : NULL;

	if (!k)
		return 0;
	if (!v)
		return -ENOMEM;
	x->endpoints = v;
	for (size_t i = 0; i < k; i++) {
		struct rs_elem *e;

		x->endpoints[x->n_endpoints++] = be[i].addr;
		if (on_other_node(x, &be[i]))
			continue;
		e = rs_set_add_elem(x->rs, x->hairpin);
		if (!e)
			return -ENOMEM;
		e->addr = be[i].addr;
		e->addr2 = be[i].addr;
	}
	return 0;
}

static bool hosts_endpoints(const struct model *m, const char *node)
{
	for (size_t i = 0; i < m->n_groups; i++)
		for (size_t j = 0; j < m->groups[i].n_addrs; j++)
			if (m->groups[i].addrs[j].node_name && !strcmp(m->groups[i].addrs[j].node_name, node))
				return true;
	return false;
}

/* Distinct endpoint addresses, for the stats: a hash set (sorting 125,000 addresses cost 12 ms). */
static uint64_t addr_hash(const struct addr *a)
{
	uint64_t w[2];

	memcpy(w, a->bytes, sizeof(w));
	return ((w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull) >> 17;
}

static size_t count_endpoints(struct compile_ctx *x)
{
	size_t cap = 64, n = 0;
	struct addr *slot;

	while (cap < x->n_endpoints * 2)
		cap *= 2;
	slot = calloc(cap, sizeof(*slot));	/* family 0: empty */
	if (!slot)
		return 0;
	for (size_t i = 0; i < x->n_endpoints; i++) {
		const struct addr *a = &x->endpoints[i];
		size_t h = addr_hash(a) & (cap - 1);

		while (slot[h].family && addr_cmp(&slot[h], a))
			h = (h + 1) & (cap - 1);
		n += !slot[h].family;
		slot[h] = *a;
	}
	free(slot);
	return n;
}

/* A Local policy's external ports again, for pods and the node itself: every endpoint. */
static int add_short_circuit(struct compile_ctx *x, const struct service *s, const struct svc_port *p, bool np,
			     const struct backend *all, size_t n)
{
	int r = add_ip_frontends(x, FRONT_SHORT_CIRCUIT, &s->external_ips, "external IP from inside the cluster", s, p,
				 all, n);

	if (r == 0)
		r = add_ip_frontends(x, FRONT_SHORT_CIRCUIT, &s->lb_ips, "load-balancer IP from inside the cluster", s,
				     p, all, n);
	if (r == 0 && np)
		r = add_frontend(x, FRONT_SHORT_CIRCUIT_NODEPORT, NULL, s, p, "nodePort from inside the cluster", all, n);
	return r;
}

static int compile_port(struct compile_ctx *x, const struct service *s, const struct svc_port *p)
{
	struct backend *all = NULL, *local = NULL;
	size_t n = 0, nl = 0;
	bool np = p->node_port && (s->type == SVC_NODE_PORT || s->type == SVC_LOAD_BALANCER);
	enum frontend ext = s->external_local ? FRONT_EXTERNAL_LOCAL : FRONT_EXTERNAL;
	int r = service_port_backends(s, p, x->family, NULL, &x->topo, &all, &n);

	if (r == 0 && (s->external_local || s->internal_local))
		r = service_port_backends(s, p, x->family, x->c->hostname, NULL, &local, &nl);
	if (r < 0) {
		free(all);
		return -ENOMEM;
	}
#define BE(local_policy) (local_policy) ? local : all, (local_policy) ? nl : n
	r = add_ip_frontends(x, FRONT_CLUSTER, &s->cluster_ips, "cluster IP", s, p, BE(s->internal_local));
	if (r == 0)
		r = add_ip_frontends(x, ext, &s->external_ips, "external IP", s, p, BE(s->external_local));
	if (r == 0)
		r = add_ip_frontends(x, ext, &s->lb_ips, "load-balancer IP", s, p, BE(s->external_local));
	if (r == 0 && np)
		r = add_frontend(x, s->external_local ? FRONT_NODEPORT_LOCAL : FRONT_NODEPORT, NULL, s, p, "nodePort",
				 BE(s->external_local));
#undef BE
	if (r == 0 && s->external_local && n)
		r = add_short_circuit(x, s, p, np, all, n);
	if (r == 0 && s->n_source_ranges)
		r = add_firewall(x, s, p);
	if (r == 0)
		r = add_hairpin(x, all, n);
	x->stats->service_ports++;
	x->stats->no_endpoints += n == 0;
	free(all);
	free(local);
	return r;
}

static bool has_family(const struct service *s, int family)
{
	for (size_t i = 0; i < s->cluster_ips.n; i++)
		if (s->cluster_ips.v[i].family == family)
			return true;
	return false;
}

static int compile_service(struct compile_ctx *x, const struct service *s)
{
	if (s->ignored || s->invalid || !has_family(s, x->family))
		return 0;
	for (size_t i = 0; i < s->cluster_ips.n; i++) {
		struct rs_elem *e;

		if (s->cluster_ips.v[i].family != x->family)
			continue;
		e = rs_set_add_elem(x->rs, x->cluster_ips);
		if (!e)
			return -ENOMEM;
		e->addr = s->cluster_ips.v[i];
	}
	for (size_t i = 0; i < s->n_ports; i++)
		if (compile_port(x, s, &s->ports[i]) < 0)
			return -ENOMEM;
	x->stats->services++;
	return 0;
}

/* ---- Fixed objects: sets, chains, rules ------------------------------- */

/* The fixed sets and maps of a table, and where the compiler keeps each. */
static const struct fixed_set {
	size_t field;		/* offsetof(struct compile_ctx, ...) */
	const char *name;
	enum rs_set_kind kind;
	bool counter;
	const char *comment;
} fixed_sets[] = {
	{ offsetof(struct compile_ctx, service_ips), SET_SERVICE_IPS, RS_SET_ADDR_PROTO_PORT_VMAP, false,
	  "ClusterIP, external IP and load-balancer IP traffic" },
	{ offsetof(struct compile_ctx, service_nodeports), SET_SERVICE_NODEPORTS, RS_SET_PROTO_PORT_VMAP, false,
	  "NodePort traffic" },
	{ offsetof(struct compile_ctx, backends), SET_SERVICE_BACKENDS, RS_SET_ADDR_PROTO_PORT_INDEX_MAP, false,
	  "service IP, protocol, port and slot -> endpoint" },
	{ offsetof(struct compile_ctx, nodeport_backends), SET_NODEPORT_BACKENDS, RS_SET_PROTO_PORT_INDEX_MAP, false,
	  "nodePort protocol, port and slot -> endpoint" },
	{ offsetof(struct compile_ctx, no_ep_services), SET_NO_EP_SERVICES, RS_SET_ADDR_PROTO_PORT_VMAP, false,
	  "service IPs and ports with no endpoints: rejected" },
	{ offsetof(struct compile_ctx, no_ep_nodeports), SET_NO_EP_NODEPORTS, RS_SET_PROTO_PORT_VMAP, false,
	  "nodePorts with no endpoints: rejected" },
	{ offsetof(struct compile_ctx, cluster_ips), SET_CLUSTER_IPS, RS_SET_ADDR, false, "active ClusterIPs" },
	{ offsetof(struct compile_ctx, hairpin), SET_HAIRPIN, RS_SET_ADDR_ADDR, false,
	  "endpoint . endpoint: a pod reaching itself through a service is masqueraded" },
	{ offsetof(struct compile_ctx, service_traffic), SET_SERVICE_TRAFFIC, RS_SET_ADDR_PROTO_PORT, true,
	  "packets and bytes to each service IP and port" },
	{ offsetof(struct compile_ctx, nodeport_traffic), SET_NODEPORT_TRAFFIC, RS_SET_PROTO_PORT, true,
	  "packets and bytes to each nodePort" },
	/*
	 * Plain membership, for the counting chain: a lookup in the service-nodeports
	 * verdict map would make the kernel validate its nat chains as reachable
	 * from the filter hooks (nft_lookup_validate), and refuse them.
	 */
	{ offsetof(struct compile_ctx, nodeports), SET_NODEPORTS, RS_SET_PROTO_PORT, false, "nodePorts in use" },
	{ offsetof(struct compile_ctx, firewall_ips), SET_FIREWALL_IPS, RS_SET_ADDR_PROTO_PORT, false,
	  "load-balancer IPs with loadBalancerSourceRanges: other sources are dropped" },
	{ offsetof(struct compile_ctx, sc_ips), SET_SC_IPS, RS_SET_ADDR_PROTO_PORT_VMAP, false,
	  "externalTrafficPolicy: Local service IPs, from pods and the node: every endpoint" },
	{ offsetof(struct compile_ctx, sc_nodeports), SET_SC_NODEPORTS, RS_SET_PROTO_PORT_VMAP, false,
	  "externalTrafficPolicy: Local nodePorts, from pods and the node: every endpoint" },
	{ offsetof(struct compile_ctx, sc_backends), SET_SC_BACKENDS, RS_SET_ADDR_PROTO_PORT_INDEX_MAP, false,
	  "short-circuit-ips' IP, protocol, port and slot -> endpoint" },
	{ offsetof(struct compile_ctx, sc_nodeport_backends), SET_SC_NODEPORT_BACKENDS, RS_SET_PROTO_PORT_INDEX_MAP,
	  false, "short-circuit-nodeports' protocol, port and slot -> endpoint" },
};

static int add_sets(struct compile_ctx *x)
{
	for (size_t i = 0; i < sizeof(fixed_sets) / sizeof(fixed_sets[0]); i++) {
		const struct fixed_set *f = &fixed_sets[i];
		struct rs_set *s = rs_table_add_set(x->rs, x->t, f->name, f->kind, f->comment);

		if (!s)
			return -ENOMEM;
		s->counter = f->counter;
		*(struct rs_set **)((char *)x + f->field) = s;
	}
	return 0;
}

static uint32_t masq_mark(const struct compile_ctx *x)
{
	return 1u << x->c->masquerade_bit;
}

static int add_mark(struct compile_ctx *x, struct rs_rule *r)
{
	struct rs_stmt *st = rs_rule_add_stmt(r, RS_ST_MARK_OR);

	if (!st)
		return -ENOMEM;
	st->mark = masq_mark(x);
	return 0;
}

/*
 * The masquerade mark a frontend kind needs: external traffic always (its
 * reply must come back through this node), except with the Local policy,
 * which keeps the client's address; cluster traffic from outside clusterCIDR,
 * or all of it with masqueradeAll.  Short-circuited traffic comes from a pod
 * (kept, as cluster traffic) or from the node itself (masqueraded, as
 * kube-proxy does); without clusterCIDR only the node's own reaches it.
 */
static int add_masq_rule(struct compile_ctx *x, struct rs_chain *c, enum frontend f)
{
	const struct cidr *inside = cidr_list_family(&x->c->cluster_cidrs, x->family);
	bool cluster_cond = (f == FRONT_CLUSTER || (is_short_circuit(f) && inside)) && !x->c->masquerade_all;
	struct rs_rule *r;
	struct rs_stmt *st;

	if (is_local(f) || (cluster_cond && !inside))
		return 0;
	r = rs_chain_add_rule(x->rs, c, is_short_circuit(f) ? "masquerade the node's own traffic" :
				   cluster_cond ? "masquerade traffic from outside the cluster" : "masquerade external traffic");
	if (!r)
		return -ENOMEM;
	if (cluster_cond) {
		st = rs_rule_add_stmt(r, RS_ST_SADDR_NOT_PREFIX);
		if (!st)
			return -ENOMEM;
		st->prefix = inside->net;
		st->prefix_len = inside->len;
	}
	return add_mark(x, r);
}

/* One of cluster-K, external-K, nodeport-K (and their -local kinds): mark as needed, then slot numgen mod K. */
static int add_k_chain(struct compile_ctx *x, enum frontend f, size_t k)
{
	static const char *const why[] = { "ClusterIP", "external IP and load-balancer IP", "NodePort",
					   "externalTrafficPolicy: Local external IP and load-balancer IP",
					   "externalTrafficPolicy: Local NodePort",
					   "short-circuited (pod and node) external IP and load-balancer IP",
					   "short-circuited (pod and node) NodePort" };
	char comment[160];
	struct rs_chain *c;
	struct rs_rule *r;
	struct rs_stmt *st;

	snprintf(comment, sizeof(comment), "%s traffic to services with %zu endpoint%s: pick one at random", why[f], k,
		 k == 1 ? "" : "s");
	c = rs_table_add_chain(x->rs, x->t, chain_name(x, f, k), comment);
	if (!c || add_masq_rule(x, c, f) < 0)
		return -ENOMEM;
	r = rs_chain_add_rule(x->rs, c, NULL);
	st = r ? stmt(r, is_nodeport(f) ? RS_ST_DNAT_PROTO_DPORT_NG : RS_ST_DNAT_DADDR_PROTO_DPORT_NG, backends_map(f)) :
		 NULL;
	if (!st)
		return -ENOMEM;
	st->mod = (uint32_t)k;
	return 0;
}

static int add_k_chains(struct compile_ctx *x)
{
	for (int f = 0; f < N_FRONTENDS; f++)
		for (size_t k = 1; k <= x->max_k; k++)
			if ((x->used_k[f][k / 32] >> (k % 32)) & 1)
				if (add_k_chain(x, (enum frontend)f, k) < 0)
					return -ENOMEM;
	return 0;
}

/*
 * Session affinity (ClientIP), as kube-proxy does it: per endpoint a set of
 * recent clients (entries expire after the timeout unless refreshed) and a
 * chain that refreshes it and DNATs; the service port's chain sends a known
 * client to its endpoint, and picks one uniformly for a new client: endpoint i
 * of K with probability 1/(K-i) of what is left.  Objects here grow with the
 * endpoints of affinity services only; everything else stays in the maps.
 */
static int add_affinity_endpoint(struct compile_ctx *x, const struct affinity_job *j, size_t i, const char **ret_chain)
{
	char ip[ADDR_STRLEN];
	const char *name = arena_printf(&x->rs->arena, "%s-%zu", j->ep_name, i);
	const char *comment = arena_printf(&x->rs->arena, "%s -> %s:%u: clients of the last %us", j->label,
					   addr_to_str(&j->be[i].addr, ip), j->be[i].port, j->timeout);
	struct rs_set *set;
	struct rs_chain *c;
	struct rs_rule *r;
	struct rs_stmt *st;

	if (name && rs_table_find_chain(x->t, name)) {
		*ret_chain = name;	/* made for another kind that picks from the same endpoints */
		return 0;
	}
	set = name && comment ? rs_table_add_set(x->rs, x->t, name, RS_SET_ADDR_DYNAMIC, comment) : NULL;
	c = set ? rs_table_add_chain(x->rs, x->t, name, comment) : NULL;
	r = c ? rs_chain_add_rule(x->rs, c, NULL) : NULL;

	if (!r || !stmt(r, RS_ST_UPDATE_SADDR, name))
		return -ENOMEM;
	set->timeout = j->timeout;
	r = rs_chain_add_rule(x->rs, c, NULL);
	st = r ? rs_rule_add_stmt(r, RS_ST_L4PROTO) : NULL;
	if (!st)
		return -ENOMEM;
	st->proto = j->proto;
	st = rs_rule_add_stmt(r, RS_ST_DNAT_TO);
	if (!st)
		return -ENOMEM;
	st->to_addr = j->be[i].addr;
	st->port = j->be[i].port;
	*ret_chain = name;
	return 0;
}

static int add_affinity(struct compile_ctx *x, const struct affinity_job *j)
{
	const char **ep = calloc(j->k, sizeof(*ep));
	struct rs_chain *c;
	struct rs_rule *r;
	int ret = ep ? 0 : -ENOMEM;

	for (size_t i = 0; ret == 0 && i < j->k; i++)
		ret = add_affinity_endpoint(x, j, i, &ep[i]);
	c = ret == 0 ? rs_table_add_chain(x->rs, x->t, j->name, "session affinity (ClientIP)") : NULL;
	if (!c || add_masq_rule(x, c, j->f) < 0)
		ret = -ENOMEM;
	for (size_t i = 0; ret == 0 && i < j->k; i++) {
		r = rs_chain_add_rule(x->rs, c, "a client seen recently keeps its endpoint");
		if (!r || !stmt(r, RS_ST_SADDR_IN_SET, ep[i]) || !verdict(r, RS_VERDICT_GOTO, ep[i]))
			ret = -ENOMEM;
	}
	for (size_t i = 0; ret == 0 && i < j->k; i++) {
		struct rs_stmt *st;

		r = rs_chain_add_rule(x->rs, c, i == 0 ? "a new client gets an endpoint at random" : NULL);
		if (!r)
			ret = -ENOMEM;
		else if (i + 1 < j->k && (st = rs_rule_add_stmt(r, RS_ST_NUMGEN_ZERO)))
			st->mod = (uint32_t)(j->k - i);
		if (ret == 0 && !verdict(r, RS_VERDICT_GOTO, ep[i]))
			ret = -ENOMEM;
	}
	free(ep);
	return ret;
}

static int add_affinity_chains(struct compile_ctx *x)
{
	for (size_t i = 0; i < x->n_aff; i++)
		if (add_affinity(x, &x->aff[i]) < 0)
			return -ENOMEM;
	return 0;
}

/*
 * NodePorts are served at every local address but loopback ("fib daddr type
 * local"), or at nodePortAddresses: one rule per CIDR, since a handful of
 * prefix matches is cheaper than an interval set and diffs as plain rules.
 */
static int add_nodeport_rules(struct compile_ctx *x, struct rs_chain *c, const char *np_map)
{
	const struct cidr_list *l = &x->c->node_port_addresses;
	struct rs_rule *r;

	if (!l->n) {
		r = rs_chain_add_rule(x->rs, c, NULL);
		if (!r || !rs_rule_add_stmt(r, RS_ST_FIB_DADDR_LOCAL) || !rs_rule_add_stmt(r, RS_ST_DADDR_NOT_LOOPBACK) ||
		    !stmt(r, RS_ST_VMAP_PROTO_DPORT, np_map))
			return -ENOMEM;
		return 0;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct rs_stmt *st;

		if (l->v[i].net.family != x->family)
			continue;
		r = rs_chain_add_rule(x->rs, c, NULL);
		st = r ? rs_rule_add_stmt(r, RS_ST_DADDR_PREFIX) : NULL;
		if (!st || !stmt(r, RS_ST_VMAP_PROTO_DPORT, np_map))
			return -ENOMEM;
		st->prefix = l->v[i].net;
		st->prefix_len = l->v[i].len;
	}
	return 0;
}

/* A chain that dispatches on service IPs, then on nodePorts at the node's addresses. */
static int add_dispatch_chain(struct compile_ctx *x, const char *name, const char *comment, const char *ip_map,
			      const char *np_map)
{
	struct rs_chain *c = rs_table_add_chain(x->rs, x->t, name, comment);
	struct rs_rule *r = c ? rs_chain_add_rule(x->rs, c, NULL) : NULL;

	if (!r || !stmt(r, RS_ST_VMAP_DADDR_PROTO_DPORT, ip_map))
		return -ENOMEM;
	return add_nodeport_rules(x, c, np_map);
}

/*
 * Every packet to a service (before DNAT, so its destination still names the
 * service) hits an element of service-traffic or nodeport-traffic, whose
 * counter svcnat describe reads.  A service IP matches first and returns, so a
 * service port that happens to equal a nodePort is not counted twice; the
 * nodePort test is a lookup before the route lookup (fib), so ordinary
 * forwarded traffic costs one hash lookup and no fib.
 */
static int add_count_chain(struct compile_ctx *x)
{
	const struct cidr_list *l = &x->c->node_port_addresses;
	struct rs_chain *c = rs_table_add_chain(x->rs, x->t, "count-traffic",
						"per service port counters: svcnat describe shows them");
	struct rs_rule *r = c ? rs_chain_add_rule(x->rs, c, NULL) : NULL;

	if (!r || !stmt(r, RS_ST_DADDR_PROTO_DPORT_IN_SET, SET_SERVICE_TRAFFIC) || !verdict(r, RS_VERDICT_RETURN, NULL))
		return -ENOMEM;
	for (size_t i = 0; i < (l->n ? l->n : 1); i++) {
		struct rs_stmt *st;

		if (l->n && l->v[i].net.family != x->family)
			continue;
		r = rs_chain_add_rule(x->rs, c, NULL);
		if (!r || !stmt(r, RS_ST_PROTO_DPORT_IN_SET, SET_NODEPORTS))
			return -ENOMEM;
		if (!l->n && (!rs_rule_add_stmt(r, RS_ST_FIB_DADDR_LOCAL) || !rs_rule_add_stmt(r, RS_ST_DADDR_NOT_LOOPBACK)))
			return -ENOMEM;
		if (l->n) {
			st = rs_rule_add_stmt(r, RS_ST_DADDR_PREFIX);
			if (!st)
				return -ENOMEM;
			st->prefix = l->v[i].net;
			st->prefix_len = l->v[i].len;
		}
		if (!stmt(r, RS_ST_PROTO_DPORT_IN_SET, SET_NODEPORT_TRAFFIC))
			return -ENOMEM;
	}
	return 0;
}

static int add_reject_chain(struct compile_ctx *x)
{
	struct rs_chain *c = rs_table_add_chain(x->rs, x->t, CHAIN_REJECT,
						"services without endpoints: refuse at once rather than time out");
	struct rs_rule *r = c ? rs_chain_add_rule(x->rs, c, NULL) : NULL;
	struct rs_stmt *st = r ? rs_rule_add_stmt(r, RS_ST_L4PROTO) : NULL;

	if (!st || !rs_rule_add_stmt(r, RS_ST_REJECT_TCP_RESET))
		return -ENOMEM;
	st->proto = IPPROTO_TCP;
	r = rs_chain_add_rule(x->rs, c, NULL);
	return r && rs_rule_add_stmt(r, RS_ST_REJECT) ? 0 : -ENOMEM;
}

static int add_cluster_ips_check(struct compile_ctx *x)
{
	const struct cidr *range = cidr_list_family(&x->c->service_cidrs, x->family);
	struct rs_chain *c = rs_table_add_chain(x->rs, x->t, "cluster-ips-check",
						"after DNAT: what still goes to a ClusterIP matched no service port");
	struct rs_rule *r = c ? rs_chain_add_rule(x->rs, c, "reject traffic to unknown ports of ClusterIPs") : NULL;
	struct rs_stmt *st;

	if (!r || !stmt(r, RS_ST_DADDR_IN_SET, SET_CLUSTER_IPS) || !verdict(r, RS_VERDICT_GOTO, CHAIN_REJECT))
		return -ENOMEM;
	if (!range)
		return 0;
	r = rs_chain_add_rule(x->rs, c, "drop traffic to unallocated ClusterIPs");
	st = r ? rs_rule_add_stmt(r, RS_ST_DADDR_PREFIX) : NULL;
	if (!st || !verdict(r, RS_VERDICT_DROP, NULL))
		return -ENOMEM;
	st->prefix = range->net;
	st->prefix_len = range->len;
	return 0;
}

static int add_masquerading(struct compile_ctx *x)
{
	struct rs_chain *c = rs_table_add_chain(x->rs, x->t, "masquerading",
						"source NAT for traffic marked on its way in");
	struct rs_rule *r = c ? rs_chain_add_rule(x->rs, c, NULL) : NULL;
	struct rs_stmt *st = r ? rs_rule_add_stmt(r, RS_ST_MARK_CLEAR_TEST) : NULL;

	if (!st || !verdict(r, RS_VERDICT_RETURN, NULL))
		return -ENOMEM;
	st->mark = masq_mark(x);
	/* Clear the bit: a reused skb (VXLAN) must not carry it on (kube-proxy issue 92035). */
	r = rs_chain_add_rule(x->rs, c, NULL);
	st = r ? rs_rule_add_stmt(r, RS_ST_MARK_XOR) : NULL;
	if (!st)
		return -ENOMEM;
	st->mark = masq_mark(x);
	r = rs_chain_add_rule(x->rs, c, NULL);
	return r && rs_rule_add_stmt(r, RS_ST_MASQUERADE) ? 0 : -ENOMEM;
}

static int finish_firewall(struct compile_ctx *x)
{
	struct rs_chain *c = rs_table_find_chain(x->t, CHAIN_FIREWALL);
	struct rs_rule *r = c ? rs_chain_add_rule(x->rs, c, NULL) : NULL;

	if (!r || !stmt(r, RS_ST_DADDR_PROTO_DPORT_IN_SET, SET_FIREWALL_IPS) || !verdict(r, RS_VERDICT_DROP, NULL))
		return -ENOMEM;
	return 0;
}

/*
 * Before the service dispatch: the node's own traffic (output), and in
 * prerouting a pod's (from clusterCIDR; without it, pods are not told apart
 * and get the Local policy).
 */
static int add_short_circuit_jump(struct compile_ctx *x, struct rs_chain *c, enum rs_hook hook)
{
	const struct cidr *inside = cidr_list_family(&x->c->cluster_cidrs, x->family);
	struct rs_rule *r;
	struct rs_stmt *st;

	if (hook == RS_HOOK_PREROUTING && !inside)
		return 0;
	r = rs_chain_add_rule(x->rs, c, NULL);
	if (!r)
		return -ENOMEM;
	if (hook == RS_HOOK_PREROUTING) {
		st = rs_rule_add_stmt(r, RS_ST_SADDR_PREFIX);
		if (!st)
			return -ENOMEM;
		st->prefix = inside->net;
		st->prefix_len = inside->len;
	}
	return verdict(r, RS_VERDICT_JUMP, CHAIN_SHORT_CIRCUIT) ? 0 : -ENOMEM;
}

static int add_jump_chain(struct compile_ctx *x, const char *name, enum rs_chain_type type, enum rs_hook hook,
			  int32_t prio, bool new_only, const char *target)
{
	struct rs_chain *c = rs_table_add_base_chain(x->rs, x->t, name, type, hook, prio, NULL);
	struct rs_rule *r;

	/* The pre-DNAT filter chains count every packet first, then police load-balancer sources. */
	if (c && type == RS_CHAIN_FILTER && prio < -100) {
		r = rs_chain_add_rule(x->rs, c, NULL);
		if (!r || !verdict(r, RS_VERDICT_JUMP, "count-traffic"))
			return -ENOMEM;
		r = rs_chain_add_rule(x->rs, c, NULL);
		if (!r || !rs_rule_add_stmt(r, RS_ST_CT_STATE_NEW) || !verdict(r, RS_VERDICT_JUMP, CHAIN_FIREWALL))
			return -ENOMEM;
	}
	if (c && type == RS_CHAIN_NAT && add_short_circuit_jump(x, c, hook) < 0)
		return -ENOMEM;
	r = c ? rs_chain_add_rule(x->rs, c, NULL) : NULL;

	if (!r || (new_only && !rs_rule_add_stmt(r, RS_ST_CT_STATE_NEW)) || !verdict(r, RS_VERDICT_JUMP, target))
		return -ENOMEM;
	return 0;
}

static int add_postrouting(struct compile_ctx *x)
{
	struct rs_chain *c = rs_table_add_base_chain(x->rs, x->t, "nat-postrouting", RS_CHAIN_NAT,
						     RS_HOOK_POSTROUTING, 100, NULL);
	struct rs_rule *r = c ? rs_chain_add_rule(x->rs, c, "hairpin: a pod reaching itself through a service") : NULL;

	if (!r || !rs_rule_add_stmt(r, RS_ST_CT_STATUS_DNAT) || !stmt(r, RS_ST_SADDR_DADDR_IN_SET, SET_HAIRPIN) ||
	    add_mark(x, r) < 0)
		return -ENOMEM;
	r = rs_chain_add_rule(x->rs, c, NULL);
	return r && verdict(r, RS_VERDICT_JUMP, "masquerading") ? 0 : -ENOMEM;
}

/* Chains in an order where every jump and goto target comes before its users. */
static int add_chains(struct compile_ctx *x)
{
	const int32_t dstnat = -100;

	if (add_reject_chain(x) < 0 || add_k_chains(x) < 0 || add_affinity_chains(x) < 0 ||
	    add_dispatch_chain(x, "services", "dispatch on destination: service IPs, then nodePorts",
			       SET_SERVICE_IPS, SET_SERVICE_NODEPORTS) < 0 ||
	    add_dispatch_chain(x, CHAIN_SHORT_CIRCUIT,
			       "pods and the node itself reach externalTrafficPolicy: Local ports like ClusterIPs",
			       SET_SC_IPS, SET_SC_NODEPORTS) < 0 ||
	    add_dispatch_chain(x, "endpoints-check", "new connections to service ports without endpoints",
			       SET_NO_EP_SERVICES, SET_NO_EP_NODEPORTS) < 0 ||
	    add_cluster_ips_check(x) < 0 || add_masquerading(x) < 0 || add_count_chain(x) < 0 ||
	    finish_firewall(x) < 0)
		return -ENOMEM;
	if (add_jump_chain(x, "filter-prerouting", RS_CHAIN_FILTER, RS_HOOK_PREROUTING, dstnat - 10, true,
			   "endpoints-check") < 0 ||
	    add_jump_chain(x, "filter-output", RS_CHAIN_FILTER, RS_HOOK_OUTPUT, dstnat - 10, true,
			   "endpoints-check") < 0 ||
	    add_jump_chain(x, "filter-prerouting-post-dnat", RS_CHAIN_FILTER, RS_HOOK_PREROUTING, dstnat + 10, true,
			   "cluster-ips-check") < 0 ||
	    add_jump_chain(x, "filter-output-post-dnat", RS_CHAIN_FILTER, RS_HOOK_OUTPUT, dstnat + 10, true,
			   "cluster-ips-check") < 0 ||
	    add_jump_chain(x, "nat-prerouting", RS_CHAIN_NAT, RS_HOOK_PREROUTING, dstnat, false, "services") < 0 ||
	    add_jump_chain(x, "nat-output", RS_CHAIN_NAT, RS_HOOK_OUTPUT, dstnat, false, "services") < 0 ||
	    add_postrouting(x) < 0)
		return -ENOMEM;
	return 0;
}

/* Sets whose elements several services may share (an endpoint serving two services) keep one copy. */
static void dedup_set(struct rs_table *t, struct rs_set *s)
{
	uint8_t a[RS_KEY_MAX], b[RS_KEY_MAX];
	size_t j = 0;

	for (size_t i = 0; i < s->n_elems; i++) {
		size_t la = rs_elem_key(t, s, &s->elems[i], a);
		size_t lb = j ? rs_elem_key(t, s, &s->elems[j - 1], b) : 0;

		if (!j || la != lb || memcmp(a, b, la))
			s->elems[j++] = s->elems[i];
	}
	s->n_elems = j;
}

static int compile_family(struct compile_ctx *x)
{
	int r;

	x->t = ruleset_add_table(x->rs, x->family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6, x->c->table,
				 "svcnat: Kubernetes Service DNAT, generated; do not edit");
	if (!x->t || add_sets(x) < 0)
		return -ENOMEM;
	/* Filled while services compile; its last rule, the drop, comes after (finish_firewall). */
	x->firewall = rs_table_add_chain(x->rs, x->t, CHAIN_FIREWALL,
					 "loadBalancerSourceRanges: allowed sources return, the rest is dropped");
	if (!x->firewall)
		return -ENOMEM;
	for (size_t i = 0; i < x->m->n_services; i++)
		if (compile_service(x, &x->m->services[i]) < 0)
			return -ENOMEM;
	r = add_chains(x);
	return r;
}

static bool model_uses_family(const struct model *m, const struct config *c, int family)
{
	if (family == AF_INET)
		return true;
	if (cidr_list_family(&c->service_cidrs, family))
		return true;
	for (size_t i = 0; i < m->n_services; i++)
		if (!m->services[i].ignored && !m->services[i].invalid && has_family(&m->services[i], family))
			return true;
	return false;
}

int compile_ruleset(const struct model *m, const struct config *c, struct ruleset **ret_rs,
		    struct compile_stats *ret_stats)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct compile_stats stats = { 0 };
	struct ruleset *rs = ruleset_new();
	bool node_hosts_endpoints = hosts_endpoints(m, c->hostname);
	int r = rs ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < 2; i++) {
		struct compile_ctx x = { .m = m, .c = c, .rs = rs, .family = families[i], .stats = &stats,
					 .node_hosts_endpoints = node_hosts_endpoints,
					 .topo = { c->hostname, c->zone } };

		if (model_uses_family(m, c, families[i]))
			r = compile_family(&x);
		stats.endpoints += count_endpoints(&x);
		free(x.endpoints);
		for (int f = 0; f < N_FRONTENDS; f++)
			free(x.used_k[f]);
		for (size_t j = 0; j < x.n_aff; j++)
			free(x.aff[j].be);
		free(x.aff);
	}
	if (r < 0) {
		ruleset_free(rs);
		return r;
	}
	ruleset_sort(rs);
	for (size_t i = 0; i < rs->n_tables; i++)
		for (size_t j = 0; j < rs->tables[i].n_sets; j++)
			dedup_set(&rs->tables[i], &rs->tables[i].sets[j]);
	ruleset_size_sets(rs);
	*ret_rs = rs;
	if (ret_stats)
		*ret_stats = stats;
	return 0;
}
