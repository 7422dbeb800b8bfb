/*
 * db.c: the SQLite datastore of db.h: schema, migrations and the small typed
 * helpers every module uses instead of touching sqlite3 directly.
 */
#include "manager/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "common/log.h"

struct db {
	sqlite3 *h;
	pthread_mutex_t mu;
};

/*
 * The schema.  Times are milliseconds since the epoch.  Secrets are never
 * stored: users keep a crypt(3) hash, tokens a SHA-256 of the token.
 */
static const char *const schema_v1 =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS users ("
	"  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, hash TEXT NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS tokens ("
	"  id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
	"  user_id INTEGER, node_id INTEGER, created INTEGER NOT NULL, last_used INTEGER);"
	"CREATE TABLE IF NOT EXISTS templates ("
	"  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, text TEXT NOT NULL,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS clusters ("
	"  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, template TEXT NOT NULL,"
	"  template_text TEXT NOT NULL, parameters TEXT NOT NULL DEFAULT '{}',"
	"  definition TEXT NOT NULL DEFAULT '{}',"
	"  state TEXT NOT NULL, subnet_index INTEGER, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS nodes ("
	"  id INTEGER PRIMARY KEY, cluster_id INTEGER NOT NULL REFERENCES clusters(id),"
	"  name TEXT NOT NULL UNIQUE, template TEXT NOT NULL, is_array INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL, state TEXT NOT NULL, target_state TEXT NOT NULL,"
	"  reason TEXT, ip TEXT NOT NULL, holder_pid INTEGER NOT NULL DEFAULT 0,"
	"  netns TEXT NOT NULL DEFAULT '', veth TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL, state_changed INTEGER NOT NULL,"
	"  last_heartbeat INTEGER NOT NULL DEFAULT 0, retries INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS lockers ("
	"  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, path TEXT NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS projects ("
	"  id INTEGER PRIMARY KEY, locker_id INTEGER NOT NULL REFERENCES lockers(id),"
	"  name TEXT NOT NULL, version TEXT NOT NULL, specs TEXT NOT NULL DEFAULT '[]',"
	"  uploaded INTEGER NOT NULL, UNIQUE (locker_id, name, version));"
	"CREATE TABLE IF NOT EXISTS events ("
	"  id INTEGER PRIMARY KEY, time INTEGER NOT NULL, cluster TEXT, node TEXT,"
	"  kind TEXT NOT NULL, message TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS events_cluster ON events (cluster, id);"
	"CREATE TABLE IF NOT EXISTS script_logs ("
	"  node_id INTEGER NOT NULL, spec TEXT NOT NULL, script TEXT NOT NULL,"
	"  status TEXT NOT NULL, exit_code INTEGER, started_ms INTEGER, finished_ms INTEGER,"
	"  log TEXT NOT NULL DEFAULT '', PRIMARY KEY (node_id, spec, script));";

/*
 * Version 2: user tokens expire (tokens.expires, ms; 0: never), and failed
 * nodes are retried automatically (node_retry: the attempts of the current
 * series and when the next one is due, 0: none; retry.c).
 */
/*
 * Values the nodes of a cluster publish for each other (values.c).  A table
 * of its own, made if missing at every open: no schema step needed, since
 * older datastores simply lack it.
 */
static const char *const schema_values =
	"CREATE TABLE IF NOT EXISTS cluster_values ("
	"  cluster_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	"  node_id INTEGER, node TEXT, updated INTEGER NOT NULL,"
	"  PRIMARY KEY (cluster_id, key));";

static const char *const schema_v2 =
	"ALTER TABLE tokens ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE IF NOT EXISTS node_retry ("
	"  node_id INTEGER PRIMARY KEY, attempt INTEGER NOT NULL DEFAULT 0,"
	"  due INTEGER NOT NULL DEFAULT 0, reason TEXT);";

void db_lock(struct db *db)
{
	pthread_mutex_lock(&db->mu);
}

void db_unlock(struct db *db)
{
	pthread_mutex_unlock(&db->mu);
}

static int exec_plain(struct db *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_error("sqlite: '%s' failed: %s", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

int db_begin(struct db *db)
{
	return exec_plain(db, "BEGIN IMMEDIATE");
}

int db_commit(struct db *db)
{
	return exec_plain(db, "COMMIT");
}

void db_rollback(struct db *db)
{
	exec_plain(db, "ROLLBACK");
}

static int bind_args(sqlite3_stmt *st, const char *types, va_list ap)
{
	for (int i = 0; types && types[i]; i++) {
		int rc;
		if (types[i] == 's') {
			const char *s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i + 1);
		} else if (types[i] == 'i') {
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		} else {
			return -EINVAL;
		}
		if (rc != SQLITE_OK)
			return -EIO;
	}
	return 0;
}

static sqlite3_stmt *prepare(struct db *db, const char *sql, const char *types, va_list ap)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("sqlite: cannot prepare '%s': %s", sql, sqlite3_errmsg(db->h));
		return NULL;
	}
	if (bind_args(st, types, ap)) {
		log_error("sqlite: cannot bind the arguments of '%s'", sql);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

int db_exec(struct db *db, const char *sql, const char *types, ...)
{
	va_list ap;
	int rc;
	db_lock(db);
	va_start(ap, types);
	sqlite3_stmt *st = prepare(db, sql, types, ap);
	va_end(ap);
	if (!st) {
		db_unlock(db);
		return -EIO;
	}
	int s = sqlite3_step(st);
	if (s == SQLITE_DONE || s == SQLITE_ROW) {
		rc = sqlite3_changes(db->h);
	} else if (sqlite3_extended_errcode(db->h) == SQLITE_CONSTRAINT_UNIQUE ||
		   sqlite3_extended_errcode(db->h) == SQLITE_CONSTRAINT_PRIMARYKEY) {
		rc = -EEXIST;
	} else {
		log_error("sqlite: '%s' failed: %s", sql, sqlite3_errmsg(db->h));
		rc = -EIO;
	}
	sqlite3_finalize(st);
	db_unlock(db);
	return rc;
}

int64_t db_last_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->h);
}

