/* bench_core.c — the benchmark workloads through athanor Core from C (statements as msgpack
 * shapes, as a host binding sends them): W2 executemany insert of N customers, W3 load N rows,
 * W4 10,000 primary-key lookups, W6 compile time per statement with the compile cache off (W6c)
 * and lookup time with it on (W6h). Setup (table, rows) is untimed; each run is timed alone. Row
 * batches are read as a binding reads them: one pass over the msgpack bytes touching every value
 * (consume()), not through msgpack-c's object tree.
 * Usage: bench_core BACKEND URL WORKLOAD N RUNS; prints one JSON line (benchutil.h). */
#include <athanor/athanor.h>
#include <msgpack.h>
#include <string.h>

#include "benchutil.h"

static msgpack_sbuffer sb;
static msgpack_packer pk;

static void begin(void)
{
	msgpack_sbuffer_clear(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
}

static void str(const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(&pk, n);
	msgpack_pack_str_body(&pk, s, n);
}

static void col(const char *name)
{
	msgpack_pack_array(&pk, 3);
	str("col");
	str("customer");
	str(name);
}

static void bind_ph(int i)
{
	msgpack_pack_array(&pk, 2);
	str("bind");
	msgpack_pack_int(&pk, i);
}

/* A copy of the packed tree, kept across runs. */
static ath_buf take(void)
{
	ath_buf b = { malloc(sb.size), sb.size, sb.size };
	memcpy(b.ptr, sb.data, sb.size);
	return b;
}

static void die(const char *what)
{
	const ath_error *e = ath_error_last();
	fprintf(stderr, "bench_core: %s: %s: %s\n", what, ath_error_class_name(e->klass), e->message);
	exit(1);
}

static void text(ath_conn *c, const char *sql)
{
	begin();
	msgpack_pack_map(&pk, 2);
	str("k");
	str("text");
	str("sql");
	str(sql);
	ath_result *r = NULL;
	if (ath_conn_execute(&r, c, sb.data, sb.size, NULL, 0) != ATH_OK)
		die(sql);
	ath_result_close(r);
}

static const char *ddl(const char *backend)
{
	if (strcmp(backend, "postgresql") == 0)
		return "CREATE TABLE customer (id SERIAL PRIMARY KEY, name VARCHAR(255), description VARCHAR(255), value INTEGER)";
	if (strcmp(backend, "sqlite") == 0)
		return "CREATE TABLE customer (id INTEGER PRIMARY KEY, name VARCHAR(255), description VARCHAR(255), value INTEGER)";
	return "CREATE TABLE customer (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255), description VARCHAR(255), "
	       "value INTEGER)";
}

/* INSERT INTO customer (name, description, value) VALUES (?, ?, ?) */
static ath_buf insert_shape(void)
{
	begin();
	msgpack_pack_map(&pk, 4);
	str("k");
	str("insert");
	str("table");
	msgpack_pack_array(&pk, 2);
	str("table");
	str("customer");
	str("columns");
	msgpack_pack_array(&pk, 3);
	str("name");
	str("description");
	str("value");
	str("values");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 3);
	for (int i = 0; i < 3; i++)
		bind_ph(i);
	return take();
}

/* SELECT id, name, description, value FROM customer [WHERE id = ?] */
static ath_buf select_shape(int by_pk)
{
	begin();
	msgpack_pack_map(&pk, by_pk ? 3 : 2);
	str("k");
	str("select");
	str("columns");
	msgpack_pack_array(&pk, 4);
	col("id");
	col("name");
	col("description");
	col("value");
	if (by_pk) {
		str("where");
		msgpack_pack_array(&pk, 3);
		str("=");
		col("id");
		bind_ph(0);
	}
	return take();
}

static ath_buf rows_params(long n)
{
	begin();
	msgpack_pack_array(&pk, (size_t)n);
	for (long i = 0; i < n; i++) {
		char name[64], desc[64];
		bench_name(name, sizeof name, i);
		bench_description(desc, sizeof desc, i);
		msgpack_pack_array(&pk, 3);
		str(name);
		str(desc);
		msgpack_pack_long(&pk, bench_value(i));
	}
	return take();
}

static void fresh_table(ath_conn *c, const char *backend)
{
	text(c, "DROP TABLE IF EXISTS customer");
	text(c, ddl(backend));
	if (ath_conn_commit(c) != ATH_OK)
		die("commit");
}

static void insert_rows(ath_conn *c, const ath_buf *shape, const ath_buf *params)
{
	ath_result *r = NULL;
	if (ath_conn_executemany(&r, c, shape->ptr, shape->size, params->ptr, params->size) != ATH_OK)
		die("executemany");
	ath_result_close(r);
	if (ath_conn_commit(c) != ATH_OK)
		die("commit");
}

