/* bench_orm.c — the ORM benchmark workloads through athanor's ORM from C, used as a host binding
 * uses it (objects created and read attribute by attribute through ath_obj_*, values as msgpack):
 * W1 insert N new Customer objects in one flush (session.add of each, commit); W3o load N rows as
 * objects (select of the entity, every object's four attributes read once); W4o 10,000 primary-key
 * lookups, a new session each (session.get, as SQLAlchemy's examples/performance/short_selects);
 * W5s 1,000 parents with 10 children each, parents queried with selectinload of their children and
 * every child's attributes read; W5j the same with joinedload (one LEFT OUTER JOIN, rows de-duplicated).
 * Setup (tables, rows) is untimed; each run is timed alone and its result checked against the
 * database (counts, sums), so a run that did nothing fails instead of reporting a time.
 * Usage: bench_orm BACKEND URL WORKLOAD N RUNS; prints one JSON line (benchutil.h). */
#include <athanor/athanor.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "benchutil.h"
#include "jsonwire.h"

#define CHILDREN 10 /* W5: children per parent */

/* customer as in the other programs; parent/child (1:10) for W5 */
static const char *SPEC =
	"{\"k\": \"registry\", \"metadata\": {\"k\": \"metadata\", \"tables\": ["
	" {\"name\": \"customer\", \"columns\": ["
	"   {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"name\", \"type\": [\"String\", 255]},"
	"   {\"name\": \"description\", \"type\": [\"String\", 255]},"
	"   {\"name\": \"value\", \"type\": [\"Integer\"]}]},"
	" {\"name\": \"parent\", \"columns\": ["
	"   {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"name\", \"type\": [\"String\", 255]}]},"
	" {\"name\": \"child\", \"columns\": ["
	"   {\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"
	"   {\"name\": \"parent_id\", \"type\": [\"Integer\"], \"nullable\": false},"
	"   {\"name\": \"name\", \"type\": [\"String\", 255]},"
	"   {\"name\": \"value\", \"type\": [\"Integer\"]}],"
	"  \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"parent_id\"], \"ref_table\": \"parent\", \"ref_columns\": [\"id\"]}]}"
	"]}, \"classes\": ["
	" {\"name\": \"Customer\", \"table\": \"customer\"},"
	" {\"name\": \"Parent\", \"table\": \"parent\", \"relationships\": {"
	"   \"children\": {\"target\": \"Child\", \"back_populates\": \"parent\"}}},"
	" {\"name\": \"Child\", \"table\": \"child\", \"relationships\": {"
	"   \"parent\": {\"target\": \"Parent\", \"back_populates\": \"children\"}}}"
	"]}";

static const char *SELECT_CUSTOMERS = "{\"k\": \"select\", \"columns\": [[\"entity\", \"Customer\"]]}";
static const char *SELECT_PARENTS = "{\"k\": \"select\", \"columns\": [[\"entity\", \"Parent\"]], "
				    "\"options\": [[\"selectinload\", [\"Parent\", \"children\"]]]}";
static const char *SELECT_PARENTS_JOINED = "{\"k\": \"select\", \"columns\": [[\"entity\", \"Parent\"]], "
					   "\"options\": [[\"joinedload\", [\"Parent\", \"children\"]]]}";

static ath_registry *reg;
static ath_engine *eng;
/* attribute indexes (ath_registry_attr), as a binding precomputes them */
static int c_id, c_name, c_desc, c_value, ch_name, ch_value;

static _Noreturn void die(const char *what)
{
	const ath_error *e = ath_error_last();
	fprintf(stderr, "bench_orm: %s: %s: %s\n", what, ath_error_class_name(e->klass), e->message);
	exit(1);
}

static _Noreturn void fail(const char *msg)
{
	fprintf(stderr, "bench_orm: %s\n", msg);
	exit(1);
}

