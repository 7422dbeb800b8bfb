# src/sfs: sfs, the StratusFS admin tool after Lustre's lfs (setstripe,
# getstripe, df, osts, migrate) and `sfs local up/down`.
PROGRAMS += sfs
sfs_SRCS := $(sort $(wildcard src/sfs/*.c))
sfs_LIBS := libsfs libsfsproto libcommon
sfs_PKGS := munge
