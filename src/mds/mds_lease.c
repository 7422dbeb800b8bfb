/*
 * mds_lease.c: directory leases (see mds.h and wire-protocol.md, Leases).
 *
 * A lease on directory D lets one client answer lookups of D's names and
 * the attributes of the inodes it reached through D from its own cache,
 * without asking the MDS, for as long as nobody else needs them.  The MDS
 * keeps, for every lease, the inodes it covers; a request of another client
 * that reads or changes D, or changes a covered inode, is parked (not
 * answered), the holder is sent a RECALL, and the request runs again once
 * the holder has sent RELEASE (which comes after every change the holder
 * made before: the holder's requests are applied in order), or its
 * connection is gone, or the recall timeout has passed.  A directory whose
 * lease is recalled within the cool-down time of its grant is leased to
 * nobody for that time, so two clients working in one directory do not
 * pass a lease back and forth; one held longer goes to the next asker.
 *
 * Everything here is in memory under one lock: leases die with the MDS
 * (clients drop theirs when their connection is renewed).  The waiters are
 * mds.c's queued requests, opaque here; the caller takes the ones that may
 * run again with mds_lease_take_ready().
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "mds/mds.h"

#define LEASE_BUCKETS 4096
#define COVER_BUCKETS 65536
#define MAX_LEASES 16384
#define MAX_COVERED 65536        /* per lease */
#define MAX_COVERED_ALL (1 << 20) /* in all: about 40 MiB at most */

enum { L_FREE, L_HELD, L_RECALLING };

struct cover {
	uint64_t ino;
	struct lease *l;
	struct cover *next;
};

struct lease {
	uint64_t dir, id, client;
	int state;
	void *holder;            /* the connection the lease was granted on (a reference) */
	int64_t deadline_ms;     /* L_RECALLING: when to give up waiting */
	int64_t cool_until_ms;   /* L_FREE: no new grant before */
	int64_t granted_ms;
	uint64_t *covered;
	size_t ncov, capcov;
	void **waiters;
	size_t nwait, capwait;
	struct lease *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct lease *leases[LEASE_BUCKETS];
static struct cover *covers[COVER_BUCKETS];
static size_t nleases, ncovered;
static uint64_t next_id = 1;
static struct mds_lease_ops OPS;
static int64_t recall_timeout_ms = 10000;
static int64_t cooldown_ms = 2000;
static void **ready;
static size_t nready, capready;
static uint64_t st_granted, st_recalled, st_expired;

void mds_lease_init(const struct mds_lease_ops *ops, int64_t timeout_ms, int64_t cool_ms)
{
	OPS = *ops;
	/* Ids never seen before this start: a client's memory of recalled
	 * leases must not match a new one. */
	next_id = ((uint64_t)util_wall_ms() << 16) | 1;
	if (timeout_ms > 0)
		recall_timeout_ms = timeout_ms;
	if (cool_ms >= 0)
		cooldown_ms = cool_ms;
}

static size_t hash64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	return (size_t)v;
}

static struct lease *find(uint64_t dir)
{
	for (struct lease *l = leases[hash64(dir) % LEASE_BUCKETS]; l; l = l->next)
		if (l->dir == dir)
			return l;
	return NULL;
}

static struct cover *cover_find(uint64_t ino)
{
	for (struct cover *c = covers[hash64(ino) % COVER_BUCKETS]; c; c = c->next)
		if (c->ino == ino)
			return c;
	return NULL;
}

static void cover_del(uint64_t ino, struct lease *l)
{
	for (struct cover **pp = &covers[hash64(ino) % COVER_BUCKETS]; *pp; pp = &(*pp)->next)
		if ((*pp)->ino == ino && (*pp)->l == l) {
			struct cover *c = *pp;
			*pp = c->next;
			free(c);
			return;
		}
}

static void ready_add(void *w)
{
	if (nready == capready) {
		size_t cap = capready ? capready * 2 : 64;
		void **n = realloc(ready, cap * sizeof(*n));
		if (!n) {
			log_error("out of memory for requests waiting on a lease; dropping one");
			return;
		}
		ready = n;
		capready = cap;
	}
	ready[nready++] = w;
}

/* Under lock: the lease is gone; its waiters may run.  It stays as a
 * cool-down record when `cool`. */
