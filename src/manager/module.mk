# src/manager: stratusd, the cluster manager daemon.  Its modules are the
# library libmanager so that unit tests (tests/unit/test_state.c, ...) and
# fuzz targets link them; stratusd.c holds only main().
LIBS += libmanager
libmanager_SRCS := $(filter-out src/manager/stratusd.c,$(sort $(wildcard src/manager/*.c)))
libmanager_PKGS := libmicrohttpd gnutls sqlite3 jansson
libmanager_LDLIBS := -lcrypt

PROGRAMS += stratusd
stratusd_SRCS := src/manager/stratusd.c
stratusd_LIBS := libmanager liblang libprovider libcommon
stratusd_PKGS := libmicrohttpd gnutls sqlite3 jansson
