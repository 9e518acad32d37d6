/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One nf_tables transaction: a netlink batch (NFNL_MSG_BATCH_BEGIN, the
 * messages, NFNL_MSG_BATCH_END) sent with a single sendmsg(), with every
 * message's sequence number mapped back to a description of the object it
 * carries, so that a refusal from the kernel names that object, with the
 * errno, the kernel's own extended-ACK message and the refused attribute.
 *
 * Kernel semantics this relies on (nfnetlink_rcv_batch(), checked on 6.18):
 * the batch is processed synchronously inside sendmsg(); one failing message
 * aborts the whole transaction, but every message is still checked and every
 * error reported; errors of the batch itself (ERESTART for a stale generation
 * id, ENOMEM, commit-time errors) carry the BATCH_BEGIN sequence number.
 *
 * Use:
 *     b = nlbatch_new(genid);                  // 0: no generation check
 *     nlbatch_add_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, t, "table ip svcnat");
 *     ...
 *     err = nlbatch_commit(b, nl, 0, &e);      // once per batch
 *     nlbatch_free(b);
 *
 * The nlbatch_add_* functions serialise the object into the batch at once:
 * they neither take nor keep the libnftnl object, which the caller still
 * owns and frees.
 */
#ifndef SVCNAT_NLBATCH_H
#define SVCNAT_NLBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mnl_socket;
struct nftnl_table;
struct nftnl_chain;
struct nftnl_rule;
struct nftnl_set;
struct nlbatch;

#define NLBATCH_TEXT_MAX 256

struct nlbatch_error {
	int error;			/* negative errno */
	uint32_t seq;			/* of the refused message */
	uint16_t msg_type;		/* NFT_MSG_*, or NFNL_MSG_BATCH_BEGIN for the batch itself */
	long elem_index;		/* refused element: index among the elements of that
					 * nlbatch_add_setelems() call; -1 if not an element */
	uint32_t offset;		/* extended ACK: offset of the refused attribute in the
					 * message, 0 if the kernel gave none */
	char what[NLBATCH_TEXT_MAX];	/* description given when the message was added */
	char where[NLBATCH_TEXT_MAX];	/* decoded from the offset: "attribute NFTA_RULE_CHAIN",
					 * "expression #2 (lookup)", "element #0 comment \"..\"" */
	char msg[NLBATCH_TEXT_MAX];	/* the kernel's own message (NLMSGERR_ATTR_MSG), or "" */
};

/* genid: the generation the batch is based on (nl_get_genid), or 0 for none. NULL only on out-of-memory. */
struct nlbatch *nlbatch_new(uint32_t genid);
void nlbatch_free(struct nlbatch *b);

/*
 * Append one message.  msg_type is NFT_MSG_NEW* or NFT_MSG_DEL*, flags the
 * netlink flags (NLM_F_CREATE, NLM_F_EXCL, NLM_F_APPEND...); NLM_F_REQUEST
 * is added.  The family comes from the object.  what describes the object
 * for error messages ("map 'service-ips'") and is copied.
 * 0, or -ENOMEM; -EINVAL once the batch has been committed.
 */
int nlbatch_add_table(struct nlbatch *b, uint16_t msg_type, uint16_t flags, const struct nftnl_table *t,
		      const char *what);
int nlbatch_add_chain(struct nlbatch *b, uint16_t msg_type, uint16_t flags, const struct nftnl_chain *c,
		      const char *what);
int nlbatch_add_rule(struct nlbatch *b, uint16_t msg_type, uint16_t flags, struct nftnl_rule *r,
		     const char *what);
int nlbatch_add_set(struct nlbatch *b, uint16_t msg_type, uint16_t flags, struct nftnl_set *s,
		    const char *what);
/*
 * The elements held by s (NEWSETELEM or DELSETELEM), split over as many
 * messages as needed: an element list is one netlink attribute, whose length
 * is 16 bits, so one message carries at most about 64 KiB of elements.
 * *elem_base: the index of s's first element among all those added under
 * this what (a refused element is reported by that index), advanced past
 * them; so a long list can go in chunks, each freed once serialised.
 */
int nlbatch_add_setelems(struct nlbatch *b, uint16_t msg_type, uint16_t flags, struct nftnl_set *s,
			 const char *what, size_t *elem_base);

size_t nlbatch_n_msgs(const struct nlbatch *b);	/* without BEGIN and END */
size_t nlbatch_size(const struct nlbatch *b);	/* bytes so far */

#define NLBATCH_DRY_RUN 0x1	/* no BATCH_END: the kernel checks everything, then aborts */

/*
 * Send the batch and read every reply.  Returns 0 when the kernel accepted
 * it (with NLBATCH_DRY_RUN: found no error), or the first error's negative
 * errno, its details in *ret_err (may be NULL); nlbatch_get_error() has all
 * of them.  -ENOBUFS means replies were lost, so the outcome is unknown:
 * re-read the generation id.  Other negative returns (-EMSGSIZE, ...) come
 * from sendmsg/recv, with ret_err->what saying so.  Call at most once.
 */
int nlbatch_commit(struct nlbatch *b, struct mnl_socket *nl, unsigned flags, struct nlbatch_error *ret_err);
/* Whether the kernel confirmed the commit (an ACK for BATCH_END; Linux 6.10+ sends one). */
bool nlbatch_acked(const struct nlbatch *b);
size_t nlbatch_n_errors(const struct nlbatch *b);
const struct nlbatch_error *nlbatch_get_error(const struct nlbatch *b, size_t i);
/* "map 'service-ips' element #3 comment \"..\": No such file or directory (kernel: ...)"; 0 or -ENOSPC. */
int nlbatch_error_format(const struct nlbatch_error *e, char *buf, size_t len);
/* Every message in the format of `nft --debug=mnl` (mnl_nlmsg_fprintf), for debugging. */
void nlbatch_dump(const struct nlbatch *b, FILE *f);

/*
 * Receive buffers for dumps and replies.  The kernel sizes a dump's messages
 * by the largest buffer a socket has received into (up to 32 KiB: see
 * netlink_recvmsg's max_recvmsg_len), so a smaller buffer than that truncates
 * them (libmnl: ENOSPC) once a batch's ACKs were read with a big one.
 */
#define NL_RECV_SIZE (64 * 1024)

/* A NETLINK_NETFILTER socket, bound, with NETLINK_EXT_ACK and NETLINK_CAP_ACK turned on. 0 or -errno. */
int nl_socket_open(struct mnl_socket **ret);
/* The current nf_tables generation id of the socket's netns (NFT_MSG_GETGEN). 0 or -errno. */
int nl_get_genid(struct mnl_socket *nl, uint32_t *ret);

#endif