/* A host's reader of a batch: one pass over the bytes, each value decoded where it lies, as the
 * Lua binding's decoder (bindings/lua/luaglue.c) turns a batch straight into Lua tables; no
 * host builds msgpack-c's object tree of a whole batch first only to walk it again. Bounds are
 * checked on every read, as for any bytes a host receives. */
typedef struct reader {
	const unsigned char *p, *end;
} reader;

static uint64_t be_read(reader *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		die("batch truncated");
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | r->p[i];
	r->p += n;
	return v;
}

static void skip_bytes(reader *r, uint64_t n)
{
	if ((uint64_t)(r->end - r->p) < n)
		die("batch truncated");
	r->p += n;
}

/* Decode one value and touch it (positive integers and string lengths go into *check, as raw C
 * reads its columns); containers are walked. */
static void read_value(reader *r, long *check, int depth)
{
	if (r->p >= r->end || depth > 32)
		die("bad batch");
	unsigned b = *r->p++;
	uint64_t n = 0;
	if (b <= 0x7f) {
		*check += (long)b;
		return;
	}
	if (b >= 0xe0)
		return; /* negative fixint */
	if (b >= 0xa0 && b <= 0xbf) {
		*check += (long)(b & 0x1f);
		skip_bytes(r, b & 0x1f);
		return;
	}
	if (b <= 0x9f) { /* fixmap, fixarray */
		n = (b & 0x0f) * (b <= 0x8f ? 2u : 1u);
		for (uint64_t i = 0; i < n; i++)
			read_value(r, check, depth + 1);
		return;
	}
	switch (b) {
	case 0xc0: case 0xc2: case 0xc3: return;
	case 0xcc: case 0xcd: case 0xce: case 0xcf: *check += (long)be_read(r, (size_t)1 << (b - 0xcc)); return;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: { /* signed: only positive values count */
		size_t w = (size_t)1 << (b - 0xd0);
		uint64_t u = be_read(r, w);
		if (!(u >> (8 * w - 1)))
			*check += (long)u;
		return;
	}
	case 0xca: skip_bytes(r, 4); return;
	case 0xcb: skip_bytes(r, 8); return;
	case 0xd9: case 0xda: case 0xdb:
		n = be_read(r, (size_t)1 << (b - 0xd9));
		*check += (long)n;
		skip_bytes(r, n);
		return;
	case 0xc4: case 0xc5: case 0xc6: skip_bytes(r, be_read(r, (size_t)1 << (b - 0xc4))); return;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: skip_bytes(r, 1 + ((uint64_t)1 << (b - 0xd4))); return;
	case 0xc7: case 0xc8: case 0xc9: n = be_read(r, b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4); skip_bytes(r, 1 + n); return;
	case 0xdc: case 0xdd: case 0xde: case 0xdf:
		n = be_read(r, b & 1 ? 4 : 2) * (b >= 0xde ? 2u : 1u);
		for (uint64_t i = 0; i < n; i++)
			read_value(r, check, depth + 1);
		return;
	default: die("bad batch");
	}
}

/* Read a batch (an array of rows) as a host would, touching every value; returns the number of rows. */
static long consume(const ath_buf *batch, long *check)
{
	reader r = { batch->ptr, batch->ptr + batch->size };
	if (r.p >= r.end || *r.p != 0xdd) /* ath_result_fetch's array32 of rows */
		die("unpack");
	r.p++;
	uint64_t rows = be_read(&r, 4);
	for (uint64_t i = 0; i < rows; i++) {
		if (r.p >= r.end)
			die("batch truncated");
		unsigned h = *r.p++;
		uint64_t ncols = (h & 0xf0) == 0x90 ? h & 0x0f : h == 0xdc ? be_read(&r, 2) : h == 0xdd ? be_read(&r, 4) : 0;
		if ((h & 0xf0) != 0x90 && h != 0xdc && h != 0xdd)
			die("row is not an array");
		for (uint64_t j = 0; j < ncols; j++)
			read_value(&r, check, 1);
	}
	if (r.p != r.end)
		die("trailing bytes in batch");
	return (long)rows;
}

static long fetch_rows(ath_result *r, ath_buf *batch, long *check)
{
	long got = 0;
	int rc;
	while ((rc = ath_result_fetch(batch, r, 1000)) == ATH_OK)
		got += consume(batch, check);
	if (rc != ATH_ITEROVER)
		die("fetch");
	return got;
}

