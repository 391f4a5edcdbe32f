#!/usr/bin/env bash
# One-shot init for docker-compose.yaml. Runs as root (like Airflow's own compose file) only
# to prepare the shared volumes; Airflow itself runs as the image's airflow user.
#   - generates this stack's secrets once into the airflow-secrets volume (never committed)
#   - writes the UI login: user admin, password $AIRFLOW_ADMIN_PASSWORD or a random one
#   - writes the aws_default connection with the local AWS endpoint's URL and key, read from
#     the endpoint's state file (a new key at every endpoint start, so rewritten every time)
#   - migrates the metadata database and stores the config Variable if there is none
set -euo pipefail

uid="${AIRFLOW_UID:-50000}"
secrets=/opt/airflow/secrets

as_airflow() {
    setpriv --reuid="$uid" --regid=0 --clear-groups env HOME=/home/airflow "$@"
}

# Keeps an existing value, so restarts and re-runs never rotate secrets under running jobs.
new_secret() {
    local file="$secrets/$1"
    if [[ ! -s "$file" ]]; then
        (umask 077 && python3 -c "$2" >"$file")
        chown "$uid:0" "$file"
    fi
}

mkdir -p "$secrets" /opt/airflow/logs
chown "$uid:0" "$secrets" /opt/airflow/logs
chmod 0700 "$secrets"

new_secret jwt_secret 'import secrets; print(secrets.token_urlsafe(32))'
new_secret api_secret_key 'import secrets; print(secrets.token_urlsafe(32))'
new_secret fernet_key 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'
new_secret passwords.json 'import json, os, secrets
print(json.dumps({"admin": os.environ.get("AIRFLOW_ADMIN_PASSWORD") or secrets.token_urlsafe(12)}))'

python3 /opt/endpoint_connection.py /opt/endpoint/endpoint.json "$secrets/connections.json"
chown "$uid:0" "$secrets/connections.json"

as_airflow airflow db migrate
# The pipeline's config Variable, once: an edit made in the UI survives restarts.
as_airflow airflow variables get sales_etl_config >/dev/null 2>&1 ||
    as_airflow airflow variables set sales_etl_config "$SALES_ETL_CONFIG"

echo "airflow-init: ready. UI login: admin; password:"
echo "  docker compose exec api-server cat $secrets/passwords.json"
