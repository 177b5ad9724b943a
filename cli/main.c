/*
 * main.c — the athanor command: `version`, `compile` (a statement's SQL for a dialect) and
 * `exec` (run a statement against a URL and print its rows). It owns argument parsing, reading
 * statement files written in JSON, and printing results and errors; the error text follows
 * SQLAlchemy's StatementError (sqlalchemy/exc.py: message, [SQL: ...], [parameters: ...],
 * background link). It uses only the public API and jsonwire.c; it knows nothing of statement
 * kinds beyond the wrapper {"statement", "params", "executemany"}, and builds no SQL.
 */
#define _XOPEN_SOURCE 700 /* wcwidth() */

#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <jansson.h>

#include <athanor/athanor.h>

#include "jsonwire.h"

#define FETCH_BATCH 500
#define JSON_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

#define SYNOPSIS \
	"usage: athanor version\n" \
	"       athanor compile --dialect NAME FILE.json [--params JSON] [--metadata SPEC.json]\n" \
	"       athanor compile --dialect NAME --ddl SPEC.json [--drop]\n" \
	"       athanor exec URL FILE.json [--params JSON] [--json] [--echo] [--metadata SPEC.json]\n" \
	"       athanor reflect URL [--schema NAME]\n" \
	"       athanor --help\n"

static const char usage_text[] =
	SYNOPSIS
	"\n"
	"commands:\n"
	"  version   print the versions of the library and of the headers athanor was built with\n"
	"  compile   compile a statement for a dialect and print {\"sql\": ..., \"params\": [...]};\n"
	"            without parameters \"params\" lists the binds in order as {\"$param\": i}\n"
	"  exec      run a statement on the database at URL, commit, and print the rows as a table\n"
	"            followed by \"(N rows)\", or \"rowcount: N\" (and \"lastrowid: N\") when the\n"
	"            statement returns no rows\n"
	"  reflect   print the schema spec of the database at URL as indented JSON (tables, columns,\n"
	"            keys, indexes, constraints, comments), input for compile --ddl / ath_metadata_create\n"
	"\n"
	"options:\n"
	"  --schema NAME   reflect: the schema (PostgreSQL / MySQL) instead of the default one\n"
	"  --dialect NAME  sqlite, postgresql, mysql or mariadb\n"
	"  --params JSON   the parameters, a JSON array (@FILE reads it from FILE); replaces\n"
	"                  \"params\" of FILE.json\n"
	"  --json          print each row as a JSON array on a line of its own, and a statement\n"
	"                  without rows as {\"rowcount\": N, \"lastrowid\": N}\n"
	"  --echo          log each statement and its parameters to stderr\n"
	"  --metadata SPEC.json  compile against this schema spec (docs/schema-spec.md): table\n"
	"                  schemas, columns_of, create_table/drop_table/create_index/drop_index,\n"
	"                  client-side defaults; a bound default shows as {\"$default\": k}\n"
	"  --ddl SPEC.json print create_all's statements for the dialect, one per line\n"
	"                  (--drop: drop_all's)\n"
	"\n"
	"FILE.json (\"-\" reads standard input) holds a statement map such as\n"
	"  {\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"]], \"from\": [[\"table\", \"users\"]],\n"
	"   \"where\": [\"=\", [\"col\", \"users\", \"id\"], [\"bind\", 0]]}\n"
	"or {\"statement\": {...}, \"params\": [...], \"executemany\": true|false}; with executemany\n"
	"the params are an array of parameter arrays, one per execution.\n"
	"Values beyond JSON are written {\"$ext\": n, \"v\": \"...\"} (timestamps: {\"$ext\": -1,\n"
	"\"v\": \"2024-01-02T03:04:05Z\"}), {\"$bin\": \"base64\"}, {\"$float\": \"nan\"|\"inf\"|\"-inf\"}\n"
	"and {\"$uint\": \"digits\"} for integers above 2^63-1 (see docs/wire-format.md).\n"
	"URL: sqlite:// (in memory), sqlite:///file.db, postgresql://user:pw@host/db, mysql://...\n"
	"\n"
	"exit status: 0 success, 1 error, 2 usage error\n";

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

