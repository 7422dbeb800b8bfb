# src/cli: `stratus`, the command-line client of stratusd (CycleCloud's verbs).
PROGRAMS += stratus
stratus_SRCS := $(sort $(wildcard src/cli/*.c))
stratus_LIBS := liblang libcommon
stratus_PKGS := libcurl jansson gnutls
