// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tree -> model: reads Service, Endpoints and EndpointSlice objects with
 * Kubernetes' defaults, type- and range-checking every field it uses.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "names.h"

/* What an error message needs to name the object it is about. */
struct obj {
	struct model *m;
	struct diag *d;
	const char *kind;
	const char *ns;
	const char *name;
	const struct node *root;
	int errors;
};

/*
 * What the model keeps of a tree's string: a copy of its own, since a List's
 * items are read into scratch memory that is reused for the next item (names
 * and namespaces repeat: short ones are shared).  Falls back on the tree's
 * text when out of memory: then so is the rest of the run.
 */
static const char *keep(const struct obj *o, const char *s)
{
	const char *k = s ? tree_string(&o->m->keep, s, strlen(s)) : NULL;

	return k ? k : s;
}

__attribute__((format(printf, 5, 6)))
static int obj_error(struct obj *o, const struct node *at, const char *prefix, const char *field,
		     const char *fmt, ...)
{
	struct loc loc = node_loc(at ? at : o->root);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->errors++;
	return diag_error(o->d, &loc, "%s %s/%s: %s%s%s: %s", o->kind,
			  o->ns ? o->ns : "default", o->name ? o->name : "(unnamed)", prefix,
			  *prefix && *field && *field != '[' ? "." : "", field, msg);
}

__attribute__((format(printf, 5, 6)))
static void obj_warn(struct obj *o, const struct node *at, const char *prefix, const char *field,
		     const char *fmt, ...)
{
	struct loc loc = node_loc(at ? at : o->root);
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_warn(o->d, &loc, "%s %s/%s: %s%s%s: %s", o->kind, o->ns,
		  o->name, prefix, *prefix && *field && *field != '[' ? "." : "", field, msg);
}

/* "an integer", "a mapping": the type as a message names it. */
static const char *kind_of(enum node_type t)
{
	static const char *const phrases[] = {
		[NODE_NULL] = "null", [NODE_BOOL] = "a boolean", [NODE_INT] = "an integer",
		[NODE_FLOAT] = "a number", [NODE_STRING] = "a string", [NODE_SEQ] = "a sequence",
		[NODE_MAP] = "a mapping",
	};

	return (unsigned)t < sizeof(phrases) / sizeof(phrases[0]) ? phrases[t] : "something else";
}

/*
 * "a.b[i]" (or "a[i]" when b is NULL; "a.b" when i is SIZE_MAX) in buf, cut
 * to fit: the field path of the i-th item, made for every item of every
 * object although only an error prints it, so without printf's cost.
 */
static const char *index_path(char *buf, size_t size, const char *a, const char *b, size_t i)
{
	char digits[21];
	const char *parts[6];
	size_t n = 0;

	*put_decimal(digits, i) = '\0';
	parts[0] = a;
	parts[1] = b ? "." : "";
	parts[2] = b ? b : "";
	parts[3] = i == SIZE_MAX ? "" : "[";
	parts[4] = i == SIZE_MAX ? "" : digits;
	parts[5] = i == SIZE_MAX ? "" : "]";
	for (size_t k = 0; k < 6; k++)
		for (const char *c = parts[k]; *c && n + 1 < size; c++)
			buf[n++] = *c;
	buf[n] = '\0';
	return buf;
}

/* A short rendering of a scalar for messages: "'eighty'" or "a mapping". */
static const char *shown(const struct node *n, char *buf, size_t len)
{
	if (n->type == NODE_SEQ || n->type == NODE_MAP) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf, len, "'%.60s'%s", n->str ? n->str : "", n->str && strlen(n->str) > 60 ? "..." : "");
	return buf;
}

/* The field's node if present (null counts as absent, as in Kubernetes) and of type t. */
static const struct node *want(struct obj *o, const struct node *map, const char *prefix,
			       const char *key, enum node_type t)
{
	const struct node *n = node_get(map, key);
	char buf[80];

	if (!n || n->type == NODE_NULL)
		return NULL;
	if (n->type != t) {
		obj_error(o, n, prefix, key, "expected %s, found %s%s%s", kind_of(t), kind_of(n->type),
			  n->type == NODE_SEQ || n->type == NODE_MAP ? "" : " ", shown(n, buf, sizeof(buf)));
		return NULL;
	}
	/* JSON strings may hold \u0000; C string functions would silently cut them there. */
	if (t == NODE_STRING && strlen(n->str) != n->len) {
		obj_error(o, n, prefix, key, "contains a NUL character");
		return NULL;
	}
	return n;
}

/* An integer field in [min, max]; returns 1 when present and valid, 0 when absent, <0 on error. */
static int want_int(struct obj *o, const struct node *map, const char *prefix, const char *key,
		    int64_t min, int64_t max, int64_t *ret)
{
	const struct node *n = want(o, map, prefix, key, NODE_INT);

	if (!n)
		return node_get(map, key) && node_get(map, key)->type != NODE_NULL ? -EINVAL : 0;
	if (n->i < min || n->i > max)
		return obj_error(o, n, prefix, key, "%s is out of range %lld-%lld", n->str,
				 (long long)min, (long long)max);
	*ret = n->i;
	return 1;
}

static bool want_bool(struct obj *o, const struct node *map, const char *prefix, const char *key,
		      bool dflt)
{
	const struct node *n = want(o, map, prefix, key, NODE_BOOL);

	return n ? n->b : dflt;
}

