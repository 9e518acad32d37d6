/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kubernetes name syntax (apimachinery validation), which also keeps comments and chain names safe. */
#ifndef SVCNAT_NAMES_H
#define SVCNAT_NAMES_H

enum name_kind {
	NAME_DNS_LABEL,		/* RFC 1123 label: namespaces, port names */
	NAME_DNS1035_LABEL,	/* RFC 1035 label: Service names (must start with a letter) */
	NAME_DNS_SUBDOMAIN,	/* RFC 1123 subdomain: EndpointSlice names */
	NAME_PORT,		/* IANA_SVC_NAME: named targetPort */
};

/* NULL when valid; otherwise why not, for an error message. */
const char *name_invalid(const char *s, enum name_kind kind);

#endif
