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

static json_t *ip_array(const struct ip_list *l)
{
	json_t *a = json_array();
	char buf[ADDR_STRLEN];

	for (size_t i = 0; a && i < l->n; i++)
		json_array_append_new(a, json_string(addr_to_str(&l->v[i], buf)));
	return a;
}

static json_t *port_json(const struct service *s, const struct svc_port *p)
{
	json_t *o = json_object(), *eps = json_array();
	struct backend *be = NULL;
	size_t n = 0;
	char ip[ADDR_STRLEN];

	if (!o || !eps || service_port_backends(s, p, 0, NULL, &be, &n) < 0) {
		json_decref(o);
		json_decref(eps);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *ep = json_pack("{s:s,s:i}", "ip", addr_to_str(&be[i].addr, ip), "port", be[i].port);

		if (ep && be[i].node)
			json_object_set_new(ep, "nodeName", json_string(be[i].node));
		json_array_append_new(eps, ep);
	}
	free(be);
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "protocol", json_string(proto_name(p->proto)));
	json_object_set_new(o, "port", json_integer(p->port));
	if (p->target_name)
		json_object_set_new(o, "targetPort", json_string(p->target_name));
	else
		json_object_set_new(o, "targetPort", json_integer(p->target_port));
	if (p->node_port && (s->type == SVC_NODE_PORT || s->type == SVC_LOAD_BALANCER))
		json_object_set_new(o, "nodePort", json_integer(p->node_port));
	json_object_set_new(o, "endpoints", eps);
	return o;
}

static json_t *ranges_json(const struct service *s)
{
	json_t *a = json_array();
	char buf[ADDR_STRLEN + 8], ip[ADDR_STRLEN];

	for (size_t i = 0; a && i < s->n_source_ranges; i++) {
		snprintf(buf, sizeof(buf), "%s/%u", addr_to_str(&s->source_ranges[i].net, ip), s->source_ranges[i].len);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

/* The labels that change what a proxy does with the service. */
static json_t *labels_json(const struct service *s)
{
	json_t *o = json_object();

	if (o && s->proxy_name)
		json_object_set_new(o, "service.kubernetes.io/service-proxy-name", json_string(s->proxy_name));
	if (o && s->headless_label)
		json_object_set_new(o, "service.kubernetes.io/headless", json_string(""));
	return o;
}

static json_t *service_json(const struct service *s)
{
	json_t *o = json_object(), *ports = json_array();

	if (!o || !ports) {
		json_decref(o);
		json_decref(ports);
		return NULL;
	}
	json_object_set_new(o, "namespace", json_string(s->ns));
	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "type", json_string(svc_type_name(s->type)));
	json_object_set_new(o, "clusterIPs", s->headless ? json_pack("[s]", "None") : ip_array(&s->cluster_ips));
	json_object_set_new(o, "externalIPs", ip_array(&s->external_ips));
	json_object_set_new(o, "loadBalancerIngress", ip_array(&s->lb_ips));
	json_object_set_new(o, "selector", s->selector ? json_string(s->selector) : json_null());
	json_object_set_new(o, "sessionAffinity", json_string(s->affinity_client_ip ? "ClientIP" : "None"));
	if (s->affinity_client_ip)
		json_object_set_new(o, "sessionAffinityTimeout", json_integer(s->affinity_timeout));
	json_object_set_new(o, "externalTrafficPolicy", json_string(s->external_local ? "Local" : "Cluster"));
	json_object_set_new(o, "internalTrafficPolicy", json_string(s->internal_local ? "Local" : "Cluster"));
	json_object_set_new(o, "publishNotReadyAddresses", json_boolean(s->publish_not_ready));
	json_object_set_new(o, "ipFamilyPolicy", json_string(s->dual_stack ? "PreferDualStack" : "SingleStack"));
	json_object_set_new(o, "loadBalancerSourceRanges", ranges_json(s));
	if (s->health_check_node_port)
		json_object_set_new(o, "healthCheckNodePort", json_integer(s->health_check_node_port));
	if (s->external_name)
		json_object_set_new(o, "externalName", json_string(s->external_name));
	json_object_set_new(o, "labels", labels_json(s));
	if (s->ignored_why)
		json_object_set_new(o, "ignored", json_string(s->ignored_why));
	for (size_t i = 0; i < s->n_ports; i++)
		json_array_append_new(ports, port_json(s, &s->ports[i]));
	json_object_set_new(o, "ports", ports);
	return o;
}

json_t *snapshot_from_model(const struct model *m)
{
	json_t *snap = json_object(), *svcs = json_array();

	if (!snap || !svcs) {
		json_decref(snap);
		json_decref(svcs);
		return NULL;
	}
	json_object_set_new(snap, "version", json_integer(1));
	for (size_t i = 0; i < m->n_services; i++)
		if (!m->services[i].invalid)
			json_array_append_new(svcs, service_json(&m->services[i]));
	json_object_set_new(snap, "services", svcs);
	return snap;
}

int snapshot_save(const char *dir, json_t *snap)
{
	char *path = NULL, *text = json_dumps(snap, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	int r;

	if (!text || asprintf(&path, "%s/%s", dir, SNAPSHOT_FILE) < 0) {
		free(text);
		return -ENOMEM;
	}
	r = mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : file_replace(path, text, strlen(text), 0644, false);
	free(text);
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
