/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IP addresses of either family, and prefixes. */
#ifndef SVCNAT_ADDR_H
#define SVCNAT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

struct addr {
	int family;		/* AF_INET, AF_INET6, or 0 = unset */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	};
};

#define ADDR_STRLEN 46	/* INET6_ADDRSTRLEN */

/* Strict parsing: no leading zeros in IPv4 octets, as the API server requires. */
int addr_parse(const char *s, struct addr *ret);
/* "10.96.0.0/12"; the host bits must be zero. */
int prefix_parse(const char *s, struct addr *ret, uint8_t *ret_len);
const char *addr_to_str(const struct addr *a, char buf[static ADDR_STRLEN]);
/*
 * v in decimal at p, without a NUL (at most 20 bytes); returns the end.  For
 * text made on hot paths (addresses, ports, field paths) without printf.
 */
char *put_decimal(char *p, uint64_t v);
#define ADDR_PORT_STRLEN (ADDR_STRLEN + 8)
/* "198.51.100.7:8080", or "[2001:db8::7]:8080". */
const char *addr_port_to_str(const struct addr *a, uint16_t port, char buf[static ADDR_PORT_STRLEN]);
size_t addr_len(const struct addr *a);	/* 4, 16 or 0 */
bool addr_equal(const struct addr *a, const struct addr *b);
int addr_cmp(const struct addr *a, const struct addr *b);
bool prefix_contains(const struct addr *net, uint8_t len, const struct addr *a);

#endif