static ath_buf json_mp(const char *json)
{
	json_error_t jerr;
	json_t *j = json_loads(json, 0, &jerr);
	ath_buf out = ATH_BUF_INIT;
	char err[256];
	if (!j || jsonwire_to_msgpack(j, &out, err, sizeof err) != 0) {
		fprintf(stderr, "bench_orm: bad JSON %s: %s\n", json, j ? err : jerr.text);
		exit(2);
	}
	json_decref(j);
	return out;
}

/* ---- msgpack values a host reads: an integer or a string (its length) ------------------------- */

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* The integer, or the length of the string, a msgpack value holds; dies on anything else. */
static long mp_scalar(const ath_buf *b)
{
	const unsigned char *p = b->ptr;
	if (!b->size)
		die("empty value");
	unsigned char t = p[0];
	if (t <= 0x7f)
		return t;
	if (t >= 0xa0 && t <= 0xbf)
		return t & 0x1f;
	switch (t) {
	case 0xcc: return (long)p[1];
	case 0xcd: return (long)be(p + 1, 2);
	case 0xce: return (long)be(p + 1, 4);
	case 0xcf: return (long)be(p + 1, 8);
	case 0xd0: return (int8_t)p[1];
	case 0xd1: return (int16_t)be(p + 1, 2);
	case 0xd2: return (int32_t)be(p + 1, 4);
	case 0xd3: return (long)(int64_t)be(p + 1, 8);
	case 0xd9: return (long)p[1];
	case 0xda: return (long)be(p + 1, 2);
	case 0xdb: return (long)be(p + 1, 4);
	default: break;
	}
	if (t >= 0xe0)
		return (int8_t)t;
	fprintf(stderr, "bench_orm: unexpected msgpack value 0x%02x\n", t);
	exit(1);
}

static long get_scalar(ath_obj *o, int attr, ath_buf *b)
{
	if (ath_obj_get_i(b, o, attr) != ATH_OK)
		die("obj_get");
	return mp_scalar(b);
}

/* The objects of an ATH_ROWS_SCALARS result of entities (an array of ext 1 references): count
 * and callback per object (a new reference the callback releases). */
static size_t each_object(ath_session *s, const ath_buf *rows, void (*fn)(ath_session *, ath_obj *, void *), void *payload)
{
	const unsigned char *p = rows->ptr, *end = p + rows->size;
	size_t n;
	if (p < end && (*p & 0xf0) == 0x90)
		n = *p & 0x0f, p += 1;
	else if (p + 3 <= end && *p == 0xdc)
		n = (size_t)be(p + 1, 2), p += 3;
	else if (p + 5 <= end && *p == 0xdd)
		n = (size_t)be(p + 1, 4), p += 5;
	else
		fail("result is not an array");
	for (size_t i = 0; i < n; i++, p += 10) {
		if (p + 10 > end || p[0] != 0xd7 || p[1] != 1) /* fixext 8, type 1: the object's id */
			fail("a row is not an object reference");
		ath_obj *o = NULL;
		if (ath_session_object(&o, s, be(p + 2, 8)) != ATH_OK)
			die("session_object");
		fn(s, o, payload);
	}
	return n;
}

/* ---- Core checks on what the database holds ------------------------------------------------- */

/* SELECT count(*), CAST(coalesce(sum(<col>), 0) AS INTEGER) FROM <table> as two longs (the cast:
 * MariaDB's sum is a DECIMAL, PostgreSQL's a bigint) */