static int parse_proto(struct obj *o, const struct node *map, const char *prefix, uint8_t *ret)
{
	const struct node *n = want(o, map, prefix, "protocol", NODE_STRING);

	*ret = IPPROTO_TCP;
	if (!n)
		return node_get(map, "protocol") && node_get(map, "protocol")->type != NODE_NULL ? -EINVAL : 0;
	if (!strcmp(n->str, "TCP"))
		*ret = IPPROTO_TCP;
	else if (!strcmp(n->str, "UDP"))
		*ret = IPPROTO_UDP;
	else if (!strcmp(n->str, "SCTP"))
		*ret = IPPROTO_SCTP;
	else
		return obj_error(o, n, prefix, "protocol", "unknown protocol '%s' (expected TCP, UDP or SCTP)",
				 n->str);
	return 0;
}

static int parse_ip(struct obj *o, const struct node *n, const char *prefix, const char *field,
		    struct addr *ret)
{
	char buf[80];

	if (n->type != NODE_STRING)
		return obj_error(o, n, prefix, field, "expected an IP address string, found %s %s",
				 kind_of(n->type), shown(n, buf, sizeof(buf)));
	if (strlen(n->str) != n->len || addr_parse(n->str, ret) < 0)
		return obj_error(o, n, prefix, field, "'%s' is not a valid IP address", n->str);
	return 0;
}

/* A sequence of IP strings, e.g. spec.externalIPs. */
static int parse_ip_list(struct obj *o, const struct node *seq, const char *path, struct ip_list *ret)
{
	char field[32];
	int r = 0;

	if (!seq)
		return 0;
	ret->v = arena_alloc(&o->m->arena, (seq->n + 1) * sizeof(*ret->v));
	ret->locs = arena_alloc(&o->m->arena, (seq->n + 1) * sizeof(*ret->locs));
	if (!ret->v || !ret->locs)
		return -ENOMEM;
	for (size_t i = 0; i < seq->n; i++) {
		index_path(field, sizeof(field), "", NULL, i);
		if (parse_ip(o, seq->items[i], path, field, &ret->v[ret->n]) < 0) {
			r = -EINVAL;
			continue;
		}
		ret->locs[ret->n++] = node_loc(seq->items[i]);
	}
	return r;
}

static int check_name(struct obj *o, const struct node *n, const char *prefix, const char *field,
		      enum name_kind kind)
{
	const char *why = name_invalid(n->str, kind);

	if (why)
		return obj_error(o, n, prefix, field, "'%.80s' is not a valid name: %s", n->str, why);
	return 0;
}

/* metadata.name and metadata.namespace, checked first so later messages can name the object. */
static int parse_metadata(struct obj *o, enum name_kind name_kind)
{
	const struct node *meta = want(o, o->root, "", "metadata", NODE_MAP);
	const struct node *name, *ns;

	o->ns = "default";
	if (!meta)
		return obj_error(o, NULL, "", "metadata", "missing");
	ns = want(o, meta, "metadata", "namespace", NODE_STRING);
	if (ns && ns->len) {
		o->ns = keep(o, ns->str);
		if (check_name(o, ns, "metadata", "namespace", NAME_DNS_LABEL) < 0)
			o->ns = "(invalid)";
	}
	name = want(o, meta, "metadata", "name", NODE_STRING);
	if (!name || !name->len)
		return name ? obj_error(o, name, "metadata", "name", "must not be empty") :
			      obj_error(o, meta, "metadata", "name", "missing");
	o->name = keep(o, name->str);
	return check_name(o, name, "metadata", "name", name_kind);
}

static const char *label(const struct obj *o, const char *key)
{
	const struct node *meta = node_get(o->root, "metadata");
	const struct node *labels = meta ? node_get(meta, "labels") : NULL;
	const struct node *v = labels ? node_get(labels, key) : NULL;

	return v && v->type == NODE_STRING ? keep(o, v->str) : NULL;
}

/* ---- Service ---------------------------------------------------------- */

static int parse_target_port(struct obj *o, const struct node *pn, const char *prefix, struct svc_port *p)
{
	const struct node *n = node_get(pn, "targetPort");
	char buf[80];

	if (!n || n->type == NODE_NULL) {
		p->target_port = p->port;
		return 0;
	}
	if (n->type == NODE_INT) {
		if (n->i == 0) {
			p->target_port = p->port;
			return 0;
		}
		if (n->i < 1 || n->i > 65535)
			return obj_error(o, n, prefix, "targetPort", "%s is out of range 1-65535", n->str);
		p->target_port = (uint16_t)n->i;
		return 0;
	}
	if (n->type != NODE_STRING)
		return obj_error(o, n, prefix, "targetPort", "expected a port number or name, found %s %s",
				 kind_of(n->type), shown(n, buf, sizeof(buf)));
	if (name_invalid(n->str, NAME_PORT))
		return obj_error(o, n, prefix, "targetPort", "'%.80s' is not a valid port name: %s",
				 n->str, name_invalid(n->str, NAME_PORT));
	p->target_name = keep(o, n->str);
	return 0;
}

