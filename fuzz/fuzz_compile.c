/* fuzz_compile.c — arbitrary bytes as a statement shape, compiled for every dialect through the
 * public ath_compile(): the bounded validator, the msgpack decoder, the AST builder and every
 * dialect's compiler. Any input must give SQL or a clean error: no crash, no leak, no UB. The
 * first byte, when the rest is a valid shape, also selects parameters for expanding lists. */
#include <athanor/athanor.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dialects[] = { "sqlite", "postgresql", "mysql", "mariadb" };
	/* params: [[1, 2], "x", [], [[1, "a"]]] — enough for most expanding and plain binds */
	static const unsigned char params[] = { 0x94, 0x92, 0x01, 0x02, 0xa1, 'x', 0x90, 0x91, 0x92, 0x01, 0xa1, 'a' };
	ath_buf out = ATH_BUF_INIT;
	for (size_t i = 0; i < sizeof dialects / sizeof *dialects; i++) {
		ath_compile(&out, dialects[i], data, size, NULL, 0);
		ath_compile(&out, dialects[i], data, size, params, sizeof params);
	}
	ath_buf_dispose(&out);
	return 0;
}
