// SPDX-License-Identifier: GPL-2.0-or-later
/* Model, validation and allocation: every error with its exact message and position. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "compile.h"
#include "model.h"
#include "validate.h"

struct run {
	struct model *m;
	struct diag d;
	struct config c;
	struct alloc_state old, new;
	int r;
};

static void run_text(struct run *x, const char *text)
{
	memset(x, 0, sizeof(*x));
	diag_init(&x->d);
	config_defaults(&x->c);
	cidr_list_parse("198.18.0.0/16", &x->c.service_cidrs, true);
	x->m = model_new();
	ck_assert_ptr_nonnull(x->m);
	x->r = model_load_buffer(x->m, text, strlen(text), "t.yaml", &x->d);
	if (model_index(x->m, &x->d) < 0)
		x->r = -1;
	if (alloc_run(x->m, &x->c, &x->old, &x->new, &x->d) < 0)
		x->r = -1;
	if (validate_model(x->m, &x->c, &x->d) < 0)
		x->r = -1;
}

static void run_free(struct run *x)
{
	model_free(x->m);
	diag_free(&x->d);
	alloc_state_free(&x->old);
	alloc_state_free(&x->new);
}

/* The first message of a level, formatted as svcnat prints it. */
static const char *first(struct run *x, enum diag_level level)
{
	static char buf[1024];

	for (size_t i = 0; i < x->d.n; i++)
		if (x->d.msgs[i].level == level) {
			diag_format(&x->d.msgs[i], buf, sizeof(buf));
			return buf;
		}
	return "";
}

#define SVC(ports) "apiVersion: v1\nkind: Service\nmetadata:\n  name: myservice\nspec:\n  ports:\n" ports

struct bad_case {
	const char *text;
	const char *error;
};

