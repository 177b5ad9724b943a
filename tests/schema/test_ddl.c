/* test_ddl.c — the DDL corpus (cases/<file>.json): each case's spec is built with ath_metadata_create
 * and its create_all / drop_all statements from ath_compile_ddl compared per dialect with the
 * expected lists (runs of CREATE INDEX / ALTER TABLE compared sorted, as sqla_ddl.py does, since
 * SQLAlchemy leaves their order to set iteration); an expected {"error": class} must fail with
 * that class; "invalid" cases must fail ath_metadata_create with the class and a message
 * containing the given text. sqla_ddl.py checks the same expectations against SQLAlchemy 1.4.
 * Every valid case also goes spec -> metadata -> ath_metadata_spec -> metadata: the normalised spec
 * must come back byte for byte from the metadata it builds, and that metadata must render the same
 * expected DDL. */
#include <athanor/athanor.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "wirejson.h"

static const char *const dialects[] = { "sqlite", "postgresql", "mysql", "mariadb" };
static int spec_checks;

static int is_run(const char *s)
{
	return strncmp(s, "CREATE INDEX", 12) == 0 || strncmp(s, "CREATE UNIQUE INDEX", 19) == 0 ||
	       strncmp(s, "ALTER TABLE", 11) == 0;
}

static int cmp(const void *a, const void *b) { return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b)); }

/* sort each run of consecutive index / ALTER statements in place */
static void normalise(json_t *arr)
{
	size_t n = json_array_size(arr), i = 0;
	json_t **v = calloc(n + 1, sizeof *v);
	for (size_t k = 0; k < n; k++)
		v[k] = json_incref(json_array_get(arr, k));
	while (i < n) {
		size_t j = i;
		while (j < n && json_is_string(v[j]) && is_run(json_string_value(v[j])))
			j++;
		if (j > i + 1)
			qsort(v + i, j - i, sizeof *v, cmp);
		i = j > i ? j : i + 1;
	}
	json_array_clear(arr);
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, v[k]);
	free(v);
}

static void check_ddl(const char *name, json_t *c, const ath_metadata *md)
{
	int rc;
	for (int what = 0; what < 2; what++) {
		json_t *exp = json_object_get(c, what ? "drop" : "create");
		for (size_t i = 0; exp && i < sizeof dialects / sizeof *dialects; i++) {
			json_t *e = json_object_get(exp, dialects[i]);
			if (!e)
				continue;
			char sub[600];
			snprintf(sub, sizeof sub, "%s %s %s", name, what ? "drop" : "create", dialects[i]);
			TEST_CASE(sub);
			ath_buf out = ATH_BUF_INIT;
			rc = ath_compile_ddl(&out, dialects[i], md, what ? ATH_DDL_DROP : 0);
			if (json_is_object(e)) {
				CHECK(rc < 0);
				if (rc < 0)
					CHECK_STR(json_string_value(json_object_get(e, "error")), ath_error_class_name(ath_error_last()->klass));
			} else if (rc < 0) {
				CHECK_STR("(compiled)", ath_error_last()->message);
			} else {
				char err[256];
				json_t *got = jsonwire_from_msgpack(out.ptr, out.size, err, sizeof err);
				json_t *want = json_deep_copy(e);
				normalise(got);
				normalise(want);
				char *g = json_dumps(got, JSON_INDENT(1)), *w = json_dumps(want, JSON_INDENT(1));
				CHECK_STR(w, g);
				free(g);
				free(w);
				json_decref(got);
				json_decref(want);
			}
			ath_buf_dispose(&out);
		}
	}
}

