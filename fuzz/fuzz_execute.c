/* fuzz_execute.c — arbitrary bytes split into a shape and a parameter array, executed on an
 * in-memory SQLite database holding a small table: decoder, compiler, cache, parameter binding,
 * the driver and result packing. Any input must end in rows or a clean error, and the connection
 * must stay usable. Inputs holding a raw SQL text form ("text" statements or fragments) are
 * skipped: raw SQL can ATTACH or VACUUM INTO any path, and fuzzers run as root; fuzz_compile
 * covers compiling them. */
#include <athanor/athanor.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ath_engine *engine;
static ath_conn *conn;

static void setup(void)
{
	/* {"k":"text","sql":"CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INT)"} */
	static const char ddl[] = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INT); ";
	unsigned char shape[128];
	size_t len = strlen(ddl) - 2;
	size_t o = 0;
	shape[o++] = 0x82;
	shape[o++] = 0xa1, shape[o++] = 'k';
	shape[o++] = 0xa4, memcpy(shape + o, "text", 4), o += 4;
	shape[o++] = 0xa3, memcpy(shape + o, "sql", 3), o += 3;
	shape[o++] = 0xd9, shape[o++] = (unsigned char)len, memcpy(shape + o, ddl, len), o += len;
	if (ath_engine_create(&engine, "sqlite://", NULL) || ath_engine_connect(&conn, engine))
		abort();
	ath_result *r;
	if (ath_conn_execute(&r, conn, shape, o, NULL, 0))
		abort();
	ath_result_close(r);
	ath_conn_commit(conn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!engine)
		setup();
	if (size < 2)
		return 0;
	static const unsigned char text_kind[] = { 0xa4, 't', 'e', 'x', 't' }; /* msgpack "text" */
	for (size_t i = 0; i + sizeof text_kind <= size; i++)
		if (memcmp(data + i, text_kind, sizeof text_kind) == 0)
			return 0;
	/* first two bytes: where the shape ends and the parameters begin */
	size_t split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
	const uint8_t *shape = data + 2, *params = data + 2 + split;
	size_t shape_len = split, params_len = size - 2 - split;
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	if (ath_conn_execute(&r, conn, shape, shape_len, params, params_len) == ATH_OK) {
		while (ath_result_fetch(&b, r, 7) == ATH_OK)
			;
		ath_result_header(&b, r);
		ath_result_close(r);
	}
	ath_conn_rollback(conn); /* keep the table as it was */
	ath_buf_dispose(&b);
	return 0;
}
