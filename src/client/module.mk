# src/client: sfs-mount, the StratusFS FUSE client, and mount.sfs, the
# helper behind `mount -t sfs` and /etc/fstab.
PROGRAMS += sfs-mount mount.sfs
sfs-mount_SRCS := src/client/sfs_mount.c
sfs-mount_LIBS := libsfs libsfsproto libcommon
sfs-mount_PKGS := fuse3 munge
mount.sfs_SRCS := src/client/mount_sfs.c
mount.sfs_LIBS := libcommon
