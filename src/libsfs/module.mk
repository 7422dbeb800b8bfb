# src/libsfs: the StratusFS client library (connections with many RPCs in
# flight, reconnects, layout arithmetic, the file-system client object).
LIBS += libsfs
libsfs_SRCS := $(sort $(wildcard src/libsfs/*.c))
libsfs_PKGS := munge
libsfs_LDLIBS :=
