#!/bin/sh
# The demo workload: behaves the way real workloads misbehave.
echo "demo job: I am PID $$; my parent, sandbox-init, is PID $PPID"
echo "demo job: leaving three orphans behind for PID 1 to adopt and reap"
for delay in 1 2 3; do (sleep 0.$delay &); done
sleep 0.5
echo "demo job: zombies left in the namespace: $(ps -eo stat= | grep -c '^Z')"
echo "demo job: starting a straggler that ignores SIGTERM, then exiting with status 3"
(trap '' TERM; exec sleep 60) &
exit 3
