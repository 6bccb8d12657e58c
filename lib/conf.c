/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Configuration: defaults, INI file (libinih), environment, validation. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf.h"
#include "refresh.h"
#include "log.h"
#include "redis.h"
#include "sentinel.h"
#include "whsig.h"

enum conf_type {
	CONF_STRING,
	CONF_SECRET, /* a string that is never printed, also read from {key}_file */
	CONF_LONG,
};

struct conf_key {
	const char *section;
	const char *name;
	enum conf_type type;
	const char *def;
	long min;
	long max;
	void *ptr; /* char ** or long * inside struct ph_config */
	int line;  /* where it was set: the file's line, CONF_FROM_ENV, or 0 (its default) */
};

#define CONF_FROM_ENV (-1)
/* The keys of one [endpoint NAME] section (conf_endpoint_keys). */
#define CONF_ENDPOINT_KEYS 8
#define CONF_MAX_KEYS (96 + CONF_ENDPOINT_KEYS * PH_MAX_ENDPOINTS)
#define CONF_SECRET_FILE_MAX 4096

struct conf_ctx {
	struct conf_key keys[CONF_MAX_KEYS];
	size_t nkeys;
	struct ph_config *cfg;
	const char *path;
	FILE *file;
	int line;       /* lines read so far */
	int cause_line; /* the line of cause */
	char *cause;
};

/* Set an allocated message. */
static void
conf_cause(char **cause, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(*cause);
	*cause = strdup(buf);
}

/* Add a key to the table. */
static void
conf_add(struct conf_ctx *ctx, const char *section, const char *name, enum conf_type type,
    const char *def, long min, long max, void *ptr)
{
	struct conf_key *k = &ctx->keys[ctx->nkeys++];

	k->section = section;
	k->name = name;
	k->type = type;
	k->def = def;
	k->min = min;
	k->max = max;
	k->ptr = ptr;
	k->line = 0;
}

/* Describe the keys of an [endpoint NAME] section (CONF_ENDPOINT_KEYS of them). */
static void
conf_endpoint_keys(struct conf_ctx *ctx, struct ph_endpoint_cfg *e)
{
	const char *s = e->section;

	/* clang-format off */
	conf_add(ctx, s, "url", CONF_STRING, NULL, 0, 0, &e->url);
	conf_add(ctx, s, "secret", CONF_SECRET, NULL, 0, 0, &e->secret);
	conf_add(ctx, s, "providers", CONF_STRING, NULL, 0, 0, &e->providers);
	conf_add(ctx, s, "entity_types", CONF_STRING, NULL, 0, 0, &e->entity_types);
	conf_add(ctx, s, "timeout_ms", CONF_LONG, "15000", 100, 300000, &e->timeout_ms);
	conf_add(ctx, s, "max_rps", CONF_LONG, "0", 0, 100000, &e->max_rps);
	conf_add(ctx, s, "retry_schedule", CONF_STRING, "5,300,1800,7200,18000,36000,36000", 0, 0,
	    &e->retry_schedule);
	conf_add(ctx, s, "allow_http", CONF_STRING, "off", 0, 0, &e->allow_http);
	/* clang-format on */
}

