/* ormtest.h — what the ORM test programs share: the backend chosen on the command line, the
 * registry and engine built from the program's mapping spec, SQL counting through the engine's
 * echo (as SQLAlchemy's assert_sql_count), and helpers that make, query and read objects.
 * Included by exactly one source file per test program. */
#ifndef ATHANOR_ORMTEST_H
#define ATHANOR_ORMTEST_H

#include <athanor/athanor.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "wirejson.h"

typedef struct backend {
	const char *name, *url_env;
} backend;

static const backend backends[] = { { "sqlite", NULL },
				    { "postgresql", "ATHANOR_TEST_PG_URL" },
				    { "mysql", "ATHANOR_TEST_MYSQL_URL" } };
static const backend *B;
static char url[1024];
static ath_registry *reg;
static ath_engine *eng;

/* ---- SQL counting (the engine's echo, as SQLAlchemy's assert_sql_count) ---------------------- */

static int nsql;
static char last_sql[4][2048];

static inline void on_log(ath_log_level level, const char *msg, void *payload)
{
	(void)level;
	(void)payload;
	if (getenv("ORM_ECHO"))
		fprintf(stderr, "-- %s\n", msg);
	if (strncmp(msg, "SELECT", 6) && strncmp(msg, "INSERT", 6) && strncmp(msg, "UPDATE", 6) &&
	    strncmp(msg, "DELETE", 6))
		return; /* BEGIN / COMMIT / ROLLBACK are not statements here */
	memmove(last_sql[1], last_sql[0], sizeof last_sql - sizeof last_sql[0]);
	snprintf(last_sql[0], sizeof last_sql[0], "%s", msg);
	nsql++;
}

/* the SQL with MySQL's "INNER JOIN" written as the others' "JOIN", for one expectation on every backend */
static inline const char *sql_norm(const char *sql)
{
	static char out[2048];
	size_t o = 0;
	for (const char *p = sql; *p && o + 1 < sizeof out;)
		if (strncmp(p, " INNER JOIN ", 12) == 0)
			p += 6;
		else
			out[o++] = *p++;
	out[o] = 0;
	return out;
}

#define CHECK_SQL(i, fragment) CHECK_CONTAINS(sql_norm(last_sql[i]), fragment)

#define SQL_COUNT(expected, body)                                                                  \
	do {                                                                                       \
		int before_ = nsql;                                                                \
		body;                                                                              \
		CHECK_INT(expected, nsql - before_);                                               \
	} while (0)

/* ---- helpers ---------------------------------------------------------------------------------- */

static inline void fail_now(const char *what)
{
	const ath_error *e = ath_error_last();
	fprintf(stderr, "FATAL %s [%s] %s: %s: %s\n", B->name, test_case_name, what, ath_error_class_name(e->klass),
		e->message);
	exit(1);
}

static inline ath_session *session(void)
{
	ath_session *s = NULL;
	if (ath_session_create(&s, eng, reg, NULL) != ATH_OK)
		fail_now("session");
	return s;
}

/* a transient object with attributes from a JSON map */
static inline ath_obj *make(const char *cls, const char *json)
{
	ath_obj *o = NULL;
	if (ath_obj_create(&o, reg, cls) != ATH_OK)
		fail_now("obj_create");
	ath_buf m = mp("%s", json);
	msgpack_zone z;
	msgpack_zone_init(&z, 1024);
	msgpack_object root;
	size_t off = 0;
	msgpack_unpack((const char *)m.ptr, m.size, &off, &z, &root);
	for (uint32_t i = 0; i < root.via.map.size; i++) {
		char key[64];
		snprintf(key, sizeof key, "%.*s", (int)root.via.map.ptr[i].key.via.str.size, root.via.map.ptr[i].key.via.str.ptr);
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		msgpack_packer pk;
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_object(&pk, root.via.map.ptr[i].val);
		if (ath_obj_set(o, key, sb.data, sb.size) != ATH_OK)
			fail_now("obj_set");
		msgpack_sbuffer_destroy(&sb);
	}
	msgpack_zone_destroy(&z);
	mp_free(&m);
	return o;
}

