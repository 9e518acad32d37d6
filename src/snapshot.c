// SPDX-License-Identifier: GPL-2.0-or-later
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile.h"
#include "fileio.h"
#include "snapshot.h"

/*
 * The snapshot is printed straight to text (one service per line), not built
 * as jansson objects: at 10,000 services that is most of a no-op run's time
 * otherwise.  get and describe read it back with jansson.
 *
 * The stream is private to the thread that writes the snapshot while another
 * commits: stdio's locking (real once there are threads) is not needed.
 */
#define fputc fputc_unlocked
#define fwrite fwrite_unlocked
#define fputs fputs_unlocked

static void put_uint(FILE *f, unsigned v)
{
	char buf[20];

	fwrite(buf, 1, (size_t)(put_decimal(buf, v) - buf), f);
}
static bool json_plain(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\';
}

/* Plain runs go out in one fwrite: a byte at a time was a tenth of a no-op run. */
static void put_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		const unsigned char *run = p;

		while (json_plain(*p))
			p++;
		fwrite(run, 1, p - run, f);
		if (!*p)
			break;
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else
			fprintf(f, "\\u%04x", *p);
		p++;
	}
	fputc('"', f);
}

static void put_key(FILE *f, const char *key, bool *first)
{
	fputs(*first ? "" : ",", f);
	*first = false;
	put_str(f, key);
	fputc(':', f);
}

static void put_ips(FILE *f, const struct ip_list *l)
{
	char ip[ADDR_STRLEN];

	fputc('[', f);
	for (size_t i = 0; i < l->n; i++) {
		fputs(i ? "," : "", f);
		put_str(f, addr_to_str(&l->v[i], ip));
	}
	fputc(']', f);
}

static int put_port(FILE *f, const struct service *s, const struct svc_port *p)
{
	struct backend *be = NULL;
	char ip[ADDR_STRLEN];
	bool first = true;
	size_t n = 0;

	if (service_port_backends(s, p, 0, NULL, NULL, &be, &n) < 0)
		return -ENOMEM;
	fputc('{', f);
	put_key(f, "name", &first);
	put_str(f, p->name);
	put_key(f, "protocol", &first);
	put_str(f, proto_name(p->proto));
	put_key(f, "port", &first);
	put_uint(f, p->port);
	put_key(f, "targetPort", &first);
	if (p->target_name)
		put_str(f, p->target_name);
	else
		put_uint(f, p->target_port);
	if (p->node_port && (s->type == SVC_NODE_PORT || s->type == SVC_LOAD_BALANCER)) {
		put_key(f, "nodePort", &first);
		put_uint(f, p->node_port);
	}
	put_key(f, "endpoints", &first);
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",{\"ip\":" : "{\"ip\":", f);
		put_str(f, addr_to_str(&be[i].addr, ip));
		fputs(",\"port\":", f);
		put_uint(f, be[i].port);
		if (be[i].node) {
			fputs(",\"nodeName\":", f);
			put_str(f, be[i].node);
		}
		fputc('}', f);
	}
	fputs("]}", f);
	free(be);
	return 0;
}

static void put_ranges(FILE *f, const struct service *s)
{
	char ip[ADDR_STRLEN];

	fputc('[', f);
	for (size_t i = 0; i < s->n_source_ranges; i++)
		fprintf(f, "%s\"%s/%u\"", i ? "," : "", addr_to_str(&s->source_ranges[i].net, ip), s->source_ranges[i].len);
	fputc(']', f);
}

/* The labels that change what a proxy does with the service. */
static void put_labels(FILE *f, const struct service *s)
{
	bool first = true;

	fputc('{', f);
	if (s->proxy_name) {
		put_key(f, "service.kubernetes.io/service-proxy-name", &first);
		put_str(f, s->proxy_name);
	}
	if (s->headless_label) {
		put_key(f, "service.kubernetes.io/headless", &first);
		put_str(f, "");
	}
	fputc('}', f);
}

static void put_str_field(FILE *f, const char *key, const char *value, bool *first)
{
	put_key(f, key, first);
	if (value)
		put_str(f, value);
	else
		fputs("null", f);
}

