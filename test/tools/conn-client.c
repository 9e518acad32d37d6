// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * conn-client: opens many connections and counts who answered.
 *
 *   conn-client [--udp [--same-socket]] [-n COUNT] [-c CONCURRENCY]
 *               [--timeout MS] [--duration MS --interval MS] [--bind ADDR]
 *               HOST PORT
 *
 * TCP: COUNT connections, each reads one answer line. UDP: COUNT datagrams,
 * each from a fresh (connected) socket, so each is a new conntrack flow; with
 * --same-socket all of them leave one socket and source port, one at a time.
 * With --duration, COUNT attempts are started every INTERVAL until DURATION has
 * passed. Up to CONCURRENCY attempts are in flight. Prints, in this order:
 *
 *   answer NAME COUNT     one line per distinct answer, sorted by NAME
 *   refused N             ECONNREFUSED (TCP RST, ICMP port unreachable)
 *   timeout N             no answer within --timeout
 *   failed N              any other error
 *   total N
 *
 * Exit status: 0 if every attempt got an answer, 1 if not, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONCURRENCY 16384
#define MAX_ANSWERS 256
#define ANSWER_MAX 128

struct opts {
	bool udp, same_socket;
	long count, concurrency, timeout_ms, duration_ms, interval_ms;
	const char *bind, *host, *port;
};

struct answer {
	char name[ANSWER_MAX];
	long count;
};

struct tally {
	struct answer answers[MAX_ANSWERS];
	size_t nanswers;
	long refused, timeout, failed, total, other_answers;
};

struct slot {
	long long deadline;
	size_t len;
	char buf[ANSWER_MAX];
};

struct client {
	const struct opts *o;
	struct addrinfo *dst;
	struct addrinfo *src;		/* --bind, or NULL */
	struct pollfd *pfd;		/* fd -1 = free slot */
	struct slot *slots;
	long pending;			/* attempts due but not started */
	long long next_tick, end;	/* --duration schedule, ms */
	int shared_fd;			/* --same-socket, or -1 */
	struct tally t;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: conn-client [--udp [--same-socket]] [-n COUNT] [-c CONCURRENCY]\n"
		   "                   [--timeout MS] [--duration MS --interval MS] [--bind ADDR]\n"
		   "                   HOST PORT\n");
}

static int parse_num(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Options that take a number: name and where it goes. */
static long *num_opt(struct opts *o, const char *a, long *min)
{
	*min = 1;
	if (!strcmp(a, "-n"))
		return &o->count;
	if (!strcmp(a, "-c"))
		return &o->concurrency;
	if (!strcmp(a, "--timeout"))
		return &o->timeout_ms;
	if (!strcmp(a, "--duration"))
		return &o->duration_ms;
	if (!strcmp(a, "--interval"))
		return &o->interval_ms;
	return NULL;
}

/* Returns 1 for --help. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		long min, *num = num_opt(o, a, &min);

		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return 1;
		if (!strcmp(a, "--udp"))
			o->udp = true;
		else if (!strcmp(a, "--same-socket"))
			o->same_socket = true;
		else if ((num || !strcmp(a, "--bind")) && i + 1 >= argc)
			return -EINVAL;
		else if (num && parse_num(argv[++i], min, 1000000000L, num) < 0)
			return -EINVAL;
		else if (num)
			continue;
		else if (!strcmp(a, "--bind"))
			o->bind = argv[++i];
		else if (a[0] == '-' && a[1])
			return -EINVAL;
		else if (npos++ == 0)
			o->host = a;
		else if (npos == 2)
			o->port = a;
		else
			return -EINVAL;
	}
	if (npos != 2 || (o->same_socket && !o->udp) || (o->interval_ms && !o->duration_ms))
		return -EINVAL;
	if (o->duration_ms && !o->interval_ms)
		o->interval_ms = 10;
	/* Without --duration, more slots than attempts would only be polled in vain. */
	if (!o->duration_ms && o->concurrency > o->count)
		o->concurrency = o->count;
	if (o->concurrency > MAX_CONCURRENCY)
		o->concurrency = MAX_CONCURRENCY;
	if (o->same_socket)
		o->concurrency = 1;
	return 0;
}

