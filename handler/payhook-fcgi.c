/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * payhook-fcgi: the FastCGI responder behind nginx or Apache. Each thread
 * takes a request, routes it, reads the body (bounded by max_body), decodes
 * it with the provider's adapter and records it in Redis in one script, then
 * answers. A request flows top to bottom through this file.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <json-c/json_tokener.h>

#include "accept.h"
#include "commit.h"
#include "conf.h"
#include "flusher.h"
#include "log.h"
#include "metrics.h"
#include "payhook.h"
#include "redis.h"
#include "replay.h"
#include "route.h"
#include "spool.h"

/* Bytes read and thrown away after a refused body, so a kept connection stays in step. */
#define HANDLER_DRAIN_MAX (64L * 1024 * 1024)
#define HANDLER_BACKLOG 1024

struct worker {
	pthread_t thread;
	int index;
	int listen_fd;
	const struct ph_config *cfg;
	struct ph_redis *redis;     /* healthz, refetch, metrics */
	char *body;                 /* max_body + 1 bytes, reused for every request */
	struct json_tokener *tok;   /* reused for every body */
	struct ph_commit_call call; /* this thread's accept call, reused */
};

static atomic_int handler_busy; /* requests being handled now */
static atomic_int handler_stopping;
static struct ph_spool *handler_spool;      /* NULL when spool_dir is empty */
static struct ph_commit handler_commit;     /* every thread's accepts, in batches */
static struct ph_accept_ctx handler_accept; /* the keys and arguments every accept shares */
/* Return a request parameter; the route code's view of FastCGI params. */
static const char *
handler_param(const char *name, void *arg)
{
	FCGX_Request *req = arg;

	return FCGX_GetParam(name, req->envp);
}

/* Write a response (formatted here, without printf: it runs for every request). */
static void
handler_respond(FCGX_Request *req, const struct route_response *resp)
{
	char buf[512], out[1024];
	const char *body = route_body(resp, buf, sizeof buf), *end = out + sizeof out;
	size_t blen = strlen(body);
	char *p;

	p = ph_puts(out, end, "Status: ");
	p = ph_put_u64(p, end, (uint64_t)resp->status);
	p = ph_put(p, end, " ", 1);
	p = ph_puts(p, end, route_reason(resp->status));
	p = ph_puts(p, end, "\r\nContent-Type: application/json\r\nContent-Length: ");
	p = ph_put_u64(p, end, blen);
	p = ph_puts(p, end, "\r\nCache-Control: no-store\r\n");
	if (resp->allow_post) {
		p = ph_puts(p, end, "Allow: POST\r\n");
	} else if (resp->spooled) {
		p = ph_puts(p, end, "X-Payhook-Spooled: 1\r\n");
	} else if (resp->retry_after > 0) {
		p = ph_puts(p, end, "Retry-After: ");
		p = ph_put_u64(p, end, (uint64_t)resp->retry_after);
		p = ph_puts(p, end, "\r\n");
	}
	p = ph_puts(p, end, "\r\n");
	p = ph_put(p, end, body, blen);
	if (p != NULL)
		FCGX_PutStr(out, (int)(p - out), req->out);
}

/* Read and discard what is left of the body. */
static void
handler_drain(FCGX_Request *req)
{
	char buf[8192];
	long total = 0;
	int n;

	while (total < HANDLER_DRAIN_MAX && (n = FCGX_GetStr(buf, sizeof buf, req->in)) > 0)
		total += n;
}

/* Read the body into w->body; its length, or -1 when over max_body. */
static long
handler_read_body(struct worker *w, FCGX_Request *req)
{
	long max = w->cfg->handler.max_body, len = 0;
	int n;

	while (len <= max) {
		n = FCGX_GetStr(w->body + len, (int)(max + 1 - len), req->in);
		if (n <= 0)
			break;
		len += n;
	}
	if (len > max) {
		handler_drain(req);
		return -1;
	}
	return len;
}

