// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * svcnat healthcheck: kube-proxy's service health server.  A load balancer in
 * front of a service with externalTrafficPolicy: Local asks each node on the
 * service's healthCheckNodePort whether it has endpoints of its own, and
 * sends traffic only to nodes that answer 200.  The answers come from the
 * record of the last apply (services.json, which holds each such service's
 * count of ready endpoints on this node), read again whenever apply replaces
 * it: the server never parses manifests and never touches the kernel.
 *
 * One thread, one poll loop: listening sockets (one per port, IPv4 and IPv6
 * alike) and the connections in progress, each answered once its request
 * header is in (or after HC_CLIENT_TIMEOUT_MS, or when HC_REQUEST_MAX bytes
 * came without one) and closed, as kube-proxy's server closes them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "snapshot.h"

#define HC_MAX_PORTS 4096
#define HC_MAX_CLIENTS 256
#define HC_REQUEST_MAX 4096
#define HC_CLIENT_TIMEOUT_MS 5000
#define HC_CHECK_MS 1000	/* how often the record is looked at for a change */
#define HC_ACCEPT_PAUSE_MS 100	/* out of file descriptors: leave new connections queued this long */

/* One healthCheckNodePort and the service it reports on. */
struct hc_port {
	uint16_t port;
	int fd;			/* listening; -1 when it could not bind */
	char *ns, *name;
	json_int_t local_endpoints;
};

struct hc_client {
	int fd;
	uint16_t port;		/* the healthCheckNodePort it connected to */
	double deadline;
	size_t len;
	char buf[HC_REQUEST_MAX];
};

struct hc_server {
	const struct options *o;
	char *record;		/* stateDir/services.json */
	struct stat seen;	/* the record as last loaded (st_ino 0: none) */
	struct hc_port *ports;
	size_t n_ports;
	struct hc_client *clients[HC_MAX_CLIENTS];
	size_t n_clients;
	double accept_paused_until;	/* accept failed for want of descriptors: not before this */
};

static volatile sig_atomic_t hc_stop, hc_reload;

static void on_stop(int sig)
{
	(void)sig;
	hc_stop = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	hc_reload = 1;
}

/* Without SA_RESTART, so a signal ends poll at once. */
static void handle_signals(void)
{
	struct sigaction stop = { .sa_handler = on_stop }, hup = { .sa_handler = on_hup };

	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGHUP, &hup, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Every address of the node, IPv4 and IPv6 on one socket; IPv4 alone where IPv6 is off. */
static int listen_on(uint16_t port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), zero = 0, one = 1, e;
	bool v6 = fd >= 0;

	if (!v6)
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if ((v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (v6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6)) : bind(fd, (struct sockaddr *)&a4, sizeof(a4))) < 0 ||
	    listen(fd, 128) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void free_ports(struct hc_port *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].fd >= 0)
			close(v[i].fd);
		free(v[i].ns);
		free(v[i].name);
	}
	free(v);
}

static struct hc_port *find_port(struct hc_port *v, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].port == port)
			return &v[i];
	return NULL;
}

