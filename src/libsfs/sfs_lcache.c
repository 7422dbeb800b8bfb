/*
 * sfs_lcache.c: the client's lease cache (see sfs_lcache.h).
 */
#include "libsfs/sfs_lcache.h"

#include <pthread.h>
#include <string.h>

#define RECALLED 256
#define WAYS 8   /* slots per set: a new item takes a free or stale one, else the oldest */

struct lslot {
	uint64_t dir, id, gen;
};

struct eslot {
	uint64_t dir, nh, ino, id, gen, stamp;
};

struct aslot {
	uint64_t dir, id, gen, stamp;
	struct sfs_attr a;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct lslot leases[LC_LEASES];
static struct eslot entries[LC_ENTRIES];
static struct aslot attrs[LC_ATTRS];
static struct { uint64_t id, gen; } recalled[RECALLED];
static unsigned recalled_next;
static uint64_t hits, recalls, stamp;
/* drops: every lc_drop_*; dropped[h]: its value at the last drop of an
 * inode hashing to h. */
#define DROP_BUCKETS 4096
static uint64_t drops, dropped[DROP_BUCKETS];

static uint64_t mix(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	v *= 0xc4ceb9fe1a85ec53ULL;
	v ^= v >> 33;
	return v;
}

static uint64_t name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h ? h : 1;
}

static struct lslot *lslot_of(uint64_t dir)
{
	return &leases[mix(dir) % LC_LEASES];
}

/* Under lock: does lease id on dir hold at generation gen? */
static bool holds(uint64_t dir, uint64_t id, uint64_t gen)
{
	const struct lslot *l = lslot_of(dir);
	return id && l->dir == dir && l->id == id && l->gen == gen;
}

void lc_lease_add(uint64_t dir, uint64_t id, uint64_t gen)
{
	if (!id || !dir)
		return;
	pthread_mutex_lock(&lock);
	bool gone = false;
	for (unsigned i = 0; i < RECALLED; i++)
		gone |= recalled[i].id == id && recalled[i].gen == gen;
	if (!gone) {
		struct lslot *l = lslot_of(dir);
		l->dir = dir;
		l->id = id;
		l->gen = gen;
	}
	pthread_mutex_unlock(&lock);
}

void lc_lease_forget(uint64_t dir, uint64_t id, uint64_t gen)
{
	pthread_mutex_lock(&lock);
	struct lslot *l = lslot_of(dir);
	if (l->dir == dir && l->id == id)
		memset(l, 0, sizeof(*l));
	recalled[recalled_next % RECALLED].id = id;
	recalled[recalled_next++ % RECALLED].gen = gen;
	recalls++;
	pthread_mutex_unlock(&lock);
}

uint64_t lc_lease_held(uint64_t dir, uint64_t gen)
{
	pthread_mutex_lock(&lock);
	const struct lslot *l = lslot_of(dir);
	uint64_t id = l->dir == dir && l->gen == gen ? l->id : 0;
	pthread_mutex_unlock(&lock);
	return id;
}

uint64_t lc_lease_dir(uint64_t id, uint64_t gen)
{
	uint64_t dir = 0;
	if (!id)
		return 0;
	pthread_mutex_lock(&lock);
	for (unsigned i = 0; i < LC_LEASES && !dir; i++)
		if (leases[i].id == id && leases[i].gen == gen)
			dir = leases[i].dir;
	pthread_mutex_unlock(&lock);
	return dir;
}

/* Under lock: the set of ino's attributes; the slot holding ino, else NULL. */
static struct aslot *aset(uint64_t ino)
{
	return &attrs[(mix(ino) % (LC_ATTRS / WAYS)) * WAYS];
}

static struct aslot *afind(uint64_t ino)
{
	struct aslot *set = aset(ino);
	for (int i = 0; i < WAYS; i++)
		if (set[i].a.ino == ino)
			return &set[i];
	return NULL;
}

static struct eslot *eset(uint64_t dir, uint64_t nh)
{
	return &entries[(mix(dir ^ mix(nh)) % (LC_ENTRIES / WAYS)) * WAYS];
}

static struct eslot *efind(uint64_t dir, uint64_t nh)
{
	struct eslot *set = eset(dir, nh);
	for (int i = 0; i < WAYS; i++)
		if (set[i].dir == dir && set[i].nh == nh)
			return &set[i];
	return NULL;
}

/* Under lock: where a new item of this set goes. */
static struct aslot *avictim(uint64_t ino)
{
	struct aslot *v = afind(ino);
	if (v)
		return v;
	struct aslot *set = aset(ino);
	v = &set[0];
	for (int i = 0; i < WAYS; i++) {
		if (!set[i].a.ino || !holds(set[i].dir, set[i].id, set[i].gen))
			return &set[i];
		if (set[i].stamp < v->stamp)
			v = &set[i];
	}
	return v;
}