/* Whether the spool can take a notification now: "ok", "full", "unwritable" or "disabled". */
static const char *
handler_spool_state(const struct ph_config *cfg)
{
	struct ph_spool_status st;

	if (handler_spool == NULL)
		return "disabled";
	if (spool_status(cfg->handler.spool_dir, &st) != 0 || !st.writable)
		return "unwritable";
	return st.bytes + PH_SPOOL_RECORD_MIN > cfg->handler.spool_max_bytes ? "full" : "ok";
}

/*
 * Answer GET /healthz: 200 while a notification can be accepted, into Redis
 * or into the spool, with a body saying which; 503 when neither can.
 */
static void
handler_healthz(struct worker *w, struct route_response *resp, char *buf, size_t len)
{
	int was_up = ph_redis_connected(w->redis);
	redisReply *rep = ph_redis_cmd(w->redis, "PING");
	const char *spool = handler_spool_state(w->cfg);
	int up;

	if (rep == NULL && was_up && !ph_redis_connected(w->redis))
		rep = ph_redis_cmd(w->redis, "PING"); /* a stale kept connection: once more */
	up = rep != NULL && rep->type == REDIS_REPLY_STATUS;
	if (rep != NULL)
		freeReplyObject(rep);
	route_answer(resp, up || strcmp(spool, "ok") == 0 ? 200 : 503);
	snprintf(buf, len, "{\"status\":\"%s\",\"redis\":\"%s\",\"spool\":\"%s\"}",
	    resp->status == 200 ? "ok" : "unavailable", up ? "up" : "down", spool);
	resp->body = buf;
	if (!up)
		log_warn("healthz", "status=%d redis=down spool=%s reason=\"%s\"", resp->status,
		    spool, ph_redis_err(w->redis));
}