static int parse_svc_port(struct obj *o, const struct node *pn, const char *prefix, struct svc_port *p)
{
	const struct node *name;
	int64_t v = 0;
	int r = 0, k;

	p->loc = node_loc(pn);
	p->path = arena_strdup(&o->m->arena, prefix);
	name = want(o, pn, prefix, "name", NODE_STRING);
	p->name = name ? keep(o, name->str) : "";
	if (name && name->len && check_name(o, name, prefix, "name", NAME_DNS_LABEL) < 0)
		r = -EINVAL;
	if (parse_proto(o, pn, prefix, &p->proto) < 0)
		r = -EINVAL;
	k = want_int(o, pn, prefix, "port", 1, 65535, &v);
	if (k == 0)
		r = obj_error(o, pn, prefix, "port", "missing");
	else if (k < 0)
		r = k;
	else {
		p->port = (uint16_t)v;
		p->port_loc = node_loc(node_get(pn, "port"));
	}
	if (parse_target_port(o, pn, prefix, p) < 0)
		r = -EINVAL;
	v = 0;
	k = want_int(o, pn, prefix, "nodePort", 0, 65535, &v);
	if (k < 0)
		r = k;
	else if (k > 0 && v) {
		p->node_port = (uint16_t)v;
		p->node_port_loc = node_loc(node_get(pn, "nodePort"));
	}
	return r;
}

static int check_port_uniqueness(struct obj *o, struct service *s, const struct node *seq)
{
	int r = 0;

	for (size_t i = 0; i < s->n_ports; i++)
		for (size_t j = 0; j < i; j++) {
			struct svc_port *a = &s->ports[j], *b = &s->ports[i];
			char prefix[64];

			index_path(prefix, sizeof(prefix), "spec.ports", NULL, i);
			if (a->port == b->port && a->proto == b->proto && a->port)
				r = obj_error(o, seq->items[i], prefix, "port", "duplicate port %u/%s (also in %s)",
					      b->port, proto_name(b->proto), a->path);
			/* One nodePort may serve a TCP and a UDP port of a service, not two of one protocol. */
			else if (a->node_port && a->node_port == b->node_port && a->proto == b->proto)
				r = obj_error(o, node_get(seq->items[i], "nodePort"), prefix, "nodePort",
					      "duplicate nodePort %u (also in %s)", b->node_port, a->path);
			else if (!strcmp(a->name, b->name) && *b->name)
				r = obj_error(o, seq->items[i], prefix, "name", "duplicate port name '%s'", b->name);
			else if (!strcmp(a->name, b->name))
				r = obj_error(o, seq->items[i], prefix, "name", "more than one port: every port needs a name");
		}
	return r;
}

static int parse_svc_ports(struct obj *o, const struct node *spec, struct service *s)
{
	const struct node *seq = want(o, spec, "spec", "ports", NODE_SEQ);
	char prefix[64];
	int r = 0;

	if (!seq)
		return 0;
	s->ports = arena_alloc(&o->m->arena, (seq->n + 1) * sizeof(*s->ports));
	if (!s->ports)
		return -ENOMEM;
	for (size_t i = 0; i < seq->n; i++) {
		index_path(prefix, sizeof(prefix), "spec.ports", NULL, i);
		if (seq->items[i]->type != NODE_MAP) {
			r = obj_error(o, seq->items[i], prefix, "", "expected a mapping, found %s",
				      kind_of(seq->items[i]->type));
			continue;
		}
		if (parse_svc_port(o, seq->items[i], prefix, &s->ports[s->n_ports]) < 0)
			r = -EINVAL;
		s->n_ports++;
	}
	if (r == 0)
		r = check_port_uniqueness(o, s, seq);
	return r;
}

static int parse_svc_type(struct obj *o, const struct node *spec, struct service *s)
{
	static const char *const names[] = {
		[SVC_CLUSTER_IP] = "ClusterIP", [SVC_NODE_PORT] = "NodePort",
		[SVC_LOAD_BALANCER] = "LoadBalancer", [SVC_EXTERNAL_NAME] = "ExternalName",
	};
	const struct node *n = want(o, spec, "spec", "type", NODE_STRING);

	s->type = SVC_CLUSTER_IP;
	if (!n)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(n->str, names[i])) {
			s->type = (enum svc_type)i;
			return 0;
		}
	return obj_error(o, n, "spec", "type",
			 "unknown type '%.40s' (expected ClusterIP, NodePort, LoadBalancer or ExternalName)",
			 n->str);
}

static int parse_cluster_ips(struct obj *o, const struct node *spec, struct service *s)
{
	const struct node *one = want(o, spec, "spec", "clusterIP", NODE_STRING);
	const struct node *many = want(o, spec, "spec", "clusterIPs", NODE_SEQ);
	const struct node *first = many && many->n ? many->items[0] : one;
	int r;

	if (!first || (first->type == NODE_STRING && !first->len))
		return 0;
	s->cluster_ip_loc = node_loc(first);
	if (first->type == NODE_STRING && !strcmp(first->str, "None")) {
		s->headless = true;
		return 0;
	}
	if (one && many && many->n && many->items[0]->type == NODE_STRING && strcmp(one->str, many->items[0]->str))
		return obj_error(o, many->items[0], "spec", "clusterIPs[0]",
				 "'%s' must equal spec.clusterIP '%s'", many->items[0]->str, one->str);
	if (many)
		r = parse_ip_list(o, many, "spec.clusterIPs", &s->cluster_ips);
	else {
		/* Only its item's position is ever reported. */
		struct node seq = { .type = NODE_SEQ, .n = 1, .items = (struct node **)&one };
		struct addr a;

		if (parse_ip(o, one, "spec", "clusterIP", &a) < 0)
			return -EINVAL;
		r = parse_ip_list(o, &seq, "spec.clusterIPs", &s->cluster_ips);
	}
	if (r == 0 && s->cluster_ips.n == 2 && s->cluster_ips.v[0].family == s->cluster_ips.v[1].family)
		return obj_error(o, many->items[1], "spec", "clusterIPs[1]",
				 "dual-stack clusterIPs must be of different families");
	if (r == 0 && s->cluster_ips.n > 2)
		return obj_error(o, many->items[2], "spec", "clusterIPs", "at most two addresses (one per family)");
	return r;
}