PRINTF_LIKE(1, 2) _Noreturn static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("athanor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n" SYNOPSIS "run 'athanor --help' for the details\n", stderr);
	exit(2);
}

PRINTF_LIKE(1, 2) static void errorf(const char *fmt, ...)
{
	va_list ap;

	fputs("athanor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- arguments ---- */

typedef struct args {
	const char *dialect;
	const char *params;
	bool json;
	bool echo;
	bool drop;             /* compile --ddl --drop */
	const char *metadata;  /* --metadata SPEC.json */
	const char *ddl;       /* compile --ddl SPEC.json */
	const char *pos[3];
	int npos;
} args;

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/*
 * Options may come before, between or after the positional arguments, as "--opt value" or
 * "--opt=value"; "--" ends them; "-" is a positional argument (standard input).
 * `allowed` lists the options the command takes, space-separated.
 */
static void parse_args(args *a, int argc, char **argv, const char *cmd, const char *allowed)
{
	bool opts = true;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i], *val = NULL, *eq;
		char name[32];
		size_t nlen;

		if (!opts || s[0] != '-' || strcmp(s, "-") == 0) {
			if (a->npos == 3)
				usage_error("%s: too many arguments", cmd);
			a->pos[a->npos++] = s;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			opts = false;
			continue;
		}
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		}
		eq = strchr(s, '=');
		nlen = eq ? (size_t)(eq - s) : strlen(s);
		if (nlen >= sizeof(name))
			nlen = sizeof(name) - 1;
		memcpy(name, s, nlen);
		name[nlen] = '\0';
		if (!word_in(allowed, name))
			usage_error("%s: unknown option %s", cmd, s);
		if (strcmp(name, "--json") == 0 || strcmp(name, "--echo") == 0 || strcmp(name, "--drop") == 0) {
			if (eq)
				usage_error("%s: %s takes no value", cmd, name);
			if (name[2] == 'j')
				a->json = true;
			else if (name[2] == 'e')
				a->echo = true;
			else
				a->drop = true;
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			usage_error("%s: %s needs a value", cmd, name);
		if (strcmp(name, "--dialect") == 0)
			a->dialect = val;
		else if (strcmp(name, "--metadata") == 0)
			a->metadata = val;
		else if (strcmp(name, "--ddl") == 0)
			a->ddl = val;
		else
			a->params = val;
	}
}

/* ---- input ---- */

