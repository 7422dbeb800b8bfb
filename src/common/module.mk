# src/common: code every program shares (logging, configuration, errors,
# buffers, networking, the event loop).  Includes nothing else of ours.
LIBS += libcommon
libcommon_SRCS := $(sort $(wildcard src/common/*.c))
libcommon_PKGS :=
libcommon_LDLIBS :=
