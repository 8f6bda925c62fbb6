# packaging/: make deb - the Debian package "livepatch", built with dpkg-deb
# from what `make install DESTDIR=build/deb/root PREFIX=/usr` lays out
# (packaging/mkdeb.sh; docs/packaging.md).  Whatever an install step adds
# (a daemon, its unit under $(SYSTEMD_UNIT_DIR)) is in the package with no
# change here.
DEB_DIR  := $(BUILD)/deb
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE := $(DEB_DIR)/livepatch_$(LP_VERSION)_$(DEB_ARCH).deb

# The .deb is rebuilt every time (its inputs are the whole install): a fresh
# staging tree, so a file an install step no longer writes is not packaged.
deb: all
	@test -n '$(SOURCE_DATE_EPOCH)' || { echo 'deb: no SOURCE_DATE_EPOCH (not a git checkout; set it)' >&2; exit 2; }
	rm -rf $(DEB_DIR)
	@mkdir -p $(DEB_DIR)
	$(MAKE) --no-print-directory -s install DESTDIR=$(TOP)/$(DEB_DIR)/root PREFIX=/usr
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) bash packaging/mkdeb.sh $(DEB_DIR)/root \
	    $(DEB_FILE) '$(LP_VERSION)' '$(GCC_PLUGIN_DIR)'