static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL, *p;
	size_t cap = 0, n = 0, got;

	if (!f) {
		errorf("%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (n + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (!p) {
				errorf("%s: out of memory", path);
				goto fail;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		errorf("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (f != stdin)
		fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	if (f != stdin)
		fclose(f);
	return NULL;
}

static json_t *parse_json(const char *text, size_t len, const char *name)
{
	json_error_t e;
	json_t *j = json_loadb(text, len, JSON_FLAGS | JSON_DECODE_ANY, &e);

	if (!j && strncmp(e.text, "too big integer", 15) == 0)
		errorf("%s:%d:%d: %s (an integer above 2^63-1 is written {\"$uint\": \"digits\"})", name,
		       e.line, e.column, e.text);
	else if (!j && strncmp(e.text, "too big negative integer", 24) == 0)
		errorf("%s:%d:%d: %s (msgpack integers go down to -2^63)", name, e.line, e.column, e.text);
	else if (!j)
		errorf("%s:%d:%d: %s", name, e.line, e.column, e.text);
	return j;
}

typedef struct input {
	const char *name;  /* the file name, "<stdin>" for "-" */
	json_t *root;      /* the whole file */
	json_t *stmt;      /* borrowed from root */
	json_t *params;    /* owned reference, or NULL */
	const char *params_where; /* "$.params" or "--params": where params came from, for errors */
	bool wrapped;      /* the file is {"statement": ...} */
	bool many;         /* executemany */
} input;

static void input_free(input *in)
{
	json_decref(in->params);
	json_decref(in->root);
}

static int load_input(input *in, const char *path, const char *params_arg)
{
	char *text;
	size_t len;
	const char *key;
	json_t *v;

	memset(in, 0, sizeof(*in));
	in->name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	text = read_all(path, &len);
	if (!text)
		return -1;
	in->root = parse_json(text, len, in->name);
	free(text);
	if (!in->root)
		return -1;
	if (json_is_object(in->root) && json_object_get(in->root, "k")) {
		in->stmt = in->root;
	} else if (json_is_object(in->root) && json_object_get(in->root, "statement")) {
		in->wrapped = true;
		json_object_foreach(in->root, key, v) {
			if (strcmp(key, "statement") != 0 && strcmp(key, "params") != 0 &&
			    strcmp(key, "executemany") != 0) {
				errorf("%s: unknown key \"%s\" (the wrapper has \"statement\", \"params\" and "
				       "\"executemany\")", in->name, key);
				return -1;
			}
		}
		in->stmt = json_object_get(in->root, "statement");
		if (!json_is_object(in->stmt)) {
			errorf("%s: $.statement: must be a statement map with \"k\"", in->name);
			return -1;
		}
		v = json_object_get(in->root, "executemany");
		if (v && !json_is_boolean(v)) {
			errorf("%s: $.executemany: must be true or false", in->name);
			return -1;
		}
		in->many = json_is_true(v);
		in->params = json_incref(json_object_get(in->root, "params"));
		in->params_where = "$.params";
	} else {
		errorf("%s: expected a statement map with \"k\", or {\"statement\": {...}, \"params\": [...]}",
		       in->name);
		return -1;
	}

	if (params_arg) {
		json_decref(in->params);
		in->params_where = "--params";
		if (params_arg[0] == '@') {
			text = read_all(params_arg + 1, &len);
			if (!text)
				return -1;
			in->params = parse_json(text, len, params_arg + 1);
			free(text);
		} else {
			in->params = parse_json(params_arg, strlen(params_arg), "--params");
		}
		if (!in->params)
			return -1;
	}
	if (in->params && !json_is_array(in->params)) {
		if (params_arg)
			errorf("--params: must be a JSON array");
		else
			errorf("%s: $.params: must be a JSON array", in->name);
		return -1;
	}
	if (in->many) {
		size_t i;
		if (!in->params) {
			errorf("%s: executemany needs \"params\": an array of parameter arrays", in->name);
			return -1;
		}
		json_array_foreach(in->params, i, v) {
			if (!json_is_array(v)) {
				if (params_arg)
					errorf("--params: $[%zu]: executemany needs an array of parameter arrays", i);
				else
					errorf("%s: $.params[%zu]: executemany needs an array of parameter arrays",
					       in->name, i);
				return -1;
			}
		}
	}
	return 0;
}

/* Prints a jsonwire error with its "$" path re-rooted at `where` ("$.statement", "$.params"). */
static void wire_error(const input *in, const char *where, const char *err)
{
	if (err[0] == '$')
		errorf("%s: %s%s", in->name, where, err + 1);
	else
		errorf("%s: %s", in->name, err);
}

static int encode(const input *in, const json_t *params, ath_buf *shape, ath_buf *pbuf)
{
	char err[512];

	if (jsonwire_to_msgpack(in->stmt, shape, err, sizeof(err)) < 0) {
		wire_error(in, in->wrapped ? "$.statement" : "$", err);
		return -1;
	}
	if (params && jsonwire_to_msgpack(params, pbuf, err, sizeof(err)) < 0) {
		if (strcmp(in->params_where, "--params") == 0)
			errorf("--params: %s", err);
		else
			wire_error(in, in->params_where, err);
		return -1;
	}
	return 0;
}

/* ---- errors from the library, laid out as SQLAlchemy prints its exceptions ---- */

static int report(const json_t *params)
{
	const ath_error *e = ath_error_last();
	const char *code = ath_error_class_code(e->klass);

	fprintf(stderr, "athanor: %s: %s", ath_error_class_name(e->klass),
		e->message && e->message[0] ? e->message : "(no message)");
	if (e->sqlstate[0])
		fprintf(stderr, " (SQLSTATE %s)", e->sqlstate);
	fputc('\n', stderr);
	if (e->sql) {
		fprintf(stderr, "[SQL: %s]\n", e->sql);
		if (params && json_array_size(params) > 0) {
			char *text = jsonwire_dumps(params);
			if (text) {
				if (strlen(text) > 500) {
					size_t cut = 480;
					while ((text[cut] & 0xc0) == 0x80) /* not inside a UTF-8 sequence */
						cut--;
					strcpy(text + cut, " ... (truncated)");
				}
				fprintf(stderr, "[parameters: %s]\n", text);
			}
			free(text);
		}
	}
	if (code && code[0])
		fprintf(stderr, "(Background on this error at: https://sqlalche.me/e/20/%s)\n", code);
	return 1;
}

/* ---- version ---- */

static int cmd_version(int argc, char **argv)
{
	args a;

	parse_args(&a, argc, argv, "version", "");
	if (a.npos)
		usage_error("version: takes no arguments");
	printf("athanor library %s, headers %s\n", ath_version_string(), ATH_VERSION_STRING);
	return 0;
}

/* ---- metadata (--metadata, --ddl) ---- */

/* A schema spec file (JSON) built into a metadata; NULL after printing the error. */
static ath_metadata *load_metadata(const char *path)
{
	char err[512], *text;
	size_t len;
	json_t *j;
	ath_buf spec = ATH_BUF_INIT;
	ath_metadata *md = NULL;

	if (!(text = read_all(path, &len)))
		return NULL;
	j = parse_json(text, len, path);
	free(text);
	if (!j)
		return NULL;
	if (jsonwire_to_msgpack(j, &spec, err, sizeof(err)) < 0)
		errorf("%s: %s", path, err);
	else if (ath_metadata_create(&md, spec.ptr, spec.size) < 0)
		report(NULL);
	jsonwire_buf_dispose(&spec);
	json_decref(j);
	return md;
}

/* compile --ddl: create_all's (or drop_all's) statements, one per line, each ending with ";". */
static int compile_ddl(const args *a)
{
	ath_metadata *md;
	ath_buf out = ATH_BUF_INIT;
	json_t *list = NULL, *v;
	char err[512];
	size_t i;
	int status = 1;

	if (a->npos || a->params || a->metadata)
		usage_error("compile: --ddl takes no FILE.json, --params or --metadata");
	if (!(md = load_metadata(a->ddl)))
		return 1;
	if (ath_compile_ddl(&out, a->dialect, md, a->drop ? ATH_DDL_DROP : 0) < 0) {
		status = report(NULL);
		goto done;
	}
	list = jsonwire_from_msgpack(out.ptr, out.size, err, sizeof(err));
	if (!json_is_array(list)) {
		errorf("unexpected ath_compile_ddl() result: %s", list ? "not an array" : err);
		goto done;
	}
	json_array_foreach(list, i, v)
		printf("%s;\n", json_string_value(v));
	status = 0;
done:
	json_decref(list);
	ath_buf_dispose(&out);
	ath_metadata_free(md);
	return status;
}

/* ---- compile ---- */

static int cmd_compile(int argc, char **argv)
{
	args a;
	input in;
	ath_buf shape = ATH_BUF_INIT, pbuf = ATH_BUF_INIT, out = ATH_BUF_INIT;
	json_t *params, *res = NULL, *doc = NULL, *list;
	char err[512];
	int status = 1;

	ath_compile_options copts;
	ath_metadata *md = NULL;

	parse_args(&a, argc, argv, "compile", "--dialect --params --metadata --ddl --drop");
	if (!a.dialect)
		usage_error("compile: --dialect NAME is required");
	if (a.ddl)
		return compile_ddl(&a);
	if (a.drop)
		usage_error("compile: --drop goes with --ddl");
	if (a.npos != 1)
		usage_error("compile: expected one FILE.json");
	if (load_input(&in, a.pos[0], a.params) < 0)
		goto done;
	/* an executemany file compiles with its first row, the way each execution is rendered */
	params = in.many ? json_array_get(in.params, 0) : in.params;
	if (encode(&in, params, &shape, &pbuf) < 0)
		goto done;
	if (a.metadata && !(md = load_metadata(a.metadata)))
		goto done;
	ath_compile_options_init(&copts, ATH_COMPILE_OPTIONS_VERSION);
	copts.metadata = md;
	if (ath_compile_v2(&out, a.dialect, shape.ptr, shape.size, params ? pbuf.ptr : NULL,
			   params ? pbuf.size : 0, &copts) < 0) {
		status = report(NULL);
		goto done;
	}
	res = jsonwire_from_msgpack(out.ptr, out.size, err, sizeof(err));
	if (!json_is_object(res) || !json_is_string(json_object_get(res, "sql"))) {
		errorf("unexpected ath_compile() result: %s", res ? "no \"sql\" string" : err);
		goto done;
	}
	doc = json_object();
	json_object_set(doc, "sql", json_object_get(res, "sql"));
	if (params && json_object_get(res, "params")) {
		json_object_set(doc, "params", json_object_get(res, "params"));
	} else {
		json_t *order = json_object_get(res, "bind_order"), *v;
		size_t i;

		list = json_array();
		json_array_foreach(order, i, v) {
			json_t *p = json_object();
			/* a bound client-side default k comes as -1 - k */
			if (json_integer_value(v) < 0)
				json_object_set_new(p, "$default", json_integer(-1 - json_integer_value(v)));
			else
				json_object_set(p, "$param", v);
			json_array_append_new(list, p);
		}
		json_object_set_new(doc, "params", list);
	}
	if (jsonwire_dumpf(doc, stdout) < 0 || fputc('\n', stdout) == EOF) {
		errorf("cannot print the result");
		goto done;
	}
	status = 0;
done:
	json_decref(doc);
	json_decref(res);
	ath_buf_dispose(&out);
	ath_metadata_free(md);
	jsonwire_buf_dispose(&shape);
	jsonwire_buf_dispose(&pbuf);
	input_free(&in);
	return status;
}

/* ---- exec: table output ---- */

/*
 * Display width in terminal columns: wcwidth() of each code point (2 for East Asian wide
 * characters, 0 for combining marks); 1 where it knows nothing (no UTF-8 locale).
 */
static size_t text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0;

	while (*p) {
		uint32_t cp = *p;
		int n = cp < 0x80 ? 0 : cp < 0xe0 ? 1 : cp < 0xf0 ? 2 : 3, cw;

		if (n)
			cp &= 0x3fu >> n;
		for (p++; n > 0 && (*p & 0xc0) == 0x80; n--, p++)
			cp = cp << 6 | (*p & 0x3fu);
		cw = wcwidth((wchar_t)cp);
		w += cw < 0 ? 1 : (size_t)cw;
	}
	return w;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

/* Control characters would break the columns: show them escaped. */
static char *escape_controls(const char *s, size_t len)
{
	char *out = malloc(len * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (ch == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (ch == '\r') {
			*o++ = '\\';
			*o++ = 'r';
		} else if (ch < 0x20 || ch == 0x7f) {
			o += sprintf(o, "\\x%02x", ch);
		} else {
			*o++ = (char)ch;
		}
	}
	*o = '\0';
	return out;
}

static bool ext_bytes(const json_t *v, unsigned char **bytes, size_t *n)
{
	const json_t *s = json_object_get(v, "v");

	return json_is_string(s) &&
	       jsonwire_base64_decode(bytes, n, json_string_value(s), json_string_length(s)) == 0;
}

static int64_t be64(const unsigned char *p)
{
	uint64_t u = 0;

	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (int64_t)u;
}

/* Interval as Python's str(timedelta): "-1 day, 23:59:59.999999". */
static void format_interval(char *buf, size_t len, int64_t us)
{
	const int64_t day = 86400000000LL;
	int64_t days = us / day, rem = us % day;
	int n = 0;

	if (rem < 0) {
		rem += day;
		days--;
	}
	if (days)
		n = snprintf(buf, len, "%lld day%s, ", (long long)days, days == 1 || days == -1 ? "" : "s");
	n += snprintf(buf + n, len - (size_t)n, "%d:%02d:%02d", (int)(rem / 3600000000LL),
		      (int)(rem / 60000000 % 60), (int)(rem / 1000000 % 60));
	if (rem % 1000000)
		snprintf(buf + n, len - (size_t)n, ".%06d", (int)(rem % 1000000));
}

/* The text of one value in a table cell; malloc'd. */
static char *cell_text(const json_t *v)
{
	char buf[64];
	const json_t *t;

	if (!v)
		return dup_str("");
	switch (json_typeof(v)) {
	case JSON_NULL:
		return dup_str("");
	case JSON_TRUE:
		return dup_str("true");
	case JSON_FALSE:
		return dup_str("false");
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return dup_str(buf);
	case JSON_REAL:
		jsonwire_format_double(buf, sizeof(buf), json_real_value(v));
		if (!strpbrk(buf, ".en"))
			strcat(buf, ".0");
		return dup_str(buf);
	case JSON_STRING:
		return escape_controls(json_string_value(v), json_string_length(v));
	case JSON_OBJECT:
		if ((t = json_object_get(v, "$float")) || (t = json_object_get(v, "$uint")))
			return dup_str(json_string_value(t));
		if ((t = json_object_get(v, "$bin"))) {
			unsigned char *bytes;
			size_t n;
			char *out;
			if (jsonwire_base64_decode(&bytes, &n, json_string_value(t), json_string_length(t)) < 0)
				break;
			out = malloc(n * 2 + 3);
			if (out) {
				strcpy(out, "\\x");
				for (size_t i = 0; i < n; i++)
					sprintf(out + 2 + i * 2, "%02x", bytes[i]);
			}
			free(bytes);
			return out;
		}
		if ((t = json_object_get(v, "$ext"))) {
			json_int_t type = json_integer_value(t);
			const json_t *s = json_object_get(v, "v");
			unsigned char *bytes = NULL;
			size_t n = 0;
			bool done = true;

			if (json_is_string(s) && (type == -1 || (type >= 2 && type <= 5)))
				return escape_controls(json_string_value(s), json_string_length(s));
			if (!ext_bytes(v, &bytes, &n))
				break;
			if (type == 1 && n == 8)
				snprintf(buf, sizeof(buf), "<object %llu>", (unsigned long long)be64(bytes));
			else if (type == 6 && n == 8)
				format_interval(buf, sizeof(buf), be64(bytes));
			else if (type == 7 && n == 16)
				snprintf(buf, sizeof(buf),
					 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
					 bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6],
					 bytes[7], bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13],
					 bytes[14], bytes[15]);
			else
				done = false;
			free(bytes);
			if (done)
				return dup_str(buf);
		}
		break;
	default:
		break;
	}
	/* arrays, maps (JSON and ARRAY columns) and unknown ext types: their JSON spelling */
	{
		char *text = jsonwire_dumps(v), *out;
		if (!text)
			return NULL;
		out = escape_controls(text, strlen(text));
		free(text);
		return out;
	}
}

static bool is_numeric(const json_t *v)
{
	const json_t *t;

	if (json_is_number(v) || json_object_get(v, "$float") || json_object_get(v, "$uint"))
		return true;
	t = json_object_get(v, "$ext");
	return t && json_integer_value(t) == 2; /* Decimal */
}

typedef struct line {
	char *p;
	size_t len, cap;
	bool oom;
} line;

static void line_put(line *l, const char *s, size_t n)
{
	if (l->oom)
		return;
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char *p;
		while (cap < l->len + n + 1)
			cap *= 2;
		p = realloc(l->p, cap);
		if (!p) {
			l->oom = true;
			return;
		}
		l->p = p;
		l->cap = cap;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void line_cell(line *l, size_t col, const char *s, size_t width, bool right)
{
	size_t w = text_width(s);

	if (col)
		line_put(l, "  ", 2);
	for (; right && w < width; w++)
		line_put(l, " ", 1);
	line_put(l, s, strlen(s));
	for (; w < width; w++)
		line_put(l, " ", 1);
}

/* Prints the line without trailing blanks (empty cells at the end leave none) and clears it. */
static void line_flush(line *l)
{
	while (l->len && l->p[l->len - 1] == ' ')
		l->len--;
	if (!l->oom) {
		fwrite(l->p, 1, l->len, stdout);
		putchar('\n');
	}
	l->len = 0;
}

/* Columns two spaces apart, a dashed rule under the header, as the sqlite3 shell's .mode column;
 * numeric columns are right-aligned, as psql does. */
static int print_table(const ath_result *res, size_t ncols, const json_t *rows)
{
	size_t nrows = json_array_size(rows), *width = calloc(ncols ? ncols : 1, sizeof(size_t));
	char **cells = calloc(nrows * ncols + 1, sizeof(char *));
	bool *right = calloc(ncols ? ncols : 1, sizeof(bool));
	line l = { NULL, 0, 0, false };
	int rc = 0;

	if (!width || !cells || !right) {
		rc = -1;
		goto done;
	}
	for (size_t c = 0; c < ncols; c++) {
		const char *name = ath_result_column_name(res, c);
		bool numeric = true, any = false;

		width[c] = text_width(name ? name : "");
		for (size_t r = 0; r < nrows; r++) {
			const json_t *v = json_array_get(json_array_get(rows, r), c);
			char *s = cell_text(v);
			if (!s) {
				rc = -1;
				goto done;
			}
			cells[r * ncols + c] = s;
			if (text_width(s) > width[c])
				width[c] = text_width(s);
			if (v && !json_is_null(v)) {
				any = true;
				numeric = numeric && is_numeric(v);
			}
		}
		right[c] = any && numeric;
	}
	for (size_t c = 0; c < ncols; c++) {
		const char *name = ath_result_column_name(res, c);
		line_cell(&l, c, name ? name : "", width[c], right[c]);
	}
	line_flush(&l);
	for (size_t c = 0; c < ncols; c++) {
		if (c)
			line_put(&l, "  ", 2);
		for (size_t k = 0; k < width[c]; k++)
			line_put(&l, "-", 1);
	}
	line_flush(&l);
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++)
			line_cell(&l, c, cells[r * ncols + c], width[c], right[c]);
		line_flush(&l);
	}
	if (l.oom)
		rc = -1;
	printf("(%zu row%s)\n", nrows, nrows == 1 ? "" : "s");
done:
	if (cells)
		for (size_t i = 0; i < nrows * ncols; i++)
			free(cells[i]);
	free(cells);
	free(width);
	free(right);
	free(l.p);
	return rc;
}

