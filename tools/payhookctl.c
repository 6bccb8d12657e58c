/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * payhookctl: the operators' view of payhook's Redis keys (DESIGN.md: Redis
 * keys). It reads what payhook-fcgi and payhook-fetcher write, and changes
 * it only in the ways they do: a replayed or refetched job goes to the queue
 * under the entity's pending marker, in one script, like an accepted
 * notification.
 *
 * Exit status: 0 done, 1 Redis or data error, 2 usage, 3 nothing found.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "accept.h"
#include "call.h"
#include "conf.h"
#include "deliver.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "payhook.h"
#include "provider.h"
#include "redis.h"
#include "refresh.h"
#include "replay.h"
#include "spool.h"

#define CTL_OK 0
#define CTL_ERR 1
#define CTL_USAGE 2
#define CTL_NOTFOUND 3

#define CTL_LIMIT_DEFAULT 20
#define CTL_LIMIT_MAX 10000
#define CTL_BATCH 100          /* entries read per round trip */
#define CTL_TAIL_BLOCK_MS 1000 /* XREAD BLOCK of events tail -f */
#define CTL_ENTRY_MAX (PH_JOB_MAX + 1024)

struct ctl {
	struct ph_config cfg;
	struct ph_redis *redis;
	int json;
};

/* The argument vector of a verb, past the verb's own name. */
struct ctl_args {
	int argc;
	char **argv;
};

static volatile sig_atomic_t ctl_stop;

