/*
 * db.h: stratusd's datastore, one SQLite file (WAL) in the state directory.
 *
 * One connection serves every thread, guarded by a recursive mutex so that a
 * caller can hold db_lock() across several statements (a transaction) while
 * the helpers below take the same lock for single statements.  Statements are
 * written with '?' placeholders and a type string, one letter per argument:
 *   s  const char *  (NULL binds SQL NULL)
 *   i  int64_t
 * so no value ever reaches SQL text.
 */
#ifndef STRATUS_MANAGER_DB_H
#define STRATUS_MANAGER_DB_H

#include <stdint.h>
#include <jansson.h>

struct db;

#define DB_SCHEMA_VERSION 2

/* Open (creating and migrating) PATH.  0 or -errno; *err says why (malloc'd). */
int db_open(const char *path, struct db **out, char **err);
void db_close(struct db *db);

void db_lock(struct db *db);
void db_unlock(struct db *db);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK; the caller holds db_lock(). */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* Run one statement.  Returns the number of rows changed (>= 0), -EEXIST on a
 * UNIQUE violation, or -EIO. */
int db_exec(struct db *db, const char *sql, const char *types, ...);
/* The rowid of the last INSERT of this connection (call under db_lock()). */
int64_t db_last_id(struct db *db);

/* First column of the first row as an integer; -ENOENT when there is no row. */
int db_get_int(struct db *db, int64_t *out, const char *sql, const char *types, ...);
/* First column of the first row as text (malloc'd, caller frees); -ENOENT. */
int db_get_text(struct db *db, char **out, const char *sql, const char *types, ...);

/*
 * Rows as a JSON array of objects keyed by column name (new reference, NULL on
 * error).  A column whose name ends in "_json" holds JSON text: it is parsed
 * and its key loses the suffix.
 */
json_t *db_query_json(struct db *db, const char *sql, const char *types, ...);
/* The first row of db_query_json, or NULL when there is none. */
json_t *db_query_one(struct db *db, const char *sql, const char *types, ...);

/* meta table: small named values (schema version, instance id). */
int db_meta_get(struct db *db, const char *key, char **out);
int db_meta_set(struct db *db, const char *key, const char *value);

#endif
