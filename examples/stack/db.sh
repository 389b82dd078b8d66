#!/bin/sh
# A stand-in database: takes a second to start, says when it is ready, stops on SIGINT.
trap 'echo "shutting down cleanly"; exit 0' INT
echo "booting (pid $$)"
sleep 1
echo "ready to accept connections"
while :; do sleep 1; done