/* Describe every key: sections, names, types, defaults, bounds (DESIGN.md table). */
static void
conf_table(struct conf_ctx *ctx, struct ph_config *c)
{
	size_t i;

	ctx->nkeys = 0;
	/* clang-format off: one key a line, like the table of DESIGN.md */
	conf_add(ctx, "redis", "url", CONF_STRING, "redis://127.0.0.1:6379/0", 0, 0, &c->redis.url);
	conf_add(ctx, "redis", "password", CONF_SECRET, NULL, 0, 0, &c->redis.password);
	conf_add(ctx, "redis", "prefix", CONF_STRING, "payhook:", 0, 0, &c->redis.prefix);
	conf_add(ctx, "redis", "connect_timeout_ms", CONF_LONG, "500", 1, 60000,
	    &c->redis.connect_timeout_ms);
	conf_add(ctx, "redis", "command_timeout_ms", CONF_LONG, "2000", 1, 60000,
	    &c->redis.command_timeout_ms);
	conf_add(ctx, "redis", "sentinels", CONF_STRING, NULL, 0, 0, &c->redis.sentinels);
	conf_add(ctx, "redis", "master_name", CONF_STRING, NULL, 0, 0, &c->redis.master_name);
	conf_add(ctx, "redis", "sentinel_password", CONF_SECRET, NULL, 0, 0,
	    &c->redis.sentinel_password);
	conf_add(ctx, "redis", "min_replicas", CONF_LONG, "0", 0, 16, &c->redis.min_replicas);
	conf_add(ctx, "redis", "replica_timeout_ms", CONF_LONG, "100", 1, 60000,
	    &c->redis.replica_timeout_ms);

	conf_add(ctx, "handler", "max_body", CONF_LONG, "16384", 64, 1048576, &c->handler.max_body);
	conf_add(ctx, "handler", "dedup_ttl", CONF_LONG, "604800", 1, 31536000,
	    &c->handler.dedup_ttl);
	conf_add(ctx, "handler", "pending_ttl", CONF_LONG, "3600", 1, 31536000,
	    &c->handler.pending_ttl);
	conf_add(ctx, "handler", "threads", CONF_LONG, "64", 1, 256, &c->handler.threads);
	conf_add(ctx, "handler", "notifications_maxlen", CONF_LONG, "1000000", 1, 1000000000,
	    &c->handler.notifications_maxlen);
	conf_add(ctx, "handler", "socket_mode", CONF_LONG, "0660", 0, 0777,
	    &c->handler.socket_mode);
	conf_add(ctx, "handler", "shutdown_timeout_ms", CONF_LONG, "10000", 0, 600000,
	    &c->handler.shutdown_timeout_ms);
	conf_add(ctx, "handler", "idle_timeout_ms", CONF_LONG, "1000", 10, 600000,
	    &c->handler.idle_timeout_ms);
	conf_add(ctx, "handler", "spool_dir", CONF_STRING, PH_DEFAULT_SPOOL_DIR, 0, 0,
	    &c->handler.spool_dir);
	conf_add(ctx, "handler", "spool_max_bytes", CONF_LONG, "1073741824", 65536, 1099511627776L,
	    &c->handler.spool_max_bytes);

	conf_add(ctx, "fetcher", "concurrency", CONF_LONG, "32", 1, 4096, &c->fetcher.concurrency);
	conf_add(ctx, "fetcher", "timeout_ms", CONF_LONG, "10000", 100, 600000,
	    &c->fetcher.timeout_ms);
	conf_add(ctx, "fetcher", "max_attempts", CONF_LONG, "12", 1, 1000,
	    &c->fetcher.max_attempts);
	conf_add(ctx, "fetcher", "not_found_attempts", CONF_LONG, "3", 1, 1000,
	    &c->fetcher.not_found_attempts);
	conf_add(ctx, "fetcher", "backoff_base_ms", CONF_LONG, "1000", 1, 86400000,
	    &c->fetcher.backoff_base_ms);
	conf_add(ctx, "fetcher", "backoff_cap_ms", CONF_LONG, "600000", 1, 86400000,
	    &c->fetcher.backoff_cap_ms);
	conf_add(ctx, "fetcher", "lock_wait_ms", CONF_LONG, "500", 1, 600000,
	    &c->fetcher.lock_wait_ms);
	conf_add(ctx, "fetcher", "worker_timeout", CONF_LONG, "30", 2, 86400,
	    &c->fetcher.worker_timeout);
	conf_add(ctx, "fetcher", "lock_ttl", CONF_LONG, "30000", 100, 3600000,
	    &c->fetcher.lock_ttl);
	conf_add(ctx, "fetcher", "events_maxlen", CONF_LONG, "1000000", 1, 1000000000,
	    &c->fetcher.events_maxlen);
	conf_add(ctx, "fetcher", "events_hard_maxlen", CONF_LONG, "0", 0, 10000000000L,
	    &c->fetcher.events_hard_maxlen);
	conf_add(ctx, "fetcher", "max_body", CONF_LONG, "1048576", 1024, 67108864,
	    &c->fetcher.max_body);
	conf_add(ctx, "fetcher", "refresh_schedule", CONF_STRING, "60,300,900,3600,21600,86400", 0,
	    0, &c->fetcher.refresh_schedule);
	conf_add(ctx, "fetcher", "refresh_settled", CONF_STRING, "86400,604800,2592000", 0, 0,
	    &c->fetcher.refresh_settled);
	conf_add(ctx, "fetcher", "refresh_max_age", CONF_LONG, "7776000", 1, 315360000,
	    &c->fetcher.refresh_max_age);

	conf_add(ctx, "log", "level", CONF_STRING, "info", 0, 0, &c->log.level);
	conf_add(ctx, "log", "format", CONF_STRING, "kv", 0, 0, &c->log.format);

	for (i = 0; i < provider_count() && i < PH_MAX_PROVIDERS; i++) {
		const struct ph_provider *p = provider_at(i);
		struct ph_provider_cfg *pc = &c->providers[i];

		conf_add(ctx, p->name, p->base_key, CONF_STRING, p->base_default, 0, 0, &pc->base);
		conf_add(ctx, p->name, p->key_id_key, CONF_SECRET, NULL, 0, 0, &pc->key_id);
		conf_add(ctx, p->name, p->secret_key, CONF_SECRET, NULL, 0, 0, &pc->secret);
		conf_add(ctx, p->name, "token", CONF_SECRET, NULL, 0, 0, &pc->token);
		conf_add(ctx, p->name, "required_header", CONF_SECRET, NULL, 0, 0,
		    &pc->header_name);
		conf_add(ctx, p->name, "refresh", CONF_STRING, "on", 0, 0, &pc->refresh);
		conf_add(ctx, p->name, "max_rps", CONF_LONG, "0", 0, 100000, &pc->max_rps);
	}
	/* clang-format on */
	for (i = 0; i < (size_t)c->nendpoints; i++)
		conf_endpoint_keys(ctx, &c->endpoints[i]);
}

