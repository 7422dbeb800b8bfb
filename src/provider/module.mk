# src/provider: libprovider, how nodes are made (provider.h); the local
# provider makes each node a set of Linux namespaces on this host.
LIBS += libprovider
libprovider_SRCS := $(sort $(wildcard src/provider/*.c))
libprovider_PKGS :=
libprovider_LDLIBS :=