static int parse_lb_ingress(struct obj *o, struct service *s)
{
	const struct node *status = want(o, o->root, "", "status", NODE_MAP);
	const struct node *lb = status ? want(o, status, "status", "loadBalancer", NODE_MAP) : NULL;
	const struct node *ing = lb ? want(o, lb, "status.loadBalancer", "ingress", NODE_SEQ) : NULL;
	char prefix[64];
	int r = 0;

	if (!ing)
		return 0;
	s->lb_ips.v = arena_alloc(&o->m->arena, (ing->n + 1) * sizeof(*s->lb_ips.v));
	s->lb_ips.locs = arena_alloc(&o->m->arena, (ing->n + 1) * sizeof(*s->lb_ips.locs));
	if (!s->lb_ips.v || !s->lb_ips.locs)
		return -ENOMEM;
	for (size_t i = 0; i < ing->n; i++) {
		const struct node *ip;

		index_path(prefix, sizeof(prefix), "status.loadBalancer.ingress", NULL, i);
		if (ing->items[i]->type != NODE_MAP) {
			r = obj_error(o, ing->items[i], prefix, "", "expected a mapping");
			continue;
		}
		ip = node_get(ing->items[i], "ip");
		if (!ip || ip->type == NODE_NULL)
			continue;	/* hostname-only ingress: nothing to match on */
		if (parse_ip(o, ip, prefix, "ip", &s->lb_ips.v[s->lb_ips.n]) < 0) {
			r = -EINVAL;
			continue;
		}
		s->lb_ips.locs[s->lb_ips.n++] = node_loc(ip);
	}
	return r;
}

static const char *selector_string(struct obj *o, const struct node *spec)
{
	const struct node *sel = want(o, spec, "spec", "selector", NODE_MAP);
	size_t len = 0;
	char *buf;

	if (!sel || !sel->n)
		return NULL;
	for (size_t i = 0; i < sel->n; i++)
		len += strlen(sel->pairs[i].key->str) + (sel->pairs[i].value->str ? strlen(sel->pairs[i].value->str) : 0) + 2;
	buf = arena_alloc(&o->m->arena, len + 1);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < sel->n; i++)
		sprintf(buf + strlen(buf), "%s%s=%s", i ? "," : "", sel->pairs[i].key->str,
			sel->pairs[i].value->str ? sel->pairs[i].value->str : "");
	return buf;
}

static void mark_ignored(struct obj *o, struct service *s)
{
	const char *proxy = label(o, "service.kubernetes.io/service-proxy-name");
	const struct node *spec = node_get(o->root, "spec"), *ext = spec ? node_get(spec, "externalName") : NULL;

	s->proxy_name = proxy;
	s->headless_label = label(o, "service.kubernetes.io/headless") != NULL;
	s->external_name = ext && ext->type == NODE_STRING ? keep(o, ext->str) : NULL;
	if (proxy)
		s->ignored_why = arena_printf(&o->m->arena, "left to proxy '%s' (service-proxy-name label)", proxy);
	else if (label(o, "service.kubernetes.io/headless"))
		s->ignored_why = "headless (service.kubernetes.io/headless label)";
	else if (s->type == SVC_EXTERNAL_NAME)
		s->ignored_why = "ExternalName: resolved by DNS, no rules";
	else if (s->headless)
		s->ignored_why = "headless (clusterIP: None): no rules";
	s->ignored = s->ignored_why != NULL;
}

static struct service *new_service(struct model *m)
{
	if (m->n_services == m->cap_services) {
		size_t cap = m->cap_services ? m->cap_services * 2 : 64;
		struct service *v = realloc(m->services, cap * sizeof(*v));

		if (!v)
			return NULL;
		m->services = v;
		m->cap_services = cap;
	}
	memset(&m->services[m->n_services], 0, sizeof(m->services[0]));
	return &m->services[m->n_services++];
}

/* ---- Service: data-path semantics ------------------------------------- */

#define AFFINITY_DEFAULT_TIMEOUT 10800	/* seconds, as the API server defaults it */
#define AFFINITY_MAX_TIMEOUT 86400

