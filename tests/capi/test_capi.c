/* test_capi.c — the parts of the C API that are not about running SQL: the error-class table
 * generated from errors.def (names, parents, codes, is-a), the thread-local last error, version
 * agreement, options versions, ath_buf, ath_url_parse, ath_init/ath_shutdown, ath_compile's
 * output map. */
#include <athanor/athanor.h>
#include <pthread.h>
#include <string.h>

#include "test.h"
#include "wirejson.h"

static void test_error_classes(void)
{
	TEST_CASE("capi/error_classes");
	CHECK_STR("IntegrityError", ath_error_class_name(ATH_ERRCLASS_INTEGRITY_ERROR));
	CHECK_STR("gkpj", ath_error_class_code(ATH_ERRCLASS_INTEGRITY_ERROR));
	CHECK_INT(ATH_ERRCLASS_DATABASE_ERROR, ath_error_class_parent(ATH_ERRCLASS_INTEGRITY_ERROR));
	CHECK_INT(ATH_ERRCLASS_DBAPI_ERROR, ath_error_class_parent(ATH_ERRCLASS_DATABASE_ERROR));
	CHECK_INT(ATH_ERRCLASS_SQLALCHEMY_ERROR, ath_error_class_parent(ATH_ERRCLASS_DBAPI_ERROR));
	CHECK_INT(ATH_ERRCLASS_NONE, ath_error_class_parent(ATH_ERRCLASS_SQLALCHEMY_ERROR));
	CHECK(ath_error_class_is(ATH_ERRCLASS_NO_RESULT_FOUND, ATH_ERRCLASS_INVALID_REQUEST_ERROR));
	CHECK(ath_error_class_is(ATH_ERRCLASS_WIRE_FORMAT_ERROR, ATH_ERRCLASS_ARGUMENT_ERROR));
	CHECK(ath_error_class_is(ATH_ERRCLASS_WIRE_FORMAT_ERROR, ATH_ERRCLASS_SQLALCHEMY_ERROR));
	CHECK(!ath_error_class_is(ATH_ERRCLASS_WIRE_FORMAT_ERROR, ATH_ERRCLASS_DBAPI_ERROR));
	CHECK_STR("Unknown", ath_error_class_name((ath_error_class)9999));
	CHECK_INT(0, ath_error_class_is((ath_error_class)9999, ATH_ERRCLASS_SQLALCHEMY_ERROR));
	/* every class but the root reaches SQLAlchemyError */
	for (int k = ATH_ERRCLASS_SQLALCHEMY_ERROR; k < ATH_ERRCLASS__COUNT; k++)
		CHECK(ath_error_class_is((ath_error_class)k, ATH_ERRCLASS_SQLALCHEMY_ERROR));
}

static void *other_thread(void *arg)
{
	/* a failure on this thread does not touch the main thread's last error */
	ath_engine *e;
	int rc = ath_engine_create(&e, "nope://", NULL);
	*(int *)arg = rc < 0 && strstr(ath_error_last()->message, "nope") != NULL;
	return NULL;
}

static void test_last_error_is_thread_local(void)
{
	TEST_CASE("capi/last_error_thread_local");
	ath_error_clear();
	CHECK_INT(ATH_ERRCLASS_NONE, ath_error_last()->klass);
	CHECK_STR("", ath_error_last()->message);
	ath_engine *e;
	CHECK(ath_engine_create(&e, "sqlite:///x.db?zzz=1", NULL) < 0);
	CHECK_CONTAINS(ath_error_last()->message, "zzz");
	pthread_t t;
	int ok = 0;
	pthread_create(&t, NULL, other_thread, &ok);
	pthread_join(t, NULL);
	CHECK(ok);
	CHECK_CONTAINS(ath_error_last()->message, "zzz");
	CHECK_INT(ATH_EINVALID, ath_error_last()->code);
}

