// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdbool.h>
#include <string.h>

#include "names.h"

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static const char *label_invalid(const char *s, size_t len, bool letter_first)
{
	if (!len)
		return "must not be empty";
	if (len > 63)
		return "longer than 63 characters";
	for (size_t i = 0; i < len; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return "only lowercase letters, digits and '-' are allowed";
	if (s[0] == '-' || s[len - 1] == '-')
		return "must start and end with a letter or digit";
	if (letter_first && !(s[0] >= 'a' && s[0] <= 'z'))
		return "must start with a lowercase letter";
	return NULL;
}

static const char *subdomain_invalid(const char *s)
{
	size_t len = strlen(s);

	if (len > 253)
		return "longer than 253 characters";
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		const char *why = label_invalid(p, l, false);

		if (why)
			return why;
		if (!dot)
			return NULL;
		p = dot + 1;
	}
}

static const char *port_name_invalid(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;

	if (!len || len > 15)
		return "must be 1-15 characters";
	for (size_t i = 0; i < len; i++) {
		if (!lower_alnum(s[i]) && s[i] != '-')
			return "only lowercase letters, digits and '-' are allowed";
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		if (s[i] == '-' && s[i + 1] == '-')
			return "must not contain '--'";
	}
	if (s[0] == '-' || s[len - 1] == '-')
		return "must start and end with a letter or digit";
	return letter ? NULL : "must contain a letter";
}

const char *name_invalid(const char *s, enum name_kind kind)
{
	switch (kind) {
	case NAME_DNS_LABEL:
		return label_invalid(s, strlen(s), false);
	case NAME_DNS1035_LABEL:
		return label_invalid(s, strlen(s), true);
	case NAME_DNS_SUBDOMAIN:
		return subdomain_invalid(s);
	case NAME_PORT:
		return port_name_invalid(s);
	}
	return "unknown name kind";
}
