/* api_engine.c — exported engine functions: validate, call engine/, publish errors. */
#include <stddef.h>
#include <string.h>

#include "capi.h"
#include "dialects/dialect.h"
#include "schema/metadata.h"
#include "wire/mpbuf.h"

ATH_EXTERN(int) ath_engine_options_init(ath_engine_options *opts, unsigned int version)
{
	if (!opts)
		return ath_capi__misuse(ATH_EMISUSE, "ath_engine_options_init: opts is NULL");
	if (version < 1 || version > ATH_ENGINE_OPTIONS_VERSION)
		return ath_capi__misuse(ATH_EINVALID, "ath_engine_options_init: unknown options version %u (this "
						      "library knows 1..%u)", version, ATH_ENGINE_OPTIONS_VERSION);
	ath_engine_options init = ATH_ENGINE_OPTIONS_INIT;
	*opts = init;
	opts->version = version;
	return ATH_OK;
}

ATH_EXTERN(int) ath_engine_create(ath_engine **out, const char *url, const ath_engine_options *opts)
{
	if (!out || !url)
		return ath_capi__misuse(ATH_EMISUSE, "ath_engine_create: %s is NULL", out ? "url" : "out");
	*out = NULL;
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	if (opts) {
		if (opts->version < 1 || opts->version > ATH_ENGINE_OPTIONS_VERSION)
			return ath_capi__misuse(ATH_EINVALID, "ath_engine_create: unknown options version %u", opts->version);
		/* copy only the prefix the caller's version defines; the rest keeps its defaults */
		static const size_t prefix[] = { 0, offsetof(ath_engine_options, pool_class),
						 offsetof(ath_engine_options, metadata), sizeof(ath_engine_options) };
		memcpy(&o, opts, prefix[opts->version]);
		if (o.metadata && o.metadata->magic != ATH_MAGIC_METADATA)
			return ath_capi__misuse(ATH_EMISUSE, "ath_engine_create: opts->metadata is not a live ath_metadata");
	}
	CAPI_CALL(ath_engine__create(out, url, &o, CAPI_ERR));
}

ATH_EXTERN(void) ath_engine_free(ath_engine *engine)
{
	if (engine && engine->magic == ATH_MAGIC_ENGINE)
		ath_engine__release(engine);
}

ATH_EXTERN(const char *) ath_engine_dialect_name(const ath_engine *engine)
{
	return engine && engine->magic == ATH_MAGIC_ENGINE ? engine->dialect->name : "";
}

ATH_EXTERN(int) ath_engine_connect(ath_conn **out, ath_engine *engine)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_engine_connect: out is NULL");
	*out = NULL;
	CAPI_CHECK(engine, ATH_MAGIC_ENGINE, "engine");
	if (atomic_load(&engine->released))
		return ath_capi__misuse(ATH_EMISUSE, "ath_engine_connect: the engine has been freed");
	CAPI_CALL(ath_engine__connect(out, engine, CAPI_ERR));
}

ATH_EXTERN(int) ath_engine_stats(ath_buf *out, ath_engine *engine)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_engine_stats: out is NULL");
	CAPI_CHECK(engine, ATH_MAGIC_ENGINE, "engine");
	CAPI_CALL(ath_engine__stats(out, engine, CAPI_ERR));
}

ATH_EXTERN(int) ath_engine_compile(ath_buf *out, ath_engine *engine, const void *shape, size_t shape_len)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_engine_compile: out is NULL");
	CAPI_CHECK(engine, ATH_MAGIC_ENGINE, "engine");
	ath_err e = { 0 };
	ath_compiled *cs;
	int cached;
	int rc = ath_engine__compiled(&cs, engine, shape, shape_len, NULL, NULL, &cached, &e);
	if (rc == 0) {
		rc = ath_compiled__pack_info(out, cs, NULL, &e);
		ath_compiled__decref(cs);
	}
	return rc < 0 ? ath_capi__publish(&e, rc) : rc;
}

ATH_EXTERN(int) ath_compile(ath_buf *out, const char *dialect, const void *shape, size_t shape_len, const void *params,
			    size_t params_len)
{
	if (!out || !dialect)
		return ath_capi__misuse(ATH_EMISUSE, "ath_compile: %s is NULL", out ? "dialect" : "out");
	const ath_dialect *d = ath_dialect__find(dialect);
	if (!d) {
		ath_err e = { 0 };
		ath_err__set(&e, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
			     "unknown dialect '%.40s' (known: sqlite, postgresql, mysql, mariadb)", dialect);
		return ath_capi__publish(&e, ATH_EINVALID);
	}
	ath_wire_limits lim = ath_wire__limits(NULL);
	CAPI_CALL(ath_compile__standalone(out, d, NULL, shape, shape_len, params, params_len, &lim, CAPI_ERR));
}

ATH_EXTERN(int) ath_compile_options_init(ath_compile_options *opts, unsigned int version)
{
	if (!opts)
		return ath_capi__misuse(ATH_EMISUSE, "ath_compile_options_init: opts is NULL");
	if (version < 1 || version > ATH_COMPILE_OPTIONS_VERSION)
		return ath_capi__misuse(ATH_EINVALID, "ath_compile_options_init: unknown options version %u (this "
						      "library knows 1..%u)", version, ATH_COMPILE_OPTIONS_VERSION);
	ath_compile_options init = ATH_COMPILE_OPTIONS_INIT;
	*opts = init;
	opts->version = version;
	return ATH_OK;
}

ATH_EXTERN(int) ath_compile_v2(ath_buf *out, const char *dialect, const void *shape, size_t shape_len,
			       const void *params, size_t params_len, const ath_compile_options *opts)
{
	if (!out || !dialect)
		return ath_capi__misuse(ATH_EMISUSE, "ath_compile_v2: %s is NULL", out ? "dialect" : "out");
	ath_compile_options o = ATH_COMPILE_OPTIONS_INIT;
	if (opts) {
		if (opts->version < 1 || opts->version > ATH_COMPILE_OPTIONS_VERSION)
			return ath_capi__misuse(ATH_EINVALID, "ath_compile_v2: unknown options version %u", opts->version);
		o = *opts;
		if (o.metadata)
			CAPI_CHECK(o.metadata, ATH_MAGIC_METADATA, "opts->metadata");
	}
	const ath_dialect *d = ath_dialect__find(dialect);
	if (!d) {
		ath_err e = { 0 };
		ath_err__set(&e, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
			     "unknown dialect '%.40s' (known: sqlite, postgresql, mysql, mariadb)", dialect);
		return ath_capi__publish(&e, ATH_EINVALID);
	}
	ath_wire_limits lim = ath_wire__limits(NULL);
	CAPI_CALL(ath_compile__standalone(out, d, o.metadata, shape, shape_len, params, params_len, &lim, CAPI_ERR));
}

ATH_EXTERN(int) ath_url_parse(ath_buf *out, const char *url)
{
	if (!out || !url)
		return ath_capi__misuse(ATH_EMISUSE, "ath_url_parse: %s is NULL", out ? "url" : "out");
	ath_err e = { 0 };
	ath_url u;
	int rc = ath_url__parse(&u, url, &e);
	if (rc)
		return ath_capi__publish(&e, rc);
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	rc = ath_url__pack(&u, &pk) ? ath_err__oom(&e) : 0;
	ath_url__free(&u);
	return rc < 0 ? ath_capi__publish(&e, rc) : rc;
}