static int parse_affinity(struct obj *o, const struct node *spec, struct service *s)
{
	const struct node *a = want(o, spec, "spec", "sessionAffinity", NODE_STRING);
	const struct node *cfg = want(o, spec, "spec", "sessionAffinityConfig", NODE_MAP);
	const struct node *cip = cfg ? want(o, cfg, "spec.sessionAffinityConfig", "clientIP", NODE_MAP) : NULL;
	int64_t t = AFFINITY_DEFAULT_TIMEOUT;

	if (a && strcmp(a->str, "None") && strcmp(a->str, "ClientIP"))
		return obj_error(o, a, "spec", "sessionAffinity", "unknown value '%.40s' (expected None or ClientIP)",
				 a->str);
	s->affinity_client_ip = a && !strcmp(a->str, "ClientIP");
	if (cip && want_int(o, cip, "spec.sessionAffinityConfig.clientIP", "timeoutSeconds", 1,
			    AFFINITY_MAX_TIMEOUT, &t) < 0)
		return -EINVAL;
	s->affinity_timeout = (uint32_t)t;
	return 0;
}

static int parse_policy(struct obj *o, const struct node *spec, const char *key, bool *ret_local)
{
	const struct node *n = want(o, spec, "spec", key, NODE_STRING);

	*ret_local = false;
	if (!n)
		return 0;
	if (!strcmp(n->str, "Local"))
		*ret_local = true;
	else if (strcmp(n->str, "Cluster"))
		return obj_error(o, n, "spec", key, "unknown value '%.40s' (expected Cluster or Local)", n->str);
	return 0;
}

static int parse_source_ranges(struct obj *o, const struct node *spec, struct service *s)
{
	const struct node *seq = want(o, spec, "spec", "loadBalancerSourceRanges", NODE_SEQ);
	char field[64];
	int r = 0;

	if (!seq)
		return 0;
	s->source_ranges = arena_alloc(&o->m->arena, (seq->n + 1) * sizeof(*s->source_ranges));
	if (!s->source_ranges)
		return -ENOMEM;
	for (size_t i = 0; i < seq->n; i++) {
		const struct node *n = seq->items[i];
		struct ip_prefix *p = &s->source_ranges[s->n_source_ranges];

		index_path(field, sizeof(field), "loadBalancerSourceRanges", NULL, i);
		if (n->type != NODE_STRING || strlen(n->str) != n->len || prefix_parse(n->str, &p->net, &p->len) < 0) {
			r = obj_error(o, n, "spec", field, "'%.60s' is not a CIDR (e.g. 203.0.113.0/24)",
				      n->type == NODE_STRING ? n->str : kind_of(n->type));
			continue;
		}
		p->loc = node_loc(n);
		s->n_source_ranges++;
	}
	return r;
}

static int parse_families(struct obj *o, const struct node *spec, struct service *s)
{
	const struct node *fams = want(o, spec, "spec", "ipFamilies", NODE_SEQ);
	const struct node *pol = want(o, spec, "spec", "ipFamilyPolicy", NODE_STRING);
	char field[32];

	if (pol && strcmp(pol->str, "SingleStack") && strcmp(pol->str, "PreferDualStack") &&
	    strcmp(pol->str, "RequireDualStack"))
		return obj_error(o, pol, "spec", "ipFamilyPolicy",
				 "unknown value '%.40s' (expected SingleStack, PreferDualStack or RequireDualStack)", pol->str);
	s->dual_stack = pol && strcmp(pol->str, "SingleStack");
	for (size_t i = 0; fams && i < fams->n; i++) {
		const struct node *f = fams->items[i];

		index_path(field, sizeof(field), "ipFamilies", NULL, i);
		if (i >= 2 || f->type != NODE_STRING || (strcmp(f->str, "IPv4") && strcmp(f->str, "IPv6")))
			return obj_error(o, f, "spec", field, "expected IPv4 or IPv6, at most one of each");
		s->families[s->n_families] = !strcmp(f->str, "IPv4") ? AF_INET : AF_INET6;
		if (i == 1 && s->families[0] == s->families[1])
			return obj_error(o, f, "spec", field, "the two families must differ");
		s->n_families++;
	}
	return 0;
}

static int parse_semantics(struct obj *o, const struct node *spec, struct service *s)
{
	const struct node *hc;
	int64_t v = 0;
	int r = 0, k;

	if (parse_affinity(o, spec, s) < 0 || parse_policy(o, spec, "externalTrafficPolicy", &s->external_local) < 0 ||
	    parse_policy(o, spec, "internalTrafficPolicy", &s->internal_local) < 0 ||
	    parse_source_ranges(o, spec, s) < 0 || parse_families(o, spec, s) < 0)
		r = -EINVAL;
	s->publish_not_ready = want_bool(o, spec, "spec", "publishNotReadyAddresses", false);
	k = want_int(o, spec, "spec", "healthCheckNodePort", 0, 65535, &v);
	if (k < 0)
		r = -EINVAL;
	else if (k > 0 && v) {
		hc = node_get(spec, "healthCheckNodePort");
		s->health_check_node_port = (uint16_t)v;
		s->health_check_loc = node_loc(hc);
	}
	return r;
}

