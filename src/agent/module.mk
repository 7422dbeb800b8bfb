# src/agent: stratus-node, the agent on every node (runs cluster-init, talks
# to stratusd).  libagent holds everything but main, so unit tests reach it.
LIBS += libagent
libagent_SRCS := src/agent/client.c src/agent/nodecfg.c src/agent/runner.c src/agent/text.c
libagent_PKGS := jansson libcurl
libagent_LDLIBS :=

PROGRAMS += stratus-node
stratus-node_SRCS := src/agent/main.c
stratus-node_LIBS := libagent libcommon
stratus-node_PKGS := jansson libcurl
