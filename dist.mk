# SPDX-FileCopyrightText: The payhook authors
# SPDX-License-Identifier: BSD-2-Clause
# Install and distribute what operators need beside the programs: man pages,
# the annotated sample config, the web-server configs and the systemd units.
# The configs and units name /usr/bin/payhook-* and /etc/payhook/; installed
# copies name $(bindir) and $(sysconfdir) instead. Override the systemd
# directories on the command line, e.g.
#   make install systemdunitdir=/lib/systemd/system sysusersdir=/usr/lib/sysusers.d

dist_man_MANS += man/payhook-fcgi.8 man/payhook-fetcher.8 man/payhook-deliver.8 man/payhook.conf.5

payhookconfdir = $(sysconfdir)/payhook

payhooknginxdir = $(datadir)/payhook/nginx
dist_payhooknginx_DATA = nginx/payhook.conf

systemdunitdir = $(prefix)/lib/systemd/system
sysusersdir = $(prefix)/lib/sysusers.d

PH_UNITS = systemd/payhook-fcgi.service systemd/payhook-fetcher@.service systemd/payhook-deliver@.service
PH_APACHE = apache/payhook-proxy-fcgi.conf apache/payhook-fcgid.conf
EXTRA_DIST += $(PH_UNITS) systemd/payhook.sysusers systemd/payhook.tmpfiles $(PH_APACHE) \
	payhook.conf.sample dist.mk
tmpfilesdir = $(prefix)/lib/tmpfiles.d

# debian/: dpkg-buildpackage -b builds the .deb from the tarball too. Listed
# file by file: a build in the tree leaves debian/build and debian/payhook.
EXTRA_DIST += debian/changelog debian/control debian/copyright debian/rules debian/source/format \
	debian/payhook.postinst debian/payhook.postrm

# Copy a file naming the default paths with the configured ones instead.
PH_SUBST = sed -e 's|/usr/bin/payhook-|$(bindir)/payhook-|g' \
	-e 's|/etc/payhook/|$(sysconfdir)/payhook/|g' \
	-e 's|/var/spool/payhook|$(localstatedir)/spool/payhook|g'

install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(datadir)/payhook/apache' '$(DESTDIR)$(systemdunitdir)' \
		'$(DESTDIR)$(sysusersdir)' '$(DESTDIR)$(tmpfilesdir)' '$(DESTDIR)$(payhookconfdir)' \
		'$(DESTDIR)$(localstatedir)/spool/payhook'
	sed -e 's|/var/spool/payhook|$(localstatedir)/spool/payhook|g' '$(srcdir)/payhook.conf.sample' >'$(DESTDIR)$(payhookconfdir)/payhook.conf.sample.tmp' && \
		chmod 644 '$(DESTDIR)$(payhookconfdir)/payhook.conf.sample.tmp' && \
		mv '$(DESTDIR)$(payhookconfdir)/payhook.conf.sample.tmp' '$(DESTDIR)$(payhookconfdir)/payhook.conf.sample'
	$(PH_SUBST) '$(srcdir)/systemd/payhook.tmpfiles' >'$(DESTDIR)$(tmpfilesdir)/payhook.conf.tmp' && \
		chmod 644 '$(DESTDIR)$(tmpfilesdir)/payhook.conf.tmp' && \
		mv '$(DESTDIR)$(tmpfilesdir)/payhook.conf.tmp' '$(DESTDIR)$(tmpfilesdir)/payhook.conf'
	for f in $(PH_APACHE); do \
		$(PH_SUBST) '$(srcdir)/'"$$f" >'$(DESTDIR)$(datadir)/payhook/'"$$f.tmp" && \
		chmod 644 '$(DESTDIR)$(datadir)/payhook/'"$$f.tmp" && \
		mv '$(DESTDIR)$(datadir)/payhook/'"$$f.tmp" '$(DESTDIR)$(datadir)/payhook/'"$$f" || exit 1; \
	done
	for f in $(PH_UNITS); do \
		b=`basename "$$f"`; \
		$(PH_SUBST) '$(srcdir)/'"$$f" >'$(DESTDIR)$(systemdunitdir)/'"$$b.tmp" && \
		chmod 644 '$(DESTDIR)$(systemdunitdir)/'"$$b.tmp" && \
		mv '$(DESTDIR)$(systemdunitdir)/'"$$b.tmp" '$(DESTDIR)$(systemdunitdir)/'"$$b" || exit 1; \
	done
	$(INSTALL_DATA) '$(srcdir)/systemd/payhook.sysusers' '$(DESTDIR)$(sysusersdir)/payhook.conf'

uninstall-local:
	for f in $(PH_APACHE); do rm -f '$(DESTDIR)$(datadir)/payhook/'"$$f"; done
	for f in $(PH_UNITS); do rm -f '$(DESTDIR)$(systemdunitdir)/'`basename "$$f"`; done
	rm -f '$(DESTDIR)$(sysusersdir)/payhook.conf' '$(DESTDIR)$(tmpfilesdir)/payhook.conf' \
		'$(DESTDIR)$(payhookconfdir)/payhook.conf.sample'
	-rmdir '$(DESTDIR)$(localstatedir)/spool/payhook' 2>/dev/null
