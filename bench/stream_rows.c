/* bench/stream_rows.c — peak memory of reading N rows from a server, streamed
 * (ATH_ENGINE_STREAM_RESULTS: PostgreSQL single-row mode / MySQL unbuffered) or buffered.
 * Usage: stream_rows URL ROWS stream|buffered (PostgreSQL or MariaDB URL); prints rows and peak RSS
 * (getrusage). */
#include <athanor/athanor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	if (argc != 4)
		return fprintf(stderr, "usage: stream_rows URL ROWS stream|buffered\n"), 2;
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	if (strcmp(argv[3], "stream") == 0)
		o.flags = ATH_ENGINE_STREAM_RESULTS;
	ath_engine *e = NULL;
	ath_conn *c = NULL;
	ath_result *r = NULL;
	char sql[256];
	/* MariaDB has no generate_series: its SEQUENCE engine's seq_1_to_N table instead */
	int mysql = strncmp(argv[1], "mysql", 5) == 0 || strncmp(argv[1], "mariadb", 7) == 0;
	int n = mysql ? snprintf(sql, sizeof sql, "SELECT seq, CONCAT('row number ', seq) FROM seq_1_to_%ld", atol(argv[2]))
		      : snprintf(sql, sizeof sql, "SELECT g, 'row number ' || g FROM generate_series(1, %ld) g", atol(argv[2]));
	/* msgpack {"k": "text", "sql": sql} */
	unsigned char shape[300] = { 0x82, 0xa1, 'k', 0xa4, 't', 'e', 'x', 't', 0xa3, 's', 'q', 'l', 0xd9, (unsigned char)n };
	memcpy(shape + 14, sql, (size_t)n);
	if (ath_engine_create(&e, argv[1], &o) || ath_engine_connect(&c, e) ||
	    ath_conn_execute(&r, c, shape, 14 + (size_t)n, NULL, 0)) {
		fprintf(stderr, "%s\n", ath_error_last()->message);
		return 1;
	}
	ath_buf b = ATH_BUF_INIT;
	long long rows = 0;
	while (ath_result_fetch(&b, r, 1000) == ATH_OK)
		rows += (long long)(b.ptr[1] << 24 | b.ptr[2] << 16 | b.ptr[3] << 8 | b.ptr[4]);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%s: %lld rows, peak RSS %ld MiB\n", argv[3], rows, ru.ru_maxrss / 1024);
	ath_buf_dispose(&b);
	ath_result_close(r);
	ath_conn_close(c);
	ath_engine_free(e);
	return 0;
}
