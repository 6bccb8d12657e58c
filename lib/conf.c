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
};

#define CONF_MAX_KEYS 160
#define CONF_SECRET_FILE_MAX 4096

struct conf_ctx {
	struct conf_key keys[CONF_MAX_KEYS];
	size_t nkeys;
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
	struct conf_key *k;

	if (ctx->nkeys == CONF_MAX_KEYS)
		fatalx("config: more than %d keys: raise CONF_MAX_KEYS", CONF_MAX_KEYS);
	k = &ctx->keys[ctx->nkeys++];

	k->section = section;
	k->name = name;
	k->type = type;
	k->def = def;
	k->min = min;
	k->max = max;
	k->ptr = ptr;
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
		if (p->key_id_key != NULL)
			conf_add(ctx, p->name, p->key_id_key, CONF_SECRET, NULL, 0, 0, &pc->key_id);
		conf_add(ctx, p->name, p->secret_key, CONF_SECRET, NULL, 0, 0, &pc->secret);
		conf_add(ctx, p->name, "token", CONF_SECRET, NULL, 0, 0, &pc->token);
		conf_add(ctx, p->name, "required_header", CONF_SECRET, NULL, 0, 0,
		    &pc->header_name);
		conf_add(ctx, p->name, "refresh", CONF_STRING, "on", 0, 0, &pc->refresh);
		conf_add(ctx, p->name, "max_rps", CONF_LONG, "0", 0, 100000, &pc->max_rps);
		if (p->verify == NULL)
			continue;
		conf_add(ctx, p->name, "signing_secret", CONF_SECRET, NULL, 0, 0,
		    &pc->signing_secret);
		conf_add(ctx, p->name, "signature_tolerance_s", CONF_LONG, "300", 1, 86400,
		    &pc->tolerance_s);
		conf_add(ctx, p->name, "unsigned", CONF_STRING, "off", 0, 0, &pc->unsigned_s);
	}
	/* clang-format on */
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
	if (k == NULL) {
		conf_cause(&ctx->cause, "%s:%d: [%s] %s: unknown key", ctx->path, ctx->line,
		    section, name);
		return 0;
	}
	snprintf(where, sizeof where, "%s:%d: [%s] %s", ctx->path, ctx->line, section, name);
	return conf_set(k, value, is_file, where, &ctx->cause) == 0;
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
			for (j = 0; var[j] != '\0'; j++)
				var[j] = (char)toupper((unsigned char)var[j]);
			v = getenv(var);
			if (v == NULL)
				continue;
			if (conf_set(k, v, f, var, cause) != 0)
				return -1;
		}
	}
	return 0;
}

/* Check a signing provider's keys: unsigned, and the secrets keyed once. */
static int
conf_signing(const struct ph_provider *p, struct ph_provider_cfg *pc, char **cause)
{
	char err[160];

	if (pc->unsigned_s == NULL ||
	    (strcmp(pc->unsigned_s, "on") != 0 && strcmp(pc->unsigned_s, "off") != 0)) {
		conf_cause(cause, "[%s] unsigned: must be on or off", p->name);
		return -1;
	}
	pc->unsigned_on = strcmp(pc->unsigned_s, "on") == 0;
	if (pc->signing_secret == NULL)
		return 0;
	pc->keys = sig_keys_new(pc->signing_secret, err, sizeof err);
	if (pc->keys == NULL) {
		conf_cause(cause, "[%s] signing_secret: %s", p->name, err);
		return -1;
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
		if (p->verify != NULL && conf_signing(p, pc, cause) != 0)
			return -1;
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
	if (conf_env(ctx, cause) != 0 || conf_validate(cfg, cause) != 0)
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
		sig_keys_free(cfg->providers[i].keys);
		cfg->providers[i].keys = NULL;
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
