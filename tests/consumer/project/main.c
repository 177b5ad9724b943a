/* main.c — the consumer program of tests/consumer, built against an installed athanor (once with
 * CMake's find_package, once with pkg-config): checks that the headers and the library agree on the
 * version, that an SQLite engine can be created and connected, and prints OK. */
#include <athanor/athanor.h>

#include <stdio.h>
#include <string.h>

static int fail(const char *what)
{
	const ath_error *e = ath_error_last();
	fprintf(stderr, "consumer: %s failed: %s: %s\n", what, ath_error_class_name(e->klass), e->message);
	return 1;
}

int main(void)
{
	int major = -1, minor = -1, patch = -1;
	ath_engine *engine = NULL;
	ath_conn *conn = NULL;

	ath_version(&major, &minor, &patch);
	if (major != ATH_VERSION_MAJOR || minor != ATH_VERSION_MINOR || patch != ATH_VERSION_PATCH) {
		fprintf(stderr, "consumer: headers are %s but the library is %d.%d.%d\n", ATH_VERSION_STRING,
			major, minor, patch);
		return 1;
	}
	if (ath_engine_create(&engine, "sqlite://", NULL) != ATH_OK)
		return fail("ath_engine_create(\"sqlite://\")");
	if (strcmp(ath_engine_dialect_name(engine), "sqlite") != 0) {
		fprintf(stderr, "consumer: dialect is %s, expected sqlite\n", ath_engine_dialect_name(engine));
		ath_engine_free(engine);
		return 1;
	}
	if (ath_engine_connect(&conn, engine) != ATH_OK) {
		int rc = fail("ath_engine_connect");
		ath_engine_free(engine);
		return rc;
	}
	ath_conn_close(conn);
	ath_engine_free(engine);
	printf("OK athanor %s\n", ath_version_string());
	return 0;
}