static int parse_service(struct obj *o)
{
	const struct node *spec;
	struct service *s;
	int r = 0;

	if (parse_metadata(o, NAME_DNS1035_LABEL) < 0)
		return -EINVAL;
	s = new_service(o->m);
	if (!s)
		return -ENOMEM;
	s->ns = o->ns;
	s->name = o->name;
	s->loc = node_loc(node_get(node_get(o->root, "metadata"), "name"));
	spec = want(o, o->root, "", "spec", NODE_MAP);
	if (!spec) {
		o->m->n_services--;
		/* A wrong type was reported by want(); absent and null are both "missing". */
		return node_get(o->root, "spec") && node_get(o->root, "spec")->type != NODE_NULL ? -EINVAL :
		       obj_error(o, NULL, "", "spec", "missing");
	}
	if (parse_svc_type(o, spec, s) < 0 || parse_cluster_ips(o, spec, s) < 0)
		r = -EINVAL;
	if (parse_svc_ports(o, spec, s) < 0 ||
	    parse_ip_list(o, want(o, spec, "spec", "externalIPs", NODE_SEQ), "spec.externalIPs", &s->external_ips) < 0 ||
	    parse_lb_ingress(o, s) < 0)
		r = -EINVAL;
	if (parse_semantics(o, spec, s) < 0)
		r = -EINVAL;
	s->selector = selector_string(o, spec);
	mark_ignored(o, s);
	if (!s->ignored && !s->n_ports && r == 0)
		obj_warn(o, spec, "spec", "ports", "no ports: the service gets no rules");
	if (r < 0)
		o->m->n_services--;
	return r;
}

/* ---- Endpoints and EndpointSlice ------------------------------------- */

static struct ep_group *new_group(struct obj *o, const char *service)
{
	struct model *m = o->m;
	struct ep_group *g;

	if (m->n_groups == m->cap_groups) {
		size_t cap = m->cap_groups ? m->cap_groups * 2 : 64;
		struct ep_group *v = realloc(m->groups, cap * sizeof(*v));

		if (!v)
			return NULL;
		m->groups = v;
		m->cap_groups = cap;
	}
	g = &m->groups[m->n_groups++];
	*g = (struct ep_group){ .ns = o->ns, .service = service, .kind = o->kind, .object = o->name,
				.loc = node_loc(o->root) };
	return g;
}

static int parse_ep_ports(struct obj *o, const struct node *seq, const char *path, struct ep_group *g)
{
	char prefix[64];
	int r = 0;

	if (!seq)
		return 0;
	g->ports = arena_alloc(&o->m->arena, (seq->n + 1) * sizeof(*g->ports));
	if (!g->ports)
		return -ENOMEM;
	for (size_t i = 0; i < seq->n; i++) {
		const struct node *pn = seq->items[i], *name;
		struct ep_port *p = &g->ports[g->n_ports];
		int64_t v;
		int k;

		index_path(prefix, sizeof(prefix), path, NULL, i);
		if (pn->type != NODE_MAP) {
			r = obj_error(o, pn, prefix, "", "expected a mapping, found %s", kind_of(pn->type));
			continue;
		}
		name = want(o, pn, prefix, "name", NODE_STRING);
		p->name = name ? keep(o, name->str) : "";
		p->loc = node_loc(pn);
		k = want_int(o, pn, prefix, "port", 1, 65535, &v);
		if (k < 0 || parse_proto(o, pn, prefix, &p->proto) < 0) {
			r = -EINVAL;
			continue;
		}
		if (k == 0)
			continue;	/* a slice port without a number serves nothing */
		p->port = (uint16_t)v;
		g->n_ports++;
	}
	return r;
}

static int parse_ep_addr(struct obj *o, const struct node *an, const char *prefix, bool ready,
			 struct ep_addr *ret)
{
	const struct node *ip = node_get(an, "ip"), *node;

	if (an->type != NODE_MAP)
		return obj_error(o, an, prefix, "", "expected a mapping, found %s", kind_of(an->type));
	if (!ip || ip->type == NODE_NULL)
		return obj_error(o, an, prefix, "ip", "missing");
	if (parse_ip(o, ip, prefix, "ip", &ret->addr) < 0)
		return -EINVAL;
	node = want(o, an, prefix, "nodeName", NODE_STRING);
	ret->node_name = node ? keep(o, node->str) : NULL;
	ret->ready = ready;
	ret->serving = ready;
	ret->loc = node_loc(ip);
	return 0;
}

static int parse_subset(struct obj *o, const struct node *sub, const char *prefix)
{
	const struct node *ready = want(o, sub, prefix, "addresses", NODE_SEQ);
	const struct node *unready = want(o, sub, prefix, "notReadyAddresses", NODE_SEQ);
	size_t total = (ready ? ready->n : 0) + (unready ? unready->n : 0);
	struct ep_group *g = new_group(o, o->name);
	char path[128];
	int r;

	if (!g)
		return -ENOMEM;
	g->loc = node_loc(sub);
	g->addrs = arena_alloc(&o->m->arena, (total + 1) * sizeof(*g->addrs));
	if (!g->addrs)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s.ports", prefix);
	r = parse_ep_ports(o, want(o, sub, prefix, "ports", NODE_SEQ), path, g);
	for (int pass = 0; pass < 2; pass++) {
		const struct node *seq = pass ? unready : ready;

		for (size_t i = 0; seq && i < seq->n; i++) {
			index_path(path, sizeof(path), prefix, pass ? "notReadyAddresses" : "addresses", i);
			if (parse_ep_addr(o, seq->items[i], path, !pass, &g->addrs[g->n_addrs]) < 0)
				r = -EINVAL;
			else
				g->n_addrs++;
		}
	}
	return r;
}

