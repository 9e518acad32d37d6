// SPDX-License-Identifier: GPL-2.0-or-later
/* Configuration: defaults, every key, and errors with their positions. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static int load(struct config *c, struct diag *d, const char *text)
{
	config_defaults(c);
	diag_init(d);
	return config_load_buffer(c, text, strlen(text), "svcnat.yaml", d);
}

static const char *first_error(const struct diag *d)
{
	static char buf[512];

	for (size_t i = 0; i < d->n; i++)
		if (d->msgs[i].level == DIAG_ERROR) {
			diag_format(&d->msgs[i], buf, sizeof(buf));
			return buf;
		}
	return "";
}

START_TEST(test_defaults)
{
	struct config c;
	char buf[ADDR_STRLEN];

	config_defaults(&c);
	ck_assert_int_eq(c.service_cidrs.n, 1);
	ck_assert_str_eq(addr_to_str(&c.service_cidrs.v[0].net, buf), "10.96.0.0");
	ck_assert_int_eq(c.service_cidrs.v[0].len, 12);
	ck_assert_int_eq(c.node_port_min, 30000);
	ck_assert_int_eq(c.node_port_max, 32767);
	ck_assert_int_eq(c.masquerade_bit, 14);
	ck_assert_str_eq(c.table, "svcnat");
	ck_assert_str_eq(c.state_dir, "/var/lib/svcnat");
	ck_assert_str_eq(c.lock_file, "/run/svcnat/svcnat.lock");
	ck_assert_int_eq(c.cluster_cidrs.n, 0);
}
END_TEST

START_TEST(test_every_key)
{
	struct config c;
	struct diag d;

	ck_assert_int_eq(load(&c, &d, "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
				      "kind: KubeProxyConfiguration\n"
				      "serviceCIDR: 198.18.0.0/16,2001:db8:18::/112\n"
				      "clusterCIDR: 198.19.0.0/16\n"
				      "nodePortAddresses: [203.0.113.0/24, 192.0.2.0/24]\n"
				      "nodePortRange: 31000-31999\n"
				      "nftables: {masqueradeAll: true, masqueradeBit: 15, syncPeriod: 30s}\n"
				      "hostnameOverride: node-1\nnodeZone: zone-a\ntableName: kube-svc\nstateDir: /tmp/s\n"
				      "lockFile: /tmp/l\nmanifestDir: /tmp/m\n"), 0);
	ck_assert_int_eq(c.service_cidrs.n, 2);
	ck_assert_int_eq(c.service_cidrs.v[1].net.family, AF_INET6);
	ck_assert_int_eq(c.cluster_cidrs.n, 1);
	ck_assert_int_eq(c.node_port_addresses.n, 2);
	ck_assert_int_eq(c.node_port_min, 31000);
	ck_assert_int_eq(c.node_port_max, 31999);
	ck_assert(c.masquerade_all);
	ck_assert_int_eq(c.masquerade_bit, 15);
	ck_assert_str_eq(c.hostname, "node-1");
	ck_assert_str_eq(c.zone, "zone-a");
	ck_assert_str_eq(c.table, "kube-svc");
	diag_free(&d);
}
END_TEST

struct bad_config {
	const char *text;
	const char *error;
};

static const struct bad_config bad[] = {
	{ "serviceCIDR: 198.18.0.0/16\nservicecidr: 10.0.0.0/8\n", "svcnat.yaml:2:1: error: unknown key 'servicecidr'" },
	{ "serviceCIDR: 198.18.0.1/16\n",
	  "svcnat.yaml:1:14: error: serviceCIDR: '198.18.0.1/16' is not a CIDR or a comma-separated pair of one IPv4 and one IPv6 CIDR" },
	{ "serviceCIDR: 198.18.0.0/16,10.0.0.0/8\n",
	  "svcnat.yaml:1:14: error: serviceCIDR: '198.18.0.0/16,10.0.0.0/8' is not a CIDR or a comma-separated pair of one IPv4 and one IPv6 CIDR" },
	{ "nodePortRange: 32767-30000\n", "svcnat.yaml:1:16: error: nodePortRange: expected 'MIN-MAX' within 1-65535" },
	{ "nftables:\n  masqueradeBit: 32\n", "svcnat.yaml:2:18: error: nftables.masqueradeBit: expected an integer 0-31" },
	{ "nftables:\n  masqueradeAll: maybe\n", "svcnat.yaml:2:18: error: nftables.masqueradeAll: expected true or false, found string" },
	{ "nodePortAddresses: [203.0.113.0/33]\n", "svcnat.yaml:1:21: error: nodePortAddresses[0]: not a CIDR (at most 16 entries)" },
	{ "- serviceCIDR\n", "svcnat.yaml:1:1: error: configuration: expected a mapping" },
	{ "tableName: [a]\n", "svcnat.yaml:1:12: error: tableName: expected a string, found sequence" },
};

START_TEST(test_bad)
{
	struct config c;
	struct diag d;

	ck_assert_int_lt(load(&c, &d, bad[_i].text), 0);
	ck_assert_str_eq(first_error(&d), bad[_i].error);
	diag_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
