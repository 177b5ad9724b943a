/* api_result.c — exported result functions: validate, call, publish. */
#include "capi.h"

#define RESULT_OK(res) CAPI_CHECK(res, ATH_MAGIC_RESULT, "result")

ATH_EXTERN(int) ath_result_header(ath_buf *out, ath_result *res)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_result_header: out is NULL");
	RESULT_OK(res);
	CAPI_CALL(ath_result__header(out, res, CAPI_ERR));
}

ATH_EXTERN(int) ath_result_fetch(ath_buf *out, ath_result *res, size_t max_rows)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_result_fetch: out is NULL");
	RESULT_OK(res);
	ath_err e;
	ath_err__init(&e);
	int rc = ath_result__fetch(out, res, max_rows, &e);
	return rc < 0 && rc != ATH_ITEROVER ? ath_capi__publish(&e, rc) : rc;
}

ATH_EXTERN(int) ath_result_fetch_all(ath_buf *out, ath_result *res)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_result_fetch_all: out is NULL");
	RESULT_OK(res);
	ath_err e;
	ath_err__init(&e);
	int rc = ath_result__fetch(out, res, SIZE_MAX, &e);
	if (rc == ATH_ITEROVER)
		return ATH_OK;
	return rc < 0 ? ath_capi__publish(&e, rc) : rc;
}

ATH_EXTERN(size_t) ath_result_column_count(const ath_result *res)
{
	return res && res->magic == ATH_MAGIC_RESULT ? res->ncols : 0;
}

ATH_EXTERN(const char *) ath_result_column_name(const ath_result *res, size_t i)
{
	return res && res->magic == ATH_MAGIC_RESULT && i < res->ncols ? res->colnames[i] : NULL;
}

ATH_EXTERN(int) ath_result_returns_rows(const ath_result *res)
{
	return res && res->magic == ATH_MAGIC_RESULT && res->returns_rows;
}

ATH_EXTERN(int64_t) ath_result_rowcount(const ath_result *res)
{
	return res && res->magic == ATH_MAGIC_RESULT ? res->rowcount : -1;
}

ATH_EXTERN(int64_t) ath_result_lastrowid(const ath_result *res)
{
	return res && res->magic == ATH_MAGIC_RESULT ? res->lastrowid : 0;
}

ATH_EXTERN(int) ath_result_inserted_primary_key(ath_buf *out, ath_result *res)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_result_inserted_primary_key: out is NULL");
	RESULT_OK(res);
	CAPI_CALL(ath_result__inserted_primary_key(out, res, CAPI_ERR));
}

ATH_EXTERN(int) ath_result_inserted_primary_key_rows(ath_buf *out, ath_result *res)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_result_inserted_primary_key_rows: out is NULL");
	RESULT_OK(res);
	CAPI_CALL(ath_result__inserted_primary_key_rows(out, res, CAPI_ERR));
}

ATH_EXTERN(void) ath_result_close(ath_result *res)
{
	if (res && res->magic == ATH_MAGIC_RESULT)
		ath_result__close(res);
}
