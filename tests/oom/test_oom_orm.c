/* test_oom_orm.c — the out-of-memory walk of test_oom.c over the ORM: configuring a registry,
 * a unit of work (inserts with generated keys, updates, an orphan delete, many-to-many rows,
 * commit), loading (selectin, joined, lazy, get, relationship criteria), ORM DML and merge, and
 * the mapping patterns (joined-table inheritance, self-referential many-to-many, subquery loading).
 * Each failed run must return a negative code with OutOfMemoryError, leak nothing (LeakSanitizer
 * at exit), and the same engine and registry must work again right after. */
#include <athanor/athanor.h>
#include <string.h>

#include "test.h"
#include "util/alloc.h"
#include "wirejson.h"

static const char *SPEC =
	"{\"k\": \"registry\", \"metadata\": {\"k\": \"metadata\", \"tables\": ["
	" {\"name\": \"users\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"name\", \"type\": [\"String\", 50]}, {\"name\": \"version\", \"type\": [\"Integer\"]}]},"
	" {\"name\": \"addresses\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"email\", \"type\": [\"String\", 50]}, {\"name\": \"user_id\", \"type\": [\"Integer\"]}],"
	"  \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"user_id\"], \"ref_table\": \"users\", \"ref_columns\": [\"id\"]}]},"
	" {\"name\": \"tags\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"word\", \"type\": [\"String\", 20]}]},"
	" {\"name\": \"user_tags\", \"columns\": [{\"name\": \"user_id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"tag_id\", \"type\": [\"Integer\"], \"primary_key\": true}],"
	"  \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"user_id\"], \"ref_table\": \"users\", \"ref_columns\": [\"id\"]},"
	"                  {\"k\": \"foreign_key\", \"columns\": [\"tag_id\"], \"ref_table\": \"tags\", \"ref_columns\": [\"id\"]}]},"
	" {\"name\": \"staff\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"name\", \"type\": [\"String\", 20]}, {\"name\": \"type\", \"type\": [\"String\", 20]}]},"
	" {\"name\": \"engineers\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"lang\", \"type\": [\"String\", 20]}],"
	"  \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"id\"], \"ref_table\": \"staff\", \"ref_columns\": [\"id\"]}]},"
	" {\"name\": \"nodes\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}]},"
	" {\"name\": \"edges\", \"columns\": [{\"name\": \"l\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"r\", \"type\": [\"Integer\"], \"primary_key\": true}],"
	"  \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"l\"], \"ref_table\": \"nodes\", \"ref_columns\": [\"id\"]},"
	"                  {\"k\": \"foreign_key\", \"columns\": [\"r\"], \"ref_table\": \"nodes\", \"ref_columns\": [\"id\"]}]}]},"
	" \"classes\": ["
	"  {\"name\": \"User\", \"table\": \"users\", \"version_id\": \"version\", \"relationships\": {"
	"    \"addresses\": {\"target\": \"Address\", \"back_populates\": \"user\", \"cascade\": [\"all\", \"delete-orphan\"]},"
	"    \"tags\": {\"target\": \"Tag\", \"secondary\": \"user_tags\"}}},"
	"  {\"name\": \"Address\", \"table\": \"addresses\", \"relationships\": {\"user\": {\"target\": \"User\", \"back_populates\": \"addresses\"}}},"
	"  {\"name\": \"Tag\", \"table\": \"tags\"},"
	"  {\"name\": \"Staff\", \"table\": \"staff\", \"polymorphic_on\": \"type\", \"polymorphic_identity\": \"s\"},"
	"  {\"name\": \"Engineer\", \"inherits\": \"Staff\", \"table\": \"engineers\", \"polymorphic_identity\": \"e\"},"
	"  {\"name\": \"Node\", \"table\": \"nodes\", \"relationships\": {\"next\": {\"target\": \"Node\", \"secondary\": \"edges\","
	"    \"primaryjoin\": [\"=\", [\"col\", \"nodes\", \"id\"], [\"col\", \"edges\", \"l\"]],"
	"    \"secondaryjoin\": [\"=\", [\"col\", \"nodes\", \"id\"], [\"col\", \"edges\", \"r\"]]}}}]}";

