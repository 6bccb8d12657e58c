/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging. Every line is written with one write(2) so lines from threads and
 * processes sharing stderr never interleave. Callers pass key=value pairs in
 * fmt; values that may hold spaces are quoted by the caller with %s inside "".
 * Secrets and bodies are never passed here (DESIGN.md: Logs).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_prog = "payhook";
static enum ph_log_level log_level = PH_LOG_INFO;
static int log_json;

static const char *log_names[] = { "debug", "info", "warn", "error" };

/* Name the program that logs. */
void
log_open(const char *prog)
{
	log_prog = prog;
}

/* Set the lowest level logged by name; -1 if the name is unknown. */
int
log_set_level(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof log_names / sizeof log_names[0]; i++) {
		if (strcmp(name, log_names[i]) == 0) {
			log_level = (enum ph_log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Set the line format, "kv" or "json"; -1 if unknown. */
int
log_set_format(const char *name)
{
	if (strcmp(name, "kv") == 0)
		log_json = 0;
	else if (strcmp(name, "json") == 0)
		log_json = 1;
	else
		return -1;
	return 0;
}

/* Tell whether a level is logged. */
int
log_enabled(enum ph_log_level level)
{
	return level >= log_level;
}

/* Append the JSON form of key=value pairs in kv to out. */
static size_t
log_kv_to_json(const char *kv, char *out, size_t len)
{
	size_t o = 0;
	const char *p = kv;

	while (*p != '\0' && o + 8 < len) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		out[o++] = ',';
		out[o++] = '"';
		while (*p != '\0' && *p != '=' && *p != ' ' && o + 6 < len)
			out[o++] = *p++;
		out[o++] = '"';
		out[o++] = ':';
		out[o++] = '"';
		if (*p == '=')
			p++;
		if (*p == '"') {
			p++;
			while (*p != '\0' && *p != '"' && o + 4 < len) {
				if (*p == '\\')
					out[o++] = '\\';
				out[o++] = *p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p != '\0' && *p != ' ' && o + 4 < len) {
				if (*p == '\\')
					out[o++] = '\\';
				out[o++] = *p++;
			}
		}
		out[o++] = '"';
	}
	return o;
}

/* Log one event at a level with key=value detail. */
void
log_msg(enum ph_log_level level, const char *event, const char *fmt, ...)
{
	char detail[1024], line[2304];
	struct timespec ts;
	struct tm tm;
	char when[64];
	va_list ap;
	int n;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	/* Control characters never reach the log: one event, one line. */
	for (char *c = detail; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	}

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

	if (log_json) {
		n = snprintf(line, sizeof line,
		    "{\"ts\":\"%s\",\"level\":\"%s\",\"prog\":\"%s\",\"event\":\"%s\"", when,
		    log_names[level], log_prog, event);
		if (n < 0 || (size_t)n >= sizeof line)
			n = (int)sizeof line - 3;
		n += (int)log_kv_to_json(detail, line + n, sizeof line - (size_t)n - 3);
		line[n++] = '}';
	} else {
		n = snprintf(line, sizeof line, "ts=%s level=%s prog=%s event=%s%s%s", when,
		    log_names[level], log_prog, event, detail[0] != '\0' ? " " : "", detail);
		if (n < 0 || (size_t)n >= sizeof line - 1)
			n = (int)sizeof line - 2;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

/* Log a fatal start-up error in plain words and exit 1. */
void
fatalx(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", log_prog, msg);
	exit(1);
}