static const struct bad_case bad_cases[] = {
	{ SVC("  - port: 70000\n"),
	  "t.yaml:7:11: error: Service default/myservice: spec.ports[0].port: 70000 is out of range 1-65535" },
	{ SVC("  - port: 0\n"),
	  "t.yaml:7:11: error: Service default/myservice: spec.ports[0].port: 0 is out of range 1-65535" },
	{ SVC("  - port: eighty\n"),
	  "t.yaml:7:11: error: Service default/myservice: spec.ports[0].port: expected an integer, found a string 'eighty'" },
	{ SVC("  - port: \"80\"\n"),
	  "t.yaml:7:11: error: Service default/myservice: spec.ports[0].port: expected an integer, found a string '80'" },
	{ SVC("  - port: 80\n    protocol: tcp\n"),
	  "t.yaml:8:15: error: Service default/myservice: spec.ports[0].protocol: unknown protocol 'tcp' (expected TCP, UDP or SCTP)" },
	{ SVC("  - {}\n"),
	  "t.yaml:7:5: error: Service default/myservice: spec.ports[0].port: missing" },
	{ SVC("  - port: 80\n    targetPort: 70000\n"),
	  "t.yaml:8:17: error: Service default/myservice: spec.ports[0].targetPort: 70000 is out of range 1-65535" },
	{ SVC("  - port: 80\n    targetPort: Web_Port\n"),
	  "t.yaml:8:17: error: Service default/myservice: spec.ports[0].targetPort: 'Web_Port' is not a valid port name: only lowercase letters, digits and '-' are allowed" },
	{ SVC("  - port: 80\n    nodePort: 30080\n"),
	  "t.yaml:8:15: error: Service default/myservice: spec.ports[0].nodePort: may not be used when type is 'ClusterIP'" },
	{ SVC("  - port: 80\n  - port: 81\n"),
	  "t.yaml:8:5: error: Service default/myservice: spec.ports[1].name: more than one port: every port needs a name" },
	{ SVC("  - port: 80\n  type: NodePort\n  clusterIP: 198.18.0.300\n"),
	  "t.yaml:9:14: error: Service default/myservice: spec.clusterIP: '198.18.0.300' is not a valid IP address" },
	{ SVC("  - port: 80\n  externalIPs: [\"127.0.0.1\"]\n"),
	  "t.yaml:8:17: error: Service default/myservice: spec.externalIPs[0]: '127.0.0.1' is a loopback address" },
	{ SVC("  - port: 80\n  type: Cluster\n"),
	  "t.yaml:8:9: error: Service default/myservice: spec.type: unknown type 'Cluster' (expected ClusterIP, NodePort, LoadBalancer or ExternalName)" },
	{ SVC("  - port: 80\n    nodePort: 80\n  type: NodePort\n"),
	  "t.yaml:8:15: error: Service default/myservice: spec.ports[0].nodePort: 80 is outside the nodePort range 30000-32767" },
	{ "apiVersion: v1\nkind: Service\nmetadata:\n  name: My_Service\nspec: {}\n",
	  "t.yaml:4:9: error: Service default/My_Service: metadata.name: 'My_Service' is not a valid name: only lowercase letters, digits and '-' are allowed" },
	{ "apiVersion: v1\nkind: Service\nmetadata:\n  namespace: prod\nspec: {}\n",
	  "t.yaml:4:3: error: Service prod/(unnamed): metadata.name: missing" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n---\n"
	  "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 81}]}\n",
	  "t.yaml:8:18: error: Service default/a: metadata.name: duplicate Service (first defined at t.yaml:3:18)" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: 198.18.0.5, ports: [{port: 80}]}\n---\n"
	  "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {externalIPs: [198.18.0.5], ports: [{port: 80}]}\n",
	  "t.yaml:9:50: error: Service default/b: externalIP 198.18.0.5:80/TCP is already claimed by Service default/a (t.yaml:4:46)" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 30080}]}\n---\n"
	  "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {type: NodePort, ports: [{port: 81, nodePort: 30080}]}\n",
	  "t.yaml:9:53: error: Service default/b: nodePort 30080 is already used by Service default/a as nodePort (t.yaml:4:53)" },
	{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {type: LoadBalancer, externalTrafficPolicy: Local, healthCheckNodePort: 30090, ports: [{port: 80}]}\n---\n"
	  "apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec: {type: NodePort, ports: [{port: 81, nodePort: 30090}]}\n",
	  "t.yaml:9:53: error: Service default/b: nodePort 30090 is already used by Service default/a as healthCheckNodePort (t.yaml:4:79)" },
	{ SVC("  - port: 80\n  healthCheckNodePort: 30090\n"),
	  "t.yaml:8:24: error: Service default/myservice: spec.healthCheckNodePort: only for type LoadBalancer with externalTrafficPolicy Local" },
	{ SVC("  - port: 80\n  sessionAffinity: Sticky\n"),
	  "t.yaml:8:20: error: Service default/myservice: spec.sessionAffinity: unknown value 'Sticky' (expected None or ClientIP)" },
	{ SVC("  - port: 80\n  externalTrafficPolicy: local\n"),
	  "t.yaml:8:26: error: Service default/myservice: spec.externalTrafficPolicy: unknown value 'local' (expected Cluster or Local)" },
	{ SVC("  - port: 80\n  loadBalancerSourceRanges: [203.0.113.0/33]\n"),
	  "t.yaml:8:30: error: Service default/myservice: spec.loadBalancerSourceRanges[0]: '203.0.113.0/33' is not a CIDR (e.g. 203.0.113.0/24)" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: a-1}\naddressType: IPv4\nendpoints: []\n",
	  "t.yaml:3:11: error: EndpointSlice default/a-1: metadata.labels.kubernetes.io/service-name: missing: the label ties the slice to its Service" },
	{ "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: a-1, labels: {kubernetes.io/service-name: a}}\n"
	  "addressType: IPv4\nendpoints:\n- addresses: [\"2001:db8::1\"]\n",
	  "t.yaml:6:15: error: EndpointSlice default/a-1: endpoints[0].addresses[0]: '2001:db8::1' does not match addressType IPv4" },
	{ "apiVersion: v1\nkind: Endpoints\nmetadata: {name: a}\nsubsets:\n- addresses: [{ip: 10.0.0.256}]\n",
	  "t.yaml:5:20: error: Endpoints default/a: subsets[0].addresses[0].ip: '10.0.0.256' is not a valid IP address" },
	{ "kind: Service\nmetadata: {name: a}\n",
	  "t.yaml:1:1: error: Service default/(unnamed): apiVersion: missing or not a string" },
	{ "apiVersion: v1\nmetadata: {name: a}\n",
	  "t.yaml:1:1: error: not a Kubernetes object: 'kind' is missing or not a string" },
	{ "- 1\n- 2\n",
	  "t.yaml:1:1: error: expected a Kubernetes object (a mapping), found a sequence" },
};

