/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Converging without notifications: every stored entity whose status may
 * still change is fetched again on a schedule until it is final
 * (docs/REFRESH.md). This module classes a fetched body's status by the rows
 * of its provider (struct ph_provider's statuses), and parses the schedules.
 */
#ifndef PH_REFRESH_H
#define PH_REFRESH_H

#include <stddef.h>

#include "provider.h"

/*
 * Class a fetched body: *cls and the status as text in status ("" when
 * absent). 1 when a row matched; 0 when the status is missing or unknown,
 * or the body is not JSON (then the class is in progress).
 */
int refresh_classify(const char *provider, const char *type, const char *body, size_t len,
    char *status, size_t slen, enum ph_status_class *cls);

/* "progress", "ongoing", "settled", "final". */
const char *refresh_class_name(enum ph_status_class c);

/* Most steps a schedule may have. */
#define PH_REFRESH_STEPS_MAX 32

/*
 * Parse a schedule of seconds ("60,300,900") into the milliseconds the store
 * script reads ("60000,300000,900000"). 0, or -1 with a reason in err.
 */
int refresh_schedule_ms(const char *spec, char *out, size_t len, char *err, size_t errlen);

/* The last step of a schedule in ms (out of refresh_schedule_ms); 0 when empty. */
long long refresh_last_step_ms(const char *ms);

/* The zset member of an entity: "{provider}:{type}:{id}". -1 if it does not fit. */
int refresh_member(char *buf, size_t len, const char *provider, const char *type, const char *id);

/* Split a member into its parts, validated as ids. 0, or -1 when it is not one. */
int refresh_member_parse(const char *m, size_t mlen, char *provider, size_t plen, char *type,
    size_t tlen, char *id, size_t ilen);

#endif
