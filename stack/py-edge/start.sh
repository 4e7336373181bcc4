#!/bin/sh
# py-edge entrypoint: exec, so the agent is the container's init and gets SIGTERM itself.
exec python3 /app/agent.py "$@"