/* Read a secret from a file: its first line, without the line end. */
static int
conf_read_secret(const char *file, char **out, char **cause)
{
	char buf[CONF_SECRET_FILE_MAX + 1];
	size_t n;
	FILE *f;

	f = fopen(file, "r");
	if (f == NULL) {
		conf_cause(cause, "cannot read %s: %s", file, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	if (ferror(f)) {
		conf_cause(cause, "cannot read %s: %s", file, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		conf_cause(cause, "%s is empty", file);
		return -1;
	}
	free(*out);
	*out = strdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

/* Set key k from text; where names the source and key for messages. */
static int
conf_set(struct conf_key *k, const char *value, int from_file_key, const char *where, char **cause)
{
	char *end;
	long v;

	if (from_file_key) {
		if (conf_read_secret(value, (char **)k->ptr, cause) != 0) {
			char *inner = *cause;
			*cause = NULL;
			conf_cause(cause, "%s: %s", where, inner);
			free(inner);
			return -1;
		}
		return 0;
	}
	switch (k->type) {
	case CONF_STRING:
	case CONF_SECRET:
		free(*(char **)k->ptr);
		*(char **)k->ptr = (value[0] == '\0') ? NULL : strdup(value);
		return 0;
	case CONF_LONG:
		errno = 0;
		v = strtol(value, &end, 0);
		while (*end == ' ' || *end == '\t')
			end++;
		if (value[0] == '\0' || *end != '\0' || errno != 0 || v < k->min || v > k->max) {
			conf_cause(cause,
			    "%s: must be a whole number from %ld "
			    "to %ld (got \"%s\")",
			    where, k->min, k->max, value);
			return -1;
		}
		*(long *)k->ptr = v;
		return 0;
	}
	return -1;
}

/* Find a key; *is_file set when name is {key}_file of a secret. */
static struct conf_key *
conf_find(struct conf_ctx *ctx, const char *section, const char *name, int *is_file)
{
	size_t i, len = strlen(name);

	*is_file = 0;
	for (i = 0; i < ctx->nkeys; i++) {
		struct conf_key *k = &ctx->keys[i];
		size_t klen = strlen(k->name);

		if (strcmp(k->section, section) != 0)
			continue;
		if (strcmp(k->name, name) == 0)
			return k;
		if (k->type == CONF_SECRET && len == klen + 5 &&
		    strncmp(name, k->name, klen) == 0 && strcmp(name + klen, "_file") == 0) {
			*is_file = 1;
			return k;
		}
	}
	return NULL;
}

/* Whether name is an endpoint's name: [a-z0-9_-]{1,32}. */
static int
conf_endpoint_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > PH_ENDPOINT_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (!(name[i] >= 'a' && name[i] <= 'z') && !(name[i] >= '0' && name[i] <= '9') &&
		    name[i] != '_' && name[i] != '-')
			return 0;
	}
	return 1;
}

/* The first key of a new [endpoint NAME] section: add the endpoint with its defaults. */
static int
conf_endpoint_new(struct conf_ctx *ctx, const char *name)
{
	struct ph_config *c = ctx->cfg;
	struct ph_endpoint_cfg *e;
	size_t i, first = ctx->nkeys;

	if (!conf_endpoint_name_ok(name)) {
		conf_cause(&ctx->cause,
		    "%s:%d: [endpoint %s]: the name must be 1..%d of [a-z0-9_-]", ctx->path,
		    ctx->line, name, PH_ENDPOINT_NAME_MAX);
		return -1;
	}
	if (c->nendpoints == PH_MAX_ENDPOINTS) {
		conf_cause(&ctx->cause, "%s:%d: [endpoint %s]: more than %d endpoints", ctx->path,
		    ctx->line, name, PH_MAX_ENDPOINTS);
		return -1;
	}
	e = &c->endpoints[c->nendpoints++];
	snprintf(e->name, sizeof e->name, "%s", name);
	snprintf(e->section, sizeof e->section, "endpoint %s", name);
	e->line = ctx->line;
	conf_endpoint_keys(ctx, e);
	for (i = first; i < ctx->nkeys; i++) {
		if (ctx->keys[i].def != NULL &&
		    conf_set(&ctx->keys[i], ctx->keys[i].def, 0, ctx->keys[i].name, &ctx->cause) !=
		        0)
			return -1;
	}
	return 0;
}

/* libinih callback: one name=value of a section. */
static int
conf_ini_handler(void *user, const char *section, const char *name, const char *value)
{
	struct conf_ctx *ctx = user;
	struct conf_key *k;
	char where[600];
	int is_file;

	if (ctx->cause != NULL)
		return 0;
	ctx->cause_line = ctx->line;
	if (section[0] == '\0') {
		conf_cause(&ctx->cause, "%s:%d: %s: key outside a [section]", ctx->path, ctx->line,
		    name);
		return 0;
	}
	k = conf_find(ctx, section, name, &is_file);
	if (k == NULL && strncmp(section, "endpoint ", 9) == 0) {
		if (conf_endpoint_new(ctx, section + 9) != 0)
			return 0;
		k = conf_find(ctx, section, name, &is_file);
	}
	if (k == NULL) {
		conf_cause(&ctx->cause, "%s:%d: [%s] %s: unknown key", ctx->path, ctx->line,
		    section, name);
		return 0;
	}
	snprintf(where, sizeof where, "%s:%d: [%s] %s", ctx->path, ctx->line, section, name);
	if (conf_set(k, value, is_file, where, &ctx->cause) != 0)
		return 0;
	k->line = ctx->line;
	return 1;
}

/* libinih reader: fgets that counts lines, so errors can name theirs. */
static char *
conf_ini_reader(char *str, int num, void *stream)
{
	struct conf_ctx *ctx = stream;
	char *r = fgets(str, num, ctx->file);

	if (r != NULL)
		ctx->line++;
	return r;
}

/* Apply PAYHOOK_{SECTION}_{KEY} (and _FILE for secrets) from the environment. */
static int
conf_env(struct conf_ctx *ctx, char **cause)
{
	char var[128];
	const char *v;
	size_t i, j;
	int f;

	for (i = 0; i < ctx->nkeys; i++) {
		struct conf_key *k = &ctx->keys[i];

		for (f = 0; f < 2; f++) {
			if (f == 1 && k->type != CONF_SECRET)
				break;
			snprintf(var, sizeof var, "PAYHOOK_%s_%s%s", k->section, k->name,
			    f ? "_file" : "");
			/* [endpoint my-hook] url: PAYHOOK_ENDPOINT_MY_HOOK_URL. */
			for (j = 0; var[j] != '\0'; j++)
				var[j] = isalnum((unsigned char)var[j])
				    ? (char)toupper((unsigned char)var[j])
				    : '_';
			v = getenv(var);
			if (v == NULL)
				continue;
			if (conf_set(k, v, f, var, cause) != 0)
				return -1;
			k->line = CONF_FROM_ENV;
		}
	}
	return 0;
}

/* Check values that depend on each other and split compound ones. */
static int
conf_validate(struct ph_config *c, char **cause)
{
	struct ph_redis_addr addr;
	struct ph_sentinels sentinels;
	char err[256];
	size_t i, len;

	if (ph_redis_parse_url(c->redis.url, &addr, err, sizeof err) != 0) {
		conf_cause(cause, "[redis] url: %s", err);
		return -1;
	}
	if (c->redis.sentinels != NULL &&
	    ph_sentinel_parse(c->redis.sentinels, &sentinels, err, sizeof err) != 0) {
		conf_cause(cause, "[redis] sentinels: %s", err);
		return -1;
	}
	if (c->redis.sentinels != NULL &&
	    (c->redis.master_name == NULL || strlen(c->redis.master_name) >= 128 ||
	        strpbrk(c->redis.master_name, " \t\r\n") != NULL)) {
		conf_cause(cause,
		    "[redis] master_name: the sentinels' name of the master "
		    "(1..127 characters, no space) is needed with [redis] sentinels");
		return -1;
	}
	if (c->redis.sentinels == NULL && c->redis.master_name != NULL) {
		conf_cause(cause, "[redis] master_name: set, but [redis] sentinels is not");
		return -1;
	}
	if (c->redis.sentinels != NULL && addr.path[0] != '\0') {
		conf_cause(cause,
		    "[redis] url: with [redis] sentinels it gives only the db, user and "
		    "password: use redis://[user:pass@]host/db");
		return -1;
	}
	if (c->redis.sentinel_password != NULL && strlen(c->redis.sentinel_password) >= 256) {
		conf_cause(cause, "[redis] sentinel_password: at most 255 bytes");
		return -1;
	}
	if (c->redis.prefix == NULL || strlen(c->redis.prefix) > 64 ||
	    strpbrk(c->redis.prefix, " \t\r\n") != NULL) {
		conf_cause(cause, "[redis] prefix: must be 1..64 characters with no space");
		return -1;
	}
	if (c->log.level == NULL ||
	    (strcmp(c->log.level, "debug") != 0 && strcmp(c->log.level, "info") != 0 &&
	        strcmp(c->log.level, "warn") != 0 && strcmp(c->log.level, "error") != 0)) {
		conf_cause(cause, "[log] level: must be debug, info, warn or error (got \"%s\")",
		    c->log.level ? c->log.level : "");
		return -1;
	}
	if (c->log.format == NULL ||
	    (strcmp(c->log.format, "kv") != 0 && strcmp(c->log.format, "json") != 0)) {
		conf_cause(cause, "[log] format: must be kv or json");
		return -1;
	}
	if (c->handler.spool_dir != NULL &&
	    (c->handler.spool_dir[0] != '/' || strlen(c->handler.spool_dir) > 200)) {
		conf_cause(cause,
		    "[handler] spool_dir: must be an absolute path of at most 200 bytes, "
		    "or empty for no spool");
		return -1;
	}
	if (c->fetcher.backoff_base_ms > c->fetcher.backoff_cap_ms) {
		conf_cause(cause, "[fetcher] backoff_base_ms: must not exceed backoff_cap_ms");
		return -1;
	}
	if (refresh_schedule_ms(c->fetcher.refresh_schedule, c->fetcher.refresh_schedule_ms,
	        sizeof c->fetcher.refresh_schedule_ms, err, sizeof err) != 0) {
		conf_cause(cause, "[fetcher] refresh_schedule: %s", err);
		return -1;
	}
	if (refresh_schedule_ms(c->fetcher.refresh_settled, c->fetcher.refresh_settled_ms,
	        sizeof c->fetcher.refresh_settled_ms, err, sizeof err) != 0) {
		conf_cause(cause, "[fetcher] refresh_settled: %s", err);
		return -1;
	}
	/* With consumer groups the events stream grows past events_maxlen up to this. */
	if (c->fetcher.events_hard_maxlen == 0)
		c->fetcher.events_hard_maxlen = 10 * c->fetcher.events_maxlen;
	if (c->fetcher.events_hard_maxlen < c->fetcher.events_maxlen) {
		conf_cause(cause,
		    "[fetcher] events_hard_maxlen: must be at least events_maxlen (%ld), or 0 for "
		    "10 x events_maxlen",
		    c->fetcher.events_maxlen);
		return -1;
	}
	if (c->fetcher.lock_ttl <= c->fetcher.timeout_ms) {
		conf_cause(cause, "[fetcher] lock_ttl: must exceed timeout_ms (%ld)",
		    c->fetcher.timeout_ms);
		return -1;
	}

	for (i = 0; i < provider_count() && i < PH_MAX_PROVIDERS; i++) {
		const struct ph_provider *p = provider_at(i);
		struct ph_provider_cfg *pc = &c->providers[i];
		char *colon, *v;

		if (pc->base == NULL ||
		    (strncmp(pc->base, "http://", 7) != 0 &&
		        strncmp(pc->base, "https://", 8) != 0)) {
			conf_cause(cause, "[%s] %s: must be an http:// or https:// URL", p->name,
			    p->base_key);
			return -1;
		}
		len = strlen(pc->base);
		while (len > 0 && pc->base[len - 1] == '/')
			pc->base[--len] = '\0';
		if (pc->refresh == NULL ||
		    (strcmp(pc->refresh, "on") != 0 && strcmp(pc->refresh, "off") != 0)) {
			conf_cause(cause, "[%s] refresh: must be on or off", p->name);
			return -1;
		}
		pc->refresh_off = strcmp(pc->refresh, "off") == 0;
		if (pc->token != NULL && !ph_id_valid(pc->token, strlen(pc->token))) {
			conf_cause(cause, "[%s] token: must be 1..128 of [A-Za-z0-9_-]", p->name);
			return -1;
		}
		if (pc->header_name == NULL)
			continue;
		/* "Name: value": the name becomes the CGI parameter HTTP_NAME. */
		colon = strchr(pc->header_name, ':');
		if (colon == NULL || colon == pc->header_name) {
			conf_cause(cause, "[%s] required_header: must be \"Name: value\"", p->name);
			return -1;
		}
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (*v == '\0' || strlen(pc->header_name) + 6 > sizeof pc->header_param) {
			conf_cause(cause, "[%s] required_header: must be \"Name: value\"", p->name);
			return -1;
		}
		pc->header_value = strdup(v);
		memcpy(pc->header_param, "HTTP_", 5);
		for (len = 0; pc->header_name[len] != '\0'; len++) {
			unsigned char ch = (unsigned char)pc->header_name[len];
			if (!isalnum(ch) && ch != '-' && ch != '_') {
				conf_cause(cause, "[%s] required_header: bad header name", p->name);
				return -1;
			}
			pc->header_param[5 + len] = ch == '-' ? '_' : (char)toupper(ch);
		}
		pc->header_param[5 + len] = '\0';
	}
	return 0;
}

/* Parse a retry schedule. */
int
conf_retry_schedule(const char *spec, long *steps, int max, char *err, size_t errlen)
{
	const char *p = spec;
	char *end;
	long v;
	int n = 0;

	if (spec == NULL || *spec == '\0') {
		snprintf(err, errlen, "must be 1 to %d steps in seconds, comma-separated", max);
		return -1;
	}
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, "must be whole seconds, comma-separated (got \"%s\")",
			    spec);
			return -1;
		}
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno != 0 || v < 1 || v > PH_RETRY_STEP_MAX) {
			snprintf(err, errlen, "each step must be 1 to %ld seconds (got \"%s\")",
			    PH_RETRY_STEP_MAX, spec);
			return -1;
		}
		if (n == max) {
			snprintf(err, errlen, "at most %d steps", max);
			return -1;
		}
		steps[n++] = v;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return n;
		if (*p != ',') {
			snprintf(err, errlen, "must be whole seconds, comma-separated (got \"%s\")",
			    spec);
			return -1;
		}
		p++;
	}
}