static void db_count_sum(const char *table, const char *col, long *count, long *sum)
{
	char json[512];
	snprintf(json, sizeof json,
		 "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []], [\"cast\", [\"fn\", \"coalesce\", [[\"fn\", \"sum\", "
		 "[[\"col\", \"%s\", \"%s\"]]], [\"lit\", 0]]], [\"Integer\"]]], \"from\": [[\"table\", \"%s\"]]}",
		 table, col, table);
	ath_buf sh = json_mp(json), out = ATH_BUF_INIT;
	ath_conn *c = NULL;
	ath_result *r = NULL;
	if (ath_engine_connect(&c, eng) != ATH_OK || ath_conn_execute(&r, c, sh.ptr, sh.size, NULL, 0) != ATH_OK ||
	    ath_result_fetch_all(&out, r) != ATH_OK)
		die("count");
	/* [[count, sum]]: two array headers, then two scalars */
	const unsigned char *p = out.ptr;
	for (int level = 0; level < 2; level++) {
		if (out.size < (size_t)(p - out.ptr) + 6 || !((*p & 0xf0) == 0x90 || *p == 0xdc || *p == 0xdd))
			die("count result");
		p += *p == 0xdc ? 3 : *p == 0xdd ? 5 : 1;
	}
	ath_buf v = { (unsigned char *)p, 0, out.size - (size_t)(p - out.ptr) };
	*count = mp_scalar(&v);
	size_t skip = p[0] <= 0x7f ? 1 : p[0] == 0xcc ? 2 : p[0] == 0xcd ? 3 : p[0] == 0xce ? 5 : 9;
	v.ptr += skip, v.size -= skip;
	*sum = mp_scalar(&v);
	ath_buf_dispose(&out);
	ath_result_close(r);
	ath_conn_close(c);
	free(sh.ptr);
}

static void fresh_tables(void)
{
	const ath_metadata *md = ath_registry_metadata(reg);
	ath_engine_drop_all(eng, md, 0);
	if (ath_engine_create_all(eng, md, 0) != ATH_OK)
		die("create_all");
}

static ath_session *session(void)
{
	ath_session *s = NULL;
	if (ath_session_create(&s, eng, reg, NULL) != ATH_OK)
		die("session");
	return s;
}

/* a msgpack string or integer into buf (at least 72 bytes) */
static size_t mp_str(unsigned char *buf, const char *s)
{
	size_t n = strlen(s), h;
	if (n < 32)
		buf[0] = (unsigned char)(0xa0 | n), h = 1;
	else
		buf[0] = 0xd9, buf[1] = (unsigned char)n, h = 2;
	memcpy(buf + h, s, n);
	return h + n;
}

static size_t mp_int(unsigned char *buf, long v)
{
	buf[0] = 0xd2;
	for (int i = 0; i < 4; i++)
		buf[1 + i] = (unsigned char)((uint32_t)v >> (24 - 8 * i));
	return 5;
}

static void set_i(ath_obj *o, int attr, const unsigned char *v, size_t len)
{
	if (ath_obj_set_i(o, attr, v, len) != ATH_OK)
		die("obj_set");
}

/* ---- W1: N new objects, one flush ----------------------------------------------------------- */

static void insert_customers(long n)
{
	ath_session *s = session();
	for (long i = 0; i < n; i++) {
		char name[64], desc[64];
		unsigned char v[80];
		bench_name(name, sizeof name, i);
		bench_description(desc, sizeof desc, i);
		ath_obj *o = NULL;
		if (ath_obj_create(&o, reg, "Customer") != ATH_OK)
			die("obj_create");
		set_i(o, c_name, v, mp_str(v, name));
		set_i(o, c_desc, v, mp_str(v, desc));
		set_i(o, c_value, v, mp_int(v, bench_value(i)));
		if (ath_session_add(s, o) != ATH_OK)
			die("add");
		ath_obj_free(o); /* the session holds pending objects */
	}
	if (ath_session_commit(s) != ATH_OK)
		die("commit");
	ath_session_close(s);
}

static long expected_value_sum(long n)
{
	long sum = 0;
	for (long i = 0; i < n; i++)
		sum += bench_value(i);
	return sum;
}

static void check_customers(long n)
{
	long count, sum;
	db_count_sum("customer", "value", &count, &sum);
	if (count != n || sum != expected_value_sum(n)) {
		fprintf(stderr, "bench_orm: customer holds %ld rows, sum %ld (expected %ld, %ld)\n", count, sum, n,
			expected_value_sum(n));
		exit(1);
	}
}

/* ---- W3o: load N objects, read each attribute once ------------------------------------------ */

typedef struct {
	ath_buf val;
	long check, rows;
} touch;

