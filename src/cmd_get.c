// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * svcnat get and svcnat describe: what svcnat has put in force, in kubectl's
 * layout, from the record of the last apply (stateDir/services.json) and the
 * kernel's own counters; never from the manifests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "counters.h"
#include "snapshot.h"

struct column_set {
	size_t width[8];
};

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* "198.19.1.2:80" or "[2001:db8::1]:80" of an endpoint object {ip, port}. */
static const char *ep_text(const json_t *ep, char *buf, size_t len)
{
	const char *ip = json_string_value(json_object_get(ep, "ip"));
	json_int_t port = json_integer_value(json_object_get(ep, "port"));

	snprintf(buf, len, ip && strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip ? ip : "?", (long long)port);
	return buf;
}

/* The endpoints of a port, joined with commas. */
static void join_endpoints(char *buf, size_t len, const json_t *eps)
{
	size_t i, off = 0;
	json_t *ep;
	char one[80];

	buf[0] = '\0';
	json_array_foreach(eps, i, ep) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", ep_text(ep, one, sizeof(one)));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (!off)
		snprintf(buf, len, "<none>");
}

static bool in_scope(const struct options *o, const json_t *svc)
{
	const char *ns = o->ns ? o->ns : "default";

	return o->all_namespaces || !strcmp(str_of(svc, "namespace"), ns);
}

/* "a,b,c" of a JSON array of strings, or dflt when empty. */
static void join(char *buf, size_t len, const json_t *arr, const char *dflt)
{
	size_t i, off = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", json_string_value(v));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (!off)
		snprintf(buf, len, "%s", dflt);
}

static void external_ips(char *buf, size_t len, const json_t *svc)
{
	char a[512], b[512];
	const char *type = str_of(svc, "type");

	join(a, sizeof(a), json_object_get(svc, "loadBalancerIngress"), "");
	join(b, sizeof(b), json_object_get(svc, "externalIPs"), "");
	if (a[0] && b[0])
		snprintf(buf, len, "%s,%s", a, b);
	else if (a[0] || b[0])
		snprintf(buf, len, "%s", a[0] ? a : b);
	else if (!strcmp(type, "ExternalName") && json_string_value(json_object_get(svc, "externalName")))
		snprintf(buf, len, "%s", json_string_value(json_object_get(svc, "externalName")));
	else
		snprintf(buf, len, "%s", !strcmp(type, "LoadBalancer") ? "<pending>" : "<none>");
}

