/* SPDX-FileCopyrightText: The payhook authors */
/* SPDX-License-Identifier: BSD-2-Clause */
/* Logging: one line per event on stderr, key=value or JSON. */
#ifndef PH_LOG_H
#define PH_LOG_H

enum ph_log_level {
	PH_LOG_DEBUG,
	PH_LOG_INFO,
	PH_LOG_WARN,
	PH_LOG_ERROR,
};

void log_open(const char *prog);
int log_set_level(const char *name);
int log_set_format(const char *name);
int log_enabled(enum ph_log_level level);
void log_msg(enum ph_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define log_debug(ev, ...) log_msg(PH_LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_msg(PH_LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_msg(PH_LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_msg(PH_LOG_ERROR, ev, __VA_ARGS__)

#endif