/* Handle a POST to /webhooks/{provider}: read, decode, record, answer. */
static void
handler_webhook(struct worker *w, FCGX_Request *req, size_t pidx, struct route_response *resp)
{
	const struct ph_provider *p = provider_at(pidx);
	struct ph_notification n;
	struct ph_accept_call call;
	enum ph_accept a;
	enum ph_spool_put sp;
	enum ph_sig sr;
	const char *body = w->body, *reason;
	long len;
	size_t bom;
	uint64_t now = ph_now_ms();
	char why[256];
	int queued = 0;

	len = handler_read_body(w, req);
	if (len < 0) {
		route_answer(resp, 413);
		log_info("rejected", "provider=%s status=413 max_body=%ld", p->name,
		    w->cfg->handler.max_body);
		return;
	}
	/* A signing provider's signature covers the raw body: checked before it is decoded. */
	sr = route_verify(w->cfg, pidx, FCGX_GetParam("REQUEST_URI", req->envp), handler_param, req,
	    body, (size_t)len, (int64_t)(now / 1000), resp, why, sizeof why);
	if (sr != PH_SIG_OK) {
		flusher_count(pidx,
		    sr == PH_SIG_HEADER          ? PH_COUNT_SIG_HEADER
		        : sr == PH_SIG_TIMESTAMP ? PH_COUNT_SIG_TIMESTAMP
		                                 : PH_COUNT_SIG_SIGNATURE);
		log_info("rejected", "provider=%s status=401 reason=%s detail=\"%s\"", p->name,
		    sig_reason(sr), why);
		return;
	}
	if (route_decode(p, w->tok, body, (size_t)len, &n, resp) != 0) {
		log_info("rejected", "provider=%s status=400 reason=\"%s\"", p->name,
		    resp->message);
		return;
	}
	/* The decode skipped a byte order mark; the stream keeps the JSON alone. */
	bom = provider_bom_len(body, (size_t)len);
	body += bom;
	len -= (long)bom;
	/* Recorded in Redis with the calls of other threads at this moment (lib/commit.h). */
	if (accept_prepare(&handler_accept, p, &n, body, (size_t)len, now, &call) != 0) {
		a = PH_ACCEPT_UNAVAILABLE;
		reason = "key or job too long (prefix?)";
	} else {
		a = ph_commit_accept(&handler_commit, &w->call, &call);
		queued = w->call.item.queued;
		reason = w->call.item.err;
	}
	switch (a) {
	case PH_ACCEPT_NEW:
		route_answer(resp, 200);
		for (int i = 0; i < n.nentities; i++) {
			if (provider_route(p, n.entities[i].type) == NULL)
				log_warn("no_route",
				    "provider=%s entity_type=%s entity_id=%s "
				    "dead=1",
				    p->name, n.entities[i].type, n.entities[i].id);
		}
		log_debug("accepted", "provider=%s id=%s event=%s queued=%d", p->name, n.id,
		    n.event, queued);
		break;
	case PH_ACCEPT_DUPLICATE:
		route_answer(resp, 200);
		resp->body = "{\"status\":\"duplicate\"}";
		log_debug("duplicate", "provider=%s id=%s", p->name, n.id);
		break;
	case PH_ACCEPT_REJECTED:
	case PH_ACCEPT_UNAVAILABLE:
		if (handler_spool == NULL) {
			route_answer(resp, 503);
			log_warn("unavailable", "provider=%s status=503 reason=\"%s\"", p->name,
			    reason);
			break;
		}
		/* Kept on this host's disk, flushed, and only then answered 200. */
		/* The thread's call buffer is free again: the record is built there. */
		sp = spool_put_buf(handler_spool, p->name, now, body, (size_t)len,
		    w->call.item.cmd.buf, w->call.item.cmd.cap, why, sizeof why);
		if (sp == PH_SPOOL_OK) {
			route_answer(resp, 200);
			resp->spooled = 1;
			/* Debug: an outage at full load spools thousands a second; each new
			 * segment is logged at info, and /metrics counts them. */
			log_debug("spooled", "provider=%s id=%s event=%s redis=\"%s\"", p->name,
			    n.id, n.event, reason);
			break;
		}
		route_answer(resp, 503);
		log_warn("unavailable", "provider=%s status=503 reason=\"%s\" spool=\"%s\"",
		    p->name, reason, why);
		break;
	}
}

/*
 * Handle POST /entities/{provider}/{type}/{id}/refetch: queue a fetch of an
 * entity no notification may ever announce (a Cielo debit sale); once
 * stored, it is refreshed like any other (docs/REFRESH.md).
 */
static void
handler_refetch(struct worker *w, size_t pidx, struct route_response *resp)
{
	const struct ph_provider *p = provider_at(pidx);
	struct ph_job job;
	char guid[37], why[256];

	memset(&job, 0, sizeof job);
	memcpy(job.provider, p->name, strlen(p->name) + 1);
	memcpy(job.entity_type, resp->entity_type, sizeof job.entity_type);
	memcpy(job.entity_id, resp->entity_id, sizeof job.entity_id);
	ph_guid_new(guid);
	snprintf(job.notification_id, sizeof job.notification_id, "refetch-%s", guid);
	snprintf(job.event, sizeof job.event, "refetch");
	job.received_at = ph_now_ms();
	/* The accept path: with [redis] min_replicas, answered only once acknowledged. */
	switch (accept_refetch(&handler_accept, w->redis, &job, why, sizeof why)) {
	case PH_ACCEPT_NEW:
		route_answer(resp, 200);
		resp->body = "{\"status\":\"queued\"}";
		log_info("refetch", "provider=%s type=%s id=%s queued=1", p->name, job.entity_type,
		    job.entity_id);
		break;
	case PH_ACCEPT_DUPLICATE:
		route_answer(resp, 200);
		resp->body = "{\"status\":\"pending\"}";
		log_info("refetch", "provider=%s type=%s id=%s queued=0", p->name, job.entity_type,
		    job.entity_id);
		break;
	case PH_ACCEPT_REJECTED:
	case PH_ACCEPT_UNAVAILABLE:
		route_answer(resp, 503);
		log_warn("unavailable", "refetch=1 provider=%s status=503 reason=\"%s\"", p->name,
		    why);
		break;
	}
}