static int resolve(const struct opts *o, struct addrinfo **ret_dst, struct addrinfo **ret_src)
{
	struct addrinfo hints = { .ai_socktype = o->udp ? SOCK_DGRAM : SOCK_STREAM };
	int r;

	r = getaddrinfo(o->host, o->port, &hints, ret_dst);
	if (r) {
		fprintf(stderr, "conn-client: %s port %s: %s\n", o->host, o->port, gai_strerror(r));
		return -EINVAL;
	}
	*ret_src = NULL;
	if (!o->bind)
		return 0;
	hints.ai_family = (*ret_dst)->ai_family;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	r = getaddrinfo(o->bind, NULL, &hints, ret_src);
	if (r) {
		fprintf(stderr, "conn-client: --bind %s: %s\n", o->bind, gai_strerror(r));
		freeaddrinfo(*ret_dst);
		return -EINVAL;
	}
	return 0;
}

static void count_error(struct tally *t, int err)
{
	if (err == ECONNREFUSED)
		t->refused++;
	else if (err == ETIMEDOUT)
		t->timeout++;
	else
		t->failed++;
}

static void count_answer(struct tally *t, const char *name)
{
	for (size_t i = 0; i < t->nanswers; i++) {
		if (!strcmp(t->answers[i].name, name)) {
			t->answers[i].count++;
			return;
		}
	}
	if (t->nanswers == MAX_ANSWERS) {
		t->other_answers++;
		return;
	}
	snprintf(t->answers[t->nanswers].name, ANSWER_MAX, "%s", name);
	t->answers[t->nanswers++].count = 1;
}

/* A fresh socket, connected (or connecting) to the destination. */
static int open_conn(const struct client *c)
{
	const struct addrinfo *d = c->dst;
	int fd = socket(d->ai_family, d->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* Let connect() choose the source port, so --bind does not limit it to one per port. */
	if (c->src && d->ai_socktype == SOCK_STREAM)
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &(int){ 1 }, sizeof(int));
	if (c->src && bind(fd, c->src->ai_addr, c->src->ai_addrlen) < 0)
		goto err;
	/* Connected UDP sockets report ICMP port unreachable as ECONNREFUSED. */
	if (connect(fd, d->ai_addr, d->ai_addrlen) < 0 && errno != EINPROGRESS)
		goto err;
	return fd;
err:
	{
		int err = errno;

		close(fd);
		return -err;
	}
}

/* Closing with an RST keeps thousands of connections from piling up in TIME_WAIT. */
static void close_conn(struct client *c, size_t i)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = c->pfd[i].fd;

	if (fd != c->shared_fd) {
		if (!c->o->udp)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	c->pfd[i].fd = -1;
}

/* Drop answers that came too late for an earlier attempt on the shared socket. */
static void drain(int fd)
{
	char buf[ANSWER_MAX];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno == ECONNREFUSED)
		;
}

static int start_one(struct client *c, size_t i)
{
	int fd = c->shared_fd;

	if (fd >= 0)
		drain(fd);
	else
		fd = open_conn(c);
	if (fd < 0)
		return fd;
	if (c->o->udp && send(fd, "?\n", 2, 0) < 0) {
		int err = errno;

		if (fd != c->shared_fd)
			close(fd);
		return -err;
	}
	c->pfd[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
	c->slots[i].deadline = now_ms() + c->o->timeout_ms;
	c->slots[i].len = 0;
	return 0;
}

/* Fills free slots with due attempts; one that fails at once leaves its slot free. */
static void start_due(struct client *c, long inflight)
{
	size_t i = 0;

	while (c->pending > 0 && inflight < c->o->concurrency) {
		int r;

		while (c->pfd[i].fd >= 0)
			i++;
		c->pending--;
		c->t.total++;
		r = start_one(c, i);
		if (r < 0)
			count_error(&c->t, -r);
		else
			inflight++;
	}
}

/* Reads what is there; returns true when the attempt is finished. */
static bool on_readable(struct client *c, size_t i)
{
	struct slot *s = &c->slots[i];
	ssize_t n = recv(c->pfd[i].fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len, 0);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n < 0) {
		count_error(&c->t, errno);
		return true;
	}
	s->len += (size_t)n;
	s->buf[s->len] = '\0';
	nl = strchr(s->buf, '\n');
	if (nl || c->o->udp || n == 0 || s->len == sizeof(s->buf) - 1) {
		if (nl)
			*nl = '\0';
		if (nl || (c->o->udp && s->len))
			count_answer(&c->t, s->buf);
		else
			c->t.failed++;	/* closed without a complete answer */
		return true;
	}
	return false;
}

