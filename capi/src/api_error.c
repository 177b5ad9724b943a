/* api_error.c — the thread-local last error, the error-class table (from errors.def), ath_buf,
 * version and init. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi.h"
#include "util/alloc.h"

typedef struct tls_error {
	ath_err err;
	ath_error pub;
} tls_error;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p)
{
	tls_error *t = p;
	ath_err__clear(&t->err);
	ath__free(t);
}

static void tls_init(void) { pthread_key_create(&tls_key, tls_free); }

static tls_error *tls_get(void)
{
	static tls_error fallback; /* when even the slot cannot be allocated */
	pthread_once(&tls_once, tls_init);
	tls_error *t = pthread_getspecific(tls_key);
	if (!t) {
		t = calloc(1, sizeof *t); /* not ath__malloc: must work under injected allocation failures */
		if (!t || pthread_setspecific(tls_key, t) != 0) {
			free(t);
			return &fallback;
		}
	}
	return t;
}

static void refresh_public(tls_error *t)
{
	t->pub.code = t->err.code;
	t->pub.klass = t->err.klass;
	memcpy(t->pub.sqlstate, t->err.sqlstate, sizeof t->pub.sqlstate);
	t->pub.native_code = t->err.native_code;
	t->pub.flags = t->err.flags;
	t->pub.message = t->err.message;
	t->pub.sql = t->err.sql;
}

int ath_capi__publish(ath_err *e, int rc)
{
	tls_error *t = tls_get();
	if (!e->code) /* a failure path that recorded nothing: never return < 0 without a message */
		ath_err__set(e, rc, ATH_ERRCLASS_SQLALCHEMY_ERROR, "internal error %d without details", rc);
	ath_err__move(&t->err, e);
	refresh_public(t);
	return t->err.code;
}

int ath_capi__misuse(int code, const char *fmt, ...)
{
	ath_err e = { 0 };
	va_list ap;
	va_start(ap, fmt);
	e.code = code;
	e.klass = ATH_ERRCLASS_INVALID_REQUEST_ERROR;
	vsnprintf(e.message, sizeof e.message, fmt, ap);
	va_end(ap);
	return ath_capi__publish(&e, code);
}

ATH_EXTERN(const ath_error *) ath_error_last(void)
{
	tls_error *t = tls_get();
	refresh_public(t);
	return &t->pub;
}

ATH_EXTERN(void) ath_error_clear(void)
{
	tls_error *t = tls_get();
	ath_err__clear(&t->err);
	refresh_public(t);
}

static const struct {
	const char *name;
	ath_error_class parent;
	const char *code;
} classes[] = {
#define ATH_ERROR_CLASS(e, name, parent, code) { #name, ATH_ERRCLASS_##parent, code },
#include "athanor/errors.def"
#undef ATH_ERROR_CLASS
};

ATH_EXTERN(const char *) ath_error_class_name(ath_error_class klass)
{
	return (unsigned)klass < ATH_ERRCLASS__COUNT ? classes[klass].name : "Unknown";
}

ATH_EXTERN(ath_error_class) ath_error_class_parent(ath_error_class klass)
{
	return (unsigned)klass < ATH_ERRCLASS__COUNT ? classes[klass].parent : ATH_ERRCLASS_NONE;
}

ATH_EXTERN(const char *) ath_error_class_code(ath_error_class klass)
{
	return (unsigned)klass < ATH_ERRCLASS__COUNT ? classes[klass].code : "";
}

ATH_EXTERN(int) ath_error_class_is(ath_error_class klass, ath_error_class ancestor)
{
	for (int depth = 0; (unsigned)klass < ATH_ERRCLASS__COUNT && depth < ATH_ERRCLASS__COUNT; depth++) {
		if (klass == ancestor)
			return 1;
		if (klass == ATH_ERRCLASS_NONE)
			break;
		klass = classes[klass].parent;
	}
	return 0;
}

ATH_EXTERN(void) ath_buf_dispose(ath_buf *buf)
{
	if (!buf)
		return;
	ath__free(buf->ptr);
	buf->ptr = NULL;
	buf->reserved = buf->size = 0;
}

ATH_EXTERN(void) ath_version(int *major, int *minor, int *patch)
{
	if (major)
		*major = ATH_VERSION_MAJOR;
	if (minor)
		*minor = ATH_VERSION_MINOR;
	if (patch)
		*patch = ATH_VERSION_PATCH;
}

ATH_EXTERN(const char *) ath_version_string(void) { return ATH_VERSION_STRING; }

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
static int init_count;

ATH_EXTERN(int) ath_init(void)
{
	pthread_mutex_lock(&init_mu);
	if (init_count == 0 && sqlite3_initialize() != SQLITE_OK) {
		pthread_mutex_unlock(&init_mu);
		return ath_capi__misuse(ATH_ERROR, "sqlite3_initialize failed");
	}
	int n = ++init_count;
	pthread_mutex_unlock(&init_mu);
	return n;
}

ATH_EXTERN(int) ath_shutdown(void)
{
	pthread_mutex_lock(&init_mu);
	if (init_count == 0) {
		pthread_mutex_unlock(&init_mu);
		return ath_capi__misuse(ATH_EMISUSE, "ath_shutdown without a matching ath_init");
	}
	int n = --init_count;
	pthread_mutex_unlock(&init_mu);
	return n;
}
