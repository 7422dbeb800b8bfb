# src/proto: libsfsproto, the StratusFS wire protocol (one header for every
# message, the table-driven codec, frame I/O, MUNGE credentials).
LIBS += libsfsproto
libsfsproto_SRCS := $(sort $(wildcard src/proto/*.c))
libsfsproto_PKGS := munge
libsfsproto_LDLIBS :=
