// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fileio.h"
#include "tree.h"

void config_defaults(struct config *c)
{
	*c = (struct config){ .node_port_min = 30000, .node_port_max = 32767, .masquerade_bit = 14 };
	cidr_list_parse("10.96.0.0/12", &c->service_cidrs, true);
	strcpy(c->table, "svcnat");
	strcpy(c->state_dir, "/var/lib/svcnat");
	strcpy(c->lock_file, "/run/svcnat/svcnat.lock");
	strcpy(c->manifest_dir, "/etc/svcnat/manifests");
	if (gethostname(c->hostname, sizeof(c->hostname) - 1) < 0)
		strcpy(c->hostname, "localhost");
}

const struct cidr *cidr_list_family(const struct cidr_list *l, int family)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].net.family == family)
			return &l->v[i];
	return NULL;
}

int cidr_list_parse(const char *s, struct cidr_list *ret, bool one_per_family)
{
	struct cidr_list l = { 0 };
	char buf[1024], *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct cidr c;

		if (l.n == CONFIG_MAX_CIDRS || prefix_parse(tok, &c.net, &c.len) < 0)
			return -EINVAL;
		if (one_per_family && cidr_list_family(&l, c.net.family))
			return -EINVAL;
		l.v[l.n++] = c;
	}
	if (!l.n)
		return -EINVAL;
	*ret = l;
	return 0;
}

int port_range_parse(const char *s, uint16_t *ret_min, uint16_t *ret_max)
{
	unsigned long lo, hi;
	char *end;

	errno = 0;
	lo = strtoul(s, &end, 10);
	if (errno || end == s || *end != '-')
		return -EINVAL;
	s = end + 1;
	hi = strtoul(s, &end, 10);
	if (errno || end == s || *end || lo < 1 || hi > 65535 || lo > hi)
		return -EINVAL;
	*ret_min = (uint16_t)lo;
	*ret_max = (uint16_t)hi;
	return 0;
}

static int set_string(char *dst, size_t size, const struct node *v, const char *key, struct diag *d)
{
	const struct loc where = node_loc(v);

	if (v->type != NODE_STRING)
		return diag_error(d, &where, "%s: expected a string, found %s", key, node_type_name(v->type));
	if (v->len >= size || memchr(v->str, '\0', v->len))
		return diag_error(d, &where, "%s: '%.40s' is too long (at most %zu bytes)", key, v->str, size - 1);
	memcpy(dst, v->str, v->len + 1);
	return 0;
}

static int set_cidrs(struct cidr_list *dst, const struct node *v, const char *key, bool one_per_family,
		     struct diag *d)
{
	const struct loc where = node_loc(v);
	struct cidr_list l = { 0 };

	if (v->type == NODE_STRING) {
		if (cidr_list_parse(v->str, &l, one_per_family) < 0)
			return diag_error(d, &where, "%s: '%.80s' is not a CIDR%s", key, v->str,
					  one_per_family ? " or a comma-separated pair of one IPv4 and one IPv6 CIDR" : " list");
	} else if (v->type == NODE_SEQ && !one_per_family) {
		for (size_t i = 0; i < v->n; i++) {
			const struct node *it = v->items[i];
			const struct loc at = node_loc(it);

			if (it->type != NODE_STRING || l.n == CONFIG_MAX_CIDRS ||
			    prefix_parse(it->str, &l.v[l.n].net, &l.v[l.n].len) < 0)
				return diag_error(d, &at, "%s[%zu]: not a CIDR (at most %d entries)", key, i,
						  CONFIG_MAX_CIDRS);
			l.n++;
		}
	} else {
		return diag_error(d, &where, "%s: expected %s, found %s", key,
				  one_per_family ? "a string" : "a string or a sequence of strings",
				  node_type_name(v->type));
	}
	*dst = l;
	return 0;
}

static int set_bool(bool *dst, const struct node *v, const char *key, struct diag *d)
{
	const struct loc where = node_loc(v);

	if (v->type != NODE_BOOL)
		return diag_error(d, &where, "%s: expected true or false, found %s", key, node_type_name(v->type));
	*dst = v->b;
	return 0;
}

