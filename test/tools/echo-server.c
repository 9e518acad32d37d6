// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * echo-server: a test backend that answers with its name.
 *
 *   echo-server --name NAME [--port P]... [--bind ADDR] [--pidfile F]
 *
 * Listens on every port for TCP and UDP. TCP: on accept, write "NAME\n" and
 * close. UDP: reply "NAME\n" to the sender of each datagram, from the address
 * the datagram was sent to. Without --bind, one AF_INET6 dual-stack socket per
 * port and protocol serves IPv4 and IPv6 (falling back to AF_INET when IPv6 is
 * unavailable). The pid file is written once every socket is listening, so its
 * existence means "ready". Silent on success; exits 0 on SIGTERM/SIGINT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS 32
#define MAX_NAME 200
#define LISTEN_BACKLOG 4096
/* Bound the work done per wakeup so one busy socket cannot starve the others. */
#define BURST 256

struct opts {
	const char *name;
	const char *bind;
	const char *pidfile;
	unsigned short ports[MAX_PORTS];
	size_t nports;
};

struct server {
	char reply[MAX_NAME + 2];
	size_t reply_len;
	/* pfd[0] is the signalfd; then a TCP and a UDP socket per port. */
	struct pollfd pfd[1 + 2 * MAX_PORTS];
	int type[1 + 2 * MAX_PORTS];	/* SOCK_STREAM or SOCK_DGRAM, per pfd */
	size_t npfd;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: echo-server --name NAME [--port P]... [--bind ADDR] [--pidfile F]\n");
}

static int parse_port(const char *s, unsigned short *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*ret = (unsigned short)v;
	return 0;
}

/* Returns 1 for --help. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return 1;
		if (i + 1 >= argc)
			return -EINVAL;
		if (!strcmp(a, "--name"))
			o->name = argv[++i];
		else if (!strcmp(a, "--bind"))
			o->bind = argv[++i];
		else if (!strcmp(a, "--pidfile"))
			o->pidfile = argv[++i];
		else if (!strcmp(a, "--port") && o->nports < MAX_PORTS) {
			if (parse_port(argv[++i], &o->ports[o->nports++]) < 0)
				return -EINVAL;
		} else
			return -EINVAL;
	}
	if (!o->name || !*o->name || strlen(o->name) > MAX_NAME)
		return -EINVAL;
	if (!o->nports)
		o->ports[o->nports++] = 80;
	return 0;
}

/* Fills *ss from --bind (or the dual-stack wildcard); returns the family. */
static int bind_addr(const char *addr, unsigned short port, int force_family,
		     struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (addr && inet_pton(AF_INET, addr, &s4->sin_addr) == 1)
		force_family = AF_INET;
	if (force_family == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return AF_INET;
	}
	if (addr && inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
		return -EINVAL;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	*len = sizeof(*s6);
	return AF_INET6;
}

static int setopt(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

/* Wildcard UDP sockets need the datagram's destination to reply from it. */
static int set_family_opts(int fd, int family, int type)
{
	int r = 0;

	if (family == AF_INET6) {
		r = setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
		if (!r && type == SOCK_DGRAM)
			r = setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	} else if (type == SOCK_DGRAM) {
		r = setopt(fd, IPPROTO_IP, IP_PKTINFO, 1);
	}
	return r;
}

static int open_one(const char *addr, unsigned short port, int type, int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, r;

	family = bind_addr(addr, port, family, &ss, &len);
	if (family < 0)
		return family;
	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!r)
		r = set_family_opts(fd, family, type);
	if (!r && bind(fd, (struct sockaddr *)&ss, len) < 0)
		r = -errno;
	if (!r && type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int open_socket(const char *addr, unsigned short port, int type)
{
	int fd = open_one(addr, port, type, 0);

	/* A namespace with IPv6 disabled: serve IPv4 only. */
	if (!addr && (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL))
		fd = open_one(NULL, port, type, AF_INET);
	return fd;
}

static int open_signalfd(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	/* A client that resets before we write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int server_open(struct server *s, const struct opts *o)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };
	int fd = open_signalfd();

	if (fd < 0)
		return fd;
	s->pfd[s->npfd++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (size_t i = 0; i < o->nports; i++) {
		for (size_t t = 0; t < 2; t++) {
			fd = open_socket(o->bind, o->ports[i], types[t]);
			if (fd < 0) {
				fprintf(stderr, "echo-server: %s port %u: %s\n",
					t ? "udp" : "tcp", o->ports[i], strerror(-fd));
				return fd;
			}
			s->type[s->npfd] = types[t];
			s->pfd[s->npfd++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
	}
	return 0;
}

static void serve_tcp(const struct server *s, int lfd)
{
	for (int i = 0; i < BURST; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;	/* EAGAIN, or the client already gave up */
		/* The reply fits in any socket buffer; a short write only hurts that client. */
		if (write(fd, s->reply, s->reply_len) < 0 && errno != EPIPE && errno != ECONNRESET)
			fprintf(stderr, "echo-server: write: %m\n");
		close(fd);
	}
}

/* Turn the received destination into the source of the reply, on any interface. */
static void pktinfo_to_reply(struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(c);

			pi->ipi6_ifindex = 0;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);

			pi->ipi_spec_dst = pi->ipi_addr;
			pi->ipi_ifindex = 0;
		}
	}
}

