/*
 * sfs_lcache.h: what a client may answer itself under the MDS's directory
 * leases (wire-protocol.md, Leases).
 *
 * The MDS grants a client a lease on a directory with its answer to a
 * LOOKUP or CREATE there; the names looked up or made under the lease, and
 * the attributes of the inodes they name, stay true until the MDS recalls
 * the lease (before any other client reads or changes that directory or
 * changes one of those inodes).  This cache keeps them, keyed by the lease
 * that covers them, so a recall is one forget: everything under that lease
 * is stale at once, without a sweep.
 *
 * Every entry also carries the MDS connection's generation: after a
 * reconnect the MDS has dropped our leases, so nothing from before counts.
 * Fixed-size tables (LC_ENTRIES names, LC_ATTRS inodes, LC_LEASES
 * directories): a slot taken by a newer item is simply a miss later.
 * Thread-safe.
 */
#ifndef STRATUS_SFS_LCACHE_H
#define STRATUS_SFS_LCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/sfs_proto.h"

#define LC_ENTRIES 32768
#define LC_ATTRS 32768
#define LC_LEASES 4096

/* A reply said lease `id` on `dir` is ours; `gen`: the connection
 * generation the call was made and answered on.  Ignored if that lease was
 * recalled already (the recall overtook the reply). */
void lc_lease_add(uint64_t dir, uint64_t id, uint64_t gen);
/* The MDS recalled it (on the connection of generation gen): everything it
 * covers is forgotten, and a grant of it seen later is ignored. */
void lc_lease_forget(uint64_t dir, uint64_t id, uint64_t gen);
/* Our lease on dir at generation gen, or 0. */
uint64_t lc_lease_held(uint64_t dir, uint64_t gen);
/* The directory of one of our leases by id, or 0. */
uint64_t lc_lease_dir(uint64_t id, uint64_t gen);

/* Drops so far: take it before asking the MDS, and give it to lc_put_*,
 * which then keep nothing about an inode this client dropped meanwhile (a
 * size it changed itself while the answer was on its way). */
uint64_t lc_epoch(void);
/* dir/name names inode a->ino, with attributes *a, under lease `id` on dir. */
void lc_put_entry(uint64_t dir, const char *name, const struct sfs_attr *a, uint64_t id, uint64_t gen,
		  uint64_t epoch);
/* a->ino's attributes, covered by lease `id` on dir. */
void lc_put_attr(uint64_t dir, const struct sfs_attr *a, uint64_t id, uint64_t gen, uint64_t epoch);
/* The cached answer, if its lease still holds at generation gen. */
bool lc_get_entry(uint64_t dir, const char *name, uint64_t gen, struct sfs_attr *a);
bool lc_get_attr(uint64_t ino, uint64_t gen, struct sfs_attr *a);

/* This client changed them: forget (the next use asks the MDS). */
void lc_drop_entry(uint64_t dir, const char *name);
void lc_drop_ino(uint64_t ino);

/* Counters for user.sfs.stats: answers given here, leases recalled. */
void lc_stats(uint64_t *hits, uint64_t *recalls);

#endif