static ath_engine *engine(const char *url, uint32_t flags)
{
	ath_engine_options o;
	ath_engine *e = NULL;
	if (ath_engine_options_init(&o, ATH_ENGINE_OPTIONS_VERSION) < 0)
		die("options");
	o.flags = flags;
	if (ath_engine_create(&e, url, &o) != ATH_OK)
		die("engine");
	return e;
}

int main(int argc, char **argv)
{
	if (argc != 6)
		return fprintf(stderr, "usage: bench_core BACKEND URL WORKLOAD N RUNS\n"), 2;
	const char *backend = argv[1], *url = argv[2], *w = argv[3];
	long n = atol(argv[4]);
	int nruns = atoi(argv[5]);
	if (n <= 0 || nruns <= 0 || nruns > 100)
		return fprintf(stderr, "bench_core: bad N or RUNS\n"), 2;
	double runs[100];
	msgpack_sbuffer_init(&sb);

	if (strcmp(w, "W6c") == 0 || strcmp(w, "W6h") == 0) { /* never connected */
		ath_engine *e = engine(url, strcmp(w, "W6c") == 0 ? ATH_ENGINE_NO_COMPILE_CACHE : 0);
		ath_buf shape = select_shape(1), out = ATH_BUF_INIT;
		if (ath_engine_compile(&out, e, shape.ptr, shape.size) != ATH_OK) /* warm-up; fills the cache */
			die("compile");
		for (int k = 0; k < nruns; k++) {
			double t0 = bench_now();
			for (long i = 0; i < n; i++)
				if (ath_engine_compile(&out, e, shape.ptr, shape.size) != ATH_OK)
					die("compile");
			runs[k] = bench_now() - t0;
		}
		bench_report(w, "athanor-core", backend, n, runs, nruns);
		ath_buf_dispose(&out);
		free(shape.ptr);
		ath_engine_free(e);
		msgpack_sbuffer_destroy(&sb);
		return 0;
	}

	ath_engine *e = engine(url, 0);
	ath_conn *c = NULL;
	if (ath_engine_connect(&c, e) != ATH_OK)
		die("connect");
	ath_buf ins = insert_shape(), params = rows_params(n);
	ath_buf sel = select_shape(0), by_pk = select_shape(1), batch = ATH_BUF_INIT;
	long check = 0;
	if (strcmp(w, "W2") == 0) {
		for (int k = 0; k < nruns; k++) {
			fresh_table(c, backend);
			double t0 = bench_now();
			insert_rows(c, &ins, &params);
			runs[k] = bench_now() - t0;
		}
	} else if (strcmp(w, "W3") == 0 || strcmp(w, "W4") == 0) {
		fresh_table(c, backend);
		insert_rows(c, &ins, &params);
		for (int k = 0; k < nruns; k++) {
			double t0 = bench_now();
			long got = 0;
			ath_result *r = NULL;
			if (w[1] == '3') {
				if (ath_conn_execute(&r, c, sel.ptr, sel.size, NULL, 0) != ATH_OK)
					die("select");
				got = fetch_rows(r, &batch, &check);
				ath_result_close(r);
			} else {
				for (long i = 0; i < BENCH_LOOKUPS; i++) {
					unsigned char p[16];
					size_t len = 0;
					long id = bench_lookup_id(i, n);
					p[len++] = 0x91; /* [id] as fixarray + int32 */
					p[len++] = 0xd2;
					for (int s = 24; s >= 0; s -= 8)
						p[len++] = (unsigned char)(id >> s);
					if (ath_conn_execute(&r, c, by_pk.ptr, by_pk.size, p, len) != ATH_OK)
						die("select by pk");
					got += fetch_rows(r, &batch, &check);
					ath_result_close(r);
				}
			}
			if (ath_conn_commit(c) != ATH_OK)
				die("commit");
			runs[k] = bench_now() - t0;
			if (got != (w[1] == '3' ? n : BENCH_LOOKUPS))
				return fprintf(stderr, "bench_core: %s read %ld rows\n", w, got), 1;
		}
	} else
		return fprintf(stderr, "bench_core: unknown workload %s\n", w), 2;
	bench_report(w, "athanor-core", backend, w[1] == '4' ? BENCH_LOOKUPS : n, runs, nruns);
	if (getenv("BENCH_CHECK")) /* the sum of what was read, to compare readers */
		fprintf(stderr, "check %ld\n", check);
	text(c, "DROP TABLE IF EXISTS customer");
	ath_conn_commit(c);
	ath_buf_dispose(&batch);
	free(ins.ptr), free(params.ptr), free(sel.ptr), free(by_pk.ptr);
	ath_conn_close(c);
	ath_engine_free(e);
	msgpack_sbuffer_destroy(&sb);
	return 0;
}