/* Whether a comma list holds name; NULL or "" holds every name. */
int
conf_list_has(const char *list, const char *name, size_t len)
{
	const char *p = list, *q, *e;

	if (list == NULL || *list == '\0')
		return 1;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		for (q = p; *q != '\0' && *q != ','; q++)
			;
		for (e = q; e > p && e[-1] == ' '; e--)
			;
		if ((size_t)(e - p) == len && len > 0 && memcmp(p, name, len) == 0)
			return 1;
		p = q;
	}
	return 0;
}

/* Where an endpoint's key was set, for a message: FILE:LINE: [endpoint N] key, or its variable. */
static void
conf_endpoint_where(struct conf_ctx *ctx, const struct ph_endpoint_cfg *e, const char *name,
    char *buf, size_t len)
{
	struct conf_key *k;
	size_t j;
	int is_file;

	k = conf_find(ctx, e->section, name, &is_file);
	if (k != NULL && k->line == CONF_FROM_ENV) {
		snprintf(buf, len, "PAYHOOK_%s_%s", e->section, name);
		for (j = 0; buf[j] != '\0'; j++)
			buf[j] = isalnum((unsigned char)buf[j])
			    ? (char)toupper((unsigned char)buf[j])
			    : '_';
		return;
	}
	snprintf(buf, len, "%s:%d: [%s] %s", ctx->path != NULL ? ctx->path : "(config)",
	    k != NULL && k->line > 0 ? k->line : e->line, e->section, name);
}

