/* test.h — the few assertion macros the C tests share. A failing check prints the case name,
 * file:line, expected and actual, and the test goes on; main() returns test_exit(). */
#ifndef ATH_TEST_H
#define ATH_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;
static const char *test_case_name = "";

#define TEST_CASE(name) (test_case_name = (name))

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		test_checks++;                                                                     \
		if (!(cond)) {                                                                     \
			test_failures++;                                                           \
			fprintf(stderr, "FAIL %s (%s:%d): %s\n", test_case_name, __FILE__, __LINE__, \
				#cond);                                                            \
		}                                                                                  \
	} while (0)

#define CHECK_INT(expected, actual)                                                                \
	do {                                                                                       \
		long long e_ = (long long)(expected), a_ = (long long)(actual);                    \
		test_checks++;                                                                     \
		if (e_ != a_) {                                                                    \
			test_failures++;                                                           \
			fprintf(stderr, "FAIL %s (%s:%d): %s\n  expected: %lld\n  actual:   %lld\n",  \
				test_case_name, __FILE__, __LINE__, #actual, e_, a_);              \
		}                                                                                  \
	} while (0)

#define CHECK_STR(expected, actual)                                                                \
	do {                                                                                       \
		const char *e_ = (expected), *a_ = (actual);                                       \
		test_checks++;                                                                     \
		if (!e_ || !a_ || strcmp(e_, a_) != 0) {                                           \
			test_failures++;                                                           \
			fprintf(stderr, "FAIL %s (%s:%d): %s\n  expected: %s\n  actual:   %s\n",     \
				test_case_name, __FILE__, __LINE__, #actual, e_ ? e_ : "(null)",   \
				a_ ? a_ : "(null)");                                               \
		}                                                                                  \
	} while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(haystack, needle)                                                           \
	do {                                                                                       \
		const char *h_ = (haystack), *n_ = (needle);                                       \
		test_checks++;                                                                     \
		if (!h_ || !strstr(h_, n_)) {                                                      \
			test_failures++;                                                           \
			fprintf(stderr, "FAIL %s (%s:%d): expected %s to contain \"%s\"\n  actual: %s\n", \
				test_case_name, __FILE__, __LINE__, #haystack, n_, h_ ? h_ : "(null)"); \
		}                                                                                  \
	} while (0)

static inline int test_exit(void)
{
	printf("%d checks, %d failed\n", test_checks, test_failures);
	return test_failures ? 1 : 0;
}

/* Exit code that CTest maps to "skipped" (SKIP_RETURN_CODE 77). */
#define TEST_SKIP 77

/* The server a backend test runs against: the URL in the environment variable `env`
 * (ATHANOR_TEST_PG_URL, ATHANOR_TEST_MYSQL_URL). Returns 0 with *url set; else the exit code the
 * test must return: TEST_SKIP when it is unset, or 1 under ATHANOR_TEST_REQUIRE_SERVERS=1 (as
 * make test and CI set it), where a missing server is a failure, never a silent skip. */
static inline int test_server_url(const char *env, const char **url)
{
	*url = getenv(env);
	if (*url && **url)
		return 0;
	const char *req = getenv("ATHANOR_TEST_REQUIRE_SERVERS");
	if (req && strcmp(req, "1") == 0) {
		fprintf(stderr, "FAIL %s is not set and ATHANOR_TEST_REQUIRE_SERVERS=1: the server is missing "
				"(scripts/test-servers start)\n", env);
		return 1;
	}
	fprintf(stderr, "skipped: %s is not set\n", env);
	return TEST_SKIP;
}

#endif
