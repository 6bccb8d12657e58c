/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* payhook-deliver's formats and decisions (deliver.h). */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "deliver.h"
#include "provider.h"

/* Deepest JSON a stored body may nest for the request to carry it raw. */
#define DELIVER_JSON_DEPTH 64

const char *const ph_deliver_counts[DELIVER_NCOUNTS] = {
	[DELIVER_COUNT_DELIVERED] = "delivered",
	[DELIVER_COUNT_RETRIED] = "retried",
	[DELIVER_COUNT_DEAD] = "dead",
	[DELIVER_COUNT_SUPERSEDED] = "superseded",
	[DELIVER_COUNT_DISABLED] = "disabled",
	[DELIVER_COUNT_FILTERED] = "filtered",
};

const char *const ph_deliver_buckets[PH_DELIVER_BUCKETS] = { "0.05", "0.1", "0.25", "0.5", "1",
	"2.5", "5", "10", "+Inf" };
static const long deliver_bucket_ms[PH_DELIVER_BUCKETS - 1] = { 50, 100, 250, 500, 1000, 2500, 5000,
	10000 };

/* Write an endpoint's group name. */
void
deliver_group(char *buf, size_t len, const char *endpoint)
{
	snprintf(buf, len, "payhook-deliver:%s", endpoint);
}

/* Free a buffer. */
void
deliver_buf_free(struct deliver_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

/* Append n bytes. */
static void
buf_put(struct deliver_buf *b, const char *s, size_t n)
{
	size_t want;
	char *np;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		want = b->cap == 0 ? 1024 : b->cap;
		while (want < b->len + n + 1)
			want *= 2;
		np = realloc(b->p, want);
		if (np == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = want;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_puts(struct deliver_buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct deliver_buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->oom = 1;
		return;
	}
	buf_put(b, tmp, (size_t)n);
}

/* Append s as a JSON string (RFC 8259: quote, backslash and controls escaped). */
static void
buf_json_str(struct deliver_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, from = 0;
	char esc[7];

	buf_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		buf_put(b, s + from, i - from);
		from = i + 1;
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			buf_put(b, esc, 2);
		} else if (ch == '\n') {
			buf_put(b, "\\n", 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			buf_put(b, esc, 6);
		}
	}
	buf_put(b, s + from, n - from);
	buf_put(b, "\"", 1);
}

/* Write a record or a dead entry. */
int
deliver_record_json(const struct deliver_record *r, const char *reason, uint64_t dead_at,
    struct deliver_buf *b)
{
	b->len = 0;
	b->oom = 0;
	buf_puts(b, "{\"id\":");
	buf_json_str(b, r->id, strlen(r->id));
	buf_puts(b, ",\"provider\":");
	buf_json_str(b, r->provider, strlen(r->provider));
	buf_puts(b, ",\"entity_type\":");
	buf_json_str(b, r->entity_type, strlen(r->entity_type));
	buf_puts(b, ",\"entity_id\":");
	buf_json_str(b, r->entity_id, strlen(r->entity_id));
	buf_printf(b, ",\"fetched_at\":%" PRIu64 ",\"status\":", r->fetched_at);
	buf_json_str(b, r->status, strlen(r->status));
	buf_puts(b, ",\"body\":");
	buf_json_str(b, r->body != NULL ? r->body : "", r->body != NULL ? r->body_len : 0);
	buf_printf(b, ",\"attempt\":%ld", r->attempt);
	if (reason != NULL) {
		buf_puts(b, ",\"reason\":");
		buf_json_str(b, reason, strlen(reason));
		buf_printf(b, ",\"attempts\":%ld,\"dead_at\":%" PRIu64, r->attempt, dead_at);
	}
	buf_puts(b, "}");
	return b->oom ? -1 : 0;
}

/* Copy a JSON string member into a fixed buffer; -1 when absent, not a string or too long. */
static int
record_str(struct json_object *o, const char *key, char *out, size_t len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) >= len)
		return -1;
	memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