typedef struct fixture {
	ath_registry *reg;
	ath_engine *engine;
} fixture;

static ath_buf spec;

static int set_str(ath_obj *o, const char *attr, const char *v)
{
	char b[64];
	size_t n = strlen(v);
	b[0] = (char)(0xa0 | n); /* fixstr: the values here are short */
	memcpy(b + 1, v, n);
	return ath_obj_set(o, attr, b, n + 1);
}

static int exec(ath_session *s, const char *shape, const char *params, uint32_t flags)
{
	ath_buf sh = mp("%s", shape), p = params ? mp("%s", params) : (ath_buf)ATH_BUF_INIT, out = ATH_BUF_INIT;
	int rc = ath_session_execute(&out, s, sh.ptr, sh.size, p.ptr, p.size, flags);
	mp_free(&sh);
	mp_free(&p);
	ath_buf_dispose(&out);
	return rc;
}

static int w_registry(fixture *f)
{
	ath_registry *r = NULL;
	int rc = ath_registry_create(&r, spec.ptr, spec.size);
	if (rc == 0)
		rc = ath_registry_attr(r, ath_registry_class(r, "User"), "addresses") == 3 ? 0 : -1;
	ath_registry_free(r);
	(void)f;
	return rc;
}

static int w_unit_of_work(fixture *f)
{
	ath_session *s = NULL;
	ath_obj *u = NULL, *a1 = NULL, *a2 = NULL, *t = NULL;
	int rc = ath_session_create(&s, f->engine, f->reg, NULL);
	if (rc == 0)
		rc = ath_obj_create(&u, f->reg, "User");
	if (rc == 0)
		rc = ath_obj_create(&a1, f->reg, "Address");
	if (rc == 0)
		rc = ath_obj_create(&a2, f->reg, "Address");
	if (rc == 0)
		rc = ath_obj_create(&t, f->reg, "Tag");
	if (rc == 0)
		rc = set_str(u, "name", "walker");
	if (rc == 0)
		rc = set_str(a1, "email", "w1@x");
	if (rc == 0)
		rc = set_str(a2, "email", "w2@x");
	if (rc == 0)
		rc = set_str(t, "word", "oom");
	if (rc == 0)
		rc = ath_obj_link(u, "addresses", a1);
	if (rc == 0)
		rc = ath_obj_link(u, "addresses", a2);
	if (rc == 0)
		rc = ath_obj_link(u, "tags", t);
	if (rc == 0)
		rc = ath_session_add(s, u);
	if (rc == 0)
		rc = ath_session_flush(s);
	if (rc == 0)
		rc = set_str(u, "name", "walker2");
	if (rc == 0)
		rc = ath_obj_unlink(u, "addresses", a2); /* an orphan: deleted */
	if (rc == 0)
		rc = ath_session_flush(s);
	if (rc == 0)
		rc = ath_session_delete(s, u);
	if (rc == 0)
		rc = ath_session_commit(s);
	ath_obj_free(u);
	ath_obj_free(a1);
	ath_obj_free(a2);
	ath_obj_free(t);
	ath_session_close(s);
	return rc;
}

static int w_loading(fixture *f)
{
	ath_session *s = NULL;
	ath_obj *u = NULL, *a = NULL, *back = NULL;
	size_t n = 0;
	int rc = ath_session_create(&s, f->engine, f->reg, NULL);
	if (rc == 0)
		rc = exec(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"options\": [[\"selectinload\", [\"User\", \"addresses\"]], "
			     "[\"joinedload\", [\"User\", \"tags\"]]]}", NULL, 0);
	if (rc == 0) {
		ath_buf k = mp("[1]");
		rc = ath_session_get(&u, s, "User", k.ptr, k.size);
		mp_free(&k);
	}
	if (rc == 0 && u)
		rc = ath_obj_related_count(&n, u, "addresses");
	if (rc == 0 && u && n)
		rc = ath_obj_related(&a, u, "addresses", 0);
	if (rc == 0 && a)
		rc = ath_session_expire(s, a, NULL, 0);
	if (rc == 0 && a)
		rc = ath_obj_related(&back, a, "user", 0); /* lazy, through the identity map */
	if (rc == 0)
		rc = exec(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"where\": [\"any\", [\"rel\", \"User\", \"addresses\"], "
			     "[\"like\", [\"attr\", \"Address\", \"email\"], [\"bind\", 0]]]}", "[\"s%\"]", ATH_ROWS_SCALARS);
	ath_obj_free(back);
	ath_obj_free(a);
	ath_obj_free(u);
	ath_session_close(s);
	return rc;
}