bool config_table_name_valid(const char *s)
{
	/* It becomes an nft identifier: a letter, then letters, digits, '-' and '_'. */
	size_t n = strlen(s);

	return n && n < 64 && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z') &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

static int apply_nftables_section(struct config *c, const struct node *map, struct diag *d)
{
	struct loc where = node_loc(map);
	int r = 0;

	if (map->type != NODE_MAP)
		return diag_error(d, &where, "nftables: expected a mapping");
	for (size_t i = 0; i < map->n; i++) {
		const char *k = map->pairs[i].key->str;
		const struct node *v = map->pairs[i].value;

		if (!strcmp(k, "masqueradeAll"))
			r |= set_bool(&c->masquerade_all, v, "nftables.masqueradeAll", d);
		else if (!strcmp(k, "masqueradeBit")) {
			where = node_loc(v);
			if (v->type != NODE_INT || v->i < 0 || v->i > 31)
				r |= diag_error(d, &where, "nftables.masqueradeBit: expected an integer 0-31");
			else
				c->masquerade_bit = (uint32_t)v->i;
		} else if (strcmp(k, "syncPeriod") && strcmp(k, "minSyncPeriod")) {
			where = node_loc(map->pairs[i].key);
			r |= diag_error(d, &where, "unknown key 'nftables.%.60s'", k);
		}
	}
	return r;
}

static int apply_key(struct config *c, const char *k, const struct node *v, const struct node *key,
		     struct diag *d)
{
	const struct loc at_key = node_loc(key), at_value = node_loc(v);

	if (!strcmp(k, "apiVersion") || !strcmp(k, "kind"))
		return 0;
	if (!strcmp(k, "serviceCIDR"))
		return set_cidrs(&c->service_cidrs, v, k, true, d);
	if (!strcmp(k, "clusterCIDR"))
		return set_cidrs(&c->cluster_cidrs, v, k, true, d);
	if (!strcmp(k, "nodePortAddresses"))
		return set_cidrs(&c->node_port_addresses, v, k, false, d);
	if (!strcmp(k, "nodePortRange")) {
		if (v->type != NODE_STRING || port_range_parse(v->str, &c->node_port_min, &c->node_port_max) < 0)
			return diag_error(d, &at_value, "nodePortRange: expected 'MIN-MAX' within 1-65535");
		return 0;
	}
	if (!strcmp(k, "nftables"))
		return apply_nftables_section(c, v, d);
	if (!strcmp(k, "tableName")) {
		struct loc at = node_loc(v);

		if (v->type == NODE_STRING && (strlen(v->str) != v->len || !config_table_name_valid(v->str)))
			return diag_error(d, &at, "tableName: '%.40s' is not a table name (a letter, then letters, "
					  "digits, '-', '_')", v->str);
		return set_string(c->table, sizeof(c->table), v, k, d);
	}
	if (!strcmp(k, "stateDir"))
		return set_string(c->state_dir, sizeof(c->state_dir), v, k, d);
	if (!strcmp(k, "lockFile"))
		return set_string(c->lock_file, sizeof(c->lock_file), v, k, d);
	if (!strcmp(k, "hostnameOverride"))
		return set_string(c->hostname, sizeof(c->hostname), v, k, d);
	if (!strcmp(k, "nodeZone"))
		return set_string(c->zone, sizeof(c->zone), v, k, d);
	if (!strcmp(k, "manifestDir"))
		return set_string(c->manifest_dir, sizeof(c->manifest_dir), v, k, d);
	return diag_error(d, &at_key, "unknown key '%.60s'", k);
}

int config_load_buffer(struct config *c, const char *buf, size_t len, const char *name, struct diag *d)
{
	struct arena a;
	struct doc *docs = NULL;
	int r;

	arena_init(&a);
	r = tree_parse_yaml(buf, len, name, &a, d, &docs);
	if (r == 0 && docs && docs->root) {
		const struct node *root = docs->root;
		const struct loc where = node_loc(root);

		if (root->type != NODE_MAP)
			r = diag_error(d, &where, "configuration: expected a mapping");
		for (size_t i = 0; root->type == NODE_MAP && i < root->n; i++)
			if (apply_key(c, root->pairs[i].key->str, root->pairs[i].value, root->pairs[i].key, d) < 0)
				r = -EINVAL;
	}
	if (r == 0 && d->errors)
		r = -EINVAL;
	arena_free(&a);
	return r;
}

int config_load(struct config *c, const char *path, struct diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	/* Whoever may write the configuration steers this node's traffic. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IWOTH))
		return diag_error(d, &(struct loc){ .file = path },
				  "configuration is world-writable: anyone could steer this node's traffic; refusing it (chmod o-w)");
	r = file_read(path, 1024 * 1024, FILE_FOLLOW | FILE_ANY_TYPE, &buf, &len);

	if (r < 0)
		return r;
	r = config_load_buffer(c, buf, len, path, d);
	free(buf);
	return r;
}