static void drop(struct lease *l, bool cool)
{
	for (size_t i = 0; i < l->ncov; i++)
		cover_del(l->covered[i], l);
	ncovered -= l->ncov;
	free(l->covered);
	l->covered = NULL;
	l->ncov = l->capcov = 0;
	for (size_t i = 0; i < l->nwait; i++)
		ready_add(l->waiters[i]);
	free(l->waiters);
	l->waiters = NULL;
	l->nwait = l->capwait = 0;
	if (l->holder)
		OPS.put(l->holder);
	l->holder = NULL;
	l->state = L_FREE;
	/* Recalled soon after it was granted: clients are taking turns here. */
	int64_t now = util_mono_ms();
	l->cool_until_ms = cool && now - l->granted_ms < cooldown_ms ? now + cooldown_ms : 0;
}

/* A recall to send (outside the lock: send_recall). */
struct pending_recall {
	void *conn;
	uint64_t dir, id;
};

/* Under lock: lease l is being recalled; its holder is to be told. */
static void start_recall(struct lease *l, struct pending_recall *pr)
{
	l->state = L_RECALLING;
	l->deadline_ms = util_mono_ms() + recall_timeout_ms;
	pr->conn = l->holder;
	OPS.hold(pr->conn);
	pr->dir = l->dir;
	pr->id = l->id;
	st_recalled++;
}

static void send_recall(struct pending_recall *pr)
{
	if (!pr->conn)
		return;
	OPS.recall(pr->conn, pr->dir, pr->id);
	OPS.put(pr->conn);
}