static void test_version_and_init(void)
{
	TEST_CASE("capi/version_init");
	int ma = -1, mi = -1, pa = -1;
	ath_version(&ma, &mi, &pa);
	CHECK_INT(ATH_VERSION_MAJOR, ma);
	CHECK_INT(ATH_VERSION_MINOR, mi);
	CHECK_INT(ATH_VERSION_PATCH, pa);
	ath_version(NULL, NULL, NULL);
	CHECK_STR(ATH_VERSION_STRING, ath_version_string());
	CHECK_INT(1, ath_init());
	CHECK_INT(2, ath_init());
	CHECK_INT(1, ath_shutdown());
	CHECK_INT(0, ath_shutdown());
	CHECK_INT(ATH_EMISUSE, ath_shutdown());
}

static void test_options_and_buffers(void)
{
	TEST_CASE("capi/options_buffers");
	ath_engine_options o;
	memset(&o, 0xff, sizeof o);
	CHECK_INT(ATH_OK, ath_engine_options_init(&o, 1));
	CHECK_INT(1, o.version);
	CHECK_INT(0, o.flags);
	CHECK(o.log_cb == NULL && o.isolation_level == NULL);
	CHECK_INT(ATH_EINVALID, ath_engine_options_init(&o, 0));
	CHECK_INT(ATH_EMISUSE, ath_engine_options_init(NULL, 1));
	ath_buf b = ATH_BUF_INIT;
	ath_buf_dispose(&b);
	ath_buf_dispose(NULL);
	/* one buffer reused across calls keeps its allocation and replaces its contents */
	CHECK_INT(ATH_OK, ath_url_parse(&b, "sqlite:///a.db"));
	size_t first = b.size;
	CHECK_INT(ATH_OK, ath_url_parse(&b, "sqlite://"));
	CHECK(b.size < first);
	ath_buf_dispose(&b);
	CHECK(b.ptr == NULL && b.size == 0);
}

static void test_url_parse(void)
{
	TEST_CASE("capi/url_parse");
	ath_buf b = ATH_BUF_INIT;
	CHECK_INT(ATH_OK, ath_url_parse(&b, "postgresql+libpq://scott:ti%40ger@[::1]:5433/test?sslmode=disable&x=1&x=2"));
	char *j = as_json(b.ptr, b.size);
	CHECK_STR("{\"drivername\":\"postgresql+libpq\",\"dialect\":\"postgresql\",\"driver\":\"libpq\",\"username\":\"scott\","
		  "\"password\":\"ti@ger\",\"host\":\"::1\",\"port\":5433,\"database\":\"test\",\"query\":{\"sslmode\":\"disable\","
		  "\"x\":[\"1\",\"2\"]}}",
		  j);
	free(j);
	CHECK(ath_url_parse(&b, "://nothing") < 0);
	CHECK_STR("ArgumentError", ath_error_class_name(ath_error_last()->klass));
	CHECK(ath_url_parse(&b, "pg://u:secret@h:99999/d") < 0);
	CHECK_CONTAINS(ath_error_last()->message, "invalid port");
	CHECK(!strstr(ath_error_last()->message, "secret"));
	CHECK_INT(ATH_EMISUSE, ath_url_parse(&b, NULL));
	ath_buf_dispose(&b);
}

