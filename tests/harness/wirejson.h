/* wirejson.h — tests write statements and parameters as JSON (the CLI's spelling) and get
 * msgpack bytes; and read msgpack output back as JSON text. Needs athanor_jsonwire. */
#ifndef ATH_TEST_WIREJSON_H
#define ATH_TEST_WIREJSON_H

#include <jansson.h>
#include <stdarg.h>

#include "jsonwire.h"

/* A msgpack buffer from JSON text (printf-style); aborts the test on malformed JSON. */
__attribute__((format(printf, 1, 2))) static inline ath_buf mp(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *text = malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(text, (size_t)n + 1, fmt, ap);
	va_end(ap);
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
	ath_buf b = ATH_BUF_INIT;
	char err[256];
	if (!j || jsonwire_to_msgpack(j, &b, err, sizeof err)) {
		fprintf(stderr, "bad test JSON: %s\n%.500s\n", j ? err : jerr.text, text);
		abort();
	}
	json_decref(j);
	free(text);
	return b;
}

static inline void mp_free(ath_buf *b) { jsonwire_buf_dispose(b); }

/* msgpack bytes as compact JSON text; the caller frees it. */
static inline char *as_json(const void *data, size_t len)
{
	char err[256];
	json_t *j = jsonwire_from_msgpack(data, len, err, sizeof err);
	if (!j)
		return strdup(err);
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	return s;
}

/* A field of a msgpack map, as compact JSON text; the caller frees it. */
static inline char *field_json(const void *data, size_t len, const char *key)
{
	char err[256];
	json_t *j = jsonwire_from_msgpack(data, len, err, sizeof err);
	if (!j)
		return strdup(err);
	char *s = json_dumps(json_object_get(j, key), JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	return s ? s : strdup("(absent)");
}

#endif