static int w_dml_merge(fixture *f)
{
	ath_session *s = NULL, *s2 = NULL;
	ath_obj *u = NULL, *m = NULL;
	int rc = ath_session_create(&s, f->engine, f->reg, NULL);
	if (rc == 0)
		rc = exec(s, "{\"k\": \"insert\", \"table\": [\"entity\", \"User\"]}", "[{\"name\": \"b1\", \"version\": 1}, {\"name\": \"b2\", \"version\": 1}]", 0);
	if (rc == 0)
		rc = exec(s, "{\"k\": \"update\", \"table\": [\"entity\", \"User\"], \"set\": [[\"name\", [\"bind\", 0]]], "
			     "\"where\": [\"=\", [\"attr\", \"User\", \"name\"], [\"bind\", 1]]}", "[\"b3\", \"b1\"]", 0);
	if (rc == 0) {
		ath_buf k = mp("[1]");
		rc = ath_session_get(&u, s, "User", k.ptr, k.size);
		mp_free(&k);
	}
	if (rc == 0)
		rc = ath_session_expunge(s, u);
	if (rc == 0)
		rc = set_str(u, "name", "merged");
	if (rc == 0)
		rc = ath_session_create(&s2, f->engine, f->reg, NULL);
	if (rc == 0)
		rc = ath_session_merge(&m, s2, u, 0);
	if (rc == 0)
		rc = ath_session_flush(s2);
	ath_obj_free(m);
	ath_obj_free(u);
	ath_session_close(s2);
	ath_session_close(s);
	return rc;
}

/* joined-table inheritance, a self-referential many-to-many, subquery eager loading */
static int w_patterns(fixture *f)
{
	ath_session *s = NULL;
	ath_obj *e = NULL, *n1 = NULL, *n2 = NULL;
	int rc = ath_session_create(&s, f->engine, f->reg, NULL);
	if (rc == 0)
		rc = ath_obj_create(&e, f->reg, "Engineer");
	if (rc == 0)
		rc = ath_obj_create(&n1, f->reg, "Node");
	if (rc == 0)
		rc = ath_obj_create(&n2, f->reg, "Node");
	if (rc == 0)
		rc = set_str(e, "name", "ed");
	if (rc == 0)
		rc = set_str(e, "lang", "c");
	if (rc == 0)
		rc = ath_obj_link(n1, "next", n2);
	if (rc == 0)
		rc = ath_session_add(s, e);
	if (rc == 0)
		rc = ath_session_add(s, n1);
	if (rc == 0)
		rc = ath_session_flush(s);
	if (rc == 0)
		rc = set_str(e, "lang", "lua");
	if (rc == 0)
		rc = set_str(e, "name", "eddie");
	if (rc == 0)
		rc = ath_session_flush(s);
	if (rc == 0)
		rc = exec(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"User\"]], \"options\": [[\"subqueryload\", [\"User\", "
			     "\"addresses\"]]]}", NULL, 0);
	if (rc == 0)
		rc = exec(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Staff\"]]}", NULL, 0);
	if (rc == 0)
		rc = exec(s, "{\"k\": \"select\", \"columns\": [[\"entity\", \"Node\"]], \"where\": [\"any\", [\"rel\", \"Node\", "
			     "\"next\"]]}", NULL, 0);
	if (rc == 0)
		rc = ath_session_delete(s, e);
	if (rc == 0)
		rc = ath_session_delete(s, n1);
	if (rc == 0)
		rc = ath_session_commit(s);
	ath_obj_free(e);
	ath_obj_free(n1);
	ath_obj_free(n2);
	ath_session_close(s);
	return rc;
}