static int get_first(struct db *db, int64_t *iout, char **tout, const char *sql,
		     const char *types, va_list ap)
{
	int rc = -ENOENT;
	db_lock(db);
	sqlite3_stmt *st = prepare(db, sql, types, ap);
	if (!st) {
		db_unlock(db);
		return -EIO;
	}
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		rc = 0;
		if (iout)
			*iout = sqlite3_column_int64(st, 0);
		if (tout) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			*tout = strdup(t ? (const char *)t : "");
			if (!*tout)
				rc = -ENOMEM;
		}
	} else if (s != SQLITE_DONE) {
		log_error("sqlite: '%s' failed: %s", sql, sqlite3_errmsg(db->h));
		rc = -EIO;
	}
	sqlite3_finalize(st);
	db_unlock(db);
	return rc;
}

int db_get_int(struct db *db, int64_t *out, const char *sql, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int rc = get_first(db, out, NULL, sql, types, ap);
	va_end(ap);
	return rc;
}

int db_get_text(struct db *db, char **out, const char *sql, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int rc = get_first(db, NULL, out, sql, types, ap);
	va_end(ap);
	return rc;
}

static json_t *query_json(struct db *db, int limit, const char *sql, const char *types, va_list ap)
{
	json_t *arr = json_array();
	if (!arr)
		return NULL;
	db_lock(db);
	sqlite3_stmt *st = prepare(db, sql, types, ap);
	if (!st) {
		db_unlock(db);
		json_decref(arr);
		return NULL;
	}
	int s;
	while ((limit < 0 || (int)json_array_size(arr) < limit) && (s = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_object();
		int n = sqlite3_column_count(st);
		for (int c = 0; c < n; c++) {
			const char *name = sqlite3_column_name(st, c);
			size_t nl = strlen(name);
			json_t *v;
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_INTEGER:
				v = json_integer(sqlite3_column_int64(st, c));
				break;
			case SQLITE_FLOAT:
				v = json_real(sqlite3_column_double(st, c));
				break;
			case SQLITE_NULL:
				v = json_null();
				break;
			default: {
				const char *t = (const char *)sqlite3_column_text(st, c);
				if (nl > 5 && !strcmp(name + nl - 5, "_json")) {
					v = json_loads(t ? t : "null", JSON_DECODE_ANY, NULL);
					if (!v)
						v = json_null();
				} else {
					v = json_string(t ? t : "");
				}
			}
			}
			if (nl > 5 && !strcmp(name + nl - 5, "_json")) {
				char key[128];
				snprintf(key, sizeof(key), "%.*s", (int)(nl - 5), name);
				json_object_set_new(row, key, v);
			} else {
				json_object_set_new(row, name, v);
			}
		}
		json_array_append_new(arr, row);
	}
	sqlite3_finalize(st);
	db_unlock(db);
	return arr;
}

