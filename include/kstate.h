/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kernel -> kernel view: reads svcnat's own tables (and nothing else) through
 * netlink dumps filtered by table, bracketed by the generation id so a dump
 * interrupted by another writer is read again.
 */
#ifndef SVCNAT_KSTATE_H
#define SVCNAT_KSTATE_H

#include <stdint.h>

#include "kview.h"

struct mnl_socket;
struct nftnl_set_elem;

/*
 * Reads each table of want (by family and name; an absent table comes back
 * with present = false).  *ret_genid is the generation the view is of.
 * -EAGAIN when the ruleset kept changing while being read.
 */
int kstate_dump(struct mnl_socket *nl, const struct kview *want, struct kview **ret, uint32_t *ret_genid);

/* Reads the elements of kernel element n into k (key, data or verdict and chain, comment). */
int kv_elem_from_nftnl(struct arena *a, struct nftnl_set_elem *n, struct kv_elem *k);

#endif