static void on_events(struct client *c, long long now)
{
	for (size_t i = 0; i < (size_t)c->o->concurrency; i++) {
		bool done = false;

		if (c->pfd[i].fd < 0)
			continue;
		if (c->pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
			done = on_readable(c, i);
		/* POLLERR with nothing to read (an ICMP error the socket keeps reporting) must still time out. */
		if (!done && now >= c->slots[i].deadline) {
			c->t.timeout++;
			done = true;
		}
		if (done)
			close_conn(c, i);
	}
}

static long count_inflight(const struct client *c, long long *ret_first_deadline)
{
	long n = 0;

	for (size_t i = 0; i < (size_t)c->o->concurrency; i++) {
		if (c->pfd[i].fd < 0)
			continue;
		if (!n || c->slots[i].deadline < *ret_first_deadline)
			*ret_first_deadline = c->slots[i].deadline;
		n++;
	}
	return n;
}

/*
 * Every INTERVAL until END, COUNT more attempts become due; a client that fell
 * behind catches up. Without --duration there is a single tick.
 */
static void schedule(struct client *c, long long now)
{
	while (c->next_tick <= now && c->next_tick < c->end) {
		c->pending += c->o->count;
		c->next_tick += c->o->duration_ms ? c->o->interval_ms : 1;
	}
}

static int run(struct client *c)
{
	for (;;) {
		long long now = now_ms(), wake = 0;
		bool ticking;
		long inflight;
		int ms;

		schedule(c, now);
		start_due(c, count_inflight(c, &wake));
		inflight = count_inflight(c, &wake);
		ticking = c->next_tick < c->end;
		if (!inflight && !c->pending && !ticking)
			return 0;
		/* Wake for the first deadline or the next tick, whichever is sooner. */
		if (!inflight || (ticking && c->next_tick < wake))
			wake = ticking ? c->next_tick : now;
		ms = wake > now ? (int)(wake - now) : 0;
		if (poll(c->pfd, (nfds_t)c->o->concurrency, ms) < 0 && errno != EINTR)
			return -errno;
		on_events(c, now_ms());
	}
}

static int cmp_answer(const void *a, const void *b)
{
	return strcmp(((const struct answer *)a)->name, ((const struct answer *)b)->name);
}

static void print_tally(struct tally *t)
{
	qsort(t->answers, t->nanswers, sizeof(t->answers[0]), cmp_answer);
	for (size_t i = 0; i < t->nanswers; i++)
		printf("answer %s %ld\n", t->answers[i].name, t->answers[i].count);
	if (t->other_answers)
		printf("answer (too-many-distinct) %ld\n", t->other_answers);
	printf("refused %ld\ntimeout %ld\nfailed %ld\ntotal %ld\n",
	       t->refused, t->timeout, t->failed, t->total);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int client_init(struct client *c, const struct opts *o)
{
	size_t n = (size_t)o->concurrency;

	c->o = o;
	c->shared_fd = -1;
	c->pfd = calloc(n, sizeof(*c->pfd));
	c->slots = calloc(n, sizeof(*c->slots));
	if (!c->pfd || !c->slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		c->pfd[i].fd = -1;
	c->next_tick = now_ms();
	c->end = o->duration_ms ? c->next_tick + o->duration_ms : c->next_tick + 1;
	if (o->same_socket) {
		c->shared_fd = open_conn(c);
		if (c->shared_fd < 0)
			return c->shared_fd;
	}
	return 0;
}

static void client_free(struct client *c)
{
	for (size_t i = 0; c->pfd && i < (size_t)c->o->concurrency; i++)
		if (c->pfd[i].fd >= 0)
			close_conn(c, i);
	if (c->shared_fd >= 0)
		close(c->shared_fd);
	free(c->pfd);
	free(c->slots);
	freeaddrinfo(c->dst);
	if (c->src)
		freeaddrinfo(c->src);
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 1, .concurrency = 64, .timeout_ms = 1000 };
	struct client c = { 0 };
	int r;

	r = parse_opts(argc, argv, &o);
	if (r != 0) {
		usage(r > 0 ? stdout : stderr);
		return r > 0 ? 0 : 2;
	}
	raise_fd_limit();
	if (resolve(&o, &c.dst, &c.src) < 0)
		return 2;
	r = client_init(&c, &o);
	if (r >= 0)
		r = run(&c);
	if (r < 0) {
		fprintf(stderr, "conn-client: %s\n", strerror(-r));
		client_free(&c);
		return 1;
	}
	print_tally(&c.t);
	client_free(&c);
	return c.t.total && !(c.t.refused + c.t.timeout + c.t.failed) ? 0 : 1;
}
