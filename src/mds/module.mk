# src/mds: sfs-mds, the StratusFS metadata server (namespace, layouts and
# the OST registry in LMDB; group commit).
PROGRAMS += sfs-mds
sfs-mds_SRCS := $(sort $(wildcard src/mds/*.c))
sfs-mds_LIBS := libsfsproto libcommon
sfs-mds_PKGS := lmdb munge