/* ---- exec ---- */

static int cmd_exec(int argc, char **argv)
{
	args a;
	input in;
	ath_engine_options opts;
	ath_engine *engine = NULL;
	ath_conn *conn = NULL;
	ath_result *res = NULL;
	ath_buf shape = ATH_BUF_INIT, pbuf = ATH_BUF_INIT, batch = ATH_BUF_INIT;
	json_t *all = NULL;
	char err[512];
	int status = 1, rc;

	ath_metadata *md = NULL;

	parse_args(&a, argc, argv, "exec", "--params --json --echo --metadata");
	if (a.npos != 2)
		usage_error("exec: expected URL and FILE.json");
	if (load_input(&in, a.pos[1], a.params) < 0)
		goto done;
	if (encode(&in, in.params, &shape, &pbuf) < 0)
		goto done;
	if (a.metadata && !(md = load_metadata(a.metadata)))
		goto done;

	ath_engine_options_init(&opts, ATH_ENGINE_OPTIONS_VERSION);
	opts.metadata = md; /* the engine keeps its own reference */
	if (a.echo)
		opts.flags |= ATH_ENGINE_ECHO;
	if (ath_engine_create(&engine, a.pos[0], &opts) < 0 || ath_engine_connect(&conn, engine) < 0) {
		status = report(NULL);
		goto done;
	}
	if (in.many)
		rc = ath_conn_executemany(&res, conn, shape.ptr, shape.size, pbuf.ptr, pbuf.size);
	else
		rc = ath_conn_execute(&res, conn, shape.ptr, shape.size, in.params ? pbuf.ptr : NULL,
				      in.params ? pbuf.size : 0);
	if (rc < 0) {
		status = report(in.params);
		goto done;
	}

	/*
	 * Rows are read before the commit: SQLite refuses to COMMIT while a statement with
	 * RETURNING still has rows pending. --json streams them; the table needs them all for
	 * the column widths.
	 */
	if (ath_result_returns_rows(res)) {
		all = json_array();
		while ((rc = ath_result_fetch(&batch, res, FETCH_BATCH)) == ATH_OK) {
			json_t *rows = jsonwire_from_msgpack(batch.ptr, batch.size, err, sizeof(err)), *row;
			size_t i;

			if (!json_is_array(rows)) {
				errorf("cannot read a row batch: %s", rows ? "not an array" : err);
				json_decref(rows);
				goto done;
			}
			if (a.json) {
				json_array_foreach(rows, i, row) {
					if (jsonwire_dumpf(row, stdout) < 0 || putchar('\n') == EOF) {
						errorf("cannot print a row");
						json_decref(rows);
						goto done;
					}
				}
			} else {
				json_array_extend(all, rows);
			}
			json_decref(rows);
		}
		if (rc != ATH_ITEROVER) {
			status = report(NULL);
			goto done;
		}
		if (ath_conn_commit(conn) < 0) {
			status = report(NULL);
			goto done;
		}
		if (!a.json && print_table(res, ath_result_column_count(res), all) < 0) {
			errorf("out of memory");
			goto done;
		}
	} else {
		int64_t rowcount = ath_result_rowcount(res), lastrowid = ath_result_lastrowid(res);

		if (ath_conn_commit(conn) < 0) {
			status = report(NULL);
			goto done;
		}
		if (a.json) {
			printf("{\"rowcount\": %lld", (long long)rowcount);
			if (lastrowid)
				printf(", \"lastrowid\": %lld", (long long)lastrowid);
			printf("}\n");
		} else {
			printf("rowcount: %lld\n", (long long)rowcount);
			if (lastrowid)
				printf("lastrowid: %lld\n", (long long)lastrowid);
		}
	}
	status = 0;
done:
	json_decref(all);
	ath_buf_dispose(&batch);
	ath_result_close(res);
	ath_conn_close(conn);
	ath_engine_free(engine);
	ath_metadata_free(md);
	jsonwire_buf_dispose(&shape);
	jsonwire_buf_dispose(&pbuf);
	input_free(&in);
	return status;
}

