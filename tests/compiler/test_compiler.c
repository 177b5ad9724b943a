/* test_compiler.c — runs the compiler corpus (tests/compiler/cases/NN_*.json). Each file is an
 * array of cases:
 *   {"name": "select/limit_offset",
 *    "stmt": {...wire statement...},
 *    "params": [...],                        optional: values, so expanding IN lists render
 *    "sql": {"all": "... ? ...",            expected SQL; "all" applies to every dialect not
 *            "mysql": "..."},                named, with ? written as $n for postgresql
 *    "bind_order": [0, 1],                   optional: parameter indexes in placeholder order
 *    "bind_order_mysql": [1, 0],             optional per-dialect override
 *    "errors": {"mysql": {"class": "NotSupportedError", "contains": "FULL"}},
 *    "why": "..."}                           where athanor deliberately differs from SQLAlchemy
 * A file may instead be {"setup": [...], "cases": [...]}; the execution keys ("setup",
 * "exec_params", "rows", "rowcount", "after", "exec", "exec_why") belong to test_corpus_exec.c.
 * Whitespace runs compare equal. A case named on the command line runs alone. */
#include <athanor/athanor.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonwire.h"
#include "test.h"

static const char *const dialects[] = { "sqlite", "postgresql", "mysql", "mariadb" };
static int ncases, nchecks_sql;

static char *normalise(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	int space = 0;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\t') {
			space = 1;
			continue;
		}
		if (space && o != out)
			*o++ = ' ';
		space = 0;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* "?" placeholders as "$1, $2, ..." outside quoted text, for postgresql. */