static void serve_udp(const struct server *s, int fd)
{
	for (int i = 0; i < BURST; i++) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				 CMSG_SPACE(sizeof(struct in_pktinfo))];
		} ctl;
		struct sockaddr_storage peer;
		char buf[2048];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr m = {
			.msg_name = &peer, .msg_namelen = sizeof(peer),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};

		if (recvmsg(fd, &m, 0) < 0)
			return;	/* EAGAIN, or a queued ICMP error */
		pktinfo_to_reply(&m);
		iov.iov_base = (void *)s->reply;
		iov.iov_len = s->reply_len;
		m.msg_flags = 0;
		if (sendmsg(fd, &m, MSG_DONTWAIT) < 0 && errno != EAGAIN)
			fprintf(stderr, "echo-server: sendmsg: %m\n");
	}
}

static int write_pidfile(const char *path)
{
	FILE *f;
	int r = 0;

	if (!path)
		return 0;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "%ld\n", (long)getpid()) < 0)
		r = -EIO;
	if (fclose(f) != 0 && !r)
		r = -errno;
	return r;
}

/* Returns when a termination signal arrives. */
static int server_loop(struct server *s)
{
	for (;;) {
		if (poll(s->pfd, s->npfd, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (s->pfd[0].revents)
			return 0;
		for (size_t i = 1; i < s->npfd; i++) {
			if (!s->pfd[i].revents)
				continue;
			if (s->type[i] == SOCK_STREAM)
				serve_tcp(s, s->pfd[i].fd);
			else
				serve_udp(s, s->pfd[i].fd);
		}
	}
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct server s = { 0 };
	int r;

	r = parse_opts(argc, argv, &o);
	if (r != 0) {
		usage(r > 0 ? stdout : stderr);
		return r > 0 ? 0 : 2;
	}
	s.reply_len = (size_t)snprintf(s.reply, sizeof(s.reply), "%s\n", o.name);
	r = server_open(&s, &o);
	if (r < 0)
		return 1;
	r = write_pidfile(o.pidfile);
	if (r < 0) {
		fprintf(stderr, "echo-server: %s: %s\n", o.pidfile, strerror(-r));
		return 1;
	}
	r = server_loop(&s);
	if (o.pidfile)
		unlink(o.pidfile);
	for (size_t i = 0; i < s.npfd; i++)
		close(s.pfd[i].fd);
	if (r < 0) {
		fprintf(stderr, "echo-server: poll: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
