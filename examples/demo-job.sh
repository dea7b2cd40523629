#!/bin/sh
# The demo workload: behaves the way real workloads misbehave.
echo "demo job: I am PID $$; my parent, sandbox-init, is PID $PPID"
echo "demo job: capabilities $(grep CapEff /proc/self/status | tr -d '\t'), $(grep NoNewPrivs /proc/self/status | tr -d '\t')"
echo "demo job: writing the workspace: $(echo ok > "$KARTOGRAPH_WORKSPACE_DIR/out" 2>&1 && echo allowed)"
echo "demo job: writing /etc: $( (echo x > /etc/demo-escape) 2>&1 | sed 's/.*: //')"
echo "demo job: leaving three orphans behind for PID 1 to adopt and reap"
for delay in 1 2 3; do (sleep 0.$delay &); done
sleep 0.5
echo "demo job: zombies left in the namespace: $(ps -eo stat= | grep -c '^Z')"
echo "demo job: starting a straggler that ignores SIGTERM, then exiting with status 3"
(trap '' TERM; exec sleep 60) &
exit 3
