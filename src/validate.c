// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

__attribute__((format(printf, 4, 5)))
static int svc_error(struct diag *d, struct service *s, const struct loc *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->invalid = true;
	return diag_error(d, at, "Service %s/%s: %s", s->ns, s->name, msg);
}

/* Addresses no Service may use, as the API server's validation says. */
static const char *special_addr(const struct addr *a)
{
	static const uint8_t zero[16];
	const uint8_t *b = a->bytes;

	if (!memcmp(b, zero, addr_len(a)))
		return "the unspecified address";
	if (a->family == AF_INET) {
		if (b[0] == 127)
			return "a loopback address";
		if (b[0] == 169 && b[1] == 254)
			return "a link-local address";
		if (b[0] >= 224)
			return b[0] < 240 ? "a multicast address" : "a reserved or broadcast address";
		return NULL;
	}
	if (!memcmp(b, zero, 15) && b[15] == 1)
		return "a loopback address";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "a link-local address";
	if (b[0] == 0xff)
		return "a multicast address";
	return NULL;
}

static int check_ip_list(struct diag *d, struct service *s, const struct ip_list *l, const char *field)
{
	char buf[ADDR_STRLEN];
	int r = 0;

	for (size_t i = 0; i < l->n; i++) {
		const char *why = special_addr(&l->v[i]);

		if (why)
			r = svc_error(d, s, &l->locs[i], "%s[%zu]: '%s' is %s", field, i, addr_to_str(&l->v[i], buf), why);
	}
	return r;
}

static int check_node_ports(struct diag *d, struct service *s, const struct config *c)
{
	int r = 0;

	if (s->health_check_node_port && !(s->type == SVC_LOAD_BALANCER && s->external_local))
		r = svc_error(d, s, &s->health_check_loc,
			      "spec.healthCheckNodePort: only for type LoadBalancer with externalTrafficPolicy Local");

	for (size_t i = 0; i < s->n_ports; i++) {
		struct svc_port *p = &s->ports[i];

		if (!p->node_port || p->node_port_allocated)
			continue;
		if (s->type != SVC_NODE_PORT && s->type != SVC_LOAD_BALANCER)
			r = svc_error(d, s, &p->node_port_loc, "%s.nodePort: may not be used when type is '%s'", p->path,
				      svc_type_name(s->type));
		else if (p->node_port < c->node_port_min || p->node_port > c->node_port_max)
			r = svc_error(d, s, &p->node_port_loc, "%s.nodePort: %u is outside the nodePort range %u-%u",
				      p->path, p->node_port, c->node_port_min, c->node_port_max);
	}
	return r;
}

static void check_endpoints(struct diag *d, struct service *s)
{
	char buf[ADDR_STRLEN];

	for (size_t g = 0; g < s->n_groups; g++) {
		const struct ep_group *grp = s->groups[g];

		for (size_t a = 0; a < grp->n_addrs; a++) {
			const char *why = special_addr(&grp->addrs[a].addr);

			if (why)
				diag_error(d, &grp->addrs[a].loc, "%s %s/%s: address '%s' is %s", grp->kind, grp->ns,
					   grp->object, addr_to_str(&grp->addrs[a].addr, buf), why);
		}
	}
	for (size_t i = 0; i < s->n_ports; i++) {
		const struct svc_port *p = &s->ports[i];
		bool served = false;

		for (size_t g = 0; g < s->n_groups && !served; g++)
			served = ep_group_target(s->groups[g], p) != 0;
		if (!served && p->target_name && s->n_groups)
			diag_warn(d, &p->loc, "Service %s/%s: %s.targetPort: '%s' names no port of its endpoints: "
				  "that port has no endpoints", s->ns, s->name, p->path, p->target_name);
	}
}

/* ---- Conflicts: two services on one IP:port/protocol or one nodePort -- */

struct claim {
	struct addr ip;		/* family 0 for nodePorts */
	uint8_t proto;
	uint16_t port;
	struct service *s;
	struct loc loc;
	const char *what;
};

struct claims {
	struct claim *v;
	size_t n, cap;
};

static int claim_add(struct claims *c, const struct claim *x)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct claim *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *x;
	return 0;
}

static int cmp_claims(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;
	int c = addr_cmp(&x->ip, &y->ip);

	if (c)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->s < y->s ? -1 : x->s > y->s;
}