/* Read a record. */
int
deliver_record_parse(const char *json, size_t len, struct deliver_record *r, char **keep)
{
	struct json_tokener *tok;
	struct json_object *o = NULL, *v;
	int rc = -1;

	*keep = NULL;
	memset(r, 0, sizeof *r);
	tok = json_tokener_new_ex(8);
	if (tok == NULL)
		return -1;
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)len || !json_object_is_type(o, json_type_object))
		goto out;
	if (record_str(o, "id", r->id, sizeof r->id) != 0 ||
	    record_str(o, "provider", r->provider, sizeof r->provider) != 0 ||
	    record_str(o, "entity_type", r->entity_type, sizeof r->entity_type) != 0 ||
	    record_str(o, "entity_id", r->entity_id, sizeof r->entity_id) != 0 ||
	    record_str(o, "status", r->status, sizeof r->status) != 0)
		goto out;
	if (!json_object_object_get_ex(o, "fetched_at", &v) ||
	    !json_object_is_type(v, json_type_int))
		goto out;
	r->fetched_at = (uint64_t)json_object_get_int64(v);
	if (!json_object_object_get_ex(o, "attempt", &v) || !json_object_is_type(v, json_type_int))
		goto out;
	r->attempt = (long)json_object_get_int64(v);
	if (!json_object_object_get_ex(o, "body", &v) || !json_object_is_type(v, json_type_string))
		goto out;
	if (!ph_type_valid(r->provider, strlen(r->provider)) ||
	    !ph_type_valid(r->entity_type, strlen(r->entity_type)) ||
	    !ph_id_valid(r->entity_id, strlen(r->entity_id)))
		goto out;
	r->body_len = (size_t)json_object_get_string_len(v);
	*keep = malloc(r->body_len + 1);
	if (*keep == NULL)
		goto out;
	memcpy(*keep, json_object_get_string(v), r->body_len + 1);
	r->body = *keep;
	rc = 0;
out:
	if (o != NULL)
		json_object_put(o);
	json_tokener_free(tok);
	return rc;
}

/* Copy a field's value into out if it fits and is not empty. */
static int
field_copy(const char *v, size_t n, char *out, size_t len)
{
	if (n == 0 || n >= len || memchr(v, '\0', n) != NULL)
		return -1;
	memcpy(out, v, n);
	out[n] = '\0';
	return 0;
}

/* A record from an events entry's fields. */
int
deliver_record_from_fields(const char *id, const char *const *names, const size_t *name_lens,
    const char *const *values, const size_t *value_lens, size_t n, struct deliver_record *r)
{
	int have = 0;
	size_t i;

	memset(r, 0, sizeof *r);
	if (strlen(id) >= sizeof r->id)
		return -1;
	memcpy(r->id, id, strlen(id) + 1);
	for (i = 0; i < n; i++) {
		const char *k = names[i], *v = values[i];
		size_t kl = name_lens[i], vl = value_lens[i];

#define FIELD(name) (kl == sizeof(name) - 1 && memcmp(k, name, kl) == 0)
		if (FIELD("provider")) {
			if (field_copy(v, vl, r->provider, sizeof r->provider) != 0)
				return -1;
			have |= 1;
		} else if (FIELD("entity_type")) {
			if (field_copy(v, vl, r->entity_type, sizeof r->entity_type) != 0)
				return -1;
			have |= 2;
		} else if (FIELD("entity_id")) {
			if (field_copy(v, vl, r->entity_id, sizeof r->entity_id) != 0)
				return -1;
			have |= 4;
		} else if (FIELD("fetched_at")) {
			char num[24];
			char *end;

			if (field_copy(v, vl, num, sizeof num) != 0)
				return -1;
			r->fetched_at = strtoull(num, &end, 10);
			if (*end != '\0' || num[0] < '0' || num[0] > '9')
				return -1;
			have |= 8;
		} else if (FIELD("status")) {
			if (vl > 0 && field_copy(v, vl, r->status, sizeof r->status) != 0)
				return -1;
		} else if (FIELD("body")) {
			r->body = v;
			r->body_len = vl;
			have |= 16;
		}
#undef FIELD
	}
	/* The ids go into a Redis key and a log line: the alphabets the fetcher checked. */
	if (have != 31 || !ph_type_valid(r->provider, strlen(r->provider)) ||
	    !ph_type_valid(r->entity_type, strlen(r->entity_type)) ||
	    !ph_id_valid(r->entity_id, strlen(r->entity_id)))
		return -1;
	return 0;
}

