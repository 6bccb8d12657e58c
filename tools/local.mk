# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# payhookctl: the operators' CLI.
bin_PROGRAMS += tools/payhookctl
tools_payhookctl_SOURCES = tools/payhookctl.c
tools_payhookctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(HIREDIS_CFLAGS)
tools_payhookctl_LDADD = $(LIBPAYHOOK)
dist_man_MANS += man/payhookctl.8