/* Print an error message. */
static void __attribute__((format(printf, 1, 2))) ctl_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("payhookctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Note a signal: events tail -f stops at the next poll. */
static void
ctl_signal(int sig)
{
	(void)sig;
	ctl_stop = 1;
}

/* Build a key under the configured prefix (parts as ph_key_of takes them); -1 (reported) if too long. */
static int
ctl_key(struct ctl *c, char *buf, enum ph_key_kind kind, const char *x, const char *y,
    const char *z)
{
	if (ph_key_of(buf, PH_KEY_MAX, c->cfg.redis.prefix, kind, x, y, z) < 0) {
		ctl_warn("key too long: %s... (kind %d)", c->cfg.redis.prefix, (int)kind);
		return -1;
	}
	return 0;
}

/* Run a command; the reply, or NULL (reported) on failure or error reply. Caller frees. */
static redisReply *
ctl_cmd(struct ctl *c, int argc, const char **argv)
{
	redisReply *rep;

	rep = ph_redis_argv(c->redis, argc, argv, NULL);
	if (rep == NULL) {
		ctl_warn("redis: %s", ph_redis_err(c->redis));
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		ctl_warn("redis: %s: %s", argv[0], rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/* Run a command whose reply is an integer; -1 (reported) on failure. */
static long long
ctl_int(struct ctl *c, int argc, const char **argv)
{
	redisReply *rep = ctl_cmd(c, argc, argv);
	long long v;

	if (rep == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_INTEGER) {
		ctl_warn("redis: %s: unexpected reply", argv[0]);
		freeReplyObject(rep);
		return -1;
	}
	v = rep->integer;
	freeReplyObject(rep);
	return v;
}

/* Run one of our scripts (EVAL: run by hand, not worth a SCRIPT LOAD). */
static long long
ctl_eval(struct ctl *c, const struct ph_call *call)
{
	redisReply *rep = ph_redis_call(c->redis, call);
	long long v;

	if (rep == NULL) {
		ctl_warn("redis: %s", ph_redis_err(c->redis));
		return -1;
	}
	if (rep->type != REDIS_REPLY_INTEGER) {
		ctl_warn("redis: script: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		freeReplyObject(rep);
		return -1;
	}
	v = rep->integer;
	freeReplyObject(rep);
	return v;
}

/* Format milliseconds since the epoch as UTC ISO 8601 into buf. */
static const char *
ctl_time(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	if (ms == 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0 || n + 6 > len) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
	return buf;
}

/* Parse a whole number from min to max; -1 (reported, naming what) if it is not. */
static int
ctl_number(const char *what, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		ctl_warn("%s %s: must be a whole number from %ld to %ld", what, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Tell whether an argument asks for help. */
static int
ctl_is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* The providers of the provider table, "a, b", into buf (static: messages only). */
static const char *
ctl_provider_names(void)
{
	static char buf[256];
	size_t i, o = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < provider_count(); i++) {
		n = snprintf(buf + o, sizeof buf - o, "%s%s", i > 0 ? ", " : "",
		    provider_at(i)->name);
		if (n < 0 || (size_t)n >= sizeof buf - o)
			break;
		o += (size_t)n;
	}
	return buf;
}

/* Report an unknown provider, naming the known ones. */
static void
ctl_unknown_provider(const char *name)
{
	ctl_warn("%s: unknown provider (%s)", name, ctl_provider_names());
}

/*
 * Progress of a long operation on a terminal: a count and a rate on stderr,
 * rewritten with \r at most every CTL_PROGRESS_MS, then a final line. Nothing
 * when stderr is not a terminal (logs, pipes, tests).
 */
#define CTL_PROGRESS_MS 250

struct ctl_progress {
	int on;
	const char *what;
	uint64_t start_ms, last_ms;
};

/* Start showing progress of what, if stderr is a terminal. */
static void
ctl_progress_start(struct ctl_progress *pg, const char *what)
{
	pg->on = isatty(STDERR_FILENO);
	pg->what = what;
	pg->start_ms = pg->last_ms = ph_now_ms();
}

/* Print the count (of total, when total >= 0) and the rate. */
static void
ctl_progress_print(struct ctl_progress *pg, long n, long long total, uint64_t now)
{
	double s = (double)(now - pg->start_ms) / 1000.0;

	if (total >= 0)
		fprintf(stderr, "\r%s: %ld of %lld (%.0f/s)", pg->what, n, total,
		    s > 0 ? (double)n / s : 0.0);
	else
		fprintf(stderr, "\r%s: %ld (%.0f/s)", pg->what, n, s > 0 ? (double)n / s : 0.0);
	fflush(stderr);
	pg->last_ms = now;
}

/* Show progress: n done so far, of total (-1 unknown); at most every CTL_PROGRESS_MS. */
static void
ctl_progress(struct ctl_progress *pg, long n, long long total)
{
	uint64_t now;

	if (!pg->on)
		return;
	now = ph_now_ms();
	if (now - pg->last_ms >= CTL_PROGRESS_MS)
		ctl_progress_print(pg, n, total, now);
}

/* End the progress line: the final count, then a newline. */
static void
ctl_progress_end(struct ctl_progress *pg, long n, long long total)
{
	if (!pg->on)
		return;
	ctl_progress_print(pg, n, total, ph_now_ms());
	fputc('\n', stderr);
}

/* Check provider, type and id of an entity given on the command line; -1 (reported) if bad. */
static int
ctl_entity_args(char **argv, const struct ph_provider **p)
{
	size_t idx;

	*p = provider_find(argv[0], strlen(argv[0]), &idx);
	if (*p == NULL) {
		ctl_unknown_provider(argv[0]);
		return -1;
	}
	if (!ph_type_valid(argv[1], strlen(argv[1]))) {
		ctl_warn("%s: an entity type is 1..%d of [a-z0-9_]", argv[1], PH_TYPE_MAX);
		return -1;
	}
	if (!ph_id_valid(argv[2], strlen(argv[2]))) {
		ctl_warn("%s: an id is 1..%d of [A-Za-z0-9_-]", argv[2], PH_ID_MAX);
		return -1;
	}
	return 0;
}

/* Print a JSON value, parsed from text when it is JSON, else as a string. Caller puts it. */
static struct json_object *
ctl_json_body(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL;

	if (tok != NULL && len < (size_t)INT32_MAX) {
		o = json_tokener_parse_ex(tok, s, (int)len);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    tok->char_offset != (int)len) {
			json_object_put(o);
			o = NULL;
		}
	}
	if (tok != NULL)
		json_tokener_free(tok);
	if (o == NULL)
		o = json_object_new_string_len(s, (int)len);
	return o;
}

/* Print a JSON object on stdout and release it. */
static void
ctl_json_put(struct json_object *o, int pretty)
{
	puts(json_object_to_json_string_ext(o,
	    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN) |
	        JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Help of the stats verb. */
static const char ctl_help_stats[] =
    "usage: payhookctl stats [--json]\n"
    "\n"
    "Print the lengths of the queue, retry, processing and dead lists, the\n"
    "fetchers and their heartbeats, the age of the oldest queued job, the\n"
    "stream lengths and every counter of the stats hash.\n";

/* The spool directory a verb looks at: --dir, else [handler] spool_dir; NULL when off. */
static const char *
ctl_spool_dir(struct ctl *c, const char *dir)
{
	return dir != NULL ? dir : c->cfg.handler.spool_dir;
}

/* This host's spool as JSON (null when there is none). */
static struct json_object *
ctl_spool_json(struct ctl *c, const char *dir)
{
	struct ph_spool_status st;
	struct json_object *o;

	dir = ctl_spool_dir(c, dir);
	if (dir == NULL)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "dir", json_object_new_string(dir));
	if (spool_status(dir, &st) != 0) {
		json_object_object_add(o, "error", json_object_new_string(strerror(errno)));
		return o;
	}
	json_object_object_add(o, "segments", json_object_new_int64(st.segments));
	json_object_object_add(o, "bytes", json_object_new_int64(st.bytes));
	json_object_object_add(o, "oldest_ms",
	    st.oldest_ms >= 0 ? json_object_new_int64(st.oldest_ms) : NULL);
	json_object_object_add(o, "writable", json_object_new_boolean(st.writable));
	return o;
}

/* Print this host's spool as table rows. */
static int
ctl_spool_print(struct ctl *c, const char *dir)
{
	struct ph_spool_status st;

	dir = ctl_spool_dir(c, dir);
	if (dir == NULL) {
		printf("%-24s off ([handler] spool_dir is empty)\n", "spool");
		return CTL_OK;
	}
	if (spool_status(dir, &st) != 0) {
		printf("%-24s %s: %s\n", "spool", dir, strerror(errno));
		return CTL_ERR;
	}
	printf("%-24s %s%s\n", "spool", dir, st.writable ? "" : " (not writable)");
	printf("%-24s %ld\n", "spool segments", st.segments);
	printf("%-24s %lld\n", "spool bytes", st.bytes);
	if (st.oldest_ms >= 0)
		printf("%-24s %.1fs\n", "spool oldest", (double)st.oldest_ms / 1000.0);
	else
		printf("%-24s -\n", "spool oldest");
	return CTL_OK;
}

/* Print queue lengths, fetchers and counters (what /metrics reads, as a table). */
static int
ctl_stats(struct ctl *c, struct ctl_args *a)
{
	struct json_object *o, *counters;
	struct ph_gauges g;
	redisReply *stats;
	size_t i;

	for (i = 0; i < (size_t)a->argc; i++) {
		if (strcmp(a->argv[i], "--json") == 0)
			c->json = 1;
		else {
			ctl_warn("stats: unexpected argument: %s", a->argv[i]);
			fputs(ctl_help_stats, stderr);
			return CTL_USAGE;
		}
	}
	if (metrics_collect(c->redis, &c->cfg, &g) != 0) {
		ctl_warn("redis: %s", ph_redis_err(c->redis));
		return CTL_ERR;
	}
	stats = g.stats;
	if (c->json) {
		o = json_object_new_object();
		json_object_object_add(o, "queue", json_object_new_int64(g.queue));
		json_object_object_add(o, "retry", json_object_new_int64(g.retry));
		json_object_object_add(o, "processing", json_object_new_int64(g.processing));
		json_object_object_add(o, "dead", json_object_new_int64(g.dead));
		json_object_object_add(o, "workers", json_object_new_int64(g.workers));
		json_object_object_add(o, "workers_live", json_object_new_int64(g.live));
		json_object_object_add(o, "oldest_queued_ms",
		    g.oldest_ms >= 0 ? json_object_new_int64(g.oldest_ms) : NULL);
		json_object_object_add(o, "events", json_object_new_int64(g.events));
		json_object_object_add(o, "notifications", json_object_new_int64(g.notifications));
		json_object_object_add(o, "refresh_tracked",
		    json_object_new_int64(g.refresh_tracked));
		json_object_object_add(o, "refresh_lag_ms",
		    json_object_new_int64(g.refresh_lag_ms));
		counters = json_object_new_object();
		for (i = 0; stats->type == REDIS_REPLY_ARRAY && i + 1 < stats->elements; i += 2)
			json_object_object_add(counters, stats->element[i]->str,
			    json_object_new_int64(strtoll(stats->element[i + 1]->str, NULL, 10)));
		json_object_object_add(o, "counters", counters);
		json_object_object_add(o, "spool", ctl_spool_json(c, NULL));
		ctl_json_put(o, 1);
	} else {
		printf("%-24s %lld\n", "queue", g.queue);
		printf("%-24s %lld\n", "retry", g.retry);
		printf("%-24s %lld\n", "processing", g.processing);
		printf("%-24s %lld\n", "dead", g.dead);
		printf("%-24s %ld (%ld live)\n", "fetchers", g.workers, g.live);
		if (g.oldest_ms >= 0)
			printf("%-24s %.1fs\n", "oldest queued", (double)g.oldest_ms / 1000.0);
		else
			printf("%-24s -\n", "oldest queued");
		printf("%-24s %lld\n", "events", g.events);
		printf("%-24s %lld\n", "notifications", g.notifications);
		printf("%-24s %lld (most overdue by %.1fs)\n", "refresh tracked", g.refresh_tracked,
		    (double)g.refresh_lag_ms / 1000.0);
		for (i = 0; stats->type == REDIS_REPLY_ARRAY && i + 1 < stats->elements; i += 2)
			printf("%-40s %s\n", stats->element[i]->str, stats->element[i + 1]->str);
		ctl_spool_print(c, NULL);
	}
	freeReplyObject(stats);
	return CTL_OK;
}

/* Help of the dead verb. */
static const char ctl_help_dead[] =
    "usage: payhookctl dead list [--limit N] [--json]\n"
    "       payhookctl dead replay all | N | --provider P\n"
    "       payhookctl dead purge\n"
    "\n"
    "Jobs the fetchers gave up on, newest first (N counts from 0, as listed).\n"
    "  list     print up to N entries (default 20, at most 10000)\n"
    "  replay   put entries back in the queue as fresh jobs (attempt 0); an\n"
    "           entity that already has a job waiting is not queued twice\n"
    "  purge    delete every entry\n";

/* Print one dead entry as a table row. */
static void
ctl_dead_row(long idx, const char *s, size_t len)
{
	struct json_object *o = ctl_json_body(s, len), *v;
	const char *f[5] = { "provider", "entity_type", "entity_id", "error", "attempts" };
	const char *val[5];
	char t[40];
	uint64_t failed_at = 0;
	int i;

	for (i = 0; i < 5; i++) {
		val[i] = "?";
		if (json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, f[i], &v))
			val[i] = json_object_get_string(v);
	}
	if (json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "failed_at", &v))
		failed_at = (uint64_t)json_object_get_int64(v);
	printf("%-5ld %-24s %-12s %-18s %-36s %8s  %s\n", idx, ctl_time(failed_at, t, sizeof t),
	    val[0], val[1], val[2], val[4], val[3]);
	json_object_put(o);
}

/* List dead entries, newest first. */
static int
ctl_dead_list(struct ctl *c, const char *kd, struct ctl_args *a)
{
	const char *argv[4];
	char from[24], to[24];
	long limit = CTL_LIMIT_DEFAULT, i, shown = 0;
	long long total;
	struct json_object *arr = NULL;
	redisReply *rep;
	size_t j;

	for (i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], "--json") == 0)
			c->json = 1;
		else if (strcmp(a->argv[i], "--limit") == 0 && i + 1 < a->argc) {
			if (ctl_number("--limit", a->argv[++i], 1, CTL_LIMIT_MAX, &limit) != 0)
				return CTL_USAGE;
		} else {
			ctl_warn("dead list: unexpected argument: %s", a->argv[i]);
			fputs(ctl_help_dead, stderr);
			return CTL_USAGE;
		}
	}
	argv[0] = "LLEN";
	argv[1] = kd;
	if ((total = ctl_int(c, 2, argv)) < 0)
		return CTL_ERR;
	if (c->json)
		arr = json_object_new_array();
	else
		printf("%-5s %-24s %-12s %-18s %-36s %8s  %s\n", "#", "failed_at", "provider",
		    "entity_type", "entity_id", "attempts", "error");
	/* Read in batches: a bounded reply per round trip. */
	while (shown < limit) {
		long n = limit - shown < CTL_BATCH ? limit - shown : CTL_BATCH;

		snprintf(from, sizeof from, "%ld", shown);
		snprintf(to, sizeof to, "%ld", shown + n - 1);
		argv[0] = "LRANGE";
		argv[1] = kd;
		argv[2] = from;
		argv[3] = to;
		if ((rep = ctl_cmd(c, 4, argv)) == NULL) {
			json_object_put(arr);
			return CTL_ERR;
		}
		for (j = 0; rep->type == REDIS_REPLY_ARRAY && j < rep->elements; j++) {
			if (arr != NULL)
				json_object_array_add(arr,
				    ctl_json_body(rep->element[j]->str, rep->element[j]->len));
			else
				ctl_dead_row(shown + (long)j, rep->element[j]->str,
				    rep->element[j]->len);
		}
		j = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
		freeReplyObject(rep);
		shown += (long)j;
		if ((long)j < n)
			break;
	}
	if (arr != NULL)
		ctl_json_put(arr, 1);
	else
		printf("(%ld of %lld)\n", shown, total);
	return CTL_OK;
}

/*
 * Replay one dead entry: decode it, queue a fresh job (attempt 0), remove
 * the entry. 0 queued or covered, 1 entry gone meanwhile, -1 (reported) error.
 */
static int
ctl_replay_one(struct ctl *c, const char *kd, const char *kq, const char *entry,
    const struct ph_job *j, int *covered)
{
	char kp[PH_KEY_MAX], kr[PH_KEY_MAX], jobbuf[PH_JOB_MAX + 1];
	struct ph_call call;
	const struct ph_provider *p;
	struct ph_job fresh = *j;
	long long r;

	p = provider_find(j->provider, strlen(j->provider), NULL);
	fresh.attempt = 0;
	if (job_encode(&fresh, jobbuf, sizeof jobbuf) < 0) {
		ctl_warn("dead entry cannot be re-encoded: %s", entry);
		return -1;
	}
	if (ph_key_entity(kp, sizeof kp, c->cfg.redis.prefix, PH_KEY_PENDING, j->provider,
	        j->entity_type, j->entity_id) < 0 ||
	    ph_key_of(kr, sizeof kr, c->cfg.redis.prefix, PH_KEY_RETRY, NULL, NULL, NULL) < 0) {
		ctl_warn("key too long: %spending:...", c->cfg.redis.prefix);
		return -1;
	}
	const struct ph_dead_replay dr = {
		.dead_key = kd,
		.queue_key = kq,
		.pending_key = kp,
		.retry_key = kr,
		.entry = entry,
		.job = jobbuf,
		.pending_ttl = c->cfg.handler.pending_ttl,
		/* An entity type with no route: the fetcher never clears a marker. */
		.use_marker = p != NULL && provider_route(p, j->entity_type) != NULL,
	};
	ph_call_dead_replay(&call, &dr);
	r = ctl_eval(c, &call);
	if (r < 0)
		return -1;
	*covered = r == 2;
	return r == 0 ? 1 : 0;
}

/* Replay dead entries: all, one by index, or one provider's. */
static int
ctl_dead_replay(struct ctl *c, const char *kd, const char *kq, struct ctl_args *a)
{
	const char *provider = NULL, *argv[3];
	char idx[24], err[160];
	long index = -1, done = 0, covered_n = 0, skipped = 0, i;
	long long total;
	redisReply *rep;
	struct ctl_progress pg;
	struct ph_job job;
	int all = 0, covered, r;

	for (i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], "all") == 0)
			all = 1;
		else if (strcmp(a->argv[i], "--provider") == 0 && i + 1 < a->argc)
			provider = a->argv[++i];
		else if (a->argv[i][0] >= '0' && a->argv[i][0] <= '9') {
			if (ctl_number("index", a->argv[i], 0, LONG_MAX - 1, &index) != 0)
				return CTL_USAGE;
		} else {
			ctl_warn("dead replay: unexpected argument: %s", a->argv[i]);
			fputs(ctl_help_dead, stderr);
			return CTL_USAGE;
		}
	}
	if (all + (provider != NULL) + (index >= 0) != 1) {
		ctl_warn("dead replay: give one of all, N or --provider P");
		fputs(ctl_help_dead, stderr);
		return CTL_USAGE;
	}
	if (provider != NULL && provider_find(provider, strlen(provider), NULL) == NULL) {
		ctl_unknown_provider(provider);
		return CTL_USAGE;
	}

	if (index >= 0) {
		snprintf(idx, sizeof idx, "%ld", index);
		argv[0] = "LINDEX";
		argv[1] = kd;
		argv[2] = idx;
		if ((rep = ctl_cmd(c, 3, argv)) == NULL)
			return CTL_ERR;
		if (rep->type != REDIS_REPLY_STRING) {
			freeReplyObject(rep);
			ctl_warn("dead replay: no entry %ld", index);
			return CTL_NOTFOUND;
		}
		if (job_decode(rep->str, rep->len, &job, err, sizeof err) != 0) {
			ctl_warn("dead entry %ld: %s", index, err);
			freeReplyObject(rep);
			return CTL_ERR;
		}
		r = ctl_replay_one(c, kd, kq, rep->str, &job, &covered);
		freeReplyObject(rep);
		if (r < 0)
			return CTL_ERR;
		if (r == 1) {
			ctl_warn("dead replay: entry %ld changed meanwhile; list again", index);
			return CTL_NOTFOUND;
		}
		printf("replayed 1 (%s %s %s)%s\n", job.provider, job.entity_type, job.entity_id,
		    covered ? ", a job was already waiting" : "");
		return CTL_OK;
	}

	/*
	 * All, or one provider's: from the oldest end, at most as many as the
	 * list held at the start, so entries that die again while we replay are
	 * not taken twice. Entries kept (other provider, undecodable) are passed.
	 */
	argv[0] = "LLEN";
	argv[1] = kd;
	if ((total = ctl_int(c, 2, argv)) < 0)
		return CTL_ERR;
	ctl_progress_start(&pg, "dead replay");
	for (i = 0; i < total && !ctl_stop; i++) {
		ctl_progress(&pg, i, total);
		snprintf(idx, sizeof idx, "%ld", -1 - skipped);
		argv[0] = "LINDEX";
		argv[1] = kd;
		argv[2] = idx;
		if ((rep = ctl_cmd(c, 3, argv)) == NULL)
			return CTL_ERR;
		if (rep->type != REDIS_REPLY_STRING) {
			freeReplyObject(rep);
			break;
		}
		if (job_decode(rep->str, rep->len, &job, err, sizeof err) != 0) {
			ctl_warn("kept an entry that is not a job (%s)", err);
			skipped++;
			freeReplyObject(rep);
			continue;
		}
		if (provider != NULL && strcmp(job.provider, provider) != 0) {
			skipped++;
			freeReplyObject(rep);
			continue;
		}
		r = ctl_replay_one(c, kd, kq, rep->str, &job, &covered);
		freeReplyObject(rep);
		if (r < 0)
			return CTL_ERR;
		if (r == 0) {
			done++;
			covered_n += covered;
		}
	}
	ctl_progress_end(&pg, i, total);
	printf("replayed %ld (%ld covered by a job already waiting), %ld kept\n", done, covered_n,
	    skipped);
	return CTL_OK;
}

