/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Status classes and refresh schedules (see refresh.h). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "payhook.h"
#include "refresh.h"

/* Name a class as the store script and the docs do. */
const char *
refresh_class_name(enum ph_status_class c)
{
	switch (c) {
	case PH_CLASS_PROGRESS:
		return "progress";
	case PH_CLASS_ONGOING:
		return "ongoing";
	case PH_CLASS_SETTLED:
		return "settled";
	case PH_CLASS_FINAL:
		return "final";
	}
	return "progress";
}

/* Follow a dotted path of object members; NULL when a part is missing. */
static struct json_object *
refresh_path(struct json_object *o, const char *path)
{
	char part[64];
	const char *dot;
	size_t n;

	while (o != NULL && *path != '\0') {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof part || !json_object_is_type(o, json_type_object))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		if (!json_object_object_get_ex(o, part, &o))
			return NULL;
		path += n + (dot != NULL);
	}
	return o;
}

/* Class a fetched body. */
int
refresh_classify(const char *provider, const char *type, const char *body, size_t len, char *status,
    size_t slen, enum ph_status_class *cls)
{
	struct json_tokener *tok;
	struct json_object *root = NULL, *v;
	const struct ph_provider *p;
	const struct ph_status_row *r = NULL;
	const char *path = NULL, *s;
	int found = 0;

	*cls = PH_CLASS_PROGRESS;
	status[0] = '\0';
	p = provider_find(provider, strlen(provider), NULL);
	for (r = p != NULL ? p->statuses : NULL; r != NULL && r->entity_type != NULL; r++) {
		if (strcmp(r->entity_type, type) == 0) {
			path = r->path;
			break;
		}
	}
	if (path == NULL || len > (size_t)INT32_MAX)
		return 0;
	tok = json_tokener_new();
	if (tok == NULL)
		return 0;
	root = json_tokener_parse_ex(tok, body, (int)len);
	v = refresh_path(root, path);
	if (v != NULL &&
	    (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))) {
		s = json_object_get_string(v);
		snprintf(status, slen, "%s", s);
		/* Only printable ASCII of it is kept: it is logged and stored. */
		for (char *c = status; *c != '\0'; c++) {
			if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\')
				*c = '?';
		}
		for (; r->entity_type != NULL && strcmp(r->entity_type, type) == 0; r++) {
			if (r->value == NULL || strcasecmp(r->value, s) == 0) {
				*cls = r->cls;
				found = 1;
				break;
			}
		}
	}
	json_object_put(root);
	json_tokener_free(tok);
	return found;
}

/* Parse a schedule of seconds into milliseconds. */
int
refresh_schedule_ms(const char *spec, char *out, size_t len, char *err, size_t errlen)
{
	const char *p = spec;
	char *end;
	long v;
	size_t o = 0;
	int n = 0, m;

	if (spec == NULL || *spec == '\0') {
		snprintf(err, errlen, "must list seconds, e.g. 60,300,900");
		return -1;
	}
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno != 0 || v < 1 || v > 31536000) {
			snprintf(err, errlen,
			    "each step must be a whole number of seconds from 1 to "
			    "31536000 (got \"%s\")",
			    spec);
			return -1;
		}
		if (++n > PH_REFRESH_STEPS_MAX) {
			snprintf(err, errlen, "at most %d steps", PH_REFRESH_STEPS_MAX);
			return -1;
		}
		m = snprintf(out + o, len - o, "%s%ld000", o > 0 ? "," : "", v);
		if (m < 0 || (size_t)m >= len - o) {
			snprintf(err, errlen, "too long");
			return -1;
		}
		o += (size_t)m;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != '\0') {
			snprintf(err, errlen, "steps are separated by commas (got \"%s\")", spec);
			return -1;
		}
	}
	return 0;
}

/* The last step. */
long long
refresh_last_step_ms(const char *ms)
{
	const char *last = strrchr(ms, ',');

	return strtoll(last != NULL ? last + 1 : ms, NULL, 10);
}

/* Build a member. */
int
refresh_member(char *buf, size_t len, const char *provider, const char *type, const char *id)
{
	int n = snprintf(buf, len, "%s:%s:%s", provider, type, id);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* Split a member. */
int
refresh_member_parse(const char *m, size_t mlen, char *provider, size_t plen, char *type,
    size_t tlen, char *id, size_t ilen)
{
	const char *a = memchr(m, ':', mlen), *b;
	size_t n1, n2, n3;

	if (a == NULL)
		return -1;
	b = memchr(a + 1, ':', mlen - (size_t)(a + 1 - m));
	if (b == NULL)
		return -1;
	n1 = (size_t)(a - m);
	n2 = (size_t)(b - a - 1);
	n3 = mlen - (size_t)(b + 1 - m);
	if (n1 >= plen || n2 >= tlen || n3 >= ilen || !ph_type_valid(m, n1) ||
	    !ph_type_valid(a + 1, n2) || !ph_id_valid(b + 1, n3))
		return -1;
	memcpy(provider, m, n1);
	provider[n1] = '\0';
	memcpy(type, a + 1, n2);
	type[n2] = '\0';
	memcpy(id, b + 1, n3);
	id[n3] = '\0';
	return 0;
}
