#!/bin/sh
# Image entrypoint: refuse to start in production while a configuration value still holds a
# placeholder from deploy/.env.example or deploy/k8s/base/secret.yaml, then run the command (as PID 1's child:
# tini is PID 1). The app itself refuses a default SPARRING_SECRET_KEY; this also covers passwords
# inside DATABASE_URL / REDIS_URL and the TURN credential.
set -eu
if [ "${SPARRING_ENVIRONMENT:-development}" = "production" ]; then
  placeholders=$(env | grep -E '^(SPARRING_[A-Z0-9_]*|DATABASE_URL|REDIS_URL)=.*CHANGE-ME' | cut -d= -f1 || true)
  if [ -n "$placeholders" ]; then
    echo "sparring: refusing to start: replace the CHANGE-ME placeholder in:" $placeholders >&2
    exit 78  # EX_CONFIG
  fi
fi
exec "$@"