/* Whether s (n bytes) is one whole JSON value. */
static int
is_json(const char *s, size_t n)
{
	struct json_tokener *tok;
	struct json_object *o;
	int ok;

	if (n == 0 || n > 0x7fffffff)
		return 0;
	tok = json_tokener_new_ex(DELIVER_JSON_DEPTH);
	if (tok == NULL)
		return 0;
	o = json_tokener_parse_ex(tok, s, (int)n);
	ok = json_tokener_get_error(tok) == json_tokener_success;
	if (ok) {
		/* Only white space may follow the value. */
		size_t i;

		for (i = (size_t)tok->char_offset; i < n && ok; i++)
			ok = s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n';
	}
	if (o != NULL)
		json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

/* Write the request body. */
int
deliver_body(const struct deliver_record *r, struct deliver_buf *b)
{
	time_t secs = (time_t)(r->fetched_at / 1000);
	char ts[64], type[128];
	struct tm tm;

	b->len = 0;
	b->oom = 0;
	if (gmtime_r(&secs, &tm) == NULL)
		return -1;
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(r->fetched_at % 1000));
	snprintf(type, sizeof type, "%s.%s.updated", r->provider, r->entity_type);
	buf_puts(b, "{\"type\":");
	buf_json_str(b, type, strlen(type));
	buf_puts(b, ",\"timestamp\":\"");
	buf_puts(b, ts);
	buf_puts(b, "\",\"data\":{\"provider\":");
	buf_json_str(b, r->provider, strlen(r->provider));
	buf_puts(b, ",\"entity_type\":");
	buf_json_str(b, r->entity_type, strlen(r->entity_type));
	buf_puts(b, ",\"entity_id\":");
	buf_json_str(b, r->entity_id, strlen(r->entity_id));
	buf_printf(b, ",\"fetched_at\":%" PRIu64 ",\"status\":", r->fetched_at);
	buf_json_str(b, r->status, strlen(r->status));
	buf_puts(b, ",\"entity\":");
	if (r->body != NULL && is_json(r->body, r->body_len))
		buf_put(b, r->body, r->body_len);
	else
		buf_json_str(b, r->body != NULL ? r->body : "", r->body != NULL ? r->body_len : 0);
	buf_puts(b, "}}");
	return b->oom ? -1 : 0;
}

/* Whether the endpoint's filters take the event. */
int
deliver_wants(const struct ph_endpoint_cfg *e, const char *provider, const char *type)
{
	size_t idx;

	if (provider_find(provider, strlen(provider), &idx) == NULL ||
	    (e->provider_mask & (1u << idx)) == 0)
		return 0;
	return conf_list_has(e->entity_types, type, strlen(type));
}

/* Decide what an answer leads to. */
enum deliver_result
deliver_classify(const struct ph_endpoint_cfg *e, long http_status, const char *transport,
    long retry_after_s, long attempt, uint64_t rnd, uint64_t *delay_ms, char *reason,
    size_t reason_len)
{
	long longest = 0;
	uint64_t step;
	int i;

	*delay_ms = 0;
	if (http_status >= 200 && http_status <= 299) {
		snprintf(reason, reason_len, "http_%ld", http_status);
		return DELIVER_OK;
	}
	if (http_status == 410) {
		snprintf(reason, reason_len, "http_410");
		return DELIVER_DISABLE;
	}
	if (http_status == 0)
		snprintf(reason, reason_len, "%s", transport != NULL ? transport : "transport");
	else
		snprintf(reason, reason_len, "http_%ld", http_status);
	/* attempt failures before this one: after the schedule's last step, dead. */
	if (attempt >= e->nretry)
		return DELIVER_DEAD;
	for (i = 0; i < e->nretry; i++) {
		if (e->retry_s[i] > longest)
			longest = e->retry_s[i];
	}
	if ((http_status == 429 || http_status == 503) && retry_after_s > 0) {
		*delay_ms = (uint64_t)(retry_after_s < longest ? retry_after_s : longest) * 1000;
		return DELIVER_RETRY;
	}
	/* The step, +-10 %: deliveries that failed together do not come back together. */
	step = (uint64_t)e->retry_s[attempt] * 1000;
	*delay_ms = step - step / 10 + (step / 5 > 0 ? rnd % (step / 5 + 1) : 0);
	return DELIVER_RETRY;
}

/* The bucket of a latency. */
const char *
deliver_bucket(long ms)
{
	int i;

	for (i = 0; i < PH_DELIVER_BUCKETS - 1; i++) {
		if (ms <= deliver_bucket_ms[i])
			return ph_deliver_buckets[i];
	}
	return ph_deliver_buckets[PH_DELIVER_BUCKETS - 1];
}