static inline int set(ath_obj *o, const char *attr, const char *json)
{
	ath_buf v = mp("%s", json);
	int rc = ath_obj_set(o, attr, v.ptr, v.size);
	mp_free(&v);
	return rc;
}

static inline char *get(ath_obj *o, const char *attr)
{
	ath_buf b = ATH_BUF_INIT;
	char *s = ath_obj_get(&b, o, attr) == ATH_OK ? as_json(b.ptr, b.size)
						     : strdup(ath_error_class_name(ath_error_last()->klass));
	ath_buf_dispose(&b);
	return s;
}

#define CHECK_GET(expected, o, attr)                                                               \
	do {                                                                                       \
		char *s_ = get(o, attr);                                                           \
		CHECK_STR(expected, s_);                                                           \
		free(s_);                                                                          \
	} while (0)

static inline int64_t get_int(ath_obj *o, const char *attr)
{
	char *s = get(o, attr);
	int64_t v = strtoll(s, NULL, 10);
	free(s);
	return v;
}

static inline void link_to(ath_obj *o, const char *rel, ath_obj *t)
{
	if (ath_obj_link(o, rel, t) != ATH_OK)
		fail_now("link");
}

/* Run an ORM statement; the objects of the result's first column (each a new reference). */
static inline size_t query(ath_session *s, const char *shape, const char *params, ath_obj **objs, size_t max, uint32_t flags)
{
	for (size_t i = 0; i < max; i++)
		objs[i] = NULL;
	ath_buf sh = mp("%s", shape), p = params ? mp("%s", params) : (ath_buf)ATH_BUF_INIT, out = ATH_BUF_INIT;
	int rc = ath_session_execute(&out, s, sh.ptr, sh.size, p.ptr, p.size, flags | ATH_ROWS_SCALARS);
	mp_free(&sh);
	mp_free(&p);
	if (rc != ATH_OK) {
		ath_buf_dispose(&out);
		return (size_t)-1;
	}
	msgpack_zone z;
	msgpack_zone_init(&z, 1024);
	msgpack_object root;
	size_t off = 0, n = 0;
	msgpack_unpack((const char *)out.ptr, out.size, &off, &z, &root);
	for (uint32_t i = 0; i < root.via.array.size && n < max; i++) {
		msgpack_object *v = &root.via.array.ptr[i];
		if (v->type != MSGPACK_OBJECT_EXT || v->via.ext.type != 1)
			continue;
		uint64_t id = 0;
		for (int k = 0; k < 8; k++)
			id = id << 8 | (unsigned char)v->via.ext.ptr[k];
		if (ath_session_object(&objs[n], s, id) == ATH_OK)
			n++;
	}
	msgpack_zone_destroy(&z);
	ath_buf_dispose(&out);
	return n;
}

/* query() with one object reference as params[0] */
static inline size_t query_obj(ath_session *s, const char *shape, ath_obj *o, ath_obj **objs, size_t max)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	unsigned char id[8];
	uint64_t v = ath_obj_id(o);
	for (int i = 0; i < 8; i++)
		id[i] = (unsigned char)(v >> (56 - 8 * i));
	msgpack_pack_array(&pk, 1);
	msgpack_pack_ext(&pk, 8, 1);
	msgpack_pack_ext_body(&pk, id, 8);
	for (size_t i = 0; i < max; i++)
		objs[i] = NULL;
	ath_buf sh = mp("%s", shape), out = ATH_BUF_INIT;
	int rc = ath_session_execute(&out, s, sh.ptr, sh.size, sb.data, sb.size, ATH_ROWS_SCALARS);
	mp_free(&sh);
	msgpack_sbuffer_destroy(&sb);
	size_t n = 0;
	if (rc == ATH_OK) {
		msgpack_zone z;
		msgpack_zone_init(&z, 1024);
		msgpack_object root;
		size_t off = 0;
		msgpack_unpack((const char *)out.ptr, out.size, &off, &z, &root);
		for (uint32_t i = 0; i < root.via.array.size && n < max; i++) {
			uint64_t rid = 0;
			for (int k = 0; k < 8; k++)
				rid = rid << 8 | (unsigned char)root.via.array.ptr[i].via.ext.ptr[k];
			if (ath_session_object(&objs[n], s, rid) == ATH_OK)
				n++;
		}
		msgpack_zone_destroy(&z);
	}
	ath_buf_dispose(&out);
	return rc == ATH_OK ? n : (size_t)-1;
}