/* Check one endpoint's list of names: each a known provider, or each a valid type. */
static int
conf_endpoint_list(const char *list, int providers, unsigned *mask, char *bad, size_t badlen)
{
	const char *p = list, *q, *e;
	size_t idx;

	*mask = 0;
	if (list == NULL) {
		*mask = ~0u;
		return 0;
	}
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		for (q = p; *q != '\0' && *q != ','; q++)
			;
		for (e = q; e > p && e[-1] == ' '; e--)
			;
		snprintf(bad, badlen, "%.*s", (int)(e - p), p);
		if (providers) {
			if (provider_find(p, (size_t)(e - p), &idx) == NULL)
				return -1;
			*mask |= 1u << idx;
		} else if (!ph_type_valid(p, (size_t)(e - p))) {
			return -1;
		}
		p = q;
	}
	if (providers && *mask == 0)
		*mask = ~0u;
	return 0;
}

/* Check the [endpoint NAME] sections; a message names the key and where it was set. */
static int
conf_validate_endpoints(struct conf_ctx *ctx, struct ph_config *c, char **cause)
{
	struct ph_whsig *w;
	char where[600], err[256], bad[128];
	unsigned mask;
	int i, n;

	for (i = 0; i < c->nendpoints; i++) {
		struct ph_endpoint_cfg *e = &c->endpoints[i];

		if (e->allow_http == NULL ||
		    (strcmp(e->allow_http, "on") != 0 && strcmp(e->allow_http, "off") != 0)) {
			conf_endpoint_where(ctx, e, "allow_http", where, sizeof where);
			conf_cause(cause, "%s: must be on or off", where);
			return -1;
		}
		e->http_ok = strcmp(e->allow_http, "on") == 0;
		conf_endpoint_where(ctx, e, "url", where, sizeof where);
		if (e->url == NULL) {
			conf_cause(cause, "%s: required (where to POST the events)", where);
			return -1;
		}
		if (strlen(e->url) > 2048 || strpbrk(e->url, " \t\r\n") != NULL ||
		    (strncmp(e->url, "https://", 8) != 0 &&
		        (strncmp(e->url, "http://", 7) != 0 || !e->http_ok)) ||
		    e->url[strncmp(e->url, "https://", 8) == 0 ? 8 : 7] == '\0') {
			conf_cause(cause, "%s: must be an https:// URL%s (got \"%.200s\")", where,
			    e->http_ok ? " or an http:// one"
			               : " (http:// only with allow_http = on)",
			    e->url);
			return -1;
		}
		conf_endpoint_where(ctx, e, "secret", where, sizeof where);
		if (e->secret == NULL) {
			conf_cause(cause,
			    "%s: required (whsec_ and the base64 of a key; or secret_file)", where);
			return -1;
		}
		w = whsig_new(e->secret, err, sizeof err);
		if (w == NULL) {
			conf_cause(cause, "%s: %s", where, err);
			return -1;
		}
		whsig_free(w);
		if (conf_endpoint_list(e->providers, 1, &mask, bad, sizeof bad) != 0) {
			conf_endpoint_where(ctx, e, "providers", where, sizeof where);
			conf_cause(cause, "%s: \"%s\" is not a provider payhook knows", where, bad);
			return -1;
		}
		e->provider_mask = mask;
		if (conf_endpoint_list(e->entity_types, 0, &mask, bad, sizeof bad) != 0) {
			conf_endpoint_where(ctx, e, "entity_types", where, sizeof where);
			conf_cause(cause, "%s: \"%s\" is not an entity type name", where, bad);
			return -1;
		}
		n = conf_retry_schedule(e->retry_schedule, e->retry_s, PH_RETRY_STEPS_MAX, err,
		    sizeof err);
		if (n < 0) {
			conf_endpoint_where(ctx, e, "retry_schedule", where, sizeof where);
			conf_cause(cause, "%s: %s", where, err);
			return -1;
		}
		e->nretry = n;
	}
	return 0;
}