START_TEST(test_bad_input)
{
	const struct bad_case *bc = &bad_cases[_i];
	struct run x;

	run_text(&x, bc->text);
	ck_assert_msg(x.r < 0, "case %d: accepted", _i);
	ck_assert_str_eq(first(&x, DIAG_ERROR), bc->error);
	run_free(&x);
}
END_TEST

START_TEST(test_defaults)
{
	struct run x;
	struct service *s;

	run_text(&x, SVC("  - port: 80\n"));
	ck_assert_int_eq(x.r, 0);
	s = model_find_service(x.m, "default", "myservice");
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->type, SVC_CLUSTER_IP);
	ck_assert_int_eq(s->ports[0].proto, IPPROTO_TCP);
	ck_assert_int_eq(s->ports[0].target_port, 80);
	ck_assert(s->cluster_ip_allocated);
	ck_assert(prefix_contains(&x.c.service_cidrs.v[0].net, 16, &s->cluster_ips.v[0]));
	run_free(&x);
}
END_TEST

START_TEST(test_skipped_kinds)
{
	struct run x;

	run_text(&x, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"
		     "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: nginx}\n");
	ck_assert_int_eq(x.r, 0);
	ck_assert_int_eq(x.m->n_skipped, 2);
	ck_assert_int_eq(x.d.errors, 0);
	run_free(&x);
}
END_TEST

START_TEST(test_list_and_headless)
{
	struct run x;

	run_text(&x, "{\"kind\": \"List\", \"apiVersion\": \"v1\", \"items\": ["
		     "{\"kind\": \"Service\", \"apiVersion\": \"v1\", \"metadata\": {\"name\": \"h\"},"
		     " \"spec\": {\"clusterIP\": \"None\", \"ports\": [{\"port\": 80}]}},"
		     "{\"kind\": \"Service\", \"apiVersion\": \"v1\", \"metadata\": {\"name\": \"e\"},"
		     " \"spec\": {\"type\": \"ExternalName\", \"externalName\": \"db.example.org\"}}]}");
	ck_assert_int_eq(x.r, 0);
	ck_assert_int_eq(x.m->n_services, 2);
	ck_assert(model_find_service(x.m, "default", "h")->ignored);
	ck_assert(model_find_service(x.m, "default", "e")->ignored);
	ck_assert(!model_find_service(x.m, "default", "e")->cluster_ip_allocated);
	run_free(&x);
}
END_TEST

START_TEST(test_named_target_port)
{
	struct run x;
	struct service *s;

	run_text(&x, SVC("  - name: http\n    port: 80\n    targetPort: web\n") "---\n"
		     "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		     "metadata: {name: myservice-1, labels: {kubernetes.io/service-name: myservice}}\n"
		     "addressType: IPv4\nports: [{name: http, port: 8080}]\n"
		     "endpoints: [{addresses: [198.19.1.2]}]\n");
	ck_assert_int_eq(x.r, 0);
	s = model_find_service(x.m, "default", "myservice");
	ck_assert_int_eq(s->n_groups, 1);
	ck_assert_int_eq(ep_group_target(s->groups[0], &s->ports[0]), 8080);
	run_free(&x);
}
END_TEST

