/*
 * evloop.c: the event loop of evloop.h.
 *
 * fd watches live in a table indexed by fd; timers in a small binary heap
 * ordered by due time; signals arrive through one signalfd; posted calls go
 * through a mutex-protected queue and an eventfd that wakes epoll_wait.
 */
#include "common/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

struct ev_watch {
	evloop_fd_cb cb;
	void *arg;
	unsigned events;
	bool active;
};

struct ev_timer {
	int64_t id, due, period;
	evloop_cb cb;
	void *arg;
};

struct ev_post {
	struct ev_post *next;
	evloop_cb cb;
	void *arg;
};

struct ev_sig {
	int signo;
	evloop_cb cb;
	void *arg;
};

struct evloop {
	int epfd, wakefd, sigfd;
	struct ev_watch *watch;
	int nwatch;
	struct ev_timer *timers;
	int ntimers, captimers;
	int64_t next_timer_id;
	struct ev_sig sigs[16];
	int nsigs;
	sigset_t sigmask;
	pthread_mutex_t post_lock;
	struct ev_post *post_head, *post_tail;
	volatile int stop;
};

int64_t evloop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t to_epoll(unsigned ev)
{
	uint32_t e = 0;
	if (ev & EV_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (ev & EV_WRITE)
		e |= EPOLLOUT;
	return e;
}

struct evloop *evloop_new(void)
{
	struct evloop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	pthread_mutex_init(&l->post_lock, NULL);
	if (l->epfd < 0 || l->wakefd < 0)
		goto fail;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = -1 };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0)
		goto fail;
	return l;
fail:
	evloop_free(l);
	return NULL;
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wakefd >= 0)
		close(l->wakefd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	struct ev_post *p = l->post_head;
	while (p) {
		struct ev_post *n = p->next;
		free(p);
		p = n;
	}
	pthread_mutex_destroy(&l->post_lock);
	free(l->watch);
	free(l->timers);
	free(l);
}

int evloop_add_fd(struct evloop *l, int fd, unsigned events, evloop_fd_cb cb, void *arg)
{
	if (fd < 0)
		return -EBADF;
	if (fd >= l->nwatch) {
		int n = l->nwatch ? l->nwatch : 64;
		while (n <= fd)
			n *= 2;
		struct ev_watch *w = realloc(l->watch, (size_t)n * sizeof(*w));
		if (!w)
			return -ENOMEM;
		memset(w + l->nwatch, 0, (size_t)(n - l->nwatch) * sizeof(*w));
		l->watch = w;
		l->nwatch = n;
	}
	if (l->watch[fd].active)
		return -EEXIST;
	struct epoll_event ev = { .events = to_epoll(events), .data.fd = fd };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->watch[fd] = (struct ev_watch){ cb, arg, events, true };
	return 0;
}

int evloop_mod_fd(struct evloop *l, int fd, unsigned events)
{
	if (fd < 0 || fd >= l->nwatch || !l->watch[fd].active)
		return -ENOENT;
	if (l->watch[fd].events == events)
		return 0;
	struct epoll_event ev = { .events = to_epoll(events), .data.fd = fd };
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	l->watch[fd].events = events;
	return 0;
}

int evloop_del_fd(struct evloop *l, int fd)
{
	if (fd < 0 || fd >= l->nwatch || !l->watch[fd].active)
		return -ENOENT;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->watch[fd].active = false;
	return 0;
}

static void heap_swap(struct ev_timer *a, struct ev_timer *b)
{
	struct ev_timer t = *a;
	*a = *b;
	*b = t;
}

static void heap_up(struct ev_timer *h, int i)
{
	while (i > 0) {
		int p = (i - 1) / 2;
		if (h[p].due <= h[i].due)
			break;
		heap_swap(&h[p], &h[i]);
		i = p;
	}
}

static void heap_down(struct ev_timer *h, int n, int i)
{
	for (;;) {
		int c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && h[c + 1].due < h[c].due)
			c++;
		if (h[i].due <= h[c].due)
			break;
		heap_swap(&h[i], &h[c]);
		i = c;
	}
}

static int heap_push(struct evloop *l, struct ev_timer t)
{
	if (l->ntimers == l->captimers) {
		int n = l->captimers ? l->captimers * 2 : 16;
		struct ev_timer *h = realloc(l->timers, (size_t)n * sizeof(*h));
		if (!h)
			return -ENOMEM;
		l->timers = h;
		l->captimers = n;
	}
	l->timers[l->ntimers] = t;
	heap_up(l->timers, l->ntimers++);
	return 0;
}

