// SPDX-License-Identifier: GPL-2.0-or-later
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"

/* inet_pton accepts "010.1.1.1" on some libcs as octal; the API server rejects leading zeros. */
static bool ipv4_has_leading_zero(const char *s)
{
	for (const char *p = s; *p; p++) {
		bool octet_start = p == s || p[-1] == '.';

		if (octet_start && p[0] == '0' && p[1] >= '0' && p[1] <= '9')
			return true;
	}
	return false;
}

int addr_parse(const char *s, struct addr *ret)
{
	struct addr a = { 0 };

	if (strchr(s, ':')) {
		if (inet_pton(AF_INET6, s, &a.v6) != 1)
			return -EINVAL;
		a.family = AF_INET6;
	} else {
		if (ipv4_has_leading_zero(s) || inet_pton(AF_INET, s, &a.v4) != 1)
			return -EINVAL;
		a.family = AF_INET;
	}
	*ret = a;
	return 0;
}

int prefix_parse(const char *s, struct addr *ret, uint8_t *ret_len)
{
	const char *slash = strchr(s, '/');
	char buf[ADDR_STRLEN];
	struct addr a;
	char *end;
	long len;

	if (!slash || (size_t)(slash - s) >= sizeof(buf) || !slash[1])
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (addr_parse(buf, &a) < 0)
		return -EINVAL;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || *end || slash[1] == '+' || slash[1] == '-' || len < 0 ||
	    (size_t)len > addr_len(&a) * 8)
		return -EINVAL;
	if (!prefix_contains(&a, (uint8_t)len, &a))
		return -EINVAL;
	/* Host bits set: "10.96.0.1/12" is not a network. */
	for (size_t bit = (size_t)len; bit < addr_len(&a) * 8; bit++)
		if (a.bytes[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;
	*ret = a;
	*ret_len = (uint8_t)len;
	return 0;
}

char *put_decimal(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* By hand: glibc's inet_ntop goes through sprintf. */
const char *addr_to_str(const struct addr *a, char buf[static ADDR_STRLEN])
{
	char *p = buf;

	if (a->family == AF_INET) {
		for (size_t i = 0; i < 4; i++) {
			if (i)
				*p++ = '.';
			p = put_decimal(p, a->bytes[i]);
		}
		*p = '\0';
	} else if (!a->family || !inet_ntop(a->family, a->bytes, buf, ADDR_STRLEN)) {
		strcpy(buf, "?");
	}
	return buf;
}

const char *addr_port_to_str(const struct addr *a, uint16_t port, char buf[static ADDR_PORT_STRLEN])
{
	bool v6 = a->family == AF_INET6;
	char *p = buf + v6;

	addr_to_str(a, p);
	p += strlen(p);
	if (v6) {
		buf[0] = '[';
		*p++ = ']';
	}
	*p++ = ':';
	p = put_decimal(p, port);
	*p = '\0';
	return buf;
}

size_t addr_len(const struct addr *a)
{
	return a->family == AF_INET ? 4 : a->family == AF_INET6 ? 16 : 0;
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
	return addr_cmp(a, b) == 0;
}

int addr_cmp(const struct addr *a, const struct addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, addr_len(a));
}

bool prefix_contains(const struct addr *net, uint8_t len, const struct addr *a)
{
	size_t full = len / 8;
	unsigned rest = len % 8;

	if (net->family != a->family || len > addr_len(a) * 8)
		return false;
	if (memcmp(net->bytes, a->bytes, full))
		return false;
	if (!rest)
		return true;
	return ((net->bytes[full] ^ a->bytes[full]) & (0xff00 >> rest)) == 0;
}
