/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Job encoding and decoding, dead-letter entries. */
#include "config.h"

#include <string.h>

#include "job.h"
#include "payhook.h"
#include "tap.h"

/* A valid job to start from. */
static void
job_sample(struct ph_job *j)
{
	memset(j, 0, sizeof *j);
	strcpy(j->provider, "cielo");
	strcpy(j->entity_type, "sale");
	strcpy(j->entity_id, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	strcpy(j->notification_id, "n1");
	strcpy(j->event, "1");
	j->received_at = 1763900000123ULL;
	j->attempt = 0;
}

/* Decode a NUL-terminated job. */
static int
dec(const char *s, struct ph_job *j, char *err)
{
	return job_decode(s, strlen(s), j, err, 160);
}

int
main(void)
{
	struct ph_job j, k;
	char buf[PH_JOB_MAX], err[160];
	int n;

	job_sample(&j);
	n = job_encode(&j, buf, sizeof buf);
	ok(n > 0 && (size_t)n == strlen(buf), "encode: returns the length");
	is_str(buf,
	    "{\"v\":1,\"provider\":\"cielo\",\"entity_type\":\"sale\","
	    "\"entity_id\":\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\",\"notification_id\":\"n1\","
	    "\"event\":\"1\",\"received_at\":1763900000123,\"attempt\":0}",
	    "encode: the format of DESIGN.md");
	ok(dec(buf, &k, err) == 0 && memcmp(&j, &k, sizeof j) == 0, "decode: round trip");
	ok(job_encode(&j, buf, 20) < 0, "encode: too small a buffer is an error");
	ok(job_encode(&j, buf, (size_t)n + 1) == n, "encode: a buffer of exactly length + 1 fits");
	ok(job_encode(&j, buf, (size_t)n) < 0, "encode: one byte less does not");
	{
		char small[8], *p;
		const char *end = small + sizeof small;

		p = ph_put_u64(ph_puts(small, end, "ab"), end, 18446744073709551615ULL);
		ok(p == NULL, "ph_put: a number past the end is refused");
		p = ph_put_u64(ph_puts(small, end, "ab"), end, 90210);
		ok(p == small + 7 && memcmp(small, "ab90210", 7) == 0, "ph_put: string and number");
		ok(ph_put(NULL, end, "x", 1) == NULL, "ph_put: a NULL is passed on");
		ok(ph_put_u64(small, end, 0) == small + 1 && small[0] == '0', "ph_put_u64: zero");
	}

	strcpy(j.entity_id, "a\"b");
	ok(job_encode(&j, buf, sizeof buf) < 0, "encode: an invalid id is refused");
	job_sample(&j);
	strcpy(j.entity_type, "Sale");
	ok(job_encode(&j, buf, sizeof buf) < 0, "encode: an invalid type is refused");
	job_sample(&j);
	j.notification_id[0] = '\0';
	j.event[0] = '\0';
	ok(job_encode(&j, buf, sizeof buf) > 0 && dec(buf, &k, err) == 0,
	    "encode/decode: empty notification id and event");

	job_sample(&j);
	j.attempt = 3;
	n = job_encode_dead(&j, "http 500: \"bad\"\n", 3, 1763900009999ULL, buf, sizeof buf);
	ok(n > 0 && strstr(buf, "\"error\":\"http 500: \\\"bad\\\"\\u000a\"") != NULL,
	    "dead: error escaped (%s)", buf);
	ok(strstr(buf, "\"attempts\":3,\"failed_at\":1763900009999}") != NULL,
	    "dead: attempts, failed_at");
	ok(dec(buf, &k, err) == 0 && k.attempt == 3, "dead: decodes as a job (replay)");

	ok(dec("", &k, err) != 0, "decode: empty");
	ok(dec("[]", &k, err) != 0, "decode: not an object");
	ok(dec("{\"v\":2,\"provider\":\"cielo\"}", &k, err) != 0 && strstr(err, "version") != NULL,
	    "decode: unknown version");
	ok(dec("{\"v\":1,\"provider\":\"cielo\",\"entity_type\":\"sale\",\"entity_id\":\"../x\","
	       "\"notification_id\":\"\",\"event\":\"\",\"received_at\":1,\"attempt\":0}",
	       &k, err) != 0 &&
	        strstr(err, "entity_id") != NULL,
	    "decode: bad entity id");
	ok(dec("{\"v\":1,\"provider\":\"cielo\",\"entity_type\":\"sale\",\"entity_id\":\"x\","
	       "\"notification_id\":\"\",\"event\":\"\",\"received_at\":1,\"attempt\":-1}",
	       &k, err) != 0,
	    "decode: negative attempt");
	ok(dec("{\"v\":1,\"provider\":\"cielo\",\"entity_type\":\"sale\",\"entity_id\":\"x\","
	       "\"notification_id\":\"\",\"event\":\"\",\"received_at\":1}",
	       &k, err) != 0 &&
	        strstr(err, "attempt") != NULL,
	    "decode: missing attempt");
	ok(dec("{\"v\":1,\"provider\":\"cielo\",\"entity_type\":\"sale\",\"entity_id\":\"x\","
	       "\"notification_id\":\"\",\"event\":\"\",\"received_at\":1,\"attempt\":0} x",
	       &k, err) != 0,
	    "decode: trailing data");
	ok(job_decode("{\"v\":1}\0", 8, &k, err, sizeof err) != 0, "decode: NUL byte");
	return tap_done();
}