START_TEST(test_target_port_name_warning)
{
	struct run x;

	run_text(&x, SVC("  - name: http\n    port: 80\n    targetPort: web\n") "---\n"
		     "apiVersion: v1\nkind: Endpoints\nmetadata: {name: myservice}\n"
		     "subsets: [{addresses: [{ip: 198.19.1.2}], ports: [{name: metrics, port: 9090}]}]\n");
	ck_assert_int_eq(x.r, 0);
	ck_assert_str_eq(first(&x, DIAG_WARNING),
			 "t.yaml:7:5: warning: Service default/myservice: spec.ports[0].targetPort: 'web' names no "
			 "port of its endpoints: that port has no endpoints");
	run_free(&x);
}
END_TEST

/*
 * Health checks count the distinct ready endpoints (address and port) on the node,
 * over all ports; the terminating fallback and other nodes' endpoints do not count;
 * publishNotReadyAddresses makes the not-ready count.
 */
#define HC_SLICE(name, ready) \
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n" \
	"metadata: {name: " name "-1, labels: {kubernetes.io/service-name: " name "}}\n" \
	"addressType: IPv4\nports: [{name: a, port: 8080}, {name: b, port: 8080}, {name: c, port: 9090}]\n" \
	"endpoints:\n" \
	"- {addresses: [198.19.1.2], nodeName: node-1, conditions: {ready: " ready ", serving: true, terminating: true}}\n" \
	"- {addresses: [198.19.1.3], nodeName: node-1, conditions: {ready: " ready ", serving: true, terminating: true}}\n" \
	"- {addresses: [198.19.2.2], nodeName: node-2}\n"
#define HC_SVC(name, extra) \
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: " name "}\nspec:\n" extra \
	"  ports: [{name: a, port: 80}, {name: b, port: 81}, {name: c, port: 82}]\n"

START_TEST(test_local_ready_endpoints)
{
	static const struct {
		const char *name, *node;
		size_t want;
	} cases[] = {
		{ "ready", "node-1", 4 },	/* two addresses x ports 8080 and 9090 */
		{ "ready", "node-2", 2 },
		{ "ready", "node-3", 0 },
		{ "terminating", "node-1", 0 },
		{ "published", "node-1", 4 },
	};
	struct run x;

	run_text(&x, HC_SVC("ready", "") HC_SLICE("ready", "true") HC_SVC("terminating", "")
		     HC_SLICE("terminating", "false") HC_SVC("published", "  publishNotReadyAddresses: true\n")
		     HC_SLICE("published", "false"));
	ck_assert_int_eq(x.r, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = 99;

		ck_assert_int_eq(service_local_ready_endpoints(model_find_service(x.m, "default", cases[i].name),
							       cases[i].node, &n), 0);
		ck_assert_msg(n == cases[i].want, "%s on %s: %zu local ready endpoints, want %zu", cases[i].name,
			      cases[i].node, n, cases[i].want);
	}
	run_free(&x);
}
END_TEST