/* Handle the dead verb. */
static int
ctl_dead(struct ctl *c, struct ctl_args *a)
{
	char kd[PH_KEY_MAX], kq[PH_KEY_MAX];
	struct ctl_args sub = { a->argc - 1, a->argv + 1 };
	struct ph_call call;
	long long n;

	if (a->argc == 0) {
		ctl_warn("dead: give list, replay or purge");
		fputs(ctl_help_dead, stderr);
		return CTL_USAGE;
	}
	if (ctl_key(c, kd, PH_KEY_DEAD, NULL, NULL, NULL) ||
	    ctl_key(c, kq, PH_KEY_QUEUE, NULL, NULL, NULL))
		return CTL_ERR;
	if (strcmp(a->argv[0], "list") == 0)
		return ctl_dead_list(c, kd, &sub);
	if (strcmp(a->argv[0], "replay") == 0)
		return ctl_dead_replay(c, kd, kq, &sub);
	if (strcmp(a->argv[0], "purge") == 0) {
		if (sub.argc != 0) {
			ctl_warn("dead purge: unexpected argument: %s", sub.argv[0]);
			return CTL_USAGE;
		}
		ph_call_dead_purge(&call, kd);
		if ((n = ctl_eval(c, &call)) < 0)
			return CTL_ERR;
		printf("purged %lld\n", n);
		return CTL_OK;
	}
	ctl_warn("dead %s: unknown; give list, replay or purge", a->argv[0]);
	fputs(ctl_help_dead, stderr);
	return CTL_USAGE;
}

/* Help of the entity verb. */
static const char ctl_help_entity[] =
    "usage: payhookctl entity [--json] PROVIDER TYPE ID\n"
    "\n"
    "Print the latest snapshot of an entity: when it was fetched, the HTTP\n"
    "status, the SHA-256 and the notification that caused it, and the body\n"
    "(pretty-printed when it is JSON). Exit 3 when there is none.\n"
    "  e.g. payhookctl entity cielo sale 7d1ea2b4-52a3-4f59-9b4e-0f6c2d0c9a11\n";

/* Print an entity's snapshot. */
static int
ctl_entity(struct ctl *c, struct ctl_args *a)
{
	static const char *fields[] = { "fetched_at", "http_status", "sha256", "notification_id",
		"body" };
	const struct ph_provider *p;
	struct json_object *o;
	char key[PH_KEY_MAX], t[40];
	const char *argv[7], *pos[3];
	redisReply *rep, *f;
	int i, npos = 0;

	for (i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], "--json") == 0)
			c->json = 1;
		else if (npos < 3 && a->argv[i][0] != '-')
			pos[npos++] = a->argv[i];
		else {
			ctl_warn("entity: unexpected argument: %s", a->argv[i]);
			fputs(ctl_help_entity, stderr);
			return CTL_USAGE;
		}
	}
	if (npos != 3) {
		ctl_warn("entity: give PROVIDER TYPE ID");
		fputs(ctl_help_entity, stderr);
		return CTL_USAGE;
	}
	if (ctl_entity_args((char **)pos, &p) != 0)
		return CTL_USAGE;
	if (ph_key_entity(key, sizeof key, c->cfg.redis.prefix, PH_KEY_ENTITY, pos[0], pos[1],
	        pos[2]) < 0) {
		ctl_warn("key too long: %sentity:...", c->cfg.redis.prefix);
		return CTL_ERR;
	}
	argv[0] = "HMGET";
	argv[1] = key;
	for (i = 0; i < 5; i++)
		argv[2 + i] = fields[i];
	if ((rep = ctl_cmd(c, 7, argv)) == NULL)
		return CTL_ERR;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 5 ||
	    rep->element[4]->type != REDIS_REPLY_STRING) {
		freeReplyObject(rep);
		ctl_warn("no snapshot of %s %s %s", pos[0], pos[1], pos[2]);
		return CTL_NOTFOUND;
	}
	if (c->json) {
		o = json_object_new_object();
		json_object_object_add(o, "provider", json_object_new_string(pos[0]));
		json_object_object_add(o, "entity_type", json_object_new_string(pos[1]));
		json_object_object_add(o, "entity_id", json_object_new_string(pos[2]));
		for (i = 0; i < 4; i++) {
			f = rep->element[i];
			if (f->type != REDIS_REPLY_STRING)
				continue;
			if (i < 2)
				json_object_object_add(o, fields[i],
				    json_object_new_int64(strtoll(f->str, NULL, 10)));
			else
				json_object_object_add(o, fields[i],
				    json_object_new_string_len(f->str, (int)f->len));
		}
		json_object_object_add(o, "body",
		    ctl_json_body(rep->element[4]->str, rep->element[4]->len));
		ctl_json_put(o, 1);
	} else {
		printf("%-16s %s %s %s\n", "entity", pos[0], pos[1], pos[2]);
		for (i = 0; i < 4; i++) {
			f = rep->element[i];
			if (i == 0 && f->type == REDIS_REPLY_STRING)
				printf("%-16s %s (%s)\n", fields[i],
				    ctl_time(strtoull(f->str, NULL, 10), t, sizeof t), f->str);
			else
				printf("%-16s %s\n", fields[i],
				    f->type == REDIS_REPLY_STRING ? f->str : "-");
		}
		printf("body:\n");
		o = ctl_json_body(rep->element[4]->str, rep->element[4]->len);
		if (json_object_is_type(o, json_type_string)) {
			fwrite(rep->element[4]->str, 1, rep->element[4]->len, stdout);
			putchar('\n');
			json_object_put(o);
		} else
			ctl_json_put(o, 1);
	}
	freeReplyObject(rep);
	return CTL_OK;
}

/* Help of the events verb. */
static const char ctl_help_events[] =
    "usage: payhookctl events tail [-f] [-n N] [--json]\n"
    "       payhookctl events groups [--json]\n"
    "\n"
    "tail: print the last N snapshot changes (default 10, at most 10000), oldest\n"
    "first: time, provider, entity type, entity id, body size. With -f, keep\n"
    "printing new ones until interrupted. --json prints one JSON object per\n"
    "line, with the body.\n"
    "groups: list the consumer groups of the events stream (at most 64): their\n"
    "consumers, entries delivered and not acknowledged (pending), entries not\n"
    "yet delivered (lag, - when Redis cannot tell), how long since a consumer\n"
    "of the group was last active (idle), and the last delivered id. No entry\n"
    "is trimmed that a group has not read and acknowledged, up to [fetcher]\n"
    "events_hard_maxlen. --json prints an array.\n";

