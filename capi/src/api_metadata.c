/* api_metadata.c — exported metadata functions: validate handles and flags, call engine/schema,
 * publish errors. */
#include "capi.h"
#include "dialects/dialect.h"
#include "schema/create.h"
#include "schema/metadata.h"

#define DDL_FLAGS (ATH_DDL_NO_CHECKFIRST | ATH_DDL_DROP)

ATH_EXTERN(int) ath_metadata_create(ath_metadata **out, const void *spec, size_t len)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_metadata_create: out is NULL");
	*out = NULL;
	ath_wire_limits lim = ath_wire__limits(NULL);
	CAPI_CALL(ath_metadata__create(out, spec, len, &lim, CAPI_ERR));
}

ATH_EXTERN(void) ath_metadata_free(ath_metadata *md)
{
	if (md && md->magic == ATH_MAGIC_METADATA)
		ath_metadata__decref(md);
}

ATH_EXTERN(size_t) ath_metadata_table_count(const ath_metadata *md)
{
	return md && md->magic == ATH_MAGIC_METADATA ? md->ntables : 0;
}

ATH_EXTERN(const char *) ath_metadata_table_name(const ath_metadata *md, size_t i)
{
	return md && md->magic == ATH_MAGIC_METADATA && i < md->ntables ? md->tables[i].name : NULL;
}

ATH_EXTERN(int) ath_metadata_spec(ath_buf *out, const ath_metadata *md)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_metadata_spec: out is NULL");
	CAPI_CHECK(md, ATH_MAGIC_METADATA, "md");
	CAPI_CALL(ath_metadata__pack_spec(out, md, CAPI_ERR));
}

ATH_EXTERN(int) ath_compile_ddl(ath_buf *out, const char *dialect, const ath_metadata *md, uint32_t flags)
{
	if (!out || !dialect)
		return ath_capi__misuse(ATH_EMISUSE, "ath_compile_ddl: %s is NULL", out ? "dialect" : "out");
	CAPI_CHECK(md, ATH_MAGIC_METADATA, "md");
	if (flags & ~DDL_FLAGS)
		return ath_capi__misuse(ATH_EINVALID, "ath_compile_ddl: unknown flags 0x%x", flags & ~DDL_FLAGS);
	const ath_dialect *d = ath_dialect__find(dialect);
	if (!d)
		return ath_capi__misuse(ATH_EINVALID, "unknown dialect '%.40s' (known: sqlite, postgresql, mysql, mariadb)",
					dialect);
	CAPI_CALL(ath_schema__compile(out, d, md, (flags & ATH_DDL_DROP) != 0, CAPI_ERR));
}

static int run(ath_engine *engine, const ath_metadata *md, uint32_t flags, int drop, const char *fn)
{
	CAPI_CHECK(engine, ATH_MAGIC_ENGINE, "engine");
	CAPI_CHECK(md, ATH_MAGIC_METADATA, "md");
	if (flags & ~ATH_DDL_NO_CHECKFIRST)
		return ath_capi__misuse(ATH_EINVALID, "%s: unknown flags 0x%x", fn, flags & ~ATH_DDL_NO_CHECKFIRST);
	if (atomic_load(&engine->released))
		return ath_capi__misuse(ATH_EMISUSE, "%s: the engine has been freed", fn);
	CAPI_CALL(ath_schema__run(engine, md, drop, !(flags & ATH_DDL_NO_CHECKFIRST), CAPI_ERR));
}

ATH_EXTERN(int) ath_engine_create_all(ath_engine *engine, const ath_metadata *md, uint32_t flags)
{
	return run(engine, md, flags, 0, "ath_engine_create_all");
}

ATH_EXTERN(int) ath_engine_drop_all(ath_engine *engine, const ath_metadata *md, uint32_t flags)
{
	return run(engine, md, flags, 1, "ath_engine_drop_all");
}