int mds_lease_dir(struct mtx *x, uint64_t dir, bool grant, uint64_t *lease)
{
	if (lease)
		*lease = 0;
	if (!x->client)
		return 0;
	int rc = 0;
	pthread_mutex_lock(&lock);
	struct lease *l = find(dir);
	if (l && l->state != L_FREE) {
		if (l->client != x->client) {
			x->recall = (struct mds_lease_ref){ l->dir, l->id };
			rc = -MDS_ERECALL;
		} else if (l->state == L_HELD && lease) {
			*lease = l->id;
		}
	} else if (grant && x->conn && lease && (!l || util_mono_ms() >= l->cool_until_ms) && nleases < MAX_LEASES) {
		if (!l && (l = calloc(1, sizeof(*l)))) {
			l->dir = dir;
			l->next = leases[hash64(dir) % LEASE_BUCKETS];
			leases[hash64(dir) % LEASE_BUCKETS] = l;
		}
		if (l) {
			l->id = next_id++;
			l->client = x->client;
			l->state = L_HELD;
			l->granted_ms = util_mono_ms();
			l->holder = x->conn;
			OPS.hold(x->conn);
			nleases++;
			st_granted++;
			*lease = l->id;
		}
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int mds_lease_ino(struct mtx *x, uint64_t ino)
{
	if (!x->client)
		return 0;
	int rc = 0;
	struct pending_recall pr = { 0 };
	pthread_mutex_lock(&lock);
	struct cover *c = cover_find(ino);
	if (c && c->l->state != L_FREE && c->l->client != x->client) {
		if (!x->async) {
			x->recall = (struct mds_lease_ref){ c->l->dir, c->l->id };
			rc = -MDS_ERECALL;
		} else if (c->l->state == L_HELD) {
			/* An asynchronous request must not wait (its client's
			 * RELEASE of its own lease comes after it): recall without
			 * waiting.  The holder's cached attributes are stale only
			 * until the recall reaches it. */
			start_recall(c->l, &pr);
		}
	}
	pthread_mutex_unlock(&lock);
	send_recall(&pr);
	return rc;
}

uint64_t mds_lease_cover(struct mtx *x, uint64_t dir, uint64_t ino)
{
	if (!x->client)
		return 0;
	uint64_t id = 0;
	pthread_mutex_lock(&lock);
	struct lease *l = find(dir);
	if (l && l->state == L_HELD && l->client == x->client) {
		struct cover *c = cover_find(ino);
		if (c) {
			/* Covered already (by this lease: still so; by another
			 * one, e.g. through a hard link: not by this one). */
			if (c->l == l)
				id = l->id;
		} else if (l->ncov < MAX_COVERED && ncovered < MAX_COVERED_ALL) {
			if (l->ncov == l->capcov) {
				size_t cap = l->capcov ? l->capcov * 2 : 16;
				uint64_t *n = realloc(l->covered, cap * sizeof(*n));
				if (n) {
					l->covered = n;
					l->capcov = cap;
				}
			}
			struct cover *nc = l->ncov < l->capcov ? malloc(sizeof(*nc)) : NULL;
			if (nc) {
				nc->ino = ino;
				nc->l = l;
				nc->next = covers[hash64(ino) % COVER_BUCKETS];
				covers[hash64(ino) % COVER_BUCKETS] = nc;
				l->covered[l->ncov++] = ino;
				ncovered++;
				id = l->id;
			}
		}
	}
	pthread_mutex_unlock(&lock);
	return id;
}

uint64_t mds_lease_covering(struct mtx *x, uint64_t ino)
{
	if (!x->client)
		return 0;
	uint64_t id = 0;
	pthread_mutex_lock(&lock);
	struct cover *c = cover_find(ino);
	if (c && c->l->state == L_HELD && c->l->client == x->client)
		id = c->l->id;
	pthread_mutex_unlock(&lock);
	return id;
}

int mds_lease_park(const struct mds_lease_ref *r, void *waiter)
{
	struct pending_recall pr = { 0 };
	int rc = 0;
	pthread_mutex_lock(&lock);
	struct lease *l = find(r->dir);
	if (l && l->id == r->id && l->state != L_FREE) {
		if (l->nwait == l->capwait) {
			size_t cap = l->capwait ? l->capwait * 2 : 8;
			void **n = realloc(l->waiters, cap * sizeof(*n));
			if (n) {
				l->waiters = n;
				l->capwait = cap;
			}
		}
		if (l->nwait < l->capwait) {
			l->waiters[l->nwait++] = waiter;
			rc = 1;
			if (l->state == L_HELD)
				start_recall(l, &pr);
		}
	}
	pthread_mutex_unlock(&lock);
	send_recall(&pr);
	return rc;
}

void mds_lease_release(struct mtx *x, uint64_t dir, uint64_t id)
{
	pthread_mutex_lock(&lock);
	struct lease *l = find(dir);
	if (l && l->state != L_FREE && l->id == id && l->client == x->client) {
		bool recalled = l->state == L_RECALLING;
		drop(l, recalled);
		nleases--;
	}
	pthread_mutex_unlock(&lock);
}

void mds_lease_conn_gone(void *conn)
{
	pthread_mutex_lock(&lock);
	for (size_t b = 0; b < LEASE_BUCKETS; b++)
		for (struct lease *l = leases[b]; l; l = l->next)
			if (l->state != L_FREE && l->holder == conn) {
				drop(l, false);
				nleases--;
			}
	pthread_mutex_unlock(&lock);
}

void mds_lease_expire(void)
{
	int64_t now = util_mono_ms();
	pthread_mutex_lock(&lock);
	for (size_t b = 0; b < LEASE_BUCKETS; b++)
		for (struct lease **pp = &leases[b]; *pp;) {
			struct lease *l = *pp;
			if (l->state == L_RECALLING && now >= l->deadline_ms) {
				log_warn("client %016" PRIx64 " did not give back its lease on directory %" PRIu64
					 " within %lld ms of the recall; taking it back", l->client, l->dir,
					 (long long)recall_timeout_ms);
				drop(l, true);
				nleases--;
				st_expired++;
			}
			if (l->state == L_FREE && now >= l->cool_until_ms) {
				*pp = l->next;
				free(l);
				continue;
			}
			pp = &l->next;
		}
	pthread_mutex_unlock(&lock);
}

size_t mds_lease_take_ready(void ***out)
{
	pthread_mutex_lock(&lock);
	size_t n = nready;
	*out = ready;
	ready = NULL;
	nready = capready = 0;
	pthread_mutex_unlock(&lock);
	return n;
}

void mds_lease_stats(uint64_t *held, uint64_t *granted, uint64_t *recalled, uint64_t *expired)
{
	pthread_mutex_lock(&lock);
	*held = nleases;
	*granted = st_granted;
	*recalled = st_recalled;
	*expired = st_expired;
	pthread_mutex_unlock(&lock);
}