json_t *db_query_json(struct db *db, const char *sql, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	json_t *r = query_json(db, -1, sql, types, ap);
	va_end(ap);
	return r;
}

json_t *db_query_one(struct db *db, const char *sql, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	json_t *r = query_json(db, 1, sql, types, ap);
	va_end(ap);
	if (!r)
		return NULL;
	json_t *row = json_array_get(r, 0);
	json_incref(row);
	json_decref(r);
	return row;
}

int db_meta_get(struct db *db, const char *key, char **out)
{
	return db_get_text(db, out, "SELECT value FROM meta WHERE key = ?", "s", key);
}

int db_meta_set(struct db *db, const char *key, const char *value)
{
	int rc = db_exec(db, "INSERT INTO meta (key, value) VALUES (?, ?) "
			 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", "ss", key, value);
	return rc < 0 ? rc : 0;
}

static int migrate(struct db *db, char **err)
{
	char *v = NULL;
	long have = 0;
	if (exec_plain(db, schema_v1) || exec_plain(db, schema_values))
		goto bad;
	if (db_meta_get(db, "schema_version", &v) == 0)
		have = strtol(v, NULL, 10);
	free(v);
	if (have > DB_SCHEMA_VERSION) {
		if (asprintf(err, "the datastore is of schema version %ld, newer than this stratusd "
			     "(%d); run the newer stratusd", have, DB_SCHEMA_VERSION) < 0)
			*err = NULL;
		return -EPROTO;
	}
	if (have < DB_SCHEMA_VERSION) {
		/* All steps and the new version in one transaction: a crash in the
		 * middle leaves the old schema, and the next start tries again. */
		char buf[16];
		snprintf(buf, sizeof(buf), "%d", DB_SCHEMA_VERSION);
		if (db_begin(db))
			goto bad;
		/* One step per version; future versions add theirs below. */
		if ((have < 2 && exec_plain(db, schema_v2)) || db_meta_set(db, "schema_version", buf) ||
		    db_commit(db)) {
			db_rollback(db);
			goto bad;
		}
	}
	return 0;
bad:
	if (asprintf(err, "cannot create the datastore's tables: %s", sqlite3_errmsg(db->h)) < 0)
		*err = NULL;
	return -EIO;
}

int db_open(const char *path, struct db **out, char **err)
{
	*err = NULL;
	struct db *db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&db->mu, &a);
	pthread_mutexattr_destroy(&a);
	int rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (asprintf(err, "cannot open the datastore '%s': %s; check the state directory",
			     path, db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc)) < 0)
			*err = NULL;
		db_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db->h, 5000);
	if (exec_plain(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
		       "PRAGMA foreign_keys = ON")) {
		if (asprintf(err, "cannot switch the datastore '%s' to WAL: %s", path,
			     sqlite3_errmsg(db->h)) < 0)
			*err = NULL;
		db_close(db);
		return -EIO;
	}
	rc = migrate(db, err);
	if (rc) {
		db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	sqlite3_close(db->h);
	pthread_mutex_destroy(&db->mu);
	free(db);
}