/* Answer GET /metrics with the Prometheus text format. */
static void
handler_metrics(struct worker *w, FCGX_Request *req)
{
	struct route_response resp;
	struct ph_spool_status st;
	char *text = NULL, head[256], local[2048];
	size_t len = 0;
	int n, m, up;

	up = metrics_render(w->redis, w->cfg, &text, &len) == 0;
	if (!up && handler_spool == NULL) {
		log_warn("metrics", "status=503 reason=\"%s\"", ph_redis_err(w->redis));
		route_answer(&resp, 503);
		handler_respond(req, &resp);
		return;
	}
	/* This host's own: whether Redis answered, and the spool (also while Redis is down). */
	m = snprintf(local, sizeof local,
	    "# HELP payhook_redis_up Whether payhook-fcgi reached Redis for this scrape.\n"
	    "# TYPE payhook_redis_up gauge\npayhook_redis_up %d\n"
	    "# HELP payhook_accept_batches_total Batches of accept calls this payhook-fcgi "
	    "sent to Redis, each in one write (group commit).\n"
	    "# TYPE payhook_accept_batches_total counter\npayhook_accept_batches_total %ld\n"
	    "# HELP payhook_accept_calls_total Accept calls in those batches (a call sent "
	    "again after a lost connection counts again).\n"
	    "# TYPE payhook_accept_calls_total counter\npayhook_accept_calls_total %ld\n"
	    "# HELP payhook_redis_durable Whether what Redis acknowledges survives a crash of "
	    "its host: AOF fsynced always, or everysec with min_replicas (0 too while unknown).\n"
	    "# TYPE payhook_redis_durable gauge\npayhook_redis_durable %d\n",
	    up, atomic_load(&handler_commit.batches), atomic_load(&handler_commit.calls),
	    flusher_durable() == 1);
	if (handler_spool != NULL) {
		if (spool_status(w->cfg->handler.spool_dir, &st) != 0)
			memset(&st, 0, sizeof st);
		m += snprintf(local + m, sizeof local - (size_t)m,
		    "# HELP payhook_spool_bytes Bytes in this host's spool directory.\n"
		    "# TYPE payhook_spool_bytes gauge\npayhook_spool_bytes %lld\n"
		    "# HELP payhook_spool_segments Segments in this host's spool directory.\n"
		    "# TYPE payhook_spool_segments gauge\npayhook_spool_segments %ld\n"
		    "# HELP payhook_spool_oldest_age_seconds Age of the oldest spooled "
		    "notification's segment (0 when the spool is empty).\n"
		    "# TYPE payhook_spool_oldest_age_seconds gauge\n"
		    "payhook_spool_oldest_age_seconds %.3f\n"
		    "# HELP payhook_spool_writable Whether the spool directory can be written.\n"
		    "# TYPE payhook_spool_writable gauge\npayhook_spool_writable %d\n",
		    st.bytes, st.segments, st.oldest_ms > 0 ? (double)st.oldest_ms / 1000.0 : 0.0,
		    st.writable);
	}
	if (!up)
		log_warn("metrics", "status=200 redis=down reason=\"%s\"", ph_redis_err(w->redis));
	n = snprintf(head, sizeof head,
	    "Status: 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n",
	    len + (size_t)m);
	FCGX_PutStr(head, n, req->out);
	if (text != NULL)
		FCGX_PutStr(text, (int)len, req->out);
	FCGX_PutStr(local, m, req->out);
	free(text);
}

