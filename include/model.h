/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The typed model: Services and the endpoints that serve them, as read from
 * Service, Endpoints and EndpointSlice objects.  Every object and field that
 * can be wrong keeps its source location.
 */
#ifndef SVCNAT_MODEL_H
#define SVCNAT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "arena.h"
#include "diag.h"
#include "tree.h"

enum svc_type {
	SVC_CLUSTER_IP,
	SVC_NODE_PORT,
	SVC_LOAD_BALANCER,
	SVC_EXTERNAL_NAME,
};

struct svc_port {
	const char *name;		/* "" when unnamed */
	uint8_t proto;			/* IPPROTO_TCP/UDP/SCTP */
	uint16_t port;
	uint16_t target_port;		/* 0 when target_name is set */
	const char *target_name;	/* named targetPort, or NULL */
	uint16_t node_port;		/* 0: none yet (allocated for NodePort/LoadBalancer) */
	bool node_port_allocated;	/* chosen by svcnat, not the manifest */
	struct loc loc;			/* the ports[] entry */
	struct loc port_loc;
	struct loc node_port_loc;
	const char *path;		/* "spec.ports[0]" */
};

struct ip_list {
	struct addr *v;
	struct loc *locs;
	size_t n;
};

struct ip_prefix {
	struct addr net;
	uint8_t len;
	struct loc loc;
};

struct service {
	const char *ns;
	const char *name;
	struct loc loc;			/* metadata.name */
	enum svc_type type;
	bool headless;			/* clusterIP: None */
	bool ignored;			/* left to another proxy, or nothing to do */
	const char *ignored_why;
	const char *proxy_name;		/* label service.kubernetes.io/service-proxy-name */
	bool headless_label;		/* label service.kubernetes.io/headless */
	const char *external_name;	/* spec.externalName, shown only */
	struct ip_list cluster_ips;	/* from clusterIP/clusterIPs, or allocated */
	bool cluster_ip_allocated;
	struct loc cluster_ip_loc;
	struct ip_list external_ips;
	struct ip_list lb_ips;
	struct svc_port *ports;
	size_t n_ports;
	const char *selector;		/* "k=v,k2=v2", informational */
	/* Data-path semantics (svcnat(8), SERVICE SEMANTICS). */
	bool affinity_client_ip;	/* sessionAffinity: ClientIP */
	uint32_t affinity_timeout;	/* sessionAffinityConfig.clientIP.timeoutSeconds */
	bool external_local;		/* externalTrafficPolicy: Local */
	bool internal_local;		/* internalTrafficPolicy: Local */
	bool publish_not_ready;		/* publishNotReadyAddresses */
	struct ip_prefix *source_ranges;	/* loadBalancerSourceRanges */
	size_t n_source_ranges;
	uint16_t health_check_node_port;	/* healthCheckNodePort */
	struct loc health_check_loc;
	int families[2];		/* ipFamilies (AF_INET/AF_INET6), 0 = unset */
	size_t n_families;
	bool dual_stack;		/* ipFamilyPolicy PreferDualStack or RequireDualStack */
	bool invalid;			/* failed validation; never compiled */
	struct ep_group **groups;	/* endpoints serving it, after model_index() */
	size_t n_groups;
};

struct ep_port {
	const char *name;		/* "" when unnamed */
	uint8_t proto;
	uint16_t port;
	struct loc loc;
};

/* An EndpointSlice endpoint's hints.forZones and hints.forNodes (topology-aware routing): names. */
struct ep_hints {
	const char **zones, **nodes;
	size_t n_zones, n_nodes;
};

struct ep_addr {
	struct addr addr;
	bool ready;
	bool serving;
	bool terminating;
	const char *node_name;
	const struct ep_hints *hints;	/* NULL: none */
	struct loc loc;
};

/* One Endpoints subset or one EndpointSlice: every address serves every port. */
struct ep_group {
	const char *ns;
	const char *service;		/* Endpoints name, or the slice's service-name label */
	const char *kind;		/* "Endpoints" or "EndpointSlice" */
	const char *object;		/* the object's own name */
	struct loc loc;
	int family;			/* slice addressType; 0 for Endpoints (mixed) */
	struct ep_addr *addrs;
	size_t n_addrs;
	struct ep_port *ports;
	size_t n_ports;
};

/* Each object read, for duplicate detection and -v listings. */
struct object_ref {
	const char *kind;
	const char *ns;
	const char *name;
	struct loc loc;
	size_t seq;		/* reading order, so sorting keeps the first definition first */
};

struct model {
	struct arena arena;
	struct service *services;
	size_t n_services, cap_services;
	struct ep_group *groups;
	size_t n_groups, cap_groups;
	struct object_ref *objects;	/* Endpoints and EndpointSlices, for duplicate checks */
	size_t n_objects, cap_objects;
	size_t n_skipped;		/* objects of kinds svcnat does not use */
	size_t n_read;			/* every object read, against the limit */
	size_t max_objects;		/* limit on objects read; 0 = default */
	struct tree_builder keep;	/* the strings the model keeps, in arena */
};

/* How far a model had got, to take back what a file added when it turns out unreadable. */
struct model_mark {
	size_t n_services, n_groups, n_objects, n_skipped, n_read;
};

#define MODEL_MAX_OBJECTS 1000000

struct model *model_new(void);
void model_free(struct model *m);

/*
 * Adds every object of one document (a List's items recursively).  Field
 * errors go to d; the function returns -EINVAL when any were found in this
 * document, but keeps reading so that all errors of a run are reported.
 */
int model_add_doc(struct model *m, const struct node *root, struct diag *d);
/* One item of a List read as a stream (tree_stream): as model_add_doc does for each of items. */
int model_add_item(struct model *m, const struct node *item, struct diag *d);
struct model_mark model_mark(const struct model *m);
void model_rollback(struct model *m, const struct model_mark *mark);

/* One file's text (JSON or YAML) into the model; name is kept for messages. */
int model_load_buffer(struct model *m, const char *buf, size_t len, const char *name, struct diag *d);
/* Reads files, directories (recursively, sorted) and "-" (stdin) into the model. */
int model_load_path(struct model *m, const char *path, struct diag *d);

/*
 * Sorts services by namespace/name, reports duplicate objects, and links
 * each Endpoints subset and EndpointSlice to its service.
 */
int model_index(struct model *m, struct diag *d);
/*
 * The port an endpoint group serves service port sp on, as kube-proxy
 * matches them: by the service port's name, or failing that by a named
 * targetPort.  0 when the group does not serve sp.
 */
uint16_t ep_group_target(const struct ep_group *g, const struct svc_port *sp);

const char *proto_name(uint8_t proto);	/* "TCP" */
const char *proto_nft_name(uint8_t proto);	/* "tcp" */
const char *svc_type_name(enum svc_type t);
struct service *model_find_service(const struct model *m, const char *ns, const char *name);

#endif