static int put_service(FILE *f, const struct service *s, const char *node)
{
	bool first = true;
	size_t n;
	int r = 0;

	fputc('{', f);
	put_str_field(f, "namespace", s->ns, &first);
	put_str_field(f, "name", s->name, &first);
	put_str_field(f, "type", svc_type_name(s->type), &first);
	put_key(f, "clusterIPs", &first);
	if (s->headless)
		fputs("[\"None\"]", f);
	else
		put_ips(f, &s->cluster_ips);
	put_key(f, "externalIPs", &first);
	put_ips(f, &s->external_ips);
	put_key(f, "loadBalancerIngress", &first);
	put_ips(f, &s->lb_ips);
	put_str_field(f, "selector", s->selector, &first);
	put_str_field(f, "sessionAffinity", s->affinity_client_ip ? "ClientIP" : "None", &first);
	if (s->affinity_client_ip) {
		put_key(f, "sessionAffinityTimeout", &first);
		fprintf(f, "%u", s->affinity_timeout);
	}
	put_str_field(f, "externalTrafficPolicy", s->external_local ? "Local" : "Cluster", &first);
	put_str_field(f, "internalTrafficPolicy", s->internal_local ? "Local" : "Cluster", &first);
	put_key(f, "publishNotReadyAddresses", &first);
	fputs(s->publish_not_ready ? "true" : "false", f);
	put_str_field(f, "ipFamilyPolicy", s->dual_stack ? "PreferDualStack" : "SingleStack", &first);
	put_key(f, "loadBalancerSourceRanges", &first);
	put_ranges(f, s);
	if (s->health_check_node_port) {
		put_key(f, "healthCheckNodePort", &first);
		put_uint(f, s->health_check_node_port);
		/* What svcnat healthcheck answers on that port, for this node. */
		r = service_local_ready_endpoints(s, node, &n);
		put_key(f, "localReadyEndpoints", &first);
		put_uint(f, (unsigned)n);
	}
	if (s->external_name)
		put_str_field(f, "externalName", s->external_name, &first);
	put_key(f, "labels", &first);
	put_labels(f, s);
	if (s->ignored_why)
		put_str_field(f, "ignored", s->ignored_why, &first);
	put_key(f, "ports", &first);
	fputc('[', f);
	for (size_t i = 0; r == 0 && i < s->n_ports; i++) {
		fputs(i ? "," : "", f);
		r = put_port(f, s, &s->ports[i]);
	}
	fputs("]}", f);
	return r;
}

int snapshot_save(const char *dir, const struct model *m, const char *node)
{
	struct staged_file s;
	int r = snapshot_stage(dir, m, node, &s);

	return r < 0 ? r : file_commit(&s);
}

struct snapshot_ctx {
	const struct model *m;
	const char *node;
};

static int put_snapshot(FILE *f, const void *ctx)
{
	const struct snapshot_ctx *x = ctx;
	const struct model *m = x->m;
	bool any = false;
	int r = 0;

	fputs("{\"version\":1,\"node\":", f);
	put_str(f, x->node);
	fputs(",\"services\":[\n", f);
	for (size_t i = 0; r == 0 && i < m->n_services; i++) {
		if (m->services[i].invalid)
			continue;
		fputs(any ? ",\n" : "", f);
		any = true;
		r = put_service(f, &m->services[i], x->node);
	}
	fputs("\n]}\n", f);
	return r;
}

int snapshot_stage(const char *dir, const struct model *m, const char *node, struct staged_file *ret)
{
	struct snapshot_ctx x = { m, node };
	char *path = NULL;
	int r;

	*ret = (struct staged_file){ 0 };
	if (asprintf(&path, "%s/%s", dir, SNAPSHOT_FILE) < 0)
		return -ENOMEM;
	r = mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : file_stage_stream(path, 0644, false, put_snapshot, &x, ret);
	free(path);
	return r;
}

int snapshot_load(const char *dir, json_t **ret)
{
	char *path = NULL;
	json_error_t err;
	json_t *snap;

	if (asprintf(&path, "%s/%s", dir, SNAPSHOT_FILE) < 0)
		return -ENOMEM;
	if (access(path, F_OK) < 0) {
		free(path);
		return -ENOENT;
	}
	snap = json_load_file(path, 0, &err);
	free(path);
	if (!snap || !json_is_array(json_object_get(snap, "services"))) {
		json_decref(snap);
		return -EINVAL;
	}
	*ret = snap;
	return 0;
}

int snapshot_remove(const char *dir)
{
	char *path = NULL;
	int r = 0;

	if (asprintf(&path, "%s/%s", dir, SNAPSHOT_FILE) < 0)
		return -ENOMEM;
	if (unlink(path) < 0 && errno != ENOENT)
		r = -errno;
	free(path);
	return r;
}