static struct eslot *evictim(uint64_t dir, uint64_t nh)
{
	struct eslot *v = efind(dir, nh);
	if (v)
		return v;
	struct eslot *set = eset(dir, nh);
	v = &set[0];
	for (int i = 0; i < WAYS; i++) {
		if (!set[i].dir || !holds(set[i].dir, set[i].id, set[i].gen))
			return &set[i];
		if (set[i].stamp < v->stamp)
			v = &set[i];
	}
	return v;
}

static void aput(uint64_t dir, const struct sfs_attr *a, uint64_t id, uint64_t gen)
{
	struct aslot *s = avictim(a->ino);
	s->dir = dir;
	s->id = id;
	s->gen = gen;
	s->stamp = ++stamp;
	s->a = *a;
}

uint64_t lc_epoch(void)
{
	pthread_mutex_lock(&lock);
	uint64_t e = drops;
	pthread_mutex_unlock(&lock);
	return e;
}

/* Under lock. */
static void dropped_now(uint64_t ino)
{
	dropped[mix(ino) % DROP_BUCKETS] = ++drops;
}

static bool dropped_since(uint64_t ino, uint64_t epoch)
{
	return dropped[mix(ino) % DROP_BUCKETS] > epoch;
}

void lc_put_attr(uint64_t dir, const struct sfs_attr *a, uint64_t id, uint64_t gen, uint64_t epoch)
{
	if (!id || !a->ino)
		return;
	pthread_mutex_lock(&lock);
	if (holds(dir, id, gen) && !dropped_since(a->ino, epoch))
		aput(dir, a, id, gen);
	pthread_mutex_unlock(&lock);
}

void lc_put_entry(uint64_t dir, const char *name, const struct sfs_attr *a, uint64_t id, uint64_t gen,
		  uint64_t epoch)
{
	if (!id || !a->ino)
		return;
	uint64_t nh = name_hash(name);
	pthread_mutex_lock(&lock);
	if (holds(dir, id, gen) && !dropped_since(a->ino, epoch)) {
		struct eslot *e = evictim(dir, nh);
		e->dir = dir;
		e->nh = nh;
		e->ino = a->ino;
		e->id = id;
		e->gen = gen;
		e->stamp = ++stamp;
		aput(dir, a, id, gen);
	}
	pthread_mutex_unlock(&lock);
}

/* Under lock: the attributes of ino if still covered. */
static bool attr_locked(uint64_t ino, uint64_t gen, struct sfs_attr *a)
{
	const struct aslot *s = afind(ino);
	if (!s || s->gen != gen || !holds(s->dir, s->id, gen))
		return false;
	*a = s->a;
	return true;
}

bool lc_get_entry(uint64_t dir, const char *name, uint64_t gen, struct sfs_attr *a)
{
	uint64_t nh = name_hash(name);
	bool hit = false;
	pthread_mutex_lock(&lock);
	const struct eslot *e = efind(dir, nh);
	if (e && e->gen == gen && holds(dir, e->id, gen))
		hit = attr_locked(e->ino, gen, a);
	if (hit)
		hits++;
	pthread_mutex_unlock(&lock);
	return hit;
}

bool lc_get_attr(uint64_t ino, uint64_t gen, struct sfs_attr *a)
{
	pthread_mutex_lock(&lock);
	bool hit = attr_locked(ino, gen, a);
	if (hit)
		hits++;
	pthread_mutex_unlock(&lock);
	return hit;
}

void lc_drop_entry(uint64_t dir, const char *name)
{
	uint64_t nh = name_hash(name);
	pthread_mutex_lock(&lock);
	struct eslot *e = efind(dir, nh);
	if (e) {
		struct aslot *s = afind(e->ino);
		if (s)
			memset(s, 0, sizeof(*s));
		dropped_now(e->ino);
		memset(e, 0, sizeof(*e));
	}
	pthread_mutex_unlock(&lock);
}

void lc_drop_ino(uint64_t ino)
{
	pthread_mutex_lock(&lock);
	struct aslot *s = afind(ino);
	if (s)
		memset(s, 0, sizeof(*s));
	dropped_now(ino);
	pthread_mutex_unlock(&lock);
}

void lc_stats(uint64_t *h, uint64_t *r)
{
	pthread_mutex_lock(&lock);
	*h = hits;
	*r = recalls;
	pthread_mutex_unlock(&lock);
}