/* Load the configuration. */
int
conf_load(struct ph_config *cfg, const char *path, int required, char **cause)
{
	struct conf_ctx *ctx;
	FILE *f = NULL;
	size_t i;
	int line, rc = -1;

	memset(cfg, 0, sizeof *cfg);
	*cause = NULL;
	ctx = calloc(1, sizeof *ctx);
	if (ctx == NULL) {
		conf_cause(cause, "out of memory");
		return -1;
	}
	ctx->cfg = cfg;
	conf_table(ctx, cfg);
	for (i = 0; i < ctx->nkeys; i++) {
		if (ctx->keys[i].def != NULL &&
		    conf_set(&ctx->keys[i], ctx->keys[i].def, 0, ctx->keys[i].name, cause) != 0)
			goto out;
	}

	if (path != NULL) {
		ctx->path = path;
		f = fopen(path, "r");
		if (f == NULL && (required || errno != ENOENT)) {
			conf_cause(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (f != NULL) {
			ctx->file = f;
			line = ini_parse_stream(conf_ini_reader, ctx, conf_ini_handler, ctx);
			if (ctx->cause != NULL && (line == 0 || line >= ctx->cause_line)) {
				*cause = ctx->cause;
				ctx->cause = NULL;
				goto out;
			}
			if (line != 0) {
				conf_cause(cause, "%s:%d: not an INI line", path, line);
				goto out;
			}
		}
	}
	if (conf_env(ctx, cause) != 0 || conf_validate(cfg, cause) != 0 ||
	    conf_validate_endpoints(ctx, cfg, cause) != 0)
		goto out;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(ctx->cause);
	free(ctx);
	return rc;
}

/* Free every string of a configuration, wiping secrets. */
void
conf_free(struct ph_config *cfg)
{
	struct conf_ctx ctx;
	size_t i;

	conf_table(&ctx, cfg);
	for (i = 0; i < ctx.nkeys; i++) {
		char **s = ctx.keys[i].ptr;

		if (ctx.keys[i].type == CONF_LONG || *s == NULL)
			continue;
		if (ctx.keys[i].type == CONF_SECRET)
			explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
	for (i = 0; i < PH_MAX_PROVIDERS; i++) {
		if (cfg->providers[i].header_value != NULL) {
			explicit_bzero(cfg->providers[i].header_value,
			    strlen(cfg->providers[i].header_value));
			free(cfg->providers[i].header_value);
			cfg->providers[i].header_value = NULL;
		}
	}
}

/* Print the effective configuration; secrets show only whether they are set. */
void
conf_dump(const struct ph_config *cfg, FILE *f)
{
	struct conf_ctx ctx;
	const char *section = "";
	size_t i;

	conf_table(&ctx, (struct ph_config *)cfg);
	for (i = 0; i < ctx.nkeys; i++) {
		struct conf_key *k = &ctx.keys[i];

		if (strcmp(section, k->section) != 0) {
			fprintf(f, "%s[%s]\n", i > 0 ? "\n" : "", k->section);
			section = k->section;
		}
		if (k->type == CONF_LONG && strcmp(k->name, "socket_mode") == 0)
			fprintf(f, "%s = 0%lo\n", k->name, *(long *)k->ptr);
		else if (k->type == CONF_LONG)
			fprintf(f, "%s = %ld\n", k->name, *(long *)k->ptr);
		else if (k->type == CONF_SECRET)
			fprintf(f, "%s = %s\n", k->name,
			    *(char **)k->ptr != NULL ? "(set)" : "(not set)");
		else if (k->type == CONF_STRING && strcmp(k->name, "url") == 0 &&
		    strncmp(k->section, "endpoint ", 9) == 0 && *(char **)k->ptr != NULL &&
		    strchr(*(char **)k->ptr, '@') != NULL)
			/* A merchant's URL may carry a user and password: never printed. */
			fprintf(f, "%s = (a URL with credentials)\n", k->name);
		else if (k->ptr == &cfg->redis.url && strchr(cfg->redis.url, '@') != NULL)
			fprintf(f, "%s = redis://(credentials)%s\n", k->name,
			    strrchr(cfg->redis.url, '@'));
		else
			fprintf(f, "%s = %s\n", k->name,
			    *(char **)k->ptr != NULL ? *(char **)k->ptr : "");
	}
}

/* Load a daemon's configuration or exit naming the problem. */
void
conf_start(struct ph_config *cfg, const char *path)
{
	char *cause = NULL;

	if (conf_load(cfg, path != NULL ? path : PH_DEFAULT_CONFIG, path != NULL, &cause) != 0)
		fatalx("config: %s", cause);
	log_set_level(cfg->log.level);
	log_set_format(cfg->log.format);
}

/* Print the configuration for --check-config. */
void
conf_check(struct ph_config *cfg)
{
	conf_dump(cfg, stdout);
	printf("\nconfig ok\n");
	conf_free(cfg);
}
