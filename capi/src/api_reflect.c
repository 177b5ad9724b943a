/* api_reflect.c — exported reflection functions (the Inspector, the reflected spec,
 * MetaData.reflect): validate handles and arguments, call engine/schema/reflect.c, publish errors. */
#include "capi.h"
#include "schema/metadata.h"
#include "schema/reflect.h"

static int engine_ok(ath_engine *engine, const char *fn)
{
	if (atomic_load(&engine->released))
		return ath_capi__misuse(ATH_EMISUSE, "%s: the engine has been freed", fn);
	return ATH_OK;
}

ATH_EXTERN(int) ath_engine_inspect(ath_buf *out, ath_engine *engine, ath_inspect_kind what, const char *schema,
				   const char *table)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_engine_inspect: out is NULL");
	CAPI_CHECK(engine, ATH_MAGIC_ENGINE, "engine");
	int rc = engine_ok(engine, "ath_engine_inspect");
	if (rc)
		return rc;
	if ((int)what < 0 || (int)what >= ATH_RF__COUNT)
		return ath_capi__misuse(ATH_EINVALID, "ath_engine_inspect: unknown kind %d", (int)what);
	CAPI_CALL(ath_reflect__inspect(out, engine, (int)what, schema, table, CAPI_ERR));
}

ATH_EXTERN(int) ath_reflect_spec(ath_buf *out, ath_engine *engine, const char *schema)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_reflect_spec: out is NULL");
	CAPI_CHECK(engine, ATH_MAGIC_ENGINE, "engine");
	int rc = engine_ok(engine, "ath_reflect_spec");
	if (rc)
		return rc;
	CAPI_CALL(ath_reflect__spec(out, engine, schema, CAPI_ERR));
}

ATH_EXTERN(int) ath_metadata_reflect(ath_metadata **out, ath_engine *engine, const char *schema, uint32_t flags)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_metadata_reflect: out is NULL");
	*out = NULL;
	CAPI_CHECK(engine, ATH_MAGIC_ENGINE, "engine");
	int rc = engine_ok(engine, "ath_metadata_reflect");
	if (rc)
		return rc;
	if (flags)
		return ath_capi__misuse(ATH_EINVALID, "ath_metadata_reflect: unknown flags 0x%x", flags);
	ath_buf spec = ATH_BUF_INIT;
	ath_err e = { 0 };
	rc = ath_reflect__spec(&spec, engine, schema, &e);
	if (!rc) {
		ath_wire_limits lim = ath_wire__limits(NULL);
		rc = ath_metadata__create(out, spec.ptr, spec.size, &lim, &e);
	}
	ath_buf_dispose(&spec);
	return rc < 0 ? ath_capi__publish(&e, rc) : rc;
}