/* spec -> metadata -> normalised spec -> metadata -> normalised spec: the two specs are equal */
static ath_metadata *round_trip(const char *name, const ath_metadata *md)
{
	char sub[600];
	snprintf(sub, sizeof sub, "%s spec round trip", name);
	TEST_CASE(sub);
	ath_buf s1 = ATH_BUF_INIT, s2 = ATH_BUF_INIT;
	ath_metadata *again = NULL;
	if (ath_metadata_spec(&s1, md) < 0) {
		CHECK_STR("(spec)", ath_error_last()->message);
	} else if (ath_metadata_create(&again, s1.ptr, s1.size) < 0) {
		CHECK_STR("(metadata from the normalised spec)", ath_error_last()->message);
	} else if (ath_metadata_spec(&s2, again) < 0) {
		CHECK_STR("(spec of the rebuilt metadata)", ath_error_last()->message);
	} else {
		char err[256];
		json_t *j1 = jsonwire_from_msgpack(s1.ptr, s1.size, err, sizeof err);
		json_t *j2 = jsonwire_from_msgpack(s2.ptr, s2.size, err, sizeof err);
		char *a = json_dumps(j1, JSON_COMPACT), *b = json_dumps(j2, JSON_COMPACT);
		CHECK_STR(a, b);
		CHECK(s1.size == s2.size && memcmp(s1.ptr, s2.ptr, s1.size) == 0);
		free(a);
		free(b);
		json_decref(j1);
		json_decref(j2);
		spec_checks++;
	}
	ath_buf_dispose(&s1);
	ath_buf_dispose(&s2);
	return again;
}

static void run_case(const char *file, json_t *c)
{
	char name[512];
	snprintf(name, sizeof name, "schema/%.200s/%.200s", file, json_string_value(json_object_get(c, "name")));
	TEST_CASE(name);
	char *spec = json_dumps(json_object_get(c, "spec"), JSON_COMPACT);
	ath_buf s = mp("%s", spec);
	free(spec);
	ath_metadata *md = NULL;
	int rc = ath_metadata_create(&md, s.ptr, s.size);
	mp_free(&s);
	json_t *inv = json_object_get(c, "invalid");
	if (inv) {
		CHECK(rc < 0);
		if (rc < 0) {
			CHECK_STR(json_string_value(json_object_get(inv, "class")), ath_error_class_name(ath_error_last()->klass));
			CHECK_CONTAINS(ath_error_last()->message, json_string_value(json_object_get(inv, "contains")));
		}
		ath_metadata_free(md);
		return;
	}
	if (rc < 0) {
		CHECK_STR("(metadata built)", ath_error_last()->message);
		return;
	}
	ath_metadata *again = round_trip(name, md);
	check_ddl(name, c, md);
	if (again) {
		char sub[600];
		snprintf(sub, sizeof sub, "%s (from ath_metadata_spec)", name);
		check_ddl(sub, c, again);
	}
	ath_metadata_free(again);
	ath_metadata_free(md);
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

int main(void)
{
	const char *dir = getenv("ATHANOR_SCHEMA_CASES");
	if (!dir)
		dir = "cases";
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, by_name);
	if (n < 0) {
		perror(dir);
		return 1;
	}
	int files = 0;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(ents[i]->d_name);
		if (len > 5 && strcmp(ents[i]->d_name + len - 5, ".json") == 0) {
			char path[1024];
			snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
			json_error_t jerr;
			json_t *doc = json_load_file(path, 0, &jerr);
			if (!doc) {
				fprintf(stderr, "%s: %s\n", path, jerr.text);
				return 1;
			}
			json_t *cases = json_object_get(doc, "cases");
			for (size_t k = 0; k < json_array_size(cases); k++)
				run_case(ents[i]->d_name, json_array_get(cases, k));
			json_decref(doc);
			files++;
		}
		free(ents[i]);
	}
	free(ents);
	TEST_CASE("schema/ath_metadata_spec/null_args");
	ath_buf b = ATH_BUF_INIT;
	CHECK(ath_metadata_spec(&b, NULL) == ATH_EMISUSE);
	CHECK_CONTAINS(ath_error_last()->message, "md is NULL");
	CHECK(ath_metadata_spec(NULL, NULL) == ATH_EMISUSE);
	CHECK_CONTAINS(ath_error_last()->message, "out is NULL");
	printf("%d specs round-tripped through ath_metadata_spec\n", spec_checks);
	return files ? test_exit() : 1;
}