static int collect_ip_claims(struct claims *c, struct service *s)
{
	const struct ip_list *lists[] = { &s->cluster_ips, &s->external_ips, &s->lb_ips };
	static const char *const what[] = { "clusterIP", "externalIP", "load-balancer IP" };

	for (size_t l = 0; l < 3; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			for (size_t j = 0; j < s->n_ports; j++) {
				struct claim x = { .ip = lists[l]->v[i], .proto = s->ports[j].proto,
						   .port = s->ports[j].port, .s = s, .loc = s->ports[j].port_loc,
						   .what = what[l] };

				if (claim_add(c, &x) < 0)
					return -ENOMEM;
			}
	return 0;
}

static int collect_claims(struct model *m, struct claims *ips, struct claims *nps)
{
	for (size_t i = 0; i < m->n_services; i++) {
		struct service *s = &m->services[i];

		if (s->ignored)
			continue;
		if (collect_ip_claims(ips, s) < 0)
			return -ENOMEM;
		for (size_t j = 0; j < s->n_ports; j++) {
			struct claim x = { .port = s->ports[j].node_port, .s = s, .loc = s->ports[j].node_port_loc,
					   .what = "nodePort" };

			if (!x.port)
				continue;
			if (!x.loc.file)
				x.loc = s->ports[j].loc;
			if (claim_add(nps, &x) < 0)
				return -ENOMEM;
		}
		/* The port a node serves the health check on (svcnat serves none) is taken all the same. */
		if (s->health_check_node_port) {
			struct claim x = { .port = s->health_check_node_port, .s = s, .loc = s->health_check_loc,
					   .what = "healthCheckNodePort" };

			if (claim_add(nps, &x) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int report_conflicts(struct diag *d, struct claims *c, bool node_ports)
{
	char buf[ADDR_STRLEN];
	int r = 0;

	if (c->n > 1)	/* qsort(NULL, 0, ...) is undefined */
		qsort(c->v, c->n, sizeof(*c->v), cmp_claims);
	for (size_t i = 1; i < c->n; i++) {
		struct claim *a = &c->v[i - 1], *b = &c->v[i];

		/*
		 * A nodePort number belongs to one service, whatever the protocol (as the
		 * API server allocates); a health check port to its service alone.
		 */
		if (a->port != b->port || (!node_ports && (a->proto != b->proto || !addr_equal(&a->ip, &b->ip))))
			continue;
		if (a->s == b->s && (!node_ports || (strcmp(a->what, "healthCheckNodePort") &&
						      strcmp(b->what, "healthCheckNodePort"))))
			continue;
		if (node_ports)
			r = svc_error(d, b->s, &b->loc, "%s %u is already used by Service %s/%s as %s (%s:%u:%u)",
				      b->what, b->port, a->s->ns, a->s->name, a->what, a->loc.file, a->loc.line, a->loc.col);
		else
			r = svc_error(d, b->s, &b->loc, "%s %s:%u/%s is already claimed by Service %s/%s (%s:%u:%u)",
				      b->what, addr_to_str(&b->ip, buf), b->port, proto_name(b->proto), a->s->ns,
				      a->s->name, a->loc.file, a->loc.line, a->loc.col);
		a->s->invalid = true;
	}
	return r;
}

static int check_conflicts(struct model *m, struct diag *d)
{
	struct claims ips = { 0 }, nps = { 0 };
	int r = collect_claims(m, &ips, &nps);

	if (r == 0) {
		if (report_conflicts(d, &ips, false) < 0)
			r = -EINVAL;
		if (report_conflicts(d, &nps, true) < 0)
			r = -EINVAL;
	}
	free(ips.v);
	free(nps.v);
	return r;
}

int validate_model(struct model *m, const struct config *c, struct diag *d)
{
	size_t errors = d->errors;
	int r;

	for (size_t i = 0; i < m->n_services; i++) {
		struct service *s = &m->services[i];

		check_ip_list(d, s, &s->cluster_ips, "spec.clusterIPs");
		check_ip_list(d, s, &s->external_ips, "spec.externalIPs");
		check_ip_list(d, s, &s->lb_ips, "status.loadBalancer.ingress");
		check_node_ports(d, s, c);
		if (!s->ignored)
			check_endpoints(d, s);
	}
	r = check_conflicts(m, d);
	if (r == -ENOMEM)
		return r;
	return d->errors > errors ? -EINVAL : 0;
}
