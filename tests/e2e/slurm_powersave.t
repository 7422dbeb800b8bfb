#!/bin/bash
# slurm_autoscale.t with Slurm's power saving (slurm.autoscale_mode =
# powersave: State=CLOUD nodes, files/slurm-power as ResumeProgram,
# SuspendProgram and ResumeFailProgram) instead of the queue watcher.  Slower
# (slurmctld starts a batch job on resumed nodes at its periodic check, about
# 30 s), kept working because a site may prefer Slurm's own mechanism.
MODE=powersave exec "$(dirname "$0")/slurm_autoscale.t"