/* List the consumer groups of the events stream. */
static int
ctl_events_groups(struct ctl *c, const char *key)
{
	struct ph_events_group g[PH_EVENTS_GROUPS_MAX];
	long long idle[PH_EVENTS_GROUPS_MAX];
	struct json_object *arr = NULL, *o;
	const char *argv[4];
	redisReply *rep;
	int n, skipped, i;
	size_t k, j;
	char lag[24], idl[32];

	argv[0] = "XINFO";
	argv[1] = "GROUPS";
	argv[2] = key;
	if ((rep = ph_redis_argv(c->redis, 3, argv, NULL)) == NULL) {
		ctl_warn("redis: %s", ph_redis_err(c->redis));
		return CTL_ERR;
	}
	/* An error reply: no stream yet, so no group either. */
	n = metrics_events_groups(rep, g, PH_EVENTS_GROUPS_MAX, &skipped);
	freeReplyObject(rep);
	for (i = 0; i < n; i++) {
		idle[i] = -1;
		argv[0] = "XINFO";
		argv[1] = "CONSUMERS";
		argv[2] = key;
		argv[3] = g[i].name;
		if ((rep = ctl_cmd(c, 4, argv)) == NULL)
			return CTL_ERR;
		/* The group's idle time: its most recently active consumer's. */
		for (k = 0; rep->type == REDIS_REPLY_ARRAY && k < rep->elements; k++) {
			const redisReply *e = rep->element[k];

			for (j = 0; e->type == REDIS_REPLY_ARRAY && j + 1 < e->elements; j += 2) {
				if (e->element[j]->type == REDIS_REPLY_STRING &&
				    strcmp(e->element[j]->str, "idle") == 0 &&
				    e->element[j + 1]->type == REDIS_REPLY_INTEGER &&
				    (idle[i] < 0 || e->element[j + 1]->integer < idle[i]))
					idle[i] = e->element[j + 1]->integer;
			}
		}
		freeReplyObject(rep);
	}
	if (c->json) {
		arr = json_object_new_array();
		for (i = 0; i < n; i++) {
			o = json_object_new_object();
			json_object_object_add(o, "group", json_object_new_string(g[i].name));
			json_object_object_add(o, "consumers",
			    json_object_new_int64(g[i].consumers));
			json_object_object_add(o, "pending", json_object_new_int64(g[i].pending));
			json_object_object_add(o, "lag",
			    g[i].lag >= 0 ? json_object_new_int64(g[i].lag) : NULL);
			json_object_object_add(o, "idle_ms",
			    idle[i] >= 0 ? json_object_new_int64(idle[i]) : NULL);
			json_object_object_add(o, "last_delivered_id",
			    json_object_new_string(g[i].last_id));
			json_object_array_add(arr, o);
		}
		ctl_json_put(arr, 1);
	} else {
		printf("%-32s %9s %10s %10s %10s  %s\n", "group", "consumers", "pending", "lag",
		    "idle", "last_delivered_id");
		for (i = 0; i < n; i++) {
			if (g[i].lag >= 0)
				snprintf(lag, sizeof lag, "%lld", g[i].lag);
			else
				snprintf(lag, sizeof lag, "-");
			if (idle[i] >= 0)
				snprintf(idl, sizeof idl, "%.1fs", (double)idle[i] / 1000.0);
			else
				snprintf(idl, sizeof idl, "-");
			printf("%-32s %9lld %10lld %10s %10s  %s\n", g[i].name, g[i].consumers,
			    g[i].pending, lag, idl, g[i].last_id);
		}
	}
	if (skipped > 0)
		ctl_warn(
		    "events groups: %d group(s) not shown (past %d, or a name not of "
		    "[A-Za-z0-9_.:-])",
		    skipped, PH_EVENTS_GROUPS_MAX);
	return CTL_OK;
}

/* Print one stream entry of the events stream. */
static void
ctl_event_print(struct ctl *c, redisReply *e)
{
	const char *names[] = { "provider", "entity_type", "entity_id", "fetched_at", "body" };
	redisReply *fv, *val[5] = { NULL };
	struct json_object *o;
	char t[40];
	size_t i;
	int k;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
		return;
	fv = e->element[1];
	for (i = 0; fv->type == REDIS_REPLY_ARRAY && i + 1 < fv->elements; i += 2) {
		for (k = 0; k < 5; k++) {
			if (strcmp(fv->element[i]->str, names[k]) == 0)
				val[k] = fv->element[i + 1];
		}
	}
	if (c->json) {
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(e->element[0]->str));
		for (k = 0; k < 4; k++) {
			if (val[k] == NULL)
				continue;
			json_object_object_add(o, names[k],
			    k == 3 ? json_object_new_int64(strtoll(val[k]->str, NULL, 10))
			           : json_object_new_string(val[k]->str));
		}
		if (val[4] != NULL)
			json_object_object_add(o, "body", ctl_json_body(val[4]->str, val[4]->len));
		ctl_json_put(o, 0);
	} else {
		printf("%-24s %-12s %-18s %-36s %zu bytes\n",
		    ctl_time(val[3] != NULL ? strtoull(val[3]->str, NULL, 10) : 0, t, sizeof t),
		    val[0] != NULL ? val[0]->str : "?", val[1] != NULL ? val[1]->str : "?",
		    val[2] != NULL ? val[2]->str : "?", val[4] != NULL ? val[4]->len : 0);
	}
}

/* Print the last events, then follow new ones with -f. */
static int
ctl_events(struct ctl *c, struct ctl_args *a)
{
	char key[PH_KEY_MAX], count[24], last[64] = "0-0", block[24];
	const char *argv[8];
	long n = 10, i;
	int follow = 0, tail = 0, groups = 0;
	redisReply *rep, *entries;
	size_t j;

	for (i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], "tail") == 0 && i == 0)
			tail = 1;
		else if (strcmp(a->argv[i], "groups") == 0 && i == 0)
			groups = 1;
		else if (strcmp(a->argv[i], "-f") == 0 || strcmp(a->argv[i], "--follow") == 0)
			follow = 1;
		else if (strcmp(a->argv[i], "--json") == 0)
			c->json = 1;
		else if (strcmp(a->argv[i], "-n") == 0 && i + 1 < a->argc) {
			if (ctl_number("-n", a->argv[++i], 1, CTL_LIMIT_MAX, &n) != 0)
				return CTL_USAGE;
		} else {
			ctl_warn("events: unexpected argument: %s", a->argv[i]);
			fputs(ctl_help_events, stderr);
			return CTL_USAGE;
		}
	}
	if (!tail && !groups) {
		ctl_warn("events: give tail or groups");
		fputs(ctl_help_events, stderr);
		return CTL_USAGE;
	}
	if (groups && (follow || n != 10)) {
		ctl_warn("events groups: takes only --json");
		fputs(ctl_help_events, stderr);
		return CTL_USAGE;
	}
	if (ctl_key(c, key, PH_KEY_EVENTS, NULL, NULL, NULL))
		return CTL_ERR;
	if (groups)
		return ctl_events_groups(c, key);
	snprintf(count, sizeof count, "%ld", n);
	argv[0] = "XREVRANGE";
	argv[1] = key;
	argv[2] = "+";
	argv[3] = "-";
	argv[4] = "COUNT";
	argv[5] = count;
	if ((rep = ctl_cmd(c, 6, argv)) == NULL)
		return CTL_ERR;
	for (j = rep->elements; rep->type == REDIS_REPLY_ARRAY && j > 0; j--)
		ctl_event_print(c, rep->element[j - 1]);
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0)
		snprintf(last, sizeof last, "%s", rep->element[0]->element[0]->str);
	freeReplyObject(rep);
	fflush(stdout);
	if (!follow)
		return CTL_OK;

	/* Block a second at a time, so a signal is seen within one. */
	ph_redis_set_timeout(c->redis, CTL_TAIL_BLOCK_MS + c->cfg.redis.command_timeout_ms);
	snprintf(block, sizeof block, "%d", CTL_TAIL_BLOCK_MS);
	snprintf(count, sizeof count, "%d", CTL_BATCH);
	while (!ctl_stop) {
		argv[0] = "XREAD";
		argv[1] = "COUNT";
		argv[2] = count;
		argv[3] = "BLOCK";
		argv[4] = block;
		argv[5] = "STREAMS";
		argv[6] = key;
		argv[7] = last;
		if ((rep = ctl_cmd(c, 8, argv)) == NULL)
			return CTL_ERR;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1) {
			entries = rep->element[0]->element[1];
			for (j = 0; j < entries->elements; j++)
				ctl_event_print(c, entries->element[j]);
			if (entries->elements > 0)
				snprintf(last, sizeof last, "%s",
				    entries->element[entries->elements - 1]->element[0]->str);
			fflush(stdout);
		}
		freeReplyObject(rep);
	}
	return CTL_OK;
}

/* Help of the refetch verb. */
static const char ctl_help_refetch[] =
    "usage: payhookctl refetch PROVIDER TYPE ID\n"
    "\n"
    "Queue a fetch of an entity by hand, as if a notification had announced\n"
    "it; nothing is queued when a job for it is already waiting.\n"
    "  e.g. payhookctl refetch oneinfinite payment_order rcAaNfKdKJRmrnj4l5\n";

/* Queue a refetch of an entity. */
static int
ctl_refetch(struct ctl *c, struct ctl_args *a)
{
	const struct ph_provider *p;
	struct ph_accept_ctx ctx;
	struct ph_job job;
	char guid[37], why[256];

	if (a->argc != 3) {
		ctl_warn("refetch: give PROVIDER TYPE ID");
		fputs(ctl_help_refetch, stderr);
		return CTL_USAGE;
	}
	if (ctl_entity_args(a->argv, &p) != 0)
		return CTL_USAGE;
	if (provider_route(p, a->argv[1]) == NULL) {
		ctl_warn("%s has no route for entity type %s", p->name, a->argv[1]);
		return CTL_USAGE;
	}
	memset(&job, 0, sizeof job);
	ph_strlcpy(job.provider, p->name, sizeof job.provider);
	ph_strlcpy(job.entity_type, a->argv[1], sizeof job.entity_type);
	if (provider_entity_id(p, a->argv[2], strlen(a->argv[2]), job.entity_id) != 0) {
		ctl_warn("%s: not an id of %s", a->argv[2], p->name);
		return CTL_USAGE;
	}
	ph_guid_new(guid);
	snprintf(job.notification_id, sizeof job.notification_id, "payhookctl-%s", guid);
	ph_strlcpy(job.event, "refetch", sizeof job.event);
	job.received_at = ph_now_ms();
	if (accept_init(&ctx, &c->cfg) != 0) {
		ctl_warn("config: [redis] prefix: too long");
		return CTL_ERR;
	}
	switch (accept_refetch(&ctx, c->redis, &job, why, sizeof why)) {
	case PH_ACCEPT_DUPLICATE:
		printf("a job for %s %s %s is already waiting\n", p->name, job.entity_type,
		    job.entity_id);
		return CTL_OK;
	case PH_ACCEPT_NEW:
		printf("queued %s %s %s\n", p->name, job.entity_type, job.entity_id);
		return CTL_OK;
	case PH_ACCEPT_REJECTED:
	case PH_ACCEPT_UNAVAILABLE:
		break;
	}
	ctl_warn("redis: %s", why);
	return CTL_ERR;
}