/* The same services keep the same addresses however others come and go. */
START_TEST(test_allocation_stable)
{
	struct run a, b;
	struct addr ip_a, ip_b;
	uint16_t np_a;

	run_text(&a, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, ports: [{port: 80}]}\n");
	ck_assert_int_eq(a.r, 0);
	ip_a = model_find_service(a.m, "default", "web")->cluster_ips.v[0];
	np_a = model_find_service(a.m, "default", "web")->ports[0].node_port;
	ck_assert(np_a >= 30000 && np_a <= 32767);
	/* Second run: another service appears that would hash onto the same values; state keeps web's. */
	memset(&b, 0, sizeof(b));
	diag_init(&b.d);
	config_defaults(&b.c);
	cidr_list_parse("198.18.0.0/16", &b.c.service_cidrs, true);
	b.m = model_new();
	{
		const char *t = "apiVersion: v1\nkind: Service\nmetadata: {name: aaa}\nspec: {type: NodePort, ports: [{port: 80}]}\n"
				"---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, ports: [{port: 80}]}\n";
		struct doc *docs = NULL;

		ck_assert_int_eq(tree_parse(t, strlen(t), "t.yaml", &b.m->arena, &b.d, &docs), 0);
		for (struct doc *doc = docs; doc; doc = doc->next)
			ck_assert_int_eq(model_add_doc(b.m, doc->root, &b.d), 0);
	}
	ck_assert_int_eq(model_index(b.m, &b.d), 0);
	ck_assert_int_eq(alloc_run(b.m, &b.c, &a.new, &b.new, &b.d), 0);
	ip_b = model_find_service(b.m, "default", "web")->cluster_ips.v[0];
	ck_assert(addr_equal(&ip_a, &ip_b));
	ck_assert_int_eq(model_find_service(b.m, "default", "web")->ports[0].node_port, np_a);
	ck_assert(!addr_equal(&model_find_service(b.m, "default", "aaa")->cluster_ips.v[0], &ip_b));
	run_free(&a);
	run_free(&b);
}
END_TEST

/* Two names that hash to one address: the service that had it keeps it when the other arrives. */
START_TEST(test_allocation_newcomer)
{
	struct run a, b;
	struct addr kept;

	run_text(&a, "apiVersion: v1\nkind: Service\nmetadata: {name: zzz, namespace: t}\nspec: {ports: [{port: 80}]}\n");
	ck_assert_int_eq(a.r, 0);
	kept = model_find_service(a.m, "t", "zzz")->cluster_ips.v[0];
	memset(&b, 0, sizeof(b));
	diag_init(&b.d);
	config_defaults(&b.c);
	cidr_list_parse("198.18.0.0/16", &b.c.service_cidrs, true);
	b.m = model_new();
	{
		const char *t = "apiVersion: v1\nkind: Service\nmetadata: {name: a71274, namespace: t}\nspec: {ports: [{port: 80}]}\n"
				"---\napiVersion: v1\nkind: Service\nmetadata: {name: zzz, namespace: t}\nspec: {ports: [{port: 80}]}\n";
		struct doc *docs = NULL;

		ck_assert_int_eq(tree_parse(t, strlen(t), "t.yaml", &b.m->arena, &b.d, &docs), 0);
		for (struct doc *doc = docs; doc; doc = doc->next)
			ck_assert_int_eq(model_add_doc(b.m, doc->root, &b.d), 0);
	}
	ck_assert_int_eq(model_index(b.m, &b.d), 0);
	ck_assert_int_eq(alloc_run(b.m, &b.c, &a.new, &b.new, &b.d), 0);
	ck_assert(addr_equal(&model_find_service(b.m, "t", "zzz")->cluster_ips.v[0], &kept));
	ck_assert(!addr_equal(&model_find_service(b.m, "t", "a71274")->cluster_ips.v[0], &kept));
	run_free(&a);
	run_free(&b);
}
END_TEST

static int parse_str(struct alloc_state *s, const char *text, struct diag *d)
{
	return alloc_state_parse(s, text, strlen(text), "s", d);
}