static void touch_customer(ath_session *s, ath_obj *o, void *payload)
{
	(void)s;
	touch *t = payload;
	t->check += get_scalar(o, c_id, &t->val) > 0;
	t->check += get_scalar(o, c_name, &t->val) > 0;
	t->check += get_scalar(o, c_desc, &t->val) > 0;
	t->rows += get_scalar(o, c_value, &t->val);
	ath_obj_free(o);
}

/* ---- W5s: parents with selectin-loaded children --------------------------------------------- */

static void insert_families(long parents)
{
	ath_session *s = session();
	unsigned char v[80];
	char name[64];
	for (long i = 0; i < parents; i++) {
		ath_obj *p = NULL;
		if (ath_obj_create(&p, reg, "Parent") != ATH_OK)
			die("obj_create");
		bench_name(name, sizeof name, i);
		if (ath_obj_set(p, "name", v, mp_str(v, name)) != ATH_OK)
			die("obj_set");
		for (long k = 0; k < CHILDREN; k++) {
			ath_obj *c = NULL;
			long j = i * CHILDREN + k;
			if (ath_obj_create(&c, reg, "Child") != ATH_OK)
				die("obj_create");
			bench_name(name, sizeof name, j);
			set_i(c, ch_name, v, mp_str(v, name));
			set_i(c, ch_value, v, mp_int(v, bench_value(j)));
			if (ath_obj_link(p, "children", c) != ATH_OK)
				die("link");
			ath_obj_free(c);
		}
		if (ath_session_add(s, p) != ATH_OK)
			die("add");
		ath_obj_free(p);
	}
	if (ath_session_commit(s) != ATH_OK)
		die("commit");
	ath_session_close(s);
}

static void touch_parent(ath_session *s, ath_obj *p, void *payload)
{
	(void)s;
	touch *t = payload;
	size_t n = 0;
	if (ath_obj_related_count(&n, p, "children") != ATH_OK)
		die("related_count");
	for (size_t i = 0; i < n; i++) {
		ath_obj *c = NULL;
		if (ath_obj_related(&c, p, "children", i) != ATH_OK)
			die("related");
		t->check += get_scalar(c, ch_name, &t->val) > 0;
		t->check += get_scalar(c, ch_value, &t->val);
		t->rows++;
		ath_obj_free(c);
	}
	ath_obj_free(p);
}

