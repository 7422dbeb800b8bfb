# src/oss: sfs-oss, the StratusFS object storage server (OSTs are
# directories of object files).
PROGRAMS += sfs-oss
sfs-oss_SRCS := $(sort $(wildcard src/oss/*.c))
sfs-oss_LIBS := libsfs libsfsproto libcommon
sfs-oss_PKGS := munge
