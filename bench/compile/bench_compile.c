/* bench_compile.c — how long athanor takes to compile statement shapes, per dialect: each shape
 * compiled N times through ath_engine_compile() on an engine created with
 * ATH_ENGINE_NO_COMPILE_CACHE (the compiler: decode + compile), then N times through a normal
 * engine (after the first, every call is a compile-cache hit: hash + compare + copy out).
 * Engines are never connected, so no server is needed. Not a test; run a RelWithDebInfo build
 * without sanitizers:  build/bench/compile/bench_compile [N]   (default 20000). */
#include <athanor/athanor.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "jsonwire.h"

static const struct {
	const char *name, *json;
} shapes[] = {
	{ "select by pk",
	  "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"id\"], [\"col\", \"users\", \"name\"]],"
	  " \"where\": [\"=\", [\"col\", \"users\", \"id\"], [\"bind\", 0]]}" },
	{ "insert",
	  "{\"k\": \"insert\", \"table\": [\"table\", \"users\"], \"columns\": [\"name\", \"fullname\"],"
	  " \"values\": [[[\"bind\", 0], [\"bind\", 1]]]}" },
	{ "join + filters",
	  "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"], [\"col\", \"addresses\", \"email\"]],"
	  " \"from\": [[\"join\", [\"table\", \"users\"], [\"table\", \"addresses\"],"
	  "   [\"=\", [\"col\", \"users\", \"id\"], [\"col\", \"addresses\", \"user_id\"]], \"left\"]],"
	  " \"where\": [\"and\", [\"like\", [\"col\", \"addresses\", \"email\"], [\"bind\", 0]],"
	  "   [\"in\", [\"col\", \"users\", \"id\"], [\"expanding\", 1]], [\"is_not\", [\"col\", \"users\", \"name\"], [\"null\"]]],"
	  " \"order_by\": [[\"desc\", [\"col\", \"users\", \"id\"]]], \"limit\": [\"bind\", 2]}" },
	{ "cte + window + union",
	  "{\"k\": \"union_all\", \"with\": [{\"name\": \"big\", \"query\": {\"k\": \"select\","
	  "   \"columns\": [[\"col\", \"users\", \"id\"], [\"col\", \"users\", \"name\"]],"
	  "   \"where\": [\">\", [\"col\", \"users\", \"id\"], [\"bind\", 0]]}}],"
	  " \"selects\": [{\"k\": \"select\", \"columns\": [[\"col\", \"big\", \"name\"],"
	  "   [\"label\", \"rn\", [\"fn\", \"row_number\", [], {\"over\": {\"partition_by\": [[\"col\", \"big\", \"name\"]],"
	  "   \"order_by\": [[\"col\", \"big\", \"id\"]]}}]]]},"
	  "  {\"k\": \"select\", \"columns\": [[\"col\", \"addresses\", \"email\"], [\"fn\", \"count\", []]],"
	  "   \"group_by\": [[\"col\", \"addresses\", \"email\"]], \"having\": [\">\", [\"fn\", \"count\", []], [\"bind\", 1]]}],"
	  " \"order_by\": [[\"col\", \"name\"]], \"limit\": [\"bind\", 2]}" },
	{ "upsert",
	  "{\"k\": \"insert\", \"table\": [\"table\", \"users\"], \"columns\": [\"id\", \"name\"],"
	  " \"values\": [[[\"bind\", 0], [\"bind\", 1]]],"
	  " \"on_conflict\": {\"target\": [\"id\"], \"do\": \"update\", \"set\": [[\"name\", [\"excluded\", \"name\"]]]}}" },
};

static const struct {
	const char *dialect, *url;
} engines[] = {
	{ "sqlite", "sqlite://" },
	{ "postgresql", "postgresql://bench@127.0.0.1:1/bench" },
	{ "mysql", "mysql://bench@127.0.0.1:1/bench" },
	{ "mariadb", "mariadb://bench@127.0.0.1:1/bench" },
};

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static ath_engine *engine_for(const char *url, uint32_t flags)
{
	ath_engine_options o;
	ath_engine *e = NULL;
	if (ath_engine_options_init(&o, ATH_ENGINE_OPTIONS_VERSION) < 0)
		return NULL;
	o.flags = flags;
	if (ath_engine_create(&e, url, &o) < 0) {
		fprintf(stderr, "%s: %s\n", url, ath_error_last()->message);
		return NULL;
	}
	return e;
}

/* ns per ath_engine_compile() of `shape`, over n calls; -1 on error. */
static double time_compiles(ath_engine *e, const ath_buf *shape, long n)
{
	ath_buf out = ATH_BUF_INIT;
	if (ath_engine_compile(&out, e, shape->ptr, shape->size) < 0) { /* warm-up; fills the cache */
		fprintf(stderr, "compile: %s\n", ath_error_last()->message);
		ath_buf_dispose(&out);
		return -1;
	}
	double t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (ath_engine_compile(&out, e, shape->ptr, shape->size) < 0)
			return -1;
	double t = (now_ns() - t0) / (double)n;
	ath_buf_dispose(&out);
	return t;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	if (n <= 0)
		n = 20000;
	printf("%-22s %-11s %16s %14s %8s\n", "shape", "dialect", "us/compile(off)", "ns/cache hit", "ratio");
	int failed = 0;
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		json_error_t jerr;
		json_t *j = json_loads(shapes[s].json, 0, &jerr);
		ath_buf shape = ATH_BUF_INIT;
		char err[256];
		if (!j || jsonwire_to_msgpack(j, &shape, err, sizeof err)) {
			fprintf(stderr, "%s: bad shape JSON: %s\n", shapes[s].name, j ? err : jerr.text);
			json_decref(j);
			return 1;
		}
		json_decref(j);
		for (size_t d = 0; d < sizeof engines / sizeof *engines; d++) {
			ath_engine *off = engine_for(engines[d].url, ATH_ENGINE_NO_COMPILE_CACHE);
			ath_engine *on = engine_for(engines[d].url, 0);
			double t_off = off ? time_compiles(off, &shape, n) : -1;
			double t_on = on ? time_compiles(on, &shape, n * 10) : -1;
			if (t_off < 0 || t_on < 0)
				failed = 1;
			printf("%-22s %-11s %16.2f %14.0f %7.0fx\n", shapes[s].name, engines[d].dialect, t_off / 1000.0, t_on,
			       t_on > 0 ? t_off / t_on : 0.0);
			ath_engine_free(off);
			ath_engine_free(on);
		}
		jsonwire_buf_dispose(&shape);
	}
	return failed;
}