/* Handle one request from start to answer. */
static void
handler_request(struct worker *w, FCGX_Request *req)
{
	struct route_response resp;
	char hbody[128];
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);
	long content_length = cl != NULL && *cl != '\0' ? strtol(cl, NULL, 10) : 0;
	size_t pidx = SIZE_MAX;

	switch (route_request(w->cfg, FCGX_GetParam("REQUEST_METHOD", req->envp),
	    FCGX_GetParam("REQUEST_URI", req->envp), handler_param, req, content_length, &pidx,
	    &resp)) {
	case ROUTE_ANSWER:
		if (resp.status == 413)
			log_info("rejected", "status=413 content_length=%ld", content_length);
		handler_drain(req);
		flusher_count_status(pidx, resp.status);
		break;
	case ROUTE_HEALTHZ:
		handler_drain(req);
		handler_healthz(w, &resp, hbody, sizeof hbody);
		break;
	case ROUTE_METRICS:
		handler_drain(req);
		handler_metrics(w, req);
		return;
	case ROUTE_REFETCH:
		handler_drain(req);
		handler_refetch(w, pidx, &resp);
		break;
	case ROUTE_WEBHOOK:
		handler_webhook(w, req, pidx, &resp);
		if (resp.spooled)
			flusher_count(pidx, PH_COUNT_SPOOLED);
		else
			flusher_count_status(pidx, resp.status);
		break;
	}
	handler_respond(req, &resp);
}

/*
 * Bound how long a thread waits for the next request on a kept connection
 * (fastcgi_keep_conn). Each idle kept connection holds a thread; without a
 * bound, more kept connections than threads (nginx keeps a pool per worker)
 * leave new connections waiting in the backlog. After idle_timeout_ms the
 * read fails, libfcgi closes the connection and the thread accepts again.
 * A request the web server sent as the connection closed is tried again on a
 * new one: nginx/payhook.conf's fastcgi_next_upstream (POSTs included: they
 * are idempotent here) and mod_proxy_fcgi's pool, which checks a connection
 * before it reuses it (tests/integration/ingest-idle-close.sh).
 */
static void
handler_idle_timeout(FCGX_Request *req, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (req->ipcFd >= 0)
		(void)setsockopt(req->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* A worker thread: accept and handle requests until told to stop. */
static void *
handler_worker(void *arg)
{
	struct worker *w = arg;
	FCGX_Request req;

	if (FCGX_InitRequest(&req, w->listen_fd, 0) != 0) {
		log_error("worker", "thread=%d reason=\"FCGX_InitRequest failed\"", w->index);
		return NULL;
	}
	while (!atomic_load(&handler_stopping)) {
		if (FCGX_Accept_r(&req) < 0) {
			if (atomic_load(&handler_stopping))
				break;
			log_warn("accept", "thread=%d reason=\"%s\"", w->index, strerror(errno));
			usleep(10000); /* EMFILE and the like: do not spin */
			continue;
		}
		atomic_fetch_add(&handler_busy, 1);
		handler_idle_timeout(&req, w->cfg->handler.idle_timeout_ms);
		handler_request(w, &req);
		FCGX_Finish_r(&req);
		atomic_fetch_sub(&handler_busy, 1);
	}
	FCGX_Free(&req, 1);
	return NULL;
}

/* Warn once, at start, of each signing provider whose notifications are not checked or refused. */
static void
handler_warn_unsigned(const struct ph_config *cfg)
{
	size_t i;

	for (i = 0; i < provider_count() && i < PH_MAX_PROVIDERS; i++) {
		const struct ph_provider *p = provider_at(i);
		const struct ph_provider_cfg *pc = &cfg->providers[i];

		if (p->verify == NULL)
			continue;
		if (pc->unsigned_on)
			log_warn("config",
			    "provider=%s unsigned=on effect=\"its signatures are not checked\"",
			    p->name);
		else if (pc->keys == NULL)
			log_warn("config",
			    "provider=%s signing_secret=unset effect=\"its notifications are "
			    "refused (401) until [%s] signing_secret is set, or unsigned = on\"",
			    p->name, p->name);
	}
}

/* Print usage. */
static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: payhook-fcgi [-c FILE] [-l unix:/path|host:port] [-t THREADS]\n"
	    "                    [--check-config] [--version] [--help]\n"
	    "\n"
	    "Receive payment providers' webhook notifications over FastCGI and queue\n"
	    "a refetch of each entity in Redis.\n"
	    "\n"
	    "  -c, --config FILE   config file (default %s)\n"
	    "  -l, --listen ADDR   listen on unix:/path or host:port; without it, serve\n"
	    "                      the socket on fd 0 (spawn-fcgi, mod_fcgid)\n"
	    "  -t, --threads N     worker threads, each with its own Redis connection\n"
	    "      --check-config  load and validate the config, print it, exit\n"
	    "      --version       print the version and exit\n"
	    "  -h, --help          print this help and exit\n",
	    PH_DEFAULT_CONFIG);
}