/* Run an entity select in a new session and visit every object; returns the row count. */
static size_t load(const ath_buf *shape, void (*fn)(ath_session *, ath_obj *, void *), touch *t)
{
	ath_session *s = session();
	ath_buf rows = ATH_BUF_INIT;
	if (ath_session_execute(&rows, s, shape->ptr, shape->size, NULL, 0, ATH_ROWS_SCALARS) != ATH_OK)
		die("execute");
	size_t n = each_object(s, &rows, fn, t);
	ath_buf_dispose(&rows);
	ath_session_close(s);
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 6)
		return fprintf(stderr, "usage: bench_orm BACKEND URL WORKLOAD N RUNS\n"), 2;
	const char *backend = argv[1], *url = argv[2], *w = argv[3];
	long n = atol(argv[4]);
	int nruns = atoi(argv[5]);
	if (n <= 0 || nruns <= 0 || nruns > 100)
		return fprintf(stderr, "bench_orm: bad N or RUNS\n"), 2;
	if (strcmp(w, "W1") && strcmp(w, "W3o") && strcmp(w, "W4o") && strcmp(w, "W5s") && strcmp(w, "W5j"))
		return fprintf(stderr, "bench_orm: no athanor ORM form of %s\n",
			       w),
		       2;
	double runs[100];
	ath_buf spec = json_mp(SPEC);
	if (ath_registry_create(&reg, spec.ptr, spec.size) != ATH_OK)
		die("registry");
	free(spec.ptr);
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.metadata = ath_registry_metadata(reg);
	if (ath_engine_create(&eng, url, &o) != ATH_OK)
		die("engine");
	int cust = ath_registry_class(reg, "Customer"), child = ath_registry_class(reg, "Child");
	c_id = ath_registry_attr(reg, cust, "id");
	c_name = ath_registry_attr(reg, cust, "name");
	c_desc = ath_registry_attr(reg, cust, "description");
	c_value = ath_registry_attr(reg, cust, "value");
	ch_name = ath_registry_attr(reg, child, "name");
	ch_value = ath_registry_attr(reg, child, "value");
	if (c_id < 0 || c_name < 0 || c_desc < 0 || c_value < 0 || ch_name < 0 || ch_value < 0)
		die("registry_attr");
	ath_buf customers = json_mp(SELECT_CUSTOMERS),
		parents = json_mp(strcmp(w, "W5j") == 0 ? SELECT_PARENTS_JOINED : SELECT_PARENTS);
	long reported = n;

	if (strcmp(w, "W1") == 0) {
		for (int k = 0; k < nruns; k++) {
			fresh_tables();
			double t0 = bench_now();
			insert_customers(n);
			runs[k] = bench_now() - t0;
			check_customers(n);
		}
	} else if (strcmp(w, "W3o") == 0) {
		fresh_tables();
		insert_customers(n);
		check_customers(n);
		for (int k = 0; k < nruns; k++) {
			touch t = { ATH_BUF_INIT, 0, 0 };
			double t0 = bench_now();
			size_t got = load(&customers, touch_customer, &t);
			runs[k] = bench_now() - t0;
			ath_buf_dispose(&t.val);
			if ((long)got != n || t.check != 3 * n || t.rows != expected_value_sum(n))
				return fprintf(stderr, "bench_orm: W3o read %zu objects (check %ld, sum %ld)\n", got, t.check,
					       t.rows),
				       1;
		}
	} else if (strcmp(w, "W4o") == 0) {
		fresh_tables();
		insert_customers(n);
		check_customers(n);
		ath_buf val = ATH_BUF_INIT;
		for (int k = 0; k < nruns; k++) {
			long found = 0;
			double t0 = bench_now();
			for (long i = 0; i < BENCH_LOOKUPS; i++) {
				long id = bench_lookup_id(i, n);
				unsigned char pk[8];
				ath_session *s = session();
				ath_obj *c = NULL;
				if (ath_session_get(&c, s, "Customer", pk, mp_int(pk, id)) != ATH_OK)
					die("get");
				if (c && get_scalar(c, c_id, &val) == id && get_scalar(c, c_value, &val) == bench_value(id - 1))
					found++;
				ath_obj_free(c);
				ath_session_close(s);
			}
			runs[k] = bench_now() - t0;
			if (found != BENCH_LOOKUPS)
				return fprintf(stderr, "bench_orm: W4o found %ld of %ld\n", found, BENCH_LOOKUPS), 1;
		}
		ath_buf_dispose(&val);
		reported = BENCH_LOOKUPS;
	} else { /* W5s, W5j */
		fresh_tables();
		insert_families(n);
		long count, sum;
		db_count_sum("child", "value", &count, &sum);
		if (count != n * CHILDREN)
			return fprintf(stderr, "bench_orm: W5 setup wrote %ld children\n", count), 1;
		for (int k = 0; k < nruns; k++) {
			touch t = { ATH_BUF_INIT, 0, 0 };
			double t0 = bench_now();
			size_t got = load(&parents, touch_parent, &t);
			runs[k] = bench_now() - t0;
			ath_buf_dispose(&t.val);
			if ((long)got != n || t.rows != n * CHILDREN || t.check != n * CHILDREN + sum)
				return fprintf(stderr, "bench_orm: %s read %zu parents, %ld children (check %ld)\n", w, got, t.rows,
					       t.check),
				       1;
		}
	}
	bench_report(w, "athanor-orm", backend, reported, runs, nruns);
	ath_engine_drop_all(eng, ath_registry_metadata(reg), 0);
	free(customers.ptr);
	free(parents.ptr);
	ath_engine_free(eng);
	ath_registry_free(reg);
	return 0;
}
