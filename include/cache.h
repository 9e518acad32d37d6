/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The record of the last apply: the view svcnat committed, and where and
 * when it was true.  It stands for the kernel's tables only while the
 * kernel's ruleset generation id is still the one right after that commit,
 * in the same network namespace (the netns cookie, unique per boot) of the
 * same boot: any commit by anyone, to any table, or a hand edit of svcnat's,
 * moves the generation on and sends the next run back to the netlink dump.
 */
#ifndef SVCNAT_CACHE_H
#define SVCNAT_CACHE_H

#include <stdint.h>

#include "fileio.h"
#include "kview.h"

struct mnl_socket;

#define CACHE_FILE "applied"

struct cache_key {
	char boot_id[40];
	uint64_t netns_cookie;
	uint32_t genid;
};

/* 0, or -EOPNOTSUPP when the kernel cannot name its netns (SO_NETNS_COOKIE, Linux 5.14+). */
int cache_key_get(struct mnl_socket *nl, uint32_t genid, struct cache_key *ret);
/*
 * The cached view when its key equals key (NULL: whatever its key, which
 * says what the last apply wanted, not what the kernel holds); -ENOENT when
 * absent or stale, -EINVAL when corrupt.
 */
int cache_load(const char *dir, const struct cache_key *key, struct kview **ret);
/* Atomically replaces the cache; NULL view: removes it. */
int cache_save(const char *dir, const struct cache_key *key, const struct kview *v);
/* The cache file of v written beside its place, for file_commit (v not NULL). */
int cache_stage(const char *dir, const struct cache_key *key, const struct kview *v, struct staged_file *ret);

#endif