/* Open the listening socket; its fd, or exit with a message. */
static int
handler_listen(const char *addr, long mode)
{
	const char *path = addr;
	int fd;

	if (strncmp(addr, "unix:", 5) == 0)
		path = addr + 5;
	else if (strchr(addr, ':') == NULL)
		fatalx("-l %s: use unix:/path or host:port", addr);
	if (path != addr && (path[0] != '/' || strlen(path) >= 100))
		fatalx("-l %s: a unix socket needs an absolute path under 100 bytes", addr);
	/* libfcgi unlinks a stale unix socket before it binds. */
	fd = FCGX_OpenSocket(path, HANDLER_BACKLOG);
	if (fd < 0)
		fatalx("-l %s: cannot listen: %s", addr, strerror(errno));
	if (path != addr && chmod(path, (mode_t)mode) != 0)
		fatalx("-l %s: chmod: %s", addr, strerror(errno));
	return fd;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *listen_addr = NULL, *threads_arg = NULL;
	struct ph_config cfg;
	struct worker *workers;
	char *end, err0[256], where[300];
	sigset_t set;
	int ch, check = 0, listen_fd, sig, type;
	long threads, i;
	socklen_t tlen = sizeof type;
	uint64_t deadline;

	log_open("payhook-fcgi");
	while ((ch = getopt_long(argc, argv, "c:l:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			listen_addr = optarg;
			break;
		case 't':
			threads_arg = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'V':
			printf("payhook-fcgi %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "payhook-fcgi: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	conf_start(&cfg, config_path);
	threads = cfg.handler.threads;
	if (threads_arg != NULL) {
		threads = strtol(threads_arg, &end, 10);
		if (*threads_arg == '\0' || *end != '\0' || threads < 1 || threads > 256)
			fatalx("-t %s: must be a whole number from 1 to 256", threads_arg);
	}
	if (check) {
		conf_check(&cfg);
		return 0;
	}
	handler_warn_unsigned(&cfg);

	if (FCGX_Init() != 0)
		fatalx("FCGX_Init failed");
	if (listen_addr != NULL) {
		listen_fd = handler_listen(listen_addr, cfg.handler.socket_mode);
	} else {
		if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0)
			fatalx(
			    "no -l given and fd 0 is not a socket: pass -l unix:/path "
			    "or host:port, or run under spawn-fcgi or mod_fcgid");
		listen_fd = 0;
	}

	/* Signals go to the main thread only, which waits for them below. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

#ifdef M_ARENA_MAX
	/*
	 * glibc gives up to 8 malloc arenas per core to a process's threads;
	 * 64 threads that malloc a little (libfcgi, json-c) do not need them:
	 * 2 saved 1.2 MB of RSS at the same CPU per request (docs/BENCHMARKS.md).
	 * MALLOC_ARENA_MAX in the environment still wins.
	 */
	if (getenv("MALLOC_ARENA_MAX") == NULL)
		mallopt(M_ARENA_MAX, 2);
#endif
	workers = calloc((size_t)threads, sizeof *workers);
	if (workers == NULL)
		fatalx("out of memory");
	if (ph_commit_init(&handler_commit, &cfg, err0, sizeof err0) != 0)
		fatalx("config: [redis] url: %s", err0);
	if (accept_init(&handler_accept, &cfg) != 0)
		fatalx("config: [redis] prefix: too long");
	/* The spool is there before the first request can be taken. */
	if (cfg.handler.spool_dir != NULL) {
		struct ph_spool_status st;

		handler_spool = spool_open(cfg.handler.spool_dir, cfg.handler.spool_max_bytes);
		if (handler_spool == NULL)
			fatalx("config: [handler] spool_dir: out of memory");
		if (spool_status(cfg.handler.spool_dir, &st) != 0 || !st.writable)
			log_warn("spool",
			    "spool_dir=%s reason=\"%s\" effect=\"notifications get 503 "
			    "while Redis cannot take them\"",
			    cfg.handler.spool_dir,
			    access(cfg.handler.spool_dir, F_OK) != 0 ? "missing" : "not writable");
		else if (st.segments > 0)
			log_info("spool",
			    "spool_dir=%s segments=%ld bytes=%lld (replayed once Redis "
			    "answers)",
			    cfg.handler.spool_dir, st.segments, st.bytes);
		if (replay_start(&cfg, handler_spool, &handler_accept, err0, sizeof err0) != 0)
			fatalx("%s", err0);
	}
	for (i = 0; i < threads; i++) {
		char err[256];

		workers[i].index = (int)i;
		workers[i].listen_fd = listen_fd;
		workers[i].cfg = &cfg;
		workers[i].body = malloc((size_t)cfg.handler.max_body + 1);
		if (workers[i].body == NULL)
			fatalx("out of memory");
		workers[i].redis = ph_redis_new(&cfg, err, sizeof err);
		if (workers[i].redis == NULL)
			fatalx("config: [redis] url: %s", err);
		workers[i].tok = provider_tokener_new();
		if (workers[i].tok == NULL ||
		    ph_commit_call_init(&workers[i].call,
		        ph_commit_call_cap(cfg.handler.max_body)) != 0)
			fatalx("out of memory");
		if (pthread_create(&workers[i].thread, NULL, handler_worker, &workers[i]) != 0)
			fatalx("cannot start thread %ld", i);
	}
	if (flusher_start(&cfg, handler_spool, err0, sizeof err0) != 0)
		fatalx("%s", err0);
	log_info("started", "version=%s listen=%s threads=%ld redis=%s max_body=%ld spool=%s",
	    PACKAGE_VERSION, listen_addr != NULL ? listen_addr : "fd0", threads,
	    ph_redis_where(workers[0].redis, where, sizeof where), cfg.handler.max_body,
	    cfg.handler.spool_dir != NULL ? cfg.handler.spool_dir : "off");

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}

	/*
	 * Stop: no new connection is taken, requests being handled finish (up to
	 * shutdown_timeout_ms), then the process exits. Threads idle in accept or
	 * on a kept connection hold nothing that must be finished.
	 */
	atomic_store(&handler_stopping, 1);
	log_info("stopping", "signal=%d busy=%d", sig, atomic_load(&handler_busy));
	/*
	 * Our own socket is shut so no thread takes a new connection; one on
	 * fd 0 may be shared with other processes (spawn-fcgi -F, systemd), so it
	 * is left alone and a connection taken now meets a closed socket.
	 */
	if (listen_addr != NULL) {
		shutdown(listen_fd, SHUT_RDWR);
		if (strncmp(listen_addr, "unix:", 5) == 0)
			unlink(listen_addr + 5);
	}
	deadline = ph_mono_ms() + (uint64_t)cfg.handler.shutdown_timeout_ms;
	while (atomic_load(&handler_busy) > 0 && ph_mono_ms() < deadline) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	flusher_stop(); /* with what the last requests counted */
	log_info("stopped", "busy=%d", atomic_load(&handler_busy));
	/* Threads may be blocked in libfcgi: exit without joining them. */
	_exit(0);
}