static void heap_remove(struct evloop *l, int i)
{
	l->timers[i] = l->timers[--l->ntimers];
	if (i < l->ntimers) {
		heap_down(l->timers, l->ntimers, i);
		heap_up(l->timers, i);
	}
}

int64_t evloop_add_timer(struct evloop *l, int64_t ms, int repeat, evloop_cb cb, void *arg)
{
	if (ms < 0)
		ms = 0;
	struct ev_timer t = { ++l->next_timer_id, evloop_now_ms() + ms, repeat ? (ms ? ms : 1) : 0, cb, arg };
	int rc = heap_push(l, t);
	return rc ? rc : t.id;
}

void evloop_cancel_timer(struct evloop *l, int64_t id)
{
	for (int i = 0; i < l->ntimers; i++)
		if (l->timers[i].id == id) {
			heap_remove(l, i);
			return;
		}
}

int evloop_add_signal(struct evloop *l, int signo, evloop_cb cb, void *arg)
{
	if (l->nsigs == (int)(sizeof(l->sigs) / sizeof(l->sigs[0])))
		return -ENOSPC;
	sigaddset(&l->sigmask, signo);
	if (pthread_sigmask(SIG_BLOCK, &l->sigmask, NULL))
		return -EINVAL;
	int fd = signalfd(l->sigfd, &l->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (l->sigfd < 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = -2 };
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
	}
	l->sigfd = fd;
	l->sigs[l->nsigs++] = (struct ev_sig){ signo, cb, arg };
	return 0;
}

int evloop_post(struct evloop *l, evloop_cb cb, void *arg)
{
	struct ev_post *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->next = NULL;
	p->cb = cb;
	p->arg = arg;
	pthread_mutex_lock(&l->post_lock);
	if (l->post_tail)
		l->post_tail->next = p;
	else
		l->post_head = p;
	l->post_tail = p;
	pthread_mutex_unlock(&l->post_lock);
	uint64_t one = 1;
	ssize_t w = write(l->wakefd, &one, sizeof(one));
	(void)w;
	return 0;
}

void evloop_stop(struct evloop *l)
{
	l->stop = 1;
	uint64_t one = 1;
	ssize_t w = write(l->wakefd, &one, sizeof(one));
	(void)w;
}

static void run_posts(struct evloop *l)
{
	uint64_t v;
	ssize_t r = read(l->wakefd, &v, sizeof(v));
	(void)r;
	pthread_mutex_lock(&l->post_lock);
	struct ev_post *p = l->post_head;
	l->post_head = l->post_tail = NULL;
	pthread_mutex_unlock(&l->post_lock);
	while (p) {
		struct ev_post *n = p->next;
		p->cb(l, p->arg);
		free(p);
		p = n;
	}
}

static void run_signals(struct evloop *l)
{
	struct signalfd_siginfo si;
	while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		for (int i = 0; i < l->nsigs; i++)
			if ((unsigned)l->sigs[i].signo == si.ssi_signo)
				l->sigs[i].cb(l, l->sigs[i].arg);
}

static void run_timers(struct evloop *l)
{
	int64_t now = evloop_now_ms();
	while (l->ntimers && l->timers[0].due <= now && !l->stop) {
		struct ev_timer t = l->timers[0];
		if (t.period) {
			l->timers[0].due = now + t.period;
			heap_down(l->timers, l->ntimers, 0);
		} else {
			heap_remove(l, 0);
		}
		t.cb(l, t.arg);
	}
}

int evloop_run(struct evloop *l)
{
	struct epoll_event evs[64];
	l->stop = 0;
	while (!l->stop) {
		int timeout = -1;
		if (l->ntimers) {
			int64_t d = l->timers[0].due - evloop_now_ms();
			timeout = d < 0 ? 0 : (d > 60000 ? 60000 : (int)d);
		}
		int n = epoll_wait(l->epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			int fd = evs[i].data.fd;
			if (fd == -1) {
				run_posts(l);
				continue;
			}
			if (fd == -2) {
				run_signals(l);
				continue;
			}
			if (fd >= l->nwatch || !l->watch[fd].active)
				continue;
			unsigned e = 0;
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP))
				e |= EV_READ;
			if (evs[i].events & EPOLLOUT)
				e |= EV_WRITE;
			if (evs[i].events & (EPOLLERR | EPOLLHUP))
				e |= EV_ERROR | EV_READ;
			struct ev_watch w = l->watch[fd];
			w.cb(l, fd, e, w.arg);
		}
		run_timers(l);
	}
	return 0;
}