/* Help of the refresh verb. */
static const char ctl_help_refresh[] =
    "usage: payhookctl refresh list [--due] [--limit N] [--json]\n"
    "       payhookctl refresh rebuild\n"
    "\n"
    "The entities payhook refreshes on a schedule until they are final\n"
    "(docs/REFRESH.md), soonest first.\n"
    "  list      print up to N (default 20, at most 10000) with their due time;\n"
    "            --due: only those due now\n"
    "  rebuild   schedule every entity stored by a version without refresh that\n"
    "            is not final (after an upgrade); entities a fetcher scheduled or\n"
    "            dropped are left as they are\n";

/* The first delay (ms) of a class's schedule; -1 for none. */
static long long
ctl_refresh_first(const struct ph_config *cfg, enum ph_status_class cls)
{
	switch (cls) {
	case PH_CLASS_PROGRESS:
		return strtoll(cfg->fetcher.refresh_schedule_ms, NULL, 10);
	case PH_CLASS_ONGOING:
		return refresh_last_step_ms(cfg->fetcher.refresh_schedule_ms);
	case PH_CLASS_SETTLED:
		return strtoll(cfg->fetcher.refresh_settled_ms, NULL, 10);
	case PH_CLASS_FINAL:
		break;
	}
	return -1;
}

/* Redis' clock in ms (TIME), the one the scripts schedule refreshes by; -1 (reported) on error. */
static int
ctl_redis_time(struct ctl *c, uint64_t *ms)
{
	redisReply *rep = ph_redis_cmd(c->redis, "TIME");
	int rc = -1;

	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_STRING &&
	    rep->element[1]->type == REDIS_REPLY_STRING) {
		*ms = strtoull(rep->element[0]->str, NULL, 10) * 1000 +
		    strtoull(rep->element[1]->str, NULL, 10) / 1000;
		rc = 0;
	} else
		ctl_warn("TIME: %s", rep == NULL ? ph_redis_err(c->redis) : "unexpected reply");
	freeReplyObject(rep);
	return rc;
}

/*
 * Schedule one stored entity (key without the prefix: entity:{p}:{t}:{id}),
 * from now (Redis' ms); 1 scheduled, 0 not.
 */
static int
ctl_refresh_one(struct ctl *c, const char *kr, const char *key, size_t plen, uint64_t now,
    long *final)
{
	char provider[PH_PROVIDER_MAX + 1], type[PH_TYPE_MAX + 1], id[PH_ID_MAX + 1];
	char member[PH_KEY_MAX], status[64];
	const struct ph_provider *p;
	enum ph_status_class cls;
	redisReply *rep;
	long long first;
	uint64_t due;
	size_t pidx;
	int done = 0;

	if (refresh_member_parse(key + plen, strlen(key + plen), provider, sizeof provider, type,
	        sizeof type, id, sizeof id) != 0 ||
	    (p = provider_find(provider, strlen(provider), &pidx)) == NULL ||
	    c->cfg.providers[pidx].refresh_off ||
	    refresh_member(member, sizeof member, provider, type, id) < 0)
		return 0;
	/*
	 * Only what a version without refresh stored: an entity with a
	 * refresh_class was scheduled by a fetcher already, and one it dropped
	 * (settled steps over, past refresh_max_age) stays dropped.
	 */
	rep = ph_redis_cmd(c->redis, "HMGET %s body refresh_class", key);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_NIL) {
		freeReplyObject(rep);
		return 0;
	}
	refresh_classify(provider, type, rep->element[0]->str, rep->element[0]->len, status,
	    sizeof status, &cls);
	freeReplyObject(rep);
	first = ctl_refresh_first(&c->cfg, cls);
	if (first < 0) {
		(*final)++;
		return 0;
	}
	due = now + (uint64_t)first;
	/* NX: an entity scheduled already keeps its time. */
	rep = ph_redis_cmd(c->redis, "ZADD %s NX %" PRIu64 " %s", kr, due, member);
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1) {
		freeReplyObject(rep);
		rep = ph_redis_cmd(c->redis,
		    "HSET %s status %s refresh_class %s refresh_step 0 refresh_due %" PRIu64, key,
		    status, refresh_class_name(cls), due);
		freeReplyObject(rep);
		rep = ph_redis_cmd(c->redis, "HSETNX %s first_stored_at %" PRIu64, key, now);
		done = 1;
	}
	freeReplyObject(rep);
	return done;
}

/* List or rebuild the refresh schedule. */
static int
ctl_refresh(struct ctl *c, struct ctl_args *a)
{
	char kr[PH_KEY_MAX], pattern[PH_KEY_MAX], cursor[32] = "0", t[40];
	struct json_object *arr = NULL, *o;
	struct ctl_progress pg;
	long limit = CTL_LIMIT_DEFAULT, scheduled = 0, final = 0, seen = 0;
	const char *sub = a->argc > 0 ? a->argv[0] : "";
	redisReply *rep;
	uint64_t now, due;
	size_t i;
	int only_due = 0, j;
	char *end;

	for (j = 1; j < a->argc; j++) {
		if (strcmp(a->argv[j], "--due") == 0)
			only_due = 1;
		else if (strcmp(a->argv[j], "--json") == 0)
			c->json = 1;
		else if (strcmp(a->argv[j], "--limit") == 0 && j + 1 < a->argc) {
			limit = strtol(a->argv[++j], &end, 10);
			if (*end != '\0' || limit < 1 || limit > CTL_LIMIT_MAX) {
				ctl_warn("refresh: --limit must be 1..%d", CTL_LIMIT_MAX);
				return CTL_USAGE;
			}
		} else
			break;
	}
	if ((strcmp(sub, "list") != 0 && strcmp(sub, "rebuild") != 0) || j < a->argc ||
	    (strcmp(sub, "rebuild") == 0 && a->argc != 1)) {
		ctl_warn("refresh: %s", a->argc == 0 ? "list or rebuild?" : "unexpected argument");
		fputs(ctl_help_refresh, stderr);
		return CTL_USAGE;
	}
	if (ctl_key(c, kr, PH_KEY_REFRESH, NULL, NULL, NULL) != 0 || ctl_redis_time(c, &now) != 0)
		return CTL_ERR;

	if (strcmp(sub, "list") == 0) {
		if (only_due)
			rep = ph_redis_cmd(c->redis,
			    "ZRANGEBYSCORE %s -inf %" PRIu64 " WITHSCORES LIMIT 0 %ld", kr, now,
			    limit);
		else
			rep = ph_redis_cmd(c->redis, "ZRANGE %s 0 %ld WITHSCORES", kr, limit - 1);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
			ctl_warn("redis: %s",
			    rep == NULL ? ph_redis_err(c->redis) : "unexpected reply");
			freeReplyObject(rep);
			return CTL_ERR;
		}
		if (c->json)
			arr = json_object_new_array();
		for (i = 0; i + 1 < rep->elements; i += 2) {
			due = strtoull(rep->element[i + 1]->str, NULL, 10);
			if (c->json) {
				o = json_object_new_object();
				json_object_object_add(o, "entity",
				    json_object_new_string(rep->element[i]->str));
				json_object_object_add(o, "due_ms",
				    json_object_new_int64((int64_t)due));
				json_object_array_add(arr, o);
			} else {
				printf("%-24s %+10.1fs  %s\n", ctl_time(due, t, sizeof t),
				    ((double)due - (double)now) / 1000.0, rep->element[i]->str);
			}
		}
		if (c->json)
			ctl_json_put(arr, 1);
		freeReplyObject(rep);
		return CTL_OK;
	}

	/* rebuild: every entity:* key, a page at a time. */
	if (ctl_key(c, pattern, PH_KEY_ENTITY, "*", "*", "*") != 0)
		return CTL_ERR;
	ctl_progress_start(&pg, "refresh rebuild, entities seen");
	do {
		rep = ph_redis_cmd(c->redis, "SCAN %s MATCH %s COUNT 500", cursor, pattern);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			ctl_warn("redis: %s",
			    rep == NULL ? ph_redis_err(c->redis) : "unexpected SCAN reply");
			freeReplyObject(rep);
			return CTL_ERR;
		}
		snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str);
		for (i = 0; i < rep->element[1]->elements; i++) {
			seen++;
			/* The member follows "{p}entity:", the pattern less its "*:*:*". */
			scheduled += ctl_refresh_one(c, kr, rep->element[1]->element[i]->str,
			    strlen(pattern) - strlen("*:*:*"), now, &final);
			ctl_progress(&pg, seen, -1);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0 && !ctl_stop);
	ctl_progress_end(&pg, seen, -1);
	printf(
	    "%ld entities: %ld scheduled, %ld final, %ld already scheduled or not "
	    "refreshed\n",
	    seen, scheduled, final, seen - scheduled - final);
	return ctl_stop ? CTL_ERR : CTL_OK;
}

/* Add n to the stats field spool:{name}, as payhook-fcgi's replayer does. */
static void
ctl_spool_count(struct ctl *c, const char *name, long n)
{
	char key[PH_KEY_MAX], field[128];
	redisReply *rep;

	if (n == 0 || ctl_key(c, key, PH_KEY_STATS, NULL, NULL, NULL) != 0 ||
	    ph_stat_field(field, sizeof field, PH_STAT_SPOOL, name, NULL) < 0)
		return;
	rep = ph_redis_cmd(c->redis, "HINCRBY %s %s %ld", key, field, n);
	if (rep != NULL)
		freeReplyObject(rep);
}

