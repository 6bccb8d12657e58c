/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Configuration: an INI file (sections [redis] [handler] [fetcher] [log] and
 * one per provider), every key overridable by PAYHOOK_{SECTION}_{KEY}, secrets
 * also from {key}_file. A bad value names its key.
 */
#ifndef PH_CONF_H
#define PH_CONF_H

#include <stdio.h>

#include "provider.h"

#define PH_MAX_PROVIDERS 8
/* Room for a refresh schedule in ms: PH_REFRESH_STEPS_MAX steps of up to 14 characters. */
#define PH_REFRESH_MS_MAX 480
/* Sections [endpoint NAME] (payhook-deliver): at most this many, names of up to 32. */
#define PH_MAX_ENDPOINTS 64
#define PH_ENDPOINT_NAME_MAX 32
/* A retry_schedule has 1..PH_RETRY_STEPS_MAX steps of 1..PH_RETRY_STEP_MAX seconds. */
#define PH_RETRY_STEPS_MAX 32
#define PH_RETRY_STEP_MAX 604800L

/* One [endpoint NAME]: where payhook-deliver POSTs events (DESIGN.md: Delivery). */
struct ph_endpoint_cfg {
	char name[PH_ENDPOINT_NAME_MAX + 1];
	char section[PH_ENDPOINT_NAME_MAX + 10]; /* "endpoint NAME", as the file spells it */
	int line;                                /* of its first key in the file */
	char *url;
	char *secret;       /* one or two "whsec_..." (lib/whsig.c) */
	char *providers;    /* comma list, NULL: all */
	char *entity_types; /* comma list, NULL: all */
	long timeout_ms;
	long max_rps; /* 0: no limit */
	char *retry_schedule;
	char *allow_http; /* on, off */
	/* Set by conf_validate. */
	int http_ok;
	unsigned
	    provider_mask; /* bit i: provider_at(i) is delivered; all bits when providers is empty */
	long retry_s[PH_RETRY_STEPS_MAX];
	int nretry;
};

struct ph_config {
	struct {
		char *url;
		char *password;
		char *prefix;
		long connect_timeout_ms;
		long command_timeout_ms;
		char *
		    sentinels; /* "host:port,...": discovery (lib/sentinel.c); NULL: the URL's host */
		char *master_name;
		char *sentinel_password;
		long min_replicas; /* WAIT for this many replicas after an accept; 0: none */
		long replica_timeout_ms;
	} redis;
	struct {
		long max_body;
		long dedup_ttl;
		long pending_ttl;
		long threads;
		long notifications_maxlen;
		long socket_mode;
		long shutdown_timeout_ms;
		long idle_timeout_ms;
		char *spool_dir; /* NULL: no spool, 503 when Redis cannot take a notification */
		long spool_max_bytes;
	} handler;
	struct {
		long concurrency;
		long timeout_ms;
		long max_attempts;
		long not_found_attempts;
		long backoff_base_ms;
		long backoff_cap_ms;
		long lock_wait_ms;
		long worker_timeout;
		long lock_ttl;
		long events_maxlen;
		long events_hard_maxlen; /* 0 in the file: 10 x events_maxlen (conf_validate) */
		long max_body;
		char *refresh_schedule; /* seconds, "60,300,..." (docs/REFRESH.md) */
		char *refresh_settled;
		long refresh_max_age;
		/* The same in ms, as the store script reads them (set by conf_validate). */
		char refresh_schedule_ms[PH_REFRESH_MS_MAX];
		char refresh_settled_ms[PH_REFRESH_MS_MAX];
	} fetcher;
	struct {
		char *level;
		char *format;
	} log;
	struct ph_provider_cfg providers[PH_MAX_PROVIDERS];
	struct ph_endpoint_cfg endpoints[PH_MAX_ENDPOINTS];
	int nendpoints;
};

/* Where payhook-fcgi spools what Redis cannot take, unless [handler] spool_dir says. */
#ifndef PH_DEFAULT_SPOOL_DIR
#define PH_DEFAULT_SPOOL_DIR "/var/spool/payhook"
#endif

/* The config file read when -c is not given. */
#ifndef PH_DEFAULT_CONFIG
#define PH_DEFAULT_CONFIG "/etc/payhook/payhook.conf"
#endif

/* Parse a retry schedule (seconds, "5,300,..."): its steps, or -1 with a reason in err. */
int conf_retry_schedule(const char *spec, long *steps, int max, char *err, size_t errlen);

/* Whether the comma list (NULL or "": all) holds name. */
int conf_list_has(const char *list, const char *name, size_t len);

/*
 * Load defaults, then the file at path (absent is fine unless required),
 * then the environment. 0, or -1 with an allocated message in *cause
 * (caller frees). The caller frees cfg with conf_free either way.
 */
int conf_load(struct ph_config *cfg, const char *path, int required, char **cause);
void conf_free(struct ph_config *cfg);

/*
 * Load a daemon's configuration from path, or from the default file when
 * path is NULL (absent is fine then), and set up logging from it. A problem
 * ends the program with a message naming it.
 */
void conf_start(struct ph_config *cfg, const char *path);

/* --check-config: print the configuration and "config ok", then free it. */
void conf_check(struct ph_config *cfg);

/* Print every key with its value (secrets as "(set)") to f, for --check-config. */
void conf_dump(const struct ph_config *cfg, FILE *f);

#endif