/* ---- reflect ---- */

/* athanor reflect URL [--schema S]: the reflected schema spec as indented JSON (ath_reflect_spec),
 * keys in the library's order. Parses its own arguments (one option). */
static int cmd_reflect(int argc, char **argv)
{
	const char *url = NULL, *schema = NULL;
	ath_engine *engine = NULL;
	ath_buf spec = ATH_BUF_INIT;
	json_t *j = NULL;
	char err[256];
	int status = 1;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			exit(0);
		} else if (strcmp(argv[i], "--schema") == 0 && i + 1 < argc) {
			schema = argv[++i];
		} else if (strncmp(argv[i], "--schema=", 9) == 0) {
			schema = argv[i] + 9;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			usage_error("reflect: unknown option %s", argv[i]);
		} else if (!url) {
			url = argv[i];
		} else {
			usage_error("reflect: too many arguments");
		}
	}
	if (!url)
		usage_error("reflect: expected URL");
	if (ath_engine_create(&engine, url, NULL) < 0 || ath_reflect_spec(&spec, engine, schema) < 0) {
		status = report(NULL);
		goto done;
	}
	if (!(j = jsonwire_from_msgpack(spec.ptr, spec.size, err, sizeof err))) {
		errorf("reflect: %s", err);
		goto done;
	}
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 && fputc('\n', stdout) != EOF)
		status = 0;
done:
	json_decref(j);
	ath_buf_dispose(&spec);
	ath_engine_free(engine);
	return status;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int status;

	/* character classes only, for wcwidth(); numbers keep the "C" locale's format */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "");
	if (!cmd)
		usage_error("no command given");
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
		status = cmd_version(argc - 2, argv + 2);
	else if (strcmp(cmd, "compile") == 0)
		status = cmd_compile(argc - 2, argv + 2);
	else if (strcmp(cmd, "exec") == 0)
		status = cmd_exec(argc - 2, argv + 2);
	else if (strcmp(cmd, "reflect") == 0)
		status = cmd_reflect(argc - 2, argv + 2);
	else
		usage_error("unknown command \"%s\"", cmd);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		errorf("cannot write to standard output: %s", strerror(errno));
		return 1;
	}
	return status;
}
