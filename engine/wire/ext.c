/* ext.c — decoding ext payloads (msgpack timestamp, interval) and formatting UTC instants as
 * text, for the drivers' bind paths. Encoding results is each driver's (it knows its types). */
#include "ext.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

static uint32_t be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static uint64_t be64(const char *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

int ath_wire__ext_timestamp(const char *p, uint32_t n, int64_t *secs, uint32_t *nsec)
{
	*nsec = 0;
	if (n == 4) {
		*secs = be32(p);
	} else if (n == 8) { /* 30 bits of nanoseconds, 34 of seconds */
		uint64_t x = be64(p);
		*nsec = (uint32_t)(x >> 34);
		*secs = (int64_t)(x & 0x3ffffffffull);
	} else if (n == 12) {
		*nsec = be32(p);
		*secs = (int64_t)be64(p + 4);
	} else {
		return -1;
	}
	return *nsec < 1000000000u ? 0 : -1;
}

int ath_wire__ext_interval(const char *p, uint32_t n, int64_t *micros)
{
	if (n != 8)
		return -1;
	*micros = (int64_t)be64(p);
	return 0;
}

int ath_wire__format_utc(char *out, size_t cap, int64_t secs, uint32_t micros)
{
	time_t t = (time_t)secs;
	struct tm tm;
	if ((int64_t)t != secs || micros >= 1000000u || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1)
		return -1;
	int len = snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06" PRIu32, tm.tm_year + 1900, tm.tm_mon + 1,
			   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
	return len > 0 && (size_t)len < cap ? len : -1;
}

int ath_wire__format_epoch_plus(char *out, size_t cap, int64_t micros)
{
	int64_t secs = micros / 1000000, rem = micros % 1000000;
	if (rem < 0) { /* floor, so the fraction stays positive */
		rem += 1000000;
		secs -= 1;
	}
	return ath_wire__format_utc(out, cap, secs, (uint32_t)rem);
}