/* Core SQL through the engine (not the session): what the database really holds */
static inline char *db_rows(const char *shape)
{
	ath_conn *c = NULL;
	ath_result *r = NULL;
	if (ath_engine_connect(&c, eng) != ATH_OK)
		fail_now("connect");
	ath_buf sh = mp("%s", shape), b = ATH_BUF_INIT;
	char *s;
	if (ath_conn_execute(&r, c, sh.ptr, sh.size, NULL, 0) == ATH_OK && ath_result_fetch_all(&b, r) == ATH_OK)
		s = as_json(b.ptr, b.size);
	else
		s = strdup(ath_error_last()->message);
	ath_buf_dispose(&b);
	ath_result_close(r);
	ath_conn_close(c);
	mp_free(&sh);
	return s;
}

#define CHECK_DB(expected, shape)                                                                  \
	do {                                                                                       \
		char *s_ = db_rows(shape);                                                         \
		CHECK_STR(expected, s_);                                                           \
		free(s_);                                                                          \
	} while (0)

static inline void free_objs(ath_obj **objs, size_t n)
{
	for (size_t i = 0; i < n && n != (size_t)-1; i++)
		ath_obj_free(objs[i]);
}

/* Pick the backend from argv[1], build the registry from `spec` and an echoing engine with a
 * fresh schema (SQLite: the file `dbfile`). Returns 0, or the exit code (77 = servers skipped). */
static inline int ormtest_setup(int argc, char **argv, const char *prog, const char *spec, const char *dbfile)
{
	const char *which = argc > 1 ? argv[1] : "sqlite";
	for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
		if (strcmp(backends[i].name, which) == 0)
			B = &backends[i];
	if (!B) {
		fprintf(stderr, "usage: %s [sqlite|postgresql|mysql] (not %s)\n", prog, which);
		return 2;
	}
	if (B->url_env) {
		const char *u;
		int rc = test_server_url(B->url_env, &u);
		if (rc)
			return rc;
		/* MariaDB through the mariadb dialect, which has RETURNING for the generated keys */
		if (strncmp(u, "mysql://", 8) == 0)
			snprintf(url, sizeof url, "mariadb://%s", u + 8);
		else
			snprintf(url, sizeof url, "%s", u);
	} else {
		unlink(dbfile);
		snprintf(url, sizeof url, "sqlite:///%s", dbfile);
	}
	ath_buf sp = mp("%s", spec);
	if (ath_registry_create(&reg, sp.ptr, sp.size) != ATH_OK)
		fail_now("registry");
	mp_free(&sp);
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.flags = ATH_ENGINE_ECHO;
	o.log_cb = on_log;
	o.metadata = ath_registry_metadata(reg);
	if (ath_engine_create(&eng, url, &o) != ATH_OK)
		fail_now("engine");
	ath_engine_drop_all(eng, ath_registry_metadata(reg), 0);
	if (ath_engine_create_all(eng, ath_registry_metadata(reg), 0) != ATH_OK)
		fail_now("create_all");
	return 0;
}

static inline int ormtest_finish(void)
{
	ath_engine_drop_all(eng, ath_registry_metadata(reg), 0);
	ath_engine_free(eng);
	ath_registry_free(reg);
	return test_exit();
}

#endif