/* The services of the record that have a health check port (the first HC_MAX_PORTS). */
static int ports_of_record(const json_t *snap, struct hc_port **ret, size_t *ret_n, size_t *ret_left_out)
{
	const json_t *svcs = json_object_get(snap, "services"), *s;
	struct hc_port *v = NULL;
	size_t i, n = 0;

	*ret_left_out = 0;
	json_array_foreach(svcs, i, s) {
		json_int_t port = json_integer_value(json_object_get(s, "healthCheckNodePort"));
		const char *ns = json_string_value(json_object_get(s, "namespace"));
		const char *name = json_string_value(json_object_get(s, "name"));
		struct hc_port *nv;

		if (port <= 0 || port > 65535 || !ns || !name || find_port(v, n, (uint16_t)port))
			continue;
		if (n == HC_MAX_PORTS) {
			(*ret_left_out)++;
			continue;
		}
		if (!(nv = realloc(v, (n + 1) * sizeof(*v)))) {
			free_ports(v, n);
			return -ENOMEM;
		}
		v = nv;
		v[n] = (struct hc_port){ .port = (uint16_t)port, .fd = -1, .ns = strdup(ns), .name = strdup(name),
					 .local_endpoints = json_integer_value(json_object_get(s, "localReadyEndpoints")) };
		if (!v[n++].ns || !v[n - 1].name) {
			free_ports(v, n);
			return -ENOMEM;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Keeps the sockets of ports still wanted, opens the new ones, closes the rest. */
static void take_ports(struct hc_server *sv, struct hc_port *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct hc_port *old = find_port(sv->ports, sv->n_ports, v[i].port);

		if (old && old->fd >= 0) {
			v[i].fd = old->fd;
			old->fd = -1;
			continue;
		}
		v[i].fd = listen_on(v[i].port);
		if (v[i].fd < 0)
			cli_log(sv->o, DIAG_WARNING, "cannot serve the health check of %s/%s on port %u: %s", v[i].ns,
				v[i].name, v[i].port, strerror(-v[i].fd));
	}
	free_ports(sv->ports, sv->n_ports);
	sv->ports = v;
	sv->n_ports = n;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * Reads the record again when apply replaced it (or on SIGHUP).  No record
 * (svcnat delete, or no apply yet): nothing is in force, no port is served.
 * A record that cannot be read keeps the answers as they were.
 */
static void reload(struct hc_server *sv, bool force)
{
	struct stat st = { 0 };
	struct hc_port *v = NULL;
	json_t *snap = NULL;
	size_t n = 0, live = 0, left_out = 0;
	int r;

	if (stat(sv->record, &st) < 0)
		st = (struct stat){ 0 };
	if (!force && same_file(&st, &sv->seen))
		return;
	r = st.st_ino ? snapshot_load(sv->o->config.state_dir, &snap) : -ENOENT;
	if (r == 0)
		r = ports_of_record(snap, &v, &n, &left_out);
	json_decref(snap);
	if (r < 0 && r != -ENOENT) {
		cli_log(sv->o, DIAG_ERROR, "cannot read %s: %s; the answers stay as they were", sv->record,
			r == -EINVAL ? "not a record of svcnat apply" : strerror(-r));
		sv->seen = st;
		return;
	}
	sv->seen = st;
	take_ports(sv, v, n);
	for (size_t i = 0; i < n; i++)
		live += v[i].fd >= 0;
	cli_log(sv->o, DIAG_INFO, "serving the health checks of %zu service%s (%zu port%s listening)%s", n,
		n == 1 ? "" : "s", live, live == 1 ? "" : "s", r == -ENOENT ? ": no apply is recorded" : "");
	if (left_out)
		cli_log(sv->o, DIAG_WARNING, "%zu more health check ports are not served: at most %d are", left_out,
			HC_MAX_PORTS);
}

static void drop_client(struct hc_server *sv, size_t i)
{
	close(sv->clients[i]->fd);
	free(sv->clients[i]);
	sv->clients[i] = sv->clients[--sv->n_clients];
}

/*
 * With nodePortAddresses, only connections to those addresses are answered
 * (the socket listens at every address: the node's addresses may change
 * while the server runs).  The others are closed at once, unanswered.
 */
static bool to_node_port_address(const struct hc_server *sv, int fd)
{
	const struct cidr_list *l = &sv->o->config.node_port_addresses;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct addr a = { 0 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!l->n)
		return true;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET) {
		a.family = AF_INET;
		a.v4 = ((struct sockaddr_in *)&ss)->sin_addr;
	} else {
		const struct in6_addr *v6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		a.family = memcmp(v6->s6_addr, v4_mapped, sizeof(v4_mapped)) ? AF_INET6 : AF_INET;
		if (a.family == AF_INET)
			memcpy(&a.v4, v6->s6_addr + 12, 4);
		else
			a.v6 = *v6;
	}
	for (size_t i = 0; i < l->n; i++)
		if (prefix_contains(&l->v[i].net, l->v[i].len, &a))	/* false across families */
			return true;
	return false;
}

static void accept_clients(struct hc_server *sv, const struct hc_port *p)
{
	for (;;) {
		int fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct hc_client *c;

		if (fd < 0) {
			/* Out of descriptors, the connection stays queued: do not spin on it. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				sv->accept_paused_until = cli_now_ms() + HC_ACCEPT_PAUSE_MS;
			return;
		}
		if (sv->n_clients == HC_MAX_CLIENTS || !to_node_port_address(sv, fd) || !(c = malloc(sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->port = p->port;
		c->deadline = cli_now_ms() + HC_CLIENT_TIMEOUT_MS;
		c->len = 0;
		sv->clients[sv->n_clients++] = c;
	}
}

/* kube-proxy's answer: 200 with local endpoints, else 503; the body and headers as it writes them. */
static void answer(const struct hc_server *sv, const struct hc_client *c)
{
	const struct hc_port *p = find_port(sv->ports, sv->n_ports, c->port);
	json_t *body = p ? json_pack("{s:{s:s,s:s},s:I,s:b}", "service", "namespace", p->ns, "name", p->name,
				     "localEndpoints", p->local_endpoints, "serviceProxyHealthy", 1) : NULL;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char head[256];
	int len;

	json_decref(body);
	if (!text)
		return;		/* the port was given up since it connected: just close */
	len = snprintf(head, sizeof(head),
		       "HTTP/1.1 %s\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
		       "X-Load-Balancing-Endpoint-Weight: %lld\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		       p->local_endpoints > 0 ? "200 OK" : "503 Service Unavailable", (long long)p->local_endpoints,
		       strlen(text));
	/* A few hundred bytes into a fresh socket's buffer: one send each, no waiting. */
	if (send(c->fd, head, (size_t)len, MSG_NOSIGNAL) == len)
		send(c->fd, text, strlen(text), MSG_NOSIGNAL);
	free(text);
}

static bool request_complete(const struct hc_client *c)
{
	return c->len == sizeof(c->buf) || memmem(c->buf, c->len, "\r\n\r\n", 4) || memmem(c->buf, c->len, "\n\n", 2);
}

/* Reads what came; answers once the request header is in (or the peer is done sending). */
static void serve_client(struct hc_server *sv, size_t i)
{
	struct hc_client *c = sv->clients[i];
	ssize_t k = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k > 0)
		c->len += (size_t)k;
	if (k > 0 && !request_complete(c))
		return;
	if (k >= 0)
		answer(sv, c);
	drop_client(sv, i);
}

static int poll_timeout(const struct hc_server *sv)
{
	double now = cli_now_ms(), t = HC_CHECK_MS;

	if (sv->accept_paused_until > now && sv->accept_paused_until - now < t)
		t = sv->accept_paused_until - now;
	for (size_t i = 0; i < sv->n_clients; i++)
		if (sv->clients[i]->deadline - now < t)
			t = sv->clients[i]->deadline - now;
	return t < 0 ? 0 : (int)t + 1;
}

static void serve_once(struct hc_server *sv, struct pollfd *fds)
{
	size_t n = 0, np = sv->n_ports, nc = sv->n_clients;
	bool accepting = cli_now_ms() >= sv->accept_paused_until;
	double now;

	for (size_t i = 0; i < np; i++)
		fds[n++] = (struct pollfd){ .fd = accepting ? sv->ports[i].fd : -1, .events = POLLIN };
	for (size_t i = 0; i < nc; i++)
		fds[n++] = (struct pollfd){ .fd = sv->clients[i]->fd, .events = POLLIN };
	if (poll(fds, n, poll_timeout(sv)) < 0)
		return;
	/* Clients first, from the end: drop_client moves the last one into the gap. */
	for (size_t i = nc; i-- > 0;)
		if (fds[np + i].revents)
			serve_client(sv, i);
	now = cli_now_ms();
	for (size_t i = sv->n_clients; i-- > 0;)
		if (sv->clients[i]->deadline <= now) {
			answer(sv, sv->clients[i]);
			drop_client(sv, i);
		}
	for (size_t i = 0; i < np; i++)
		if (fds[i].revents & POLLIN)
			accept_clients(sv, &sv->ports[i]);
}

/* A socket per port: a thousand Local-policy load balancers pass the usual soft limit of 1024. */
static void raise_fd_limit(void)
{
	struct rlimit l;

	if (getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
		l.rlim_cur = l.rlim_max;
		setrlimit(RLIMIT_NOFILE, &l);
	}
}

int cmd_healthcheck(struct options *o, struct diag *d)
{
	struct hc_server sv = { .o = o };
	struct pollfd *fds = calloc(HC_MAX_PORTS + HC_MAX_CLIENTS, sizeof(*fds));

	(void)d;
	if (!fds || asprintf(&sv.record, "%s/%s", o->config.state_dir, SNAPSHOT_FILE) < 0) {
		free(fds);
		cli_log(o, DIAG_ERROR, "%s", strerror(ENOMEM));
		return EXIT_INVALID;
	}
	handle_signals();
	raise_fd_limit();
	reload(&sv, true);
	while (!hc_stop) {
		serve_once(&sv, fds);
		reload(&sv, hc_reload);
		hc_reload = 0;
	}
	while (sv.n_clients)
		drop_client(&sv, sv.n_clients - 1);
	free_ports(sv.ports, sv.n_ports);
	free(sv.record);
	free(fds);
	cli_log(o, DIAG_INFO, "health checks stopped");
	return EXIT_OK;
}