/* registry, engine with the schema, and rows to load: not under failure */
static int setup(fixture *f)
{
	int rc = ath_registry_create(&f->reg, spec.ptr, spec.size);
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.compile_cache_size = 4; /* small, so evictions run under failure too */
	if (rc == 0) {
		o.metadata = ath_registry_metadata(f->reg);
		rc = ath_engine_create(&f->engine, "sqlite://", &o);
	}
	if (rc == 0)
		rc = ath_engine_create_all(f->engine, ath_registry_metadata(f->reg), 0);
	ath_session *s = NULL;
	if (rc == 0)
		rc = ath_session_create(&s, f->engine, f->reg, NULL);
	if (rc == 0)
		rc = exec(s, "{\"k\": \"insert\", \"table\": [\"entity\", \"User\"]}", "[{\"id\": 1, \"name\": \"seed\", \"version\": 1}]", 0);
	if (rc == 0)
		rc = exec(s, "{\"k\": \"insert\", \"table\": [\"entity\", \"Address\"]}",
			  "[{\"email\": \"s1@x\", \"user_id\": 1}, {\"email\": \"s2@x\", \"user_id\": 1}]", 0);
	if (rc == 0)
		rc = ath_session_commit(s);
	ath_session_close(s);
	return rc;
}

static void teardown(fixture *f)
{
	ath_engine_free(f->engine);
	ath_registry_free(f->reg);
	memset(f, 0, sizeof *f);
}

static int failed_clean(int rc, const char *label, long n)
{
	const ath_error *e = ath_error_last();
	if (rc < 0 && e->klass == ATH_ERRCLASS_OUT_OF_MEMORY_ERROR && e->code == ATH_ENOMEM)
		return 1;
	fprintf(stderr, "FAIL %s at allocation %ld: rc %d, %s: %s\n", label, n, rc, ath_error_class_name(e->klass),
		e->message);
	test_failures++;
	return 0;
}

static void walk(const char *label, int (*workload)(fixture *))
{
	int sites = 0;
	TEST_CASE(label);
	const char *only = getenv("ATHANOR_OOM_ONLY"); /* "label:n": one run, for finding a leak */
	if (only && strncmp(only, label, strlen(label)) != 0)
		return;
	for (long n = only ? atol(strchr(only, ':') + 1) : 0; n < 200000; n++) {
		fixture f = { 0 };
		CHECK_INT(0, setup(&f));
		ath__alloc_fail_after(n);
		int rc = workload(&f);
		ath__alloc_fail_after(-1);
		if (rc == 0) {
			teardown(&f);
			break;
		}
		if (!failed_clean(rc, label, n)) {
			teardown(&f);
			break;
		}
		sites++;
		if (only) {
			fprintf(stderr, "only: failed with %s: %s\n", ath_error_class_name(ath_error_last()->klass), ath_error_last()->message);
			teardown(&f);
			return;
		}
		/* afterwards the same engine and registry still work */
		int again = workload(&f);
		if (again != 0) {
			fprintf(stderr, "FAIL %s: after failing allocation %ld the workload fails again: %s: %s\n", label, n,
				ath_error_class_name(ath_error_last()->klass), ath_error_last()->message);
			test_failures++;
		}
		teardown(&f);
	}
	test_checks++;
	printf("%-28s %4d allocation sites failed cleanly\n", label, sites);
	CHECK(sites > 0);
}

int main(void)
{
	spec = mp("%s", SPEC);
	walk("oom/orm_registry", w_registry);
	walk("oom/orm_unit_of_work", w_unit_of_work);
	walk("oom/orm_loading", w_loading);
	walk("oom/orm_dml_merge", w_dml_merge);
	walk("oom/orm_patterns", w_patterns);
	mp_free(&spec);
	return test_exit();
}
