/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Job encoding and decoding. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "job.h"
#include "payhook.h"
#include "provider.h"

/* Check every field before it is written: encoded jobs need no escaping. */
static int
job_valid(const struct ph_job *j)
{
	return ph_type_valid(j->provider, strlen(j->provider)) &&
	    ph_type_valid(j->entity_type, strlen(j->entity_type)) &&
	    ph_id_valid(j->entity_id, strlen(j->entity_id)) &&
	    (j->notification_id[0] == '\0' ||
	        ph_id_valid(j->notification_id, strlen(j->notification_id))) &&
	    (j->event[0] == '\0' || ph_event_valid(j->event, strlen(j->event))) &&
	    j->attempt >= 0 && j->attempt <= PH_JOB_ATTEMPT_MAX;
}

/* Write the members of a job without the closing brace (and NUL-terminated). */
static int
job_encode_open(const struct ph_job *j, char *buf, size_t len)
{
	const char *end = buf + len - 1; /* room for the NUL */
	char *p;

	if (!job_valid(j) || len == 0)
		return -1;
	/* No printf: this runs for every notification. */
	p = ph_puts(buf, end, "{\"v\":1,\"provider\":\"");
	p = ph_puts(p, end, j->provider);
	p = ph_puts(p, end, "\",\"entity_type\":\"");
	p = ph_puts(p, end, j->entity_type);
	p = ph_puts(p, end, "\",\"entity_id\":\"");
	p = ph_puts(p, end, j->entity_id);
	p = ph_puts(p, end, "\",\"notification_id\":\"");
	p = ph_puts(p, end, j->notification_id);
	p = ph_puts(p, end, "\",\"event\":\"");
	p = ph_puts(p, end, j->event);
	p = ph_puts(p, end, "\",\"received_at\":");
	p = ph_put_u64(p, end, j->received_at);
	p = ph_puts(p, end, ",\"attempt\":");
	p = ph_put_u64(p, end, (uint64_t)j->attempt); /* 0..PH_JOB_ATTEMPT_MAX: checked */
	if (p == NULL)
		return -1;
	*p = '\0';
	return (int)(p - buf);
}

/* Encode a job. */
int
job_encode(const struct ph_job *j, char *buf, size_t len)
{
	int n = job_encode_open(j, buf, len);

	if (n < 0 || (size_t)n + 2 > len)
		return -1;
	buf[n++] = '}';
	buf[n] = '\0';
	return n;
}

/* Encode a dead-letter entry; error is any text, escaped here. */
int
job_encode_dead(const struct ph_job *j, const char *error, long attempts, uint64_t failed_at,
    char *buf, size_t len)
{
	size_t o;
	int n, m;

	n = job_encode_open(j, buf, len);
	if (n < 0)
		return -1;
	o = (size_t)n;
	m = snprintf(buf + o, len - o, ",\"error\":\"");
	if (m < 0 || (size_t)m >= len - o)
		return -1;
	o += (size_t)m;
	for (; *error != '\0'; error++) {
		unsigned char c = (unsigned char)*error;
		if (o + 8 >= len)
			return -1;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, len - o, "\\u%04x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	m = snprintf(buf + o, len - o, "\",\"attempts\":%ld,\"failed_at\":%" PRIu64 "}", attempts,
	    failed_at);
	if (m < 0 || (size_t)m >= len - o)
		return -1;
	return (int)(o + (size_t)m);
}

/* Copy a string member that check() accepts; -1 with err otherwise. */
static int
job_field(struct json_object *root, const char *key, char *dst, size_t size,
    int (*check)(const char *, size_t), int optional, char *err, size_t errlen)
{
	struct json_object *v;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(root, key, &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "job: %s missing or not a string", key);
		return -1;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if ((len == 0 && optional) || (len < size && check(s, len))) {
		memcpy(dst, s, len + 1);
		return 0;
	}
	snprintf(err, errlen, "job: %s is not valid", key);
	return -1;
}

/* Read an integer member in [0, max]. */
static int
job_int(struct json_object *root, const char *key, int64_t max, int64_t *out, char *err,
    size_t errlen)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(root, key, &v) || !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "job: %s missing or not an integer", key);
		return -1;
	}
	x = json_object_get_int64(v);
	if (x < 0 || x > max) {
		snprintf(err, errlen, "job: %s out of range", key);
		return -1;
	}
	*out = x;
	return 0;
}

/* Decode a job. */
int
job_decode(const char *s, size_t len, struct ph_job *j, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root;
	int64_t v, at, attempt;
	int rc = -1;

	memset(j, 0, sizeof *j);
	if (len == 0 || len > PH_JOB_MAX || memchr(s, '\0', len) != NULL) {
		snprintf(err, errlen, "job: empty, too long or has a NUL byte");
		return -1;
	}
	tok = json_tokener_new_ex(4);
	if (tok == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	root = json_tokener_parse_ex(tok, s, (int)len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "job: not a JSON object");
		goto out;
	}
	if (job_int(root, "v", 1000, &v, err, errlen) != 0)
		goto out;
	if (v != 1) {
		snprintf(err, errlen, "job: unknown version %lld", (long long)v);
		goto out;
	}
	if (job_field(root, "provider", j->provider, sizeof j->provider, ph_type_valid, 0, err,
	        errlen) != 0 ||
	    job_field(root, "entity_type", j->entity_type, sizeof j->entity_type, ph_type_valid, 0,
	        err, errlen) != 0 ||
	    job_field(root, "entity_id", j->entity_id, sizeof j->entity_id, ph_id_valid, 0, err,
	        errlen) != 0 ||
	    job_field(root, "notification_id", j->notification_id, sizeof j->notification_id,
	        ph_id_valid, 1, err, errlen) != 0 ||
	    job_field(root, "event", j->event, sizeof j->event, ph_event_valid, 1, err, errlen) !=
	        0 ||
	    job_int(root, "received_at", INT64_MAX, &at, err, errlen) != 0 ||
	    job_int(root, "attempt", PH_JOB_ATTEMPT_MAX, &attempt, err, errlen) != 0)
		goto out;
	j->received_at = (uint64_t)at;
	j->attempt = (long)attempt;
	rc = 0;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return rc;
}