static void test_compile_output(void)
{
	TEST_CASE("capi/compile_output");
	ath_buf shape = mp("{\"k\": \"select\", \"columns\": [[\"col\", \"t\", \"a\"]], \"where\": [\"and\", [\"=\", [\"col\", \"t\", \"b\"], "
			   "[\"bind\", 1]], [\"in\", [\"col\", \"t\", \"a\"], [\"expanding\", 0]]]}");
	ath_buf out = ATH_BUF_INIT;
	CHECK_INT(ATH_OK, ath_compile(&out, "postgresql", shape.ptr, shape.size, NULL, 0));
	char *j = as_json(out.ptr, out.size);
	CHECK_STR("{\"sql\":\"SELECT t.a FROM t WHERE t.b = $1 AND t.a IN ([EXPANDING 0])\",\"bind_order\":[1,0],\"expanding\":[0]}", j);
	free(j);
	ath_buf params = mp("[[5, 6], \"x\"]");
	CHECK_INT(ATH_OK, ath_compile(&out, "postgresql", shape.ptr, shape.size, params.ptr, params.size));
	j = as_json(out.ptr, out.size);
	CHECK_STR("{\"sql\":\"SELECT t.a FROM t WHERE t.b = $1 AND t.a IN ($2, $3)\",\"bind_order\":[1,0],\"expanding\":[0],"
		  "\"params\":[\"x\",5,6]}",
		  j);
	free(j);
	CHECK(ath_compile(&out, "oracle", shape.ptr, shape.size, NULL, 0) < 0);
	CHECK_CONTAINS(ath_error_last()->message, "unknown dialect 'oracle'");
	/* an engine compiles through its cache, with the same output */
	ath_engine *e;
	CHECK_INT(ATH_OK, ath_engine_create(&e, "sqlite://", NULL));
	CHECK_INT(ATH_OK, ath_engine_compile(&out, e, shape.ptr, shape.size));
	CHECK_INT(ATH_OK, ath_engine_compile(&out, e, shape.ptr, shape.size));
	j = as_json(out.ptr, out.size);
	CHECK_STR("{\"sql\":\"SELECT t.a FROM t WHERE t.b = ? AND t.a IN ([EXPANDING 0])\",\"bind_order\":[1,0],\"expanding\":[0]}", j);
	free(j);
	CHECK_STR("sqlite", ath_engine_dialect_name(e));
	ath_engine_free(e);
	mp_free(&shape);
	mp_free(&params);
	ath_buf_dispose(&out);
}

static void test_strictness(void)
{
	TEST_CASE("capi/duplicate_statement_key");
	/* {"k": "select", "columns": [["lit", 1]], "columns": [["lit", 2]]}: JSON tools keep the last;
	 * athanor refuses the ambiguity */
	static const unsigned char dup[] = { 0x83, 0xa1, 'k', 0xa6, 's', 'e', 'l', 'e', 'c', 't', 0xa7, 'c', 'o', 'l',
					     'u', 'm', 'n', 's', 0x91, 0x92, 0xa3, 'l', 'i', 't', 0x01, 0xa7, 'c', 'o',
					     'l', 'u', 'm', 'n', 's', 0x91, 0x92, 0xa3, 'l', 'i', 't', 0x02 };
	ath_buf out = ATH_BUF_INIT;
	CHECK(ath_compile(&out, "sqlite", dup, sizeof dup, NULL, 0) < 0);
	CHECK_STR("WireFormatError", ath_error_class_name(ath_error_last()->klass));
	CHECK_CONTAINS(ath_error_last()->message, "$.columns: key given twice");

	TEST_CASE("capi/default_values_primary_key");
	ath_engine *e;
	ath_conn *c;
	ath_result *r;
	CHECK_INT(ATH_OK, ath_engine_create(&e, "sqlite://", NULL));
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	ath_buf ddl = mp("{\"k\": \"text\", \"sql\": \"CREATE TABLE d (id INTEGER PRIMARY KEY, x TEXT DEFAULT 'x')\"}");
	ath_buf ins = mp("{\"k\": \"insert\", \"table\": [\"table\", \"d\"]}");
	CHECK_INT(ATH_OK, ath_conn_execute(&r, c, ddl.ptr, ddl.size, NULL, 0));
	ath_result_close(r);
	for (int i = 1; i <= 2; i++) {
		CHECK_INT(ATH_OK, ath_conn_execute(&r, c, ins.ptr, ins.size, NULL, 0));
		CHECK_INT(ATH_OK, ath_result_inserted_primary_key(&out, r));
		char *j = as_json(out.ptr, out.size);
		CHECK_STR(i == 1 ? "[1]" : "[2]", j);
		free(j);
		ath_result_close(r);
	}
	mp_free(&ddl);
	mp_free(&ins);
	ath_buf_dispose(&out);
	ath_conn_close(c);
	ath_engine_free(e);
}

int main(void)
{
	test_strictness();
	test_error_classes();
	test_last_error_is_thread_local();
	test_version_and_init();
	test_options_and_buffers();
	test_url_parse();
	test_compile_output();
	return test_exit();
}