/* Help of the spool verb. */
static const char ctl_help_spool[] =
    "usage: payhookctl spool status [--dir DIR] [--json]\n"
    "       payhookctl spool replay [--dir DIR]\n"
    "\n"
    "payhook-fcgi's spool on this host ([handler] spool_dir, or DIR): the\n"
    "notifications Redis could not take, waiting to be replayed.\n"
    "  status   segments, bytes and the age of the oldest (needs no Redis)\n"
    "  replay   replay every segment no live payhook-fcgi holds into Redis, as\n"
    "           payhook-fcgi does once Redis answers, then delete it: for a\n"
    "           host whose handler is gone, or to drain a spool by hand\n";

/* Look at or replay this host's spool. */
static int
ctl_spool(struct ctl *c, struct ctl_args *a)
{
	struct ph_spool_counts counts;
	struct ph_accept_ctx ctx;
	struct ph_spool_status st;
	const char *dir = NULL, *sub = a->argc > 0 ? a->argv[0] : "";
	char err[256];
	enum ph_spool_replay rc;
	int i;

	for (i = 1; i < a->argc; i++) {
		if (strcmp(a->argv[i], "--dir") == 0 && i + 1 < a->argc)
			dir = a->argv[++i];
		else if (strcmp(a->argv[i], "--json") == 0)
			c->json = 1;
		else
			break;
	}
	if ((strcmp(sub, "status") != 0 && strcmp(sub, "replay") != 0) || i < a->argc) {
		ctl_warn("spool: %s", a->argc == 0 ? "status or replay?" : "unexpected argument");
		fputs(ctl_help_spool, stderr);
		return CTL_USAGE;
	}
	if (dir != NULL && dir[0] != '/') {
		ctl_warn("spool: --dir %s: must be an absolute path", dir);
		return CTL_USAGE;
	}
	if (ctl_spool_dir(c, dir) == NULL) {
		ctl_warn("spool: [handler] spool_dir is empty (no spool); give --dir DIR");
		return CTL_USAGE;
	}
	dir = ctl_spool_dir(c, dir);
	if (strcmp(sub, "status") == 0) {
		if (c->json) {
			ctl_json_put(ctl_spool_json(c, dir), 1);
			return access(dir, R_OK | X_OK) == 0 ? CTL_OK : CTL_ERR;
		}
		return ctl_spool_print(c, dir);
	}

	if (ph_redis_connect(c->redis) != 0) {
		ctl_warn("spool replay: cannot reach Redis: %s", ph_redis_err(c->redis));
		return CTL_ERR;
	}
	if (accept_init(&ctx, &c->cfg) != 0) {
		ctl_warn("config: [redis] prefix: too long");
		return CTL_ERR;
	}
	memset(&counts, 0, sizeof counts);
	{
		char why[256];
		long settle = replay_settle_ms(ph_redis_durable(c->redis, why, sizeof why));

		rc = replay_dir(dir, &ctx, c->redis, &counts, settle, err, sizeof err);
		/*
		 * A replayed segment is deleted only once Redis has surely flushed it
		 * (min_replicas 0): a second pass after that, which sends nothing again.
		 */
		if (rc == PH_REPLAY_DONE && settle > 0 && ph_redis_min_replicas(c->redis) <= 0 &&
		    spool_status(dir, &st) == 0 && st.segments > 0) {
			struct timespec ts = { (settle + 100) / 1000,
				((settle + 100) % 1000) * 1000000 };

			nanosleep(&ts, NULL);
			rc = replay_dir(dir, &ctx, c->redis, &counts, settle, err, sizeof err);
		}
	}
	/* What payhook-fcgi would have counted, in the same stats fields. */
	for (i = 0; i < PH_SPOOL_NSTATS; i++)
		ctl_spool_count(c, ph_spool_stats[i].name,
		    atomic_load(spool_stat(&counts, (size_t)i)));
	printf(
	    "replayed %ld (new %ld, duplicate %ld), dead %ld, dropped %ld torn and %ld "
	    "corrupt\n",
	    atomic_load(&counts.replayed) + atomic_load(&counts.duplicate),
	    atomic_load(&counts.replayed), atomic_load(&counts.duplicate),
	    atomic_load(&counts.dead), atomic_load(&counts.torn), atomic_load(&counts.corrupt));
	if (spool_status(dir, &st) == 0 && st.segments > 0)
		printf("%ld segment(s) left: held by a live payhook-fcgi, or Redis failed\n",
		    st.segments);
	if (rc != PH_REPLAY_DONE) {
		ctl_warn("spool replay: %s", err);
		return CTL_ERR;
	}
	return CTL_OK;
}

/* Help of the endpoints verb. */
static const char ctl_help_endpoints[] =
    "usage: payhookctl endpoints [--json]\n"
    "       payhookctl endpoints enable NAME\n"
    "       payhookctl endpoints dead NAME list [--limit N] [--json]\n"
    "       payhookctl endpoints dead NAME replay [all | N]\n"
    "       payhookctl endpoints dead NAME purge\n"
    "\n"
    "The [endpoint NAME] sections of the config: where payhook-deliver POSTs\n"
    "events (docs/DESIGN.md, Delivery).\n"
    "  (none)   list them: the url's host, the state (up, or disabled by a 410\n"
    "           and since when), lag (events its consumer group has not read,\n"
    "           plus deliveries due), due (waiting or retrying) and dead\n"
    "  enable   resume an endpoint a 410 disabled, from where it stopped\n"
    "  dead     deliveries that failed every step of retry_schedule, newest first\n"
    "           (N counts from 0, as listed)\n"
    "    list     print up to N entries (default 20, at most 10000)\n"
    "    replay   deliver them again (attempt 0, the same webhook-id), all (the\n"
    "             default) or entry N; one whose entity has a newer event is\n"
    "             superseded instead (never an older snapshot after a newer one)\n"
    "    purge    delete every entry\n";

/* The configured endpoint named name; NULL (reported, naming the configured ones) if none. */
static const struct ph_endpoint_cfg *
ctl_endpoint(struct ctl *c, const char *name)
{
	char names[PH_MAX_ENDPOINTS * (PH_ENDPOINT_NAME_MAX + 2) + 1];
	size_t o = 0;
	int i;

	names[0] = '\0';
	for (i = 0; i < c->cfg.nendpoints; i++) {
		if (strcmp(c->cfg.endpoints[i].name, name) == 0)
			return &c->cfg.endpoints[i];
		o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", i > 0 ? ", " : "",
		    c->cfg.endpoints[i].name);
	}
	if (c->cfg.nendpoints == 0)
		ctl_warn("endpoint %s: the config has no [endpoint NAME] section", name);
	else
		ctl_warn("endpoint %s: no [endpoint %s] in the config (there is: %s)", name, name,
		    names);
	return NULL;
}

/*
 * The host (and port) of a URL, into buf: what payhookctl shows of it, never
 * a user or password it may carry, nor its path and query.
 */
static const char *
ctl_url_host(const char *url, char *buf, size_t len)
{
	const char *s = url != NULL ? strstr(url, "://") : NULL, *end, *at;
	size_t n;

	if (s == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	s += 3;
	end = s + strcspn(s, "/?#");
	at = memchr(s, '@', (size_t)(end - s));
	if (at != NULL)
		s = at + 1;
	n = (size_t)(end - s);
	if (n >= len)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return n > 0 ? buf : "-";
}

/* A row of the endpoints list: name, host, state, lag, due, dead, disabled since. */
#define CTL_EP_ROW "%-32s %-32s %-8s %10s %10s %10s  %s\n"

/* List the endpoints with their state, lag, due and dead deliveries. */
static int
ctl_endpoints_list(struct ctl *c)
{
	struct json_object *arr, *o;
	struct ph_gauges *g;
	char host[256], t[40], lag[24], due[24], dead[24], state[64];
	long long l;
	int i;

	g = malloc(sizeof *g);
	if (g == NULL) {
		ctl_warn("out of memory");
		return CTL_ERR;
	}
	if (metrics_collect(c->redis, &c->cfg, g) != 0) {
		ctl_warn("redis: %s", ph_redis_err(c->redis));
		free(g);
		return CTL_ERR;
	}
	freeReplyObject(g->stats);
	if (c->json) {
		arr = json_object_new_array();
		for (i = 0; i < g->nendpoints; i++) {
			const struct ph_endpoint_gauge *e = &g->endpoints[i];

			o = json_object_new_object();
			json_object_object_add(o, "name", json_object_new_string(e->name));
			json_object_object_add(o, "url_host",
			    json_object_new_string(
			        ctl_url_host(c->cfg.endpoints[i].url, host, sizeof host)));
			json_object_object_add(o, "state",
			    json_object_new_string(e->up ? "up" : "disabled"));
			json_object_object_add(o, "disabled_at",
			    e->up ? NULL : json_object_new_int64((int64_t)e->disabled_at));
			json_object_object_add(o, "disabled_reason",
			    e->up ? NULL : json_object_new_string(e->disabled_reason));
			l = metrics_endpoint_lag(e);
			json_object_object_add(o, "lag", l >= 0 ? json_object_new_int64(l) : NULL);
			json_object_object_add(o, "due", json_object_new_int64(e->due));
			json_object_object_add(o, "dead", json_object_new_int64(e->dead));
			json_object_array_add(arr, o);
		}
		ctl_json_put(arr, 1);
	} else {
		printf(CTL_EP_ROW, "endpoint", "host", "state", "lag", "due", "dead", "disabled");
		for (i = 0; i < g->nendpoints; i++) {
			const struct ph_endpoint_gauge *e = &g->endpoints[i];

			l = metrics_endpoint_lag(e);
			if (l >= 0)
				snprintf(lag, sizeof lag, "%lld", l);
			else
				snprintf(lag, sizeof lag, "-");
			if (e->up)
				snprintf(state, sizeof state, "-");
			else
				snprintf(state, sizeof state, "%s (%s)",
				    ctl_time(e->disabled_at, t, sizeof t),
				    e->disabled_reason[0] != '\0' ? e->disabled_reason : "?");
			snprintf(due, sizeof due, "%lld", e->due);
			snprintf(dead, sizeof dead, "%lld", e->dead);
			printf(CTL_EP_ROW, e->name,
			    ctl_url_host(c->cfg.endpoints[i].url, host, sizeof host),
			    e->up ? "up" : "disabled", lag, due, dead, state);
		}
	}
	i = g->nendpoints;
	free(g);
	if (i == 0) {
		ctl_warn("endpoints: the config has no [endpoint NAME] section");
		return CTL_NOTFOUND;
	}
	return CTL_OK;
}

/* Resume an endpoint a 410 disabled. */
static int
ctl_endpoints_enable(struct ctl *c, const struct ph_endpoint_cfg *ep)
{
	char key[PH_KEY_MAX];
	const char *argv[4];
	long long n;

	if (ctl_key(c, key, PH_KEY_ENDPOINT, ep->name, NULL, NULL) != 0)
		return CTL_ERR;
	argv[0] = "HDEL";
	argv[1] = key;
	argv[2] = "disabled_at";
	argv[3] = "disabled_reason";
	if ((n = ctl_int(c, 4, argv)) < 0)
		return CTL_ERR;
	if (n == 0)
		printf("endpoint %s was not disabled\n", ep->name);
	else
		printf("endpoint %s enabled: payhook-deliver delivers to it again\n", ep->name);
	return CTL_OK;
}

/* Print one dead delivery as a table row. */
static void
ctl_endpoint_dead_row(long idx, const char *s, size_t len)
{
	struct json_object *o = ctl_json_body(s, len), *v;
	const char *f[6] = { "provider", "entity_type", "entity_id", "attempts", "reason", "id" };
	const char *val[6];
	char t[40];
	uint64_t dead_at = 0;
	int i;

	for (i = 0; i < 6; i++) {
		val[i] = "?";
		if (json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, f[i], &v))
			val[i] = json_object_get_string(v);
	}
	if (json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "dead_at", &v))
		dead_at = (uint64_t)json_object_get_int64(v);
	printf("%-5ld %-24s %-12s %-18s %-36s %8s  %-12s evt_%s\n", idx,
	    ctl_time(dead_at, t, sizeof t), val[0], val[1], val[2], val[3], val[4], val[5]);
	json_object_put(o);
}