/* kubectl's PORT(S): "80/TCP", "80:31119/TCP". */
static void ports_column(char *buf, size_t len, const json_t *svc)
{
	size_t i, off = 0;
	json_t *p;

	buf[0] = '\0';
	json_array_foreach(json_object_get(svc, "ports"), i, p) {
		json_int_t np = json_integer_value(json_object_get(p, "nodePort"));
		int n = np ? snprintf(buf + off, len - off, "%s%lld:%lld/%s", off ? "," : "",
				      (long long)json_integer_value(json_object_get(p, "port")), (long long)np,
				      str_of(p, "protocol")) :
			     snprintf(buf + off, len - off, "%s%lld/%s", off ? "," : "",
				      (long long)json_integer_value(json_object_get(p, "port")), str_of(p, "protocol"));

		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (!off)
		snprintf(buf, len, "<none>");
}

/* ---- Tables ----------------------------------------------------------- */

#define MAX_COLS 7

struct table {
	char ***rows;		/* rows[r][c] */
	size_t n, cap, cols;
};

static int table_add(struct table *t, const char *const *cells)
{
	if (t->n == t->cap) {
		char ***v = realloc(t->rows, (t->cap = t->cap ? t->cap * 2 : 32) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->rows = v;
	}
	t->rows[t->n] = calloc(t->cols, sizeof(char *));
	if (!t->rows[t->n])
		return -ENOMEM;
	for (size_t c = 0; c < t->cols; c++)
		t->rows[t->n][c] = strdup(cells[c] ? cells[c] : "");
	t->n++;
	return 0;
}

/* Columns padded to their widest cell plus three spaces, as kubectl prints them. */
static void table_print(struct table *t)
{
	size_t w[MAX_COLS] = { 0 };

	for (size_t r = 0; r < t->n; r++)
		for (size_t c = 0; c < t->cols; c++)
			if (strlen(t->rows[r][c]) > w[c])
				w[c] = strlen(t->rows[r][c]);
	for (size_t r = 0; r < t->n; r++) {
		for (size_t c = 0; c < t->cols; c++)
			if (c + 1 < t->cols)
				printf("%-*s   ", (int)w[c], t->rows[r][c]);
			else
				printf("%s\n", t->rows[r][c]);
		for (size_t c = 0; c < t->cols; c++)
			free(t->rows[r][c]);
		free(t->rows[r]);
	}
	free(t->rows);
}

/* ---- JSON and YAML, shaped as Kubernetes objects ------------------------- */

static json_t *selector_map(const char *sel)
{
	json_t *m = json_object();
	char *copy = strdup(sel ? sel : ""), *save = NULL;

	for (char *kv = strtok_r(copy, ",", &save); kv && m; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (eq) {
			*eq = '\0';
			json_object_set_new(m, kv, json_string(eq + 1));
		}
	}
	free(copy);
	return m;
}

static json_t *k8s_ports(const json_t *svc)
{
	json_t *out = json_array(), *p;
	size_t i;

	json_array_foreach(json_object_get(svc, "ports"), i, p) {
		json_t *q = json_pack("{s:O,s:O,s:O,s:O}", "name", json_object_get(p, "name"), "protocol",
				      json_object_get(p, "protocol"), "port", json_object_get(p, "port"), "targetPort",
				      json_object_get(p, "targetPort"));

		if (q && json_object_get(p, "nodePort"))
			json_object_set(q, "nodePort", json_object_get(p, "nodePort"));
		json_array_append_new(out, q);
	}
	return out;
}

/* A v1 Service as kubectl prints it, so the output can be fed back to svcnat. */
static json_t *k8s_service(const json_t *svc)
{
	json_t *ingress = json_array(), *ip, *spec;
	size_t i;

	json_array_foreach(json_object_get(svc, "loadBalancerIngress"), i, ip)
		json_array_append_new(ingress, json_pack("{s:O}", "ip", ip));
	spec = json_pack("{s:O,s:s,s:O,s:O,s:o,s:o}", "type", json_object_get(svc, "type"), "clusterIP",
			 json_string_value(json_array_get(json_object_get(svc, "clusterIPs"), 0)) ?
			 json_string_value(json_array_get(json_object_get(svc, "clusterIPs"), 0)) : "",
			 "clusterIPs", json_object_get(svc, "clusterIPs"), "externalIPs",
			 json_object_get(svc, "externalIPs"), "ports", k8s_ports(svc), "selector",
			 selector_map(json_string_value(json_object_get(svc, "selector"))));
	json_object_set(spec, "sessionAffinity", json_object_get(svc, "sessionAffinity"));
	if (json_object_get(svc, "sessionAffinityTimeout"))
		json_object_set_new(spec, "sessionAffinityConfig",
				    json_pack("{s:{s:O}}", "clientIP", "timeoutSeconds",
					      json_object_get(svc, "sessionAffinityTimeout")));
	for (const char *const *k = (const char *const[]){ "externalTrafficPolicy", "internalTrafficPolicy",
							   "publishNotReadyAddresses", "ipFamilyPolicy",
							   "loadBalancerSourceRanges", "healthCheckNodePort",
							   "externalName", NULL }; *k; k++)
		if (json_object_get(svc, *k))
			json_object_set(spec, *k, json_object_get(svc, *k));
	if (!strcmp(str_of(svc, "type"), "ExternalName"))
		json_object_del(spec, "clusterIPs"), json_object_set_new(spec, "clusterIP", json_string(""));
	return json_pack("{s:s,s:s,s:{s:O,s:O,s:O*},s:o,s:{s:{s:o}}}", "apiVersion", "v1", "kind", "Service",
			 "metadata", "name", json_object_get(svc, "name"), "namespace", json_object_get(svc, "namespace"),
			 "labels", json_object_get(svc, "labels"), "spec", spec, "status", "loadBalancer", "ingress",
			 ingress);
}

static json_t *k8s_endpoints(const json_t *svc)
{
	json_t *subsets = json_array(), *p, *ep;
	size_t i, j;

	json_array_foreach(json_object_get(svc, "ports"), i, p)
		json_array_foreach(json_object_get(p, "endpoints"), j, ep) {
			json_t *addr = json_pack("{s:O}", "ip", json_object_get(ep, "ip"));

			if (addr && json_object_get(ep, "nodeName"))
				json_object_set(addr, "nodeName", json_object_get(ep, "nodeName"));
			json_array_append_new(subsets, json_pack("{s:[o],s:[{s:O,s:O,s:O}]}", "addresses", addr,
								  "ports", "name", json_object_get(p, "name"), "port",
								  json_object_get(ep, "port"), "protocol",
								  json_object_get(p, "protocol")));
		}
	return json_pack("{s:s,s:s,s:{s:O,s:O},s:o}", "apiVersion", "v1", "kind", "Endpoints", "metadata", "name",
			 json_object_get(svc, "name"), "namespace", json_object_get(svc, "namespace"), "subsets", subsets);
}

/* Plain block YAML of a JSON value; strings in JSON quotes, which YAML reads the same. */
static void print_yaml(const json_t *v, int indent, bool in_seq)
{
	size_t i;
	const char *key;
	json_t *x;
	bool first = true;

	if (json_is_object(v) && json_object_size(v)) {
		json_object_foreach((json_t *)v, key, x) {
			if (!(in_seq && first))
				printf("%*s", indent, "");
			first = false;
			printf("%s:", key);
			if ((json_is_object(x) && json_object_size(x)) || (json_is_array(x) && json_array_size(x))) {
				putchar('\n');
				print_yaml(x, indent + 2, false);
			} else {
				putchar(' ');
				print_yaml(x, 0, false);
			}
		}
	} else if (json_is_array(v) && json_array_size(v)) {
		json_array_foreach(v, i, x) {
			printf("%*s- ", indent, "");
			if (json_is_object(x) && json_object_size(x))
				print_yaml(x, indent + 2, true);
			else
				print_yaml(x, 0, false);
		}
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY);

		printf("%s\n", s ? s : "null");
		free(s);
	}
}

static int print_list(const struct options *o, json_t *items)
{
	json_t *list = json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind", "List", "items", items);

	if (!list)
		return EXIT_INVALID;
	if (!strcmp(o->output, "json")) {
		json_dumpf(list, stdout, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		print_yaml(list, 0, false);
	}
	json_decref(list);
	return EXIT_OK;
}

/* ---- get ---------------------------------------------------------------- */

static int load(const struct options *o, json_t **ret)
{
	int r = snapshot_load(o->config.state_dir, ret);

	if (r == -ENOENT)
		cli_log(o, DIAG_ERROR, "nothing applied yet (no %s/%s)", o->config.state_dir, SNAPSHOT_FILE);
	else if (r < 0)
		cli_log(o, DIAG_ERROR, "cannot read %s/%s: %s", o->config.state_dir, SNAPSHOT_FILE, strerror(-r));
	return r < 0 ? EXIT_INVALID : EXIT_OK;
}

static int get_services(const struct options *o, json_t *svcs)
{
	bool wide = o->output && !strcmp(o->output, "wide");
	struct table t = { .cols = (o->all_namespaces ? 1u : 0u) + 5 + (wide ? 1u : 0u) };
	const char *head[MAX_COLS];
	char ext[1024], ports[1024];
	size_t i, c = 0;
	json_t *svc;

	if (o->all_namespaces)
		head[c++] = "NAMESPACE";
	head[c++] = "NAME", head[c++] = "TYPE", head[c++] = "CLUSTER-IP", head[c++] = "EXTERNAL-IP";
	head[c++] = "PORT(S)";
	if (wide)
		head[c++] = "SELECTOR";
	table_add(&t, head);
	json_array_foreach(svcs, i, svc) {
		const char *row[MAX_COLS];
		char ips[512];

		if (!in_scope(o, svc))
			continue;
		c = 0;
		join(ips, sizeof(ips), json_object_get(svc, "clusterIPs"), "<none>");
		external_ips(ext, sizeof(ext), svc);
		ports_column(ports, sizeof(ports), svc);
		if (o->all_namespaces)
			row[c++] = str_of(svc, "namespace");
		row[c++] = str_of(svc, "name"), row[c++] = str_of(svc, "type");
		if (strchr(ips, ','))
			*strchr(ips, ',') = '\0';	/* kubectl shows the primary clusterIP */
		row[c++] = ips;
		row[c++] = ext, row[c++] = ports;
		if (wide)
			row[c++] = json_string_value(json_object_get(svc, "selector")) ?
				   str_of(svc, "selector") : "<none>";
		table_add(&t, row);
	}
	table_print(&t);
	return EXIT_OK;
}

static void endpoints_column(char *buf, size_t len, const json_t *svc)
{
	size_t i, j, off = 0, shown = 0, total = 0;
	json_t *p, *ep;

	buf[0] = '\0';
	json_array_foreach(json_object_get(svc, "ports"), i, p)
		json_array_foreach(json_object_get(p, "endpoints"), j, ep) {
			char one[80];

			total++;
			if (shown < 3) {
				off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s", shown ? "," : "",
							ep_text(ep, one, sizeof(one)));
				shown++;
			}
		}
	if (!total)
		snprintf(buf, len, "<none>");
	else if (total > shown && off < len)
		snprintf(buf + off, len - off, " + %zu more...", total - shown);
}

static int get_endpoints(const struct options *o, json_t *svcs)
{
	struct table t = { .cols = (o->all_namespaces ? 1u : 0u) + 2 };
	const char *head[MAX_COLS] = { 0 };
	char eps[1024];
	size_t i, c = 0;
	json_t *svc;

	if (o->all_namespaces)
		head[c++] = "NAMESPACE";
	head[c++] = "NAME", head[c++] = "ENDPOINTS";
	table_add(&t, head);
	json_array_foreach(svcs, i, svc) {
		const char *row[MAX_COLS];

		if (!in_scope(o, svc) || json_object_get(svc, "ignored"))
			continue;
		c = 0;
		endpoints_column(eps, sizeof(eps), svc);
		if (o->all_namespaces)
			row[c++] = str_of(svc, "namespace");
		row[c++] = str_of(svc, "name"), row[c++] = eps;
		table_add(&t, row);
	}
	table_print(&t);
	return EXIT_OK;
}

static int get_structured(const struct options *o, json_t *svcs, bool endpoints)
{
	json_t *items = json_array(), *svc;
	size_t i;

	json_array_foreach(svcs, i, svc)
		if (in_scope(o, svc) && !(endpoints && json_object_get(svc, "ignored")))
			json_array_append_new(items, endpoints ? k8s_endpoints(svc) : k8s_service(svc));
	return print_list(o, items);
}

int cmd_get(struct options *o, struct diag *d)
{
	const char *what = o->n_args == 1 ? o->args[0] : "";
	bool svc = !strcmp(what, "services") || !strcmp(what, "service") || !strcmp(what, "svc");
	bool ep = !strcmp(what, "endpoints") || !strcmp(what, "ep");
	json_t *snap = NULL;
	int r;

	(void)d;
	if (!svc && !ep) {
		fprintf(stderr, "svcnat get: expected 'services' or 'endpoints'\n");
		return EXIT_USAGE;
	}
	if (o->output && strcmp(o->output, "wide") && strcmp(o->output, "json") && strcmp(o->output, "yaml")) {
		fprintf(stderr, "svcnat get: -o takes wide, json or yaml\n");
		return EXIT_USAGE;
	}
	r = load(o, &snap);
	if (r != EXIT_OK)
		return r;
	if (o->output && strcmp(o->output, "wide"))
		r = get_structured(o, json_object_get(snap, "services"), ep);
	else
		r = svc ? get_services(o, json_object_get(snap, "services")) :
			  get_endpoints(o, json_object_get(snap, "services"));
	json_decref(snap);
	return r;
}

/* ---- describe ---------------------------------------------------------------- */

static void field(const char *name, const char *value)
{
	printf("%-26s%s\n", name, value && *value ? value : "<none>");
}

static void describe_port(const json_t *svc, const json_t *p, const struct counters *ctr, const struct options *o)
{
	char buf[1024], label[256], tp[64];
	const char *name = str_of(p, "name");
	json_t *target = json_object_get(p, "targetPort");
	struct counter_value v;

	snprintf(buf, sizeof(buf), "%s  %lld/%s", *name ? name : "<unset>",
		 (long long)json_integer_value(json_object_get(p, "port")), str_of(p, "protocol"));
	field("Port:", buf);
	if (json_is_string(target))
		snprintf(tp, sizeof(tp), "%s/%s", json_string_value(target), str_of(p, "protocol"));
	else
		snprintf(tp, sizeof(tp), "%lld/%s", (long long)json_integer_value(target), str_of(p, "protocol"));
	field("TargetPort:", tp);
	if (json_object_get(p, "nodePort")) {
		snprintf(buf, sizeof(buf), "%s  %lld/%s", *name ? name : "<unset>",
			 (long long)json_integer_value(json_object_get(p, "nodePort")), str_of(p, "protocol"));
		field("NodePort:", buf);
	}
	join_endpoints(buf, sizeof(buf), json_object_get(p, "endpoints"));
	field("Endpoints:", buf);
	if (*name)
		snprintf(label, sizeof(label), "%s/%s:%s", str_of(svc, "namespace"), str_of(svc, "name"), name);
	else
		snprintf(label, sizeof(label), "%s/%s:%lld/%s", str_of(svc, "namespace"), str_of(svc, "name"),
			 (long long)json_integer_value(json_object_get(p, "port")), str_of(p, "protocol"));
	if (ctr && counters_get(ctr, label, &v) == 0) {
		snprintf(buf, sizeof(buf), "%llu packets, %llu bytes (svcnat counters, since the last full load)",
			 (unsigned long long)v.packets, (unsigned long long)v.bytes);
		field("Traffic:", buf);
	} else if (ctr) {
		field("Traffic:", "not in the kernel: the port is not in force");
	}
	(void)o;
}

int cmd_describe(struct options *o, struct diag *d)
{
	const char *ns = o->ns ? o->ns : "default";
	struct counters *ctr = NULL;
	json_t *snap = NULL, *svc, *found = NULL, *p;
	json_int_t hc_port;
	char buf[1024];
	size_t i;
	int r;

	(void)d;
	if (o->n_args != 2 || (strcmp(o->args[0], "service") && strcmp(o->args[0], "services") &&
			       strcmp(o->args[0], "svc"))) {
		fprintf(stderr, "svcnat describe: expected 'service NAME'\n");
		return EXIT_USAGE;
	}
	r = load(o, &snap);
	if (r != EXIT_OK)
		return r;
	json_array_foreach(json_object_get(snap, "services"), i, svc)
		if (!strcmp(str_of(svc, "namespace"), ns) && !strcmp(str_of(svc, "name"), o->args[1]))
			found = svc;
	if (!found) {
		cli_log(o, DIAG_ERROR, "services \"%s\" not found in namespace %s", o->args[1], ns);
		json_decref(snap);
		return EXIT_INVALID;
	}
	if (counters_read(o->config.table, &ctr) < 0)
		cli_log(o, DIAG_WARNING, "cannot read the kernel's counters (not root, or no svcnat table)");
	field("Name:", str_of(found, "name"));
	field("Namespace:", str_of(found, "namespace"));
	field("Selector:", str_of(found, "selector"));
	field("Type:", str_of(found, "type"));
	join(buf, sizeof(buf), json_object_get(found, "clusterIPs"), "None");
	field("IP:", strchr(buf, ',') ? (*strchr(buf, ',') = '\0', buf) : buf);
	join(buf, sizeof(buf), json_object_get(found, "clusterIPs"), "None");
	field("IPs:", buf);
	join(buf, sizeof(buf), json_object_get(found, "externalIPs"), "");
	if (*buf)
		field("External IPs:", buf);
	join(buf, sizeof(buf), json_object_get(found, "loadBalancerIngress"), "");
	if (*buf)
		field("LoadBalancer Ingress:", buf);
	json_array_foreach(json_object_get(found, "ports"), i, p)
		describe_port(found, p, ctr, o);
	field("Session Affinity:", str_of(found, "sessionAffinity"));
	/* kubectl shows the external policy only where there is external traffic. */
	if (!strcmp(str_of(found, "type"), "NodePort") || !strcmp(str_of(found, "type"), "LoadBalancer"))
		field("External Traffic Policy:", str_of(found, "externalTrafficPolicy"));
	field("Internal Traffic Policy:", str_of(found, "internalTrafficPolicy"));
	hc_port = json_integer_value(json_object_get(found, "healthCheckNodePort"));
	if (hc_port > 0) {
		json_int_t n = json_integer_value(json_object_get(found, "localReadyEndpoints"));

		snprintf(buf, sizeof(buf), "%lld", (long long)hc_port);
		field("HealthCheck NodePort:", buf);
		/* svcnat's own line: what svcnat healthcheck answers there. */
		snprintf(buf, sizeof(buf), "%lld ready on this node (svcnat healthcheck answers %s)", (long long)n,
			 n > 0 ? "200" : "503");
		field("Local Endpoints:", buf);
	}
	if (json_object_get(found, "ignored"))
		field("svcnat:", str_of(found, "ignored"));
	counters_free(ctr);
	json_decref(snap);
	return EXIT_OK;
}
