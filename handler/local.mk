# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
bin_PROGRAMS += handler/payhook-fcgi
handler_payhook_fcgi_SOURCES = handler/payhook-fcgi.c handler/route.h handler/route.c
handler_payhook_fcgi_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) $(HIREDIS_CFLAGS) $(JSONC_CFLAGS)
handler_payhook_fcgi_LDADD = $(LIBPAYHOOK) $(FCGI_LIBS)
EXTRA_DIST += nginx/payhook.conf