/* List an endpoint's dead deliveries, newest first. */
static int
ctl_endpoint_dead_list(struct ctl *c, const char *kd, struct ctl_args *a)
{
	const char *argv[4];
	char from[24], to[24];
	long limit = CTL_LIMIT_DEFAULT, i, shown = 0;
	long long total;
	struct json_object *arr = NULL;
	redisReply *rep;
	size_t j;

	for (i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], "--json") == 0)
			c->json = 1;
		else if (strcmp(a->argv[i], "--limit") == 0 && i + 1 < a->argc) {
			if (ctl_number("--limit", a->argv[++i], 1, CTL_LIMIT_MAX, &limit) != 0)
				return CTL_USAGE;
		} else {
			ctl_warn("endpoints dead list: unexpected argument: %s", a->argv[i]);
			fputs(ctl_help_endpoints, stderr);
			return CTL_USAGE;
		}
	}
	argv[0] = "LLEN";
	argv[1] = kd;
	if ((total = ctl_int(c, 2, argv)) < 0)
		return CTL_ERR;
	if (c->json)
		arr = json_object_new_array();
	else
		printf("%-5s %-24s %-12s %-18s %-36s %8s  %-12s %s\n", "#", "dead_at", "provider",
		    "entity_type", "entity_id", "attempts", "reason", "webhook-id");
	while (shown < limit) {
		long n = limit - shown < CTL_BATCH ? limit - shown : CTL_BATCH;

		snprintf(from, sizeof from, "%ld", shown);
		snprintf(to, sizeof to, "%ld", shown + n - 1);
		argv[0] = "LRANGE";
		argv[1] = kd;
		argv[2] = from;
		argv[3] = to;
		if ((rep = ctl_cmd(c, 4, argv)) == NULL) {
			json_object_put(arr);
			return CTL_ERR;
		}
		for (j = 0; rep->type == REDIS_REPLY_ARRAY && j < rep->elements; j++) {
			if (arr != NULL)
				json_object_array_add(arr,
				    ctl_json_body(rep->element[j]->str, rep->element[j]->len));
			else
				ctl_endpoint_dead_row(shown + (long)j, rep->element[j]->str,
				    rep->element[j]->len);
		}
		j = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
		freeReplyObject(rep);
		shown += (long)j;
		if ((long)j < n)
			break;
	}
	if (arr != NULL)
		ctl_json_put(arr, 1);
	else
		printf("(%ld of %lld)\n", shown, total);
	return CTL_OK;
}

/* Whether s is a stream entry id: digits '-' digits. */
static int
ctl_stream_id_ok(const char *s)
{
	size_t a = strspn(s, "0123456789"), b;

	if (a == 0 || a > 20 || s[a] != '-')
		return 0;
	b = strspn(s + a + 1, "0123456789");
	return b > 0 && b <= 20 && s[a + 1 + b] == '\0';
}

/*
 * Replay one dead delivery: its record back in held and due (attempt 0),
 * or superseded. 1 due again, 2 superseded, 0 entry gone meanwhile, -1
 * an error (reported), or with *bad set, not a delivery record.
 */
static int
ctl_endpoint_replay_one(struct ctl *c, const struct ph_endpoint_cfg *ep, const char *kd,
    const char *entry, size_t entry_len, int *bad)
{
	char kdue[PH_KEY_MAX], kheld[PH_KEY_MAX], korder[PH_KEY_MAX], kent[PH_KEY_MAX];
	char kstats[PH_KEY_MAX], field[128], *keep = NULL;
	struct deliver_buf rec = { 0 };
	struct deliver_record r;
	struct ph_deliver_replay dr;
	struct ph_call call;
	long long rc = -1;

	/* What reaches a key is checked first: a stream id, a known provider, a type, an id. */
	*bad = deliver_record_parse(entry, entry_len, &r, &keep) != 0 || !ctl_stream_id_ok(r.id) ||
	    provider_find(r.provider, strlen(r.provider), NULL) == NULL;
	if (*bad)
		goto out;
	r.attempt = 0;
	if (deliver_record_json(&r, NULL, 0, &rec) != 0) {
		ctl_warn("out of memory");
		goto out;
	}
	if (ctl_key(c, kdue, PH_KEY_ENDPOINT_DUE, ep->name, NULL, NULL) != 0 ||
	    ctl_key(c, kheld, PH_KEY_ENDPOINT_HELD, ep->name, NULL, NULL) != 0 ||
	    ctl_key(c, kstats, PH_KEY_STATS, NULL, NULL, NULL) != 0 ||
	    ph_key_endpoint_entity(korder, sizeof korder, c->cfg.redis.prefix, ep->name, r.provider,
	        r.entity_type, r.entity_id) < 0 ||
	    ph_key_entity(kent, sizeof kent, c->cfg.redis.prefix, PH_KEY_ENTITY, r.provider,
	        r.entity_type, r.entity_id) < 0 ||
	    ph_stat_field(field, sizeof field, PH_STAT_DELIVERIES, ep->name, "superseded") < 0) {
		ctl_warn("key too long: %sendpoint:%s:...", c->cfg.redis.prefix, ep->name);
		goto out;
	}
	memset(&dr, 0, sizeof dr);
	dr.dead_key = kd;
	dr.due_key = kdue;
	dr.held_key = kheld;
	dr.order_key = korder;
	dr.entity_key = kent;
	dr.stats_key = kstats;
	dr.entry = entry;
	dr.entry_len = entry_len;
	dr.id = r.id;
	dr.record = rec.p;
	dr.record_len = rec.len;
	dr.fetched_at = r.fetched_at;
	dr.superseded_field = field;
	ph_call_deliver_replay(&call, &dr);
	rc = ctl_eval(c, &call);
out:
	free(keep);
	deliver_buf_free(&rec);
	return (int)rc;
}

/* Replay an endpoint's dead deliveries: all, or one by index. */
static int
ctl_endpoint_dead_replay(struct ctl *c, const struct ph_endpoint_cfg *ep, const char *kd,
    struct ctl_args *a)
{
	const char *argv[3];
	char idx[24];
	long index = -1, due = 0, superseded = 0, kept = 0, i;
	long long total;
	struct ctl_progress pg;
	redisReply *rep;
	int r, bad;

	for (i = 0; i < a->argc; i++) {
		if (strcmp(a->argv[i], "all") == 0 && index < 0)
			continue;
		if (a->argv[i][0] >= '0' && a->argv[i][0] <= '9' && a->argc == 1) {
			if (ctl_number("index", a->argv[i], 0, LONG_MAX - 1, &index) != 0)
				return CTL_USAGE;
		} else {
			ctl_warn("endpoints dead replay: unexpected argument: %s", a->argv[i]);
			fputs(ctl_help_endpoints, stderr);
			return CTL_USAGE;
		}
	}
	if (index >= 0) {
		snprintf(idx, sizeof idx, "%ld", index);
		argv[0] = "LINDEX";
		argv[1] = kd;
		argv[2] = idx;
		if ((rep = ctl_cmd(c, 3, argv)) == NULL)
			return CTL_ERR;
		if (rep->type != REDIS_REPLY_STRING) {
			freeReplyObject(rep);
			ctl_warn("endpoints dead replay: %s has no dead entry %ld", ep->name,
			    index);
			return CTL_NOTFOUND;
		}
		r = ctl_endpoint_replay_one(c, ep, kd, rep->str, rep->len, &bad);
		freeReplyObject(rep);
		if (r < 0) {
			if (bad)
				ctl_warn("dead entry %ld of %s is not a delivery record", index,
				    ep->name);
			return CTL_ERR;
		}
		if (r == 0) {
			ctl_warn("endpoints dead replay: entry %ld changed meanwhile; list again",
			    index);
			return CTL_NOTFOUND;
		}
		printf("%s\n",
		    r == 1 ? "replayed 1: due now"
		           : "replayed 0: superseded (its entity has a newer event)");
		return CTL_OK;
	}

