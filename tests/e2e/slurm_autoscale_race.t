#!/bin/bash
# The autoscaler's two races, provoked on purpose (projects/slurm's
# files/slurm-autoscaler with the rig of seed-rig.sh playing the manager):
#
# 1. A 2-node job whose second node fails to come up at first: the first node
#    comes up and waits, idle, longer than the idle time (2 s) for its partner
#    (asked for again after slurm.resume_retry = 6 s).  It must be kept, not
#    given back (which made the two nodes take turns: ping-pong).
# 2. A 2-node job submitted just after both nodes were given back, while they
#    are still being torn down (4 s, their slurmd still running; the manager
#    refuses to take them on meanwhile): it must get two nodes that run it,
#    none given back while it waits.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/seed-rig.sh"
t_need_root
t_need_cmd munged slurmctld slurmd nsenter unshare
T_TIMEOUT=300
IDLE=2
RETRY=6

plan 11
C=t$$
rig_init "$C"
conf="slurm.autoscale=true slurm.autoscale_mode=watch slurm.idle_time=$IDLE slurm.cores_per_node=2 slurm.resume_retry=$RETRY"
# shellcheck disable=SC2086
rig_node "$C-scheduler" "$RIG_NET.10" scheduler slurm.role=scheduler $conf
for i in 1 2 3; do rig_node "$C-execute-$i" "$RIG_NET.1$i" execute slurm.role=execute; done
S=$C-scheduler
sh=$R/data/clusters/$C/shared
alog=$R/data/nodes/$S/autoscale.log

rig_up "$S" && rig_spec "$S" slurm default && rig_spec "$S" slurm scheduler
is "$?" 0 "the scheduler comes up with autoscale on (idle time ${IDLE}s, retry after ${RETRY}s)"
t_start provider rig_provider_loop slurm
t_on_cleanup "kill $T_PID"
t_wait 20 "slurmctld" rig_exec "$S" scontrol ping
suspends() { grep -c '^suspend' "$R/requests"; }
running() { [ "$(rig_exec "$S" squeue -h -j "$1" -o %T 2>/dev/null)" = RUNNING ]; }
gone() { ! rig_exec "$S" squeue -h -j "$1" 2>/dev/null | grep -q .; }

# 1. The second node fails to come up the first time.
echo "$C-execute-2" >"$R/fail-once"
job=$(rig_exec "$S" sbatch --parsable -N 2 -o /shared/home/a-%j.out --wrap 'srun hostname; sleep 4')
ok "a 2-node job whose second node failed to come up starts" t_wait 90 "job $job running" running "$job"
is "$(suspends)" 0 "no node was given back while the job waited (the first node waited idle > ${IDLE}s)"
like "$(cat "$alog")" "keep $C-execute-1: idle, but pending job\\(s\\) in partition" \
	"the autoscaler says it keeps the idle node the job waits for"
ok "the job ran on two nodes" t_wait 60 "job $job output" \
	sh -c "[ \$(grep -c '^$C-execute' $sh/home/a-$job.out 2>/dev/null) -eq 2 ]"

# 2. Both nodes given back, slowly; a job submitted at once.
echo 4 >"$R/slow-down"
gone_back=$(($(suspends) + 2))
ok "after the idle time both nodes are given back" t_wait 60 "two suspend requests" sh -c "[ \$(grep -c '^suspend' $R/requests) -eq $gone_back ]"
job2=$(rig_exec "$S" sbatch --parsable -N 2 -o /shared/home/b-%j.out --wrap 'srun hostname; sleep 4')
ok "a 2-node job submitted while they are torn down starts" t_wait 90 "job $job2 running" running "$job2"
is "$(suspends)" "$gone_back" "no node was given back while it waited"
ok "the manager was asked for a node still being torn down, and refused it (the race was provoked)" \
	grep -q '^refused' "$R/requests"
ok "the job ran on two nodes" t_wait 60 "job $job2 output" \
	sh -c "[ \$(grep -c '^$C-execute' $sh/home/b-$job2.out 2>/dev/null) -eq 2 ]"
jstate() { rig_exec "$S" scontrol show job "$1" | grep -o 'JobState=[A-Z]*' | head -n 1; }
t_wait 60 "job $job2 to end" gone "$job2"
is "$(jstate "$job2")" JobState=COMPLETED "it completed (no step ran on a node being torn down)"
