/* fuzz_spec.c — arbitrary bytes as a schema spec: ath_metadata_create(), then the create_all and
 * drop_all DDL of every dialect (ath_compile_ddl), the table accessors, and statements compiled
 * against the metadata for each table (create_table / drop_table, a select of columns_of, an
 * insert gaining client-side defaults). Any input must end in a metadata and SQL, or a clean error
 * (WireFormatError, ArgumentError, CompileError, ...). */
#include <athanor/athanor.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "minijson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_str(unsigned char *out, size_t *n, const char *s)
{
	size_t len = strlen(s);
	unsigned char h[3] = { 0xda, (unsigned char)(len >> 8), (unsigned char)len };
	mj_put(out, n, h, 3);
	mj_put(out, n, s, len);
}

/* the four statements about table `name`, as msgpack, one after another in out; lengths in lens */
static void statements(unsigned char *out, size_t lens[4], const char *name)
{
	size_t n = 0, start;
	start = n; /* {"k": "create_table", "table": name} */
	mj_header(out, &n, 0x80, 0xde, 2);
	put_str(out, &n, "k"), put_str(out, &n, "create_table"), put_str(out, &n, "table"), put_str(out, &n, name);
	lens[0] = n - start;
	start = n; /* {"k": "drop_table", "table": name, "if_exists": true} */
	mj_header(out, &n, 0x80, 0xde, 3);
	put_str(out, &n, "k"), put_str(out, &n, "drop_table"), put_str(out, &n, "table"), put_str(out, &n, name);
	put_str(out, &n, "if_exists"), mj_put(out, &n, "\xc3", 1);
	lens[1] = n - start;
	start = n; /* {"k": "select", "columns": [["columns_of", name]], "from": [["table", name]]} */
	mj_header(out, &n, 0x80, 0xde, 3);
	put_str(out, &n, "k"), put_str(out, &n, "select"), put_str(out, &n, "columns");
	mj_put(out, &n, "\x91\x92", 2), put_str(out, &n, "columns_of"), put_str(out, &n, name);
	put_str(out, &n, "from"), mj_put(out, &n, "\x91\x92", 2), put_str(out, &n, "table"), put_str(out, &n, name);
	lens[2] = n - start;
	start = n; /* {"k": "insert", "table": ["table", name]} */
	mj_header(out, &n, 0x80, 0xde, 2);
	put_str(out, &n, "k"), put_str(out, &n, "insert"), put_str(out, &n, "table");
	mj_put(out, &n, "\x92", 1), put_str(out, &n, "table"), put_str(out, &n, name);
	lens[3] = n - start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dialects[] = { "sqlite", "postgresql", "mysql", "mariadb" };
	ath_metadata *md = NULL;
	if (ath_metadata_create(&md, data, size) != ATH_OK)
		return 0;
	ath_buf b = ATH_BUF_INIT;
	for (size_t d = 0; d < sizeof dialects / sizeof *dialects; d++) {
		ath_compile_ddl(&b, dialects[d], md, 0);
		ath_compile_ddl(&b, dialects[d], md, ATH_DDL_DROP);
	}
	ath_compile_options o = ATH_COMPILE_OPTIONS_INIT;
	o.metadata = md;
	unsigned char *shapes = malloc(MJ_MAX);
	if (!shapes)
		abort();
	size_t tables = ath_metadata_table_count(md);
	for (size_t i = 0; i < tables && i < 8; i++) {
		const char *name = ath_metadata_table_name(md, i);
		if (!name)
			abort(); /* every table has a name */
		if (strlen(name) > 256)
			continue;
		size_t lens[4], off = 0;
		statements(shapes, lens, name);
		for (size_t s = 0; s < 4; off += lens[s], s++)
			for (size_t d = 0; d < sizeof dialects / sizeof *dialects; d++)
				ath_compile_v2(&b, dialects[d], shapes + off, lens[s], NULL, 0, &o);
	}
	if (ath_metadata_table_name(md, tables) != NULL)
		abort();
	free(shapes);
	ath_buf_dispose(&b);
	ath_metadata_free(md);
	return 0;
}