static int register_object(struct obj *o)
{
	struct model *m = o->m;

	if (m->n_objects == m->cap_objects) {
		size_t cap = m->cap_objects ? m->cap_objects * 2 : 64;
		struct object_ref *v = realloc(m->objects, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->objects = v;
		m->cap_objects = cap;
	}
	m->objects[m->n_objects++] = (struct object_ref){ o->kind, o->ns, o->name,
							  node_loc(node_get(node_get(o->root, "metadata"), "name")),
							  m->n_objects };
	return 0;
}

static int parse_endpoints(struct obj *o)
{
	const struct node *subsets;
	char prefix[64];
	int r = 0;

	if (parse_metadata(o, NAME_DNS1035_LABEL) < 0)
		return -EINVAL;
	if (register_object(o) < 0)
		return -EINVAL;
	subsets = want(o, o->root, "", "subsets", NODE_SEQ);
	for (size_t i = 0; subsets && i < subsets->n; i++) {
		index_path(prefix, sizeof(prefix), "subsets", NULL, i);
		if (subsets->items[i]->type != NODE_MAP)
			r = obj_error(o, subsets->items[i], prefix, "", "expected a mapping");
		else if (parse_subset(o, subsets->items[i], prefix) < 0)
			r = -EINVAL;
	}
	return r;
}

/* hints.forZones or hints.forNodes: [{name: ...}, ...]; kept as the names. */
static int parse_hint_list(struct obj *o, const struct node *hints, const char *prefix, const char *key,
			   const char ***ret, size_t *ret_n)
{
	const struct node *l = want(o, hints, prefix, key, NODE_SEQ);
	char path[160];

	*ret = NULL;
	*ret_n = 0;
	if (!l || !l->n)
		return 0;
	*ret = arena_alloc(&o->m->arena, l->n * sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		const struct node *name;

		index_path(path, sizeof(path), prefix, key, i);
		if (l->items[i]->type != NODE_MAP)
			return obj_error(o, l->items[i], path, "", "expected a mapping");
		name = want(o, l->items[i], path, "name", NODE_STRING);
		if (!name)
			return obj_error(o, l->items[i], path, "name", "missing");
		(*ret)[(*ret_n)++] = keep(o, name->str);
	}
	return 0;
}

static int parse_slice_endpoint(struct obj *o, const struct node *en, const char *prefix,
				struct ep_group *g)
{
	const struct node *addrs = want(o, en, prefix, "addresses", NODE_SEQ);
	const struct node *cond = want(o, en, prefix, "conditions", NODE_MAP);
	const struct node *node = want(o, en, prefix, "nodeName", NODE_STRING);
	const struct node *hints = want(o, en, prefix, "hints", NODE_MAP);
	struct ep_addr *a = &g->addrs[g->n_addrs];
	struct ep_hints *h;
	char path[128];

	if (!addrs || !addrs->n)
		return obj_error(o, en, prefix, "addresses", "missing");
	/* Consumers use the first address only; the API allows no more than one. */
	if (parse_ip(o, addrs->items[0], prefix, "addresses[0]", &a->addr) < 0)
		return -EINVAL;
	if (a->addr.family != g->family)
		return obj_error(o, addrs->items[0], prefix, "addresses[0]",
				 "'%s' does not match addressType %s", addrs->items[0]->str,
				 g->family == AF_INET ? "IPv4" : "IPv6");
	/* A nil ready condition means ready; nil serving means "as ready". */
	a->ready = a->serving = true;
	if (cond) {
		/* The field path is built only where an endpoint has the field: 125,000 endpoints at 10,000 services. */
		index_path(path, sizeof(path), prefix, "conditions", SIZE_MAX);
		a->ready = want_bool(o, cond, path, "ready", true);
		a->serving = want_bool(o, cond, path, "serving", a->ready);
		a->terminating = want_bool(o, cond, path, "terminating", false);
	}
	a->node_name = node ? keep(o, node->str) : NULL;
	a->loc = node_loc(addrs->items[0]);
	if (hints) {
		a->hints = h = arena_alloc(&o->m->arena, sizeof(*h));
		if (!h)
			return -ENOMEM;
		index_path(path, sizeof(path), prefix, "hints", SIZE_MAX);
		if (parse_hint_list(o, hints, path, "forZones", &h->zones, &h->n_zones) < 0 ||
		    parse_hint_list(o, hints, path, "forNodes", &h->nodes, &h->n_nodes) < 0)
			return -EINVAL;
	}
	g->n_addrs++;
	return 0;
}

static int parse_slice_family(struct obj *o, struct ep_group *g)
{
	const struct node *t = want(o, o->root, "", "addressType", NODE_STRING);

	if (!t)
		return obj_error(o, NULL, "", "addressType", "missing (expected IPv4, IPv6 or FQDN)");
	if (!strcmp(t->str, "IPv4"))
		g->family = AF_INET;
	else if (!strcmp(t->str, "IPv6"))
		g->family = AF_INET6;
	else if (strcmp(t->str, "FQDN"))
		return obj_error(o, t, "", "addressType", "unknown address type '%.40s' (expected IPv4, IPv6 or FQDN)",
				 t->str);
	return 0;
}

static int parse_endpointslice(struct obj *o)
{
	const char *svc;
	const struct node *eps;
	struct ep_group *g;
	char prefix[64];
	int r = 0;

	if (parse_metadata(o, NAME_DNS_SUBDOMAIN) < 0 || register_object(o) < 0)
		return -EINVAL;
	svc = label(o, "kubernetes.io/service-name");
	if (!svc)
		return obj_error(o, node_get(o->root, "metadata"), "metadata.labels", "kubernetes.io/service-name",
				 "missing: the label ties the slice to its Service");
	g = new_group(o, svc);
	if (!g)
		return -ENOMEM;
	if (parse_slice_family(o, g) < 0)
		return -EINVAL;
	r = parse_ep_ports(o, want(o, o->root, "", "ports", NODE_SEQ), "ports", g);
	eps = want(o, o->root, "", "endpoints", NODE_SEQ);
	if (!eps || !g->family)
		return r;	/* FQDN slices serve nothing a DNAT can use */
	g->addrs = arena_alloc(&o->m->arena, (eps->n + 1) * sizeof(*g->addrs));
	if (!g->addrs)
		return -ENOMEM;
	for (size_t i = 0; i < eps->n; i++) {
		index_path(prefix, sizeof(prefix), "endpoints", NULL, i);
		if (eps->items[i]->type != NODE_MAP)
			r = obj_error(o, eps->items[i], prefix, "", "expected a mapping");
		else if (parse_slice_endpoint(o, eps->items[i], prefix, g) < 0)
			r = -EINVAL;
	}
	return r;
}

/* ---- Documents -------------------------------------------------------- */

static int add_object(struct model *m, const struct node *root, struct diag *d, unsigned depth);

static int add_list(struct model *m, const struct node *root, struct diag *d, unsigned depth)
{
	const struct node *items = node_get(root, "items");
	struct loc where;
	int r = 0;

	if (!items || items->type == NODE_NULL)
		return 0;
	where = node_loc(items);
	if (items->type != NODE_SEQ)
		return diag_error(d, &where, "%s: items: expected a sequence, found %s",
				  node_get(root, "kind")->str, kind_of(items->type));
	for (size_t i = 0; i < items->n; i++)
		if (add_object(m, items->items[i], d, depth + 1) < 0)
			r = -EINVAL;
	return r;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static int add_object(struct model *m, const struct node *root, struct diag *d, unsigned depth)
{
	const struct node *kind, *api;
	struct obj o = { .m = m, .d = d, .root = root, .ns = "default" };
	struct loc where = node_loc(root);

	if (root->type != NODE_MAP)
		return diag_error(d, &where, "expected a Kubernetes object (a mapping), found %s",
				  kind_of(root->type));
	if (++m->n_read > (m->max_objects ? m->max_objects : MODEL_MAX_OBJECTS))
		return diag_error(d, &where, "more than %zu objects: refusing to read further",
				  m->max_objects ? m->max_objects : (size_t)MODEL_MAX_OBJECTS);
	kind = node_get(root, "kind");
	api = node_get(root, "apiVersion");
	if (!kind || kind->type != NODE_STRING || !kind->len) {
		if (kind)
			where = node_loc(kind);
		return diag_error(d, &where, "not a Kubernetes object: 'kind' is missing or not a string");
	}
	o.kind = keep(&o, kind->str);
	if (has_suffix(kind->str, "List") && depth < 4)
		return add_list(m, root, d, depth);
	if (!api || api->type != NODE_STRING)
		return obj_error(&o, api, "", "apiVersion", "missing or not a string");
	if (!strcmp(kind->str, "Service") && !strcmp(api->str, "v1"))
		return parse_service(&o);
	if (!strcmp(kind->str, "Endpoints") && !strcmp(api->str, "v1"))
		return parse_endpoints(&o);
	if (!strcmp(kind->str, "EndpointSlice") &&
	    (!strcmp(api->str, "discovery.k8s.io/v1") || !strcmp(api->str, "discovery.k8s.io/v1beta1")))
		return parse_endpointslice(&o);
	m->n_skipped++;
	diag_info(d, &where, "skipping %s %s: not a kind svcnat uses", api->str, kind->str);
	return 0;
}

int model_add_doc(struct model *m, const struct node *root, struct diag *d)
{
	if (!root)
		return 0;
	return add_object(m, root, d, 0);
}

int model_add_item(struct model *m, const struct node *item, struct diag *d)
{
	return add_object(m, item, d, 1);
}

struct model_mark model_mark(const struct model *m)
{
	return (struct model_mark){ m->n_services, m->n_groups, m->n_objects, m->n_skipped, m->n_read };
}

void model_rollback(struct model *m, const struct model_mark *mark)
{
	m->n_services = mark->n_services;
	m->n_groups = mark->n_groups;
	m->n_objects = mark->n_objects;
	m->n_skipped = mark->n_skipped;
	m->n_read = mark->n_read;
}

/* ---- Model ------------------------------------------------------------ */

struct model *model_new(void)
{
	struct model *m = calloc(1, sizeof(*m));

	if (m) {
		arena_init(&m->arena);
		tree_builder_init(&m->keep, &m->arena, NULL);
	}
	return m;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	free(m->services);
	free(m->groups);
	free(m->objects);
	tree_builder_fini(&m->keep);
	arena_free(&m->arena);
	free(m);
}

const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "UDP" : proto == IPPROTO_SCTP ? "SCTP" : "TCP";
}

const char *proto_nft_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_SCTP ? "sctp" : "tcp";
}

const char *svc_type_name(enum svc_type t)
{
	static const char *const names[] = { "ClusterIP", "NodePort", "LoadBalancer", "ExternalName" };

	return names[t];
}