static char *dollar_params(const char *s)
{
	char *out = malloc(strlen(s) * 4 + 1), *o = out;
	char quote = 0;
	int n = 0;
	for (; *s; s++) {
		if (quote) {
			if (*s == quote)
				quote = 0;
			*o++ = *s;
		} else if (*s == '\'' || *s == '"') {
			quote = *s;
			*o++ = *s;
		} else if (*s == '?') {
			o += sprintf(o, "$%d", ++n);
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return out;
}

static json_t *unpack_result(const ath_buf *b)
{
	char err[256];
	json_t *j = jsonwire_from_msgpack(b->ptr, b->size, err, sizeof err);
	if (!j)
		fprintf(stderr, "cannot read compile output: %s\n", err);
	return j;
}

static void run_case(json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	json_t *stmt = json_object_get(c, "stmt"), *params = json_object_get(c, "params");
	json_t *sql = json_object_get(c, "sql"), *errors = json_object_get(c, "errors");
	TEST_CASE(name ? name : "(unnamed)");
	CHECK(name && stmt && (sql || errors));
	if (!name || !stmt)
		return;
	ncases++;
	char err[512];
	ath_buf shape = ATH_BUF_INIT, pbuf = ATH_BUF_INIT;
	if (jsonwire_to_msgpack(stmt, &shape, err, sizeof err) || (params && jsonwire_to_msgpack(params, &pbuf, err, sizeof err))) {
		fprintf(stderr, "FAIL %s: bad case JSON: %s\n", name, err);
		test_failures++;
		return;
	}
	for (size_t d = 0; d < sizeof dialects / sizeof *dialects; d++) {
		char label[256];
		snprintf(label, sizeof label, "compiler/%s/%s", name, dialects[d]);
		TEST_CASE(label);
		json_t *want_err = errors ? json_object_get(errors, dialects[d]) : NULL;
		if (!want_err && errors)
			want_err = json_object_get(errors, "all");
		json_t *want_sql = sql ? json_object_get(sql, dialects[d]) : NULL;
		int from_all = 0;
		if (!want_sql && sql && !want_err) {
			/* mariadb renders as mysql unless it says otherwise */
			if (strcmp(dialects[d], "mariadb") == 0)
				want_sql = json_object_get(sql, "mysql");
			if (!want_sql) {
				want_sql = json_object_get(sql, "all");
				from_all = 1;
			}
		}
		if (!want_sql && !want_err)
			continue;
		ath_buf out = ATH_BUF_INIT;
		int rc = ath_compile(&out, dialects[d], shape.ptr, shape.size, params ? pbuf.ptr : NULL, pbuf.size);
		if (want_err) {
			CHECK(rc < 0);
			if (rc < 0) {
				const ath_error *e = ath_error_last();
				CHECK_STR(json_string_value(json_object_get(want_err, "class")), ath_error_class_name(e->klass));
				const char *contains = json_string_value(json_object_get(want_err, "contains"));
				if (contains)
					CHECK_CONTAINS(e->message, contains);
			}
			ath_buf_dispose(&out);
			continue;
		}
		if (rc < 0) {
			fprintf(stderr, "FAIL %s: %s: %s\n", label, ath_error_class_name(ath_error_last()->klass),
				ath_error_last()->message);
			test_failures++;
			continue;
		}
		json_t *res = unpack_result(&out);
		ath_buf_dispose(&out);
		if (!res) {
			test_failures++;
			continue;
		}
		const char *expected = json_string_value(want_sql);
		char *exp_conv = from_all && strcmp(dialects[d], "postgresql") == 0 ? dollar_params(expected) : strdup(expected);
		char *e_norm = normalise(exp_conv), *a_norm = normalise(json_string_value(json_object_get(res, "sql")));
		CHECK_STR(e_norm, a_norm);
		nchecks_sql++;
		char key[64];
		snprintf(key, sizeof key, "bind_order_%s", dialects[d]);
		json_t *order = json_object_get(c, key);
		if (!order)
			order = json_object_get(c, "bind_order");
		if (order && !params) {
			char *w = json_dumps(order, JSON_COMPACT), *a = json_dumps(json_object_get(res, "bind_order"), JSON_COMPACT);
			CHECK_STR(w, a);
			free(w);
			free(a);
		}
		json_t *want_params = json_object_get(c, "expect_params");
		if (want_params && params) {
			char *w = json_dumps(want_params, JSON_COMPACT), *a = json_dumps(json_object_get(res, "params"), JSON_COMPACT);
			CHECK_STR(w, a);
			free(w);
			free(a);
		}
		free(exp_conv);
		free(e_norm);
		free(a_norm);
		json_decref(res);
	}
	jsonwire_buf_dispose(&shape);
	jsonwire_buf_dispose(&pbuf);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
	const char *dir = getenv("ATHANOR_COMPILER_CASES");
	if (!dir)
		dir = "cases";
	DIR *dp = opendir(dir);
	if (!dp) {
		fprintf(stderr, "cannot open %s\n", dir);
		return 1;
	}
	char *files[256];
	int nfiles = 0;
	struct dirent *ent;
	while ((ent = readdir(dp)) && nfiles < 256)
		if (strstr(ent->d_name, ".json"))
			files[nfiles++] = strdup(ent->d_name);
	closedir(dp);
	qsort(files, (size_t)nfiles, sizeof *files, by_name);
	for (int f = 0; f < nfiles; f++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, files[f]);
		json_error_t jerr;
		json_t *file = json_load_file(path, 0, &jerr);
		json_t *cases = json_is_object(file) ? json_object_get(file, "cases") : file;
		if (!cases || !json_is_array(cases)) {
			fprintf(stderr, "FAIL %s: %s (line %d)\n", path, file ? "not an array of cases" : jerr.text, jerr.line);
			test_failures++;
			json_decref(file);
			free(files[f]);
			continue;
		}
		size_t i;
		json_t *c;
		json_array_foreach(cases, i, c)
		{
			const char *name = json_string_value(json_object_get(c, "name"));
			if (argc > 1 && (!name || strcmp(name, argv[1]) != 0))
				continue;
			run_case(c);
		}
		json_decref(file);
		free(files[f]);
	}
	printf("%d cases, %d SQL renderings compared\n", ncases, nchecks_sql);
	return test_exit();
}
