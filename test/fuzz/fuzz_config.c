// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: the configuration file (config_load_buffer) over the
 * defaults.  A configuration that loads must also be usable: a fixed manifest
 * is then compiled and printed with it, so that a value the loader lets
 * through but a later stage cannot take (a table name nft refuses, an empty
 * range) is found too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "compile.h"
#include "config.h"
#include "contract.h"
#include "model.h"
#include "ruleset.h"
#include "tree.h"
#include "validate.h"

/* What a successful load leaves must be usable as is: terminated strings, a sane range. */
static void check_config(const struct config *c)
{
	const char *strings[] = { c->table, c->state_dir, c->lock_file, c->hostname, c->manifest_dir };
	const size_t sizes[] = { sizeof(c->table), sizeof(c->state_dir), sizeof(c->lock_file),
				 sizeof(c->hostname), sizeof(c->manifest_dir) };

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		if (!memchr(strings[i], '\0', sizes[i]))
			broken("a string of the configuration is not terminated");
	if (!c->node_port_min || c->node_port_min > c->node_port_max || c->masquerade_bit > 31)
		broken("the nodePort range or masqueradeBit is out of range");
	if (!c->service_cidrs.n || c->service_cidrs.n > 2)
		broken("serviceCIDR has no or more than two ranges");
}

/* Every feature the configuration steers: nodePorts, external and load-balancer IPs, both families. */
static const char manifest[] =
	"apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
	"spec:\n  type: LoadBalancer\n  ipFamilyPolicy: PreferDualStack\n"
	"  externalIPs: [192.0.2.10]\n  externalTrafficPolicy: Local\n"
	"  ports: [{name: http, port: 80, targetPort: 8080}, {name: dns, port: 53, protocol: UDP}]\n"
	"status: {loadBalancer: {ingress: [{ip: 203.0.113.7}]}}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: prod}\n"
	"spec: {type: NodePort, ports: [{port: 443}]}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\n"
	"ports: [{name: http, port: 8080}, {name: dns, port: 53, protocol: UDP}]\n"
	"endpoints: [{addresses: [198.19.1.2], nodeName: node-1}, {addresses: [198.19.2.2]}]\n";

/* The fixed manifest through the pipeline with configuration c; it must never abort. */
static void compile_with(const struct config *c)
{
	struct alloc_state old_alloc = { 0 }, new_alloc = { 0 };
	struct ruleset *rs = NULL;
	struct compile_stats stats;
	struct doc *docs = NULL;
	struct diag d;
	struct model *m = model_new();
	FILE *f;
	int r;

	if (!m)
		return;
	diag_init(&d);
	r = tree_parse(manifest, sizeof(manifest) - 1, "fuzz.yaml", &m->arena, &d, &docs);
	for (struct doc *doc = r == 0 ? docs : NULL; doc; doc = doc->next)
		model_add_doc(m, doc->root, &d);
	if (r == 0 && !d.errors && model_index(m, &d) == 0 &&
	    alloc_run(m, c, &old_alloc, &new_alloc, &d) == 0 && validate_model(m, c, &d) == 0) {
		r = compile_ruleset(m, c, &rs, &stats);
		if (r < 0 && r != -ENOMEM)
			broken("compiling failed on user input");
		f = rs ? fopen("/dev/null", "w") : NULL;
		if (f) {
			if (print_nft_ruleset(f, rs) < 0)
				broken("printing the ruleset failed");
			fclose(f);
		}
	}
	check_diags(&d, d.errors ? -EINVAL : 0);
	ruleset_free(rs);
	alloc_state_free(&new_alloc);
	model_free(m);
	diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct diag d;
	int r;

	config_defaults(&c);
	diag_init(&d);
	r = config_load_buffer(&c, (const char *)data, size, "fuzz-svcnat.yaml", &d);
	if (r != -ENOMEM)
		check_diags(&d, r);
	diag_free(&d);
	if (r == 0) {
		check_config(&c);
		compile_with(&c);
	}
	return 0;
}