START_TEST(test_state_roundtrip)
{
	struct alloc_state s = { 0 }, t = { 0 };
	struct diag d;
	char dir[] = "/tmp/svcnat-test-XXXXXX";

	diag_init(&d);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(parse_str(&s, "version 1\nclusterip default/a 198.18.0.7\nnodeport default/a TCP 80 30001\nend 2\n", &d), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(alloc_state_save(&s, dir), 0);
	ck_assert_int_eq(alloc_state_load(&t, dir, &d), 0);
	ck_assert_int_eq(t.n, 2);
	ck_assert_int_eq(t.v[1].node_port, 30001);
	alloc_state_free(&t);
	/* Truncated and corrupt files are errors, never a silent rebuild. */
	ck_assert_int_lt(parse_str(&t, "version 1\nclusterip default/a 198.18.0.7\n", &d), 0);
	ck_assert_int_lt(parse_str(&t, "version 1\nclusterip default/a 198.18.0.7\nend 2\n", &d), 0);
	ck_assert_int_lt(parse_str(&t, "", &d), 0);
	ck_assert_int_lt(parse_str(&t, "version 1\nclusterip default/a 198.18.0.x\nend 1\n", &d), 0);
	ck_assert_int_lt(parse_str(&t, "version 1\nclusterip default/a 198.18.0.7\nend 1\nclusterip default/b 198.18.0.8\n", &d), 0);
	alloc_state_free(&s);
	alloc_state_free(&t);
	diag_free(&d);
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

/* A JSON List's items are modelled as they are read; what turns out not to be a List's takes nothing. */
#define SVC_JSON(name) "{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"metadata\": {\"name\": \"" name "\"}, " \
	"\"spec\": {\"ports\": [{\"port\": 80}]}}"

START_TEST(test_list_stream)
{
	struct run x;

	/* kubectl's order: items before kind. */
	run_text(&x, "{\"apiVersion\": \"v1\", \"items\": [" SVC_JSON("a") ", " SVC_JSON("b") "], \"kind\": \"List\"}");
	ck_assert_int_eq(x.r, 0);
	ck_assert_uint_eq(x.m->n_services, 2);
	ck_assert_str_eq(x.m->services[1].name, "b");
	run_free(&x);

	/* Not a List: its items are no objects of the run. */
	run_text(&x, "{\"apiVersion\": \"v1\", \"items\": [" SVC_JSON("a") "], \"kind\": \"ConfigMap\", "
		     "\"metadata\": {\"name\": \"c\"}}");
	ck_assert_int_eq(x.r, 0);
	ck_assert_uint_eq(x.m->n_services, 0);
	run_free(&x);

	/* A syntax error after good items (JSON) or documents (YAML): only that error, nothing modelled. */
	static const struct {
		const char *text, *error;
	} broken[] = {
		{ "{\"kind\": \"List\", \"items\": [" SVC_JSON("a") ", {\"kind\": \"Service\",,",
		  "t.yaml:1:150: error: invalid JSON: found ',', expected a key in double quotes" },
		{ "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\n---\nkind: [\n",
		  "t.yaml:7:1: error: invalid YAML: did not find expected node content (while parsing a flow node)" },
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		run_text(&x, broken[i].text);
		ck_assert_int_ne(x.r, 0);
		ck_assert_uint_eq(x.m->n_services, 0);
		ck_assert_uint_eq(x.d.errors, 1);
		ck_assert_str_eq(first(&x, DIAG_ERROR), broken[i].error);
		run_free(&x);
	}

	/* An item's error keeps its place among the others. */
	run_text(&x, "{\"kind\": \"List\", \"items\": [" SVC_JSON("a") ", 7, " SVC_JSON("B") "]}");
	ck_assert_uint_eq(x.d.errors, 2);
	ck_assert_str_eq(first(&x, DIAG_ERROR), "t.yaml:1:131: error: expected a Kubernetes object (a mapping), found an integer");
	ck_assert_uint_eq(x.m->n_services, 1);	/* "B" is no valid name */
	run_free(&x);
}
END_TEST

static Suite *model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_bad_input, 0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_skipped_kinds);
	tcase_add_test(tc, test_list_and_headless);
	tcase_add_test(tc, test_named_target_port);
	tcase_add_test(tc, test_target_port_name_warning);
	tcase_add_test(tc, test_local_ready_endpoints);
	tcase_add_test(tc, test_allocation_stable);
	tcase_add_test(tc, test_allocation_newcomer);
	tcase_add_test(tc, test_state_roundtrip);
	tcase_add_test(tc, test_list_stream);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(model_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
