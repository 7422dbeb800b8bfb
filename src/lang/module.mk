# src/lang: the languages the cluster manager parses: cluster templates,
# filter expressions and project.ini.  Uses jansson for values.
LIBS += liblang
liblang_SRCS := $(sort $(wildcard src/lang/*.c))
liblang_PKGS := jansson
liblang_LDLIBS := -lm