	/*
	 * All: from the oldest end, at most as many as the list held at the
	 * start (a replayed delivery that dies again meanwhile is not taken
	 * twice); entries that are no delivery record are kept and passed.
	 */
	argv[0] = "LLEN";
	argv[1] = kd;
	if ((total = ctl_int(c, 2, argv)) < 0)
		return CTL_ERR;
	ctl_progress_start(&pg, "endpoints dead replay");
	for (i = 0; i < total && !ctl_stop; i++) {
		ctl_progress(&pg, i, total);
		snprintf(idx, sizeof idx, "%ld", -1 - kept);
		argv[0] = "LINDEX";
		argv[1] = kd;
		argv[2] = idx;
		if ((rep = ctl_cmd(c, 3, argv)) == NULL)
			return CTL_ERR;
		if (rep->type != REDIS_REPLY_STRING) {
			freeReplyObject(rep);
			break;
		}
		r = ctl_endpoint_replay_one(c, ep, kd, rep->str, rep->len, &bad);
		freeReplyObject(rep);
		if (r < 0 && bad) {
			ctl_warn("kept an entry that is not a delivery record");
			kept++;
			continue;
		}
		if (r < 0)
			return CTL_ERR;
		due += r == 1;
		superseded += r == 2;
	}
	ctl_progress_end(&pg, i, total);
	printf(
	    "replayed %ld: %ld due now, %ld superseded (a newer event of the entity); %ld kept\n",
	    due + superseded, due, superseded, kept);
	return ctl_stop ? CTL_ERR : CTL_OK;
}

static int ctl_endpoints_enable_verb(struct ctl *, struct ctl_args *);
static int ctl_endpoints_dead(struct ctl *, struct ctl_args *);

/* The words after endpoints (none: the list). */
static const struct {
	const char *name;
	int (*fn)(struct ctl *, struct ctl_args *);
} ctl_endpoints_verbs[] = {
	{ "enable", ctl_endpoints_enable_verb },
	{ "dead", ctl_endpoints_dead },
};

/* Handle the endpoints verb. */
static int
ctl_endpoints(struct ctl *c, struct ctl_args *a)
{
	int i;

	if (a->argc == 0 || a->argv[0][0] == '-') {
		for (i = 0; i < a->argc; i++) {
			if (strcmp(a->argv[i], "--json") == 0)
				c->json = 1;
			else {
				ctl_warn("endpoints: unexpected argument: %s", a->argv[i]);
				fputs(ctl_help_endpoints, stderr);
				return CTL_USAGE;
			}
		}
		return ctl_endpoints_list(c);
	}
	for (i = 0; i < (int)(sizeof ctl_endpoints_verbs / sizeof ctl_endpoints_verbs[0]); i++) {
		if (strcmp(a->argv[0], ctl_endpoints_verbs[i].name) == 0)
			return ctl_endpoints_verbs[i].fn(c, a);
	}
	ctl_warn("endpoints %s: unknown; give enable or dead, or nothing to list", a->argv[0]);
	fputs(ctl_help_endpoints, stderr);
	return CTL_USAGE;
}

/* endpoints enable NAME. */
static int
ctl_endpoints_enable_verb(struct ctl *c, struct ctl_args *a)
{
	const struct ph_endpoint_cfg *ep;

	if (a->argc != 2) {
		ctl_warn("endpoints enable: give NAME");
		fputs(ctl_help_endpoints, stderr);
		return CTL_USAGE;
	}
	if ((ep = ctl_endpoint(c, a->argv[1])) == NULL)
		return CTL_NOTFOUND;
	return ctl_endpoints_enable(c, ep);
}

/* endpoints dead NAME list|replay|purge. */
static int
ctl_endpoints_dead(struct ctl *c, struct ctl_args *a)
{
	const struct ph_endpoint_cfg *ep;
	struct ctl_args sub;
	struct ph_call call;
	char kd[PH_KEY_MAX];
	long long n;

	if (a->argc < 3 ||
	    (strcmp(a->argv[2], "list") != 0 && strcmp(a->argv[2], "replay") != 0 &&
	        strcmp(a->argv[2], "purge") != 0)) {
		ctl_warn("endpoints dead: give NAME and list, replay or purge");
		fputs(ctl_help_endpoints, stderr);
		return CTL_USAGE;
	}
	if ((ep = ctl_endpoint(c, a->argv[1])) == NULL)
		return CTL_NOTFOUND;
	if (ctl_key(c, kd, PH_KEY_ENDPOINT_DEAD, ep->name, NULL, NULL) != 0)
		return CTL_ERR;
	sub.argc = a->argc - 3;
	sub.argv = a->argv + 3;
	if (strcmp(a->argv[2], "list") == 0)
		return ctl_endpoint_dead_list(c, kd, &sub);
	if (strcmp(a->argv[2], "replay") == 0)
		return ctl_endpoint_dead_replay(c, ep, kd, &sub);
	if (sub.argc != 0) {
		ctl_warn("endpoints dead purge: unexpected argument: %s", sub.argv[0]);
		return CTL_USAGE;
	}
	ph_call_dead_purge(&call, kd);
	if ((n = ctl_eval(c, &call)) < 0)
		return CTL_ERR;
	printf("purged %lld\n", n);
	return CTL_OK;
}

static const struct {
	const char *name;
	int (*fn)(struct ctl *, struct ctl_args *);
	const char *help;
	int offline; /* connects to Redis itself, if at all */
} ctl_verbs[] = {
	{ "stats", ctl_stats, ctl_help_stats, 0 },
	{ "dead", ctl_dead, ctl_help_dead, 0 },
	{ "entity", ctl_entity, ctl_help_entity, 0 },
	{ "events", ctl_events, ctl_help_events, 0 },
	{ "refetch", ctl_refetch, ctl_help_refetch, 0 },
	{ "refresh", ctl_refresh, ctl_help_refresh, 0 },
	{ "spool", ctl_spool, ctl_help_spool, 1 },
	{ "endpoints", ctl_endpoints, ctl_help_endpoints, 0 },
};

/* Print usage. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: payhookctl [-c FILE] [--json] VERB [ARGS]\n"
	    "\n"
	    "Look at and repair payhook's state in Redis.\n"
	    "\n"
	    "  stats                          queue, retry, processing, dead, fetchers, counters\n"
	    "  dead list [--limit N]          jobs the fetchers gave up on, newest first\n"
	    "  dead replay all|N|--provider P put them back in the queue\n"
	    "  dead purge                     delete them\n"
	    "  entity PROVIDER TYPE ID        the latest snapshot of an entity\n"
	    "  events tail [-f] [-n N]        the latest snapshot changes\n"
	    "  events groups                  consumer groups: lag, pending, consumers, idle\n"
	    "  refetch PROVIDER TYPE ID       queue a fetch by hand\n"
	    "  refresh list [--due] | rebuild the entities refreshed until final\n"
	    "  spool status|replay [--dir D]  payhook-fcgi's spool on this host\n"
	    "  endpoints                      payhook-deliver's endpoints: state, lag, dead\n"
	    "  endpoints enable NAME          resume an endpoint a 410 disabled\n"
	    "  endpoints dead NAME list|replay|purge  its dead deliveries\n"
	    "\n"
	    "  PROVIDER is one of: %s\n"
	    "\n"
	    "  -c, --config FILE   config file (default %s)\n"
	    "      --json          machine-readable output (stats, dead list, entity, events,\n"
	    "                      endpoints, endpoints dead list)\n"
	    "      --version       print the version and exit\n"
	    "  -h, --help          print this help (VERB --help: the verb's) and exit\n"
	    "\n"
	    "Exit status: 0 done, 1 Redis or data error, 2 usage, 3 not found.\n",
	    ctl_provider_names(), PH_DEFAULT_CONFIG);
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL;
	struct ctl c;
	struct ctl_args a;
	struct sigaction sa;
	char *cause = NULL, err[256];
	size_t v;
	int i, rc;

	memset(&c, 0, sizeof c);
	log_open("payhookctl");
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc)
			config_path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			config_path = argv[i] + 9;
		else if (strcmp(argv[i], "--json") == 0)
			c.json = 1;
		else if (ctl_is_help(argv[i])) {
			usage(stdout);
			return CTL_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("payhookctl %s\n", PACKAGE_VERSION);
			return CTL_OK;
		} else {
			ctl_warn("unknown option: %s", argv[i]);
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (i == argc) {
		ctl_warn("no verb given");
		usage(stderr);
		return CTL_USAGE;
	}
	for (v = 0; v < sizeof ctl_verbs / sizeof ctl_verbs[0]; v++) {
		if (strcmp(argv[i], ctl_verbs[v].name) == 0)
			break;
	}
	if (v == sizeof ctl_verbs / sizeof ctl_verbs[0]) {
		ctl_warn("unknown verb: %s", argv[i]);
		usage(stderr);
		return CTL_USAGE;
	}
	a.argc = argc - i - 1;
	a.argv = argv + i + 1;
	/* VERB --help needs no config and no Redis. */
	for (i = 0; i < a.argc; i++) {
		if (ctl_is_help(a.argv[i])) {
			fputs(ctl_verbs[v].help, stdout);
			return CTL_OK;
		}
	}

	if (conf_load(&c.cfg, config_path != NULL ? config_path : PH_DEFAULT_CONFIG,
	        config_path != NULL, &cause) != 0) {
		ctl_warn("config: %s", cause);
		free(cause);
		conf_free(&c.cfg);
		return CTL_ERR;
	}
	c.redis = ph_redis_new(&c.cfg, err, sizeof err);
	if (c.redis == NULL) {
		ctl_warn("config: [redis] url: %s", err);
		conf_free(&c.cfg);
		return CTL_ERR;
	}
	if (!ctl_verbs[v].offline && ph_redis_connect(c.redis) != 0) {
		ctl_warn("cannot reach Redis (%s): %s",
		    c.cfg.redis.url != NULL && strchr(c.cfg.redis.url, '@') == NULL
		        ? c.cfg.redis.url
		        : "[redis] url",
		    ph_redis_err(c.redis));
		ph_redis_free(c.redis);
		conf_free(&c.cfg);
		return CTL_ERR;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = ctl_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	rc = ctl_verbs[v].fn(&c, &a);
	ph_redis_free(c.redis);
	conf_free(&c.cfg);
	return rc;
}
