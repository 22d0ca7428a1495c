#!/usr/bin/env bash
# deploy/run-local.sh: install the build dependencies, build the release binary and run the proxy
# in the foreground on this machine.
#
#   deploy/run-local.sh                      # UFS = ./var/ufs (each folder a bucket), 127.0.0.1:9000
#   AWS_ENDPOINT_URL=http://minio:9000 AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
#       deploy/run-local.sh                  # UFS = that S3 server (target_protocol s3)
#   deploy/run-local.sh -c my.yaml           # your own config file (passed through)
#   deploy/run-local.sh --set listen=127.0.0.1:9100 --set memory_store_size=4GiB
#
# Any other arguments are passed to alluxio-s3-proxy. Stop it with Ctrl-C (SIGINT/SIGTERM: it
# finishes in-flight responses, then exits 0).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD_PACKAGES=(meson ninja-build pkg-config gcc libc6-dev liburing-dev libcurl4-openssl-dev
    libssl-dev libyaml-dev libexpat1-dev libjson-c-dev
    libgrpc-dev libprotobuf-c-dev protobuf-c-compiler etcd-server etcd-client)

install_deps() {
    local missing=() p
    for p in "${BUILD_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "missing packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
            exit 1
        fi
    fi
    echo "installing ${missing[*]}" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
    if [ -f build/build.ninja ]; then
        meson configure build --buildtype=release >/dev/null || meson setup --reconfigure build --buildtype=release
    else
        meson setup build --buildtype=release
    fi
    ninja -C build alluxio-s3-proxy
}

install_deps
build >&2
BIN="$ROOT/build/alluxio-s3-proxy"

# Which UFS: a -c FILE given by the user wins; else S3 settings in the environment make it s3;
# else the embedded default, conf/local.yaml (./var/ufs served as buckets).
ARGS=("$@")
USER_CONFIG=0
for a in "${ARGS[@]}"; do
    case "$a" in -c | --config | -c* | --config=*) USER_CONFIG=1 ;; esac
done
MODE=file
if [ "$USER_CONFIG" = 1 ]; then
    MODE=custom
elif [ -n "${AWS_ENDPOINT_URL:-}" ] || [ -n "${AWS_ACCESS_KEY_ID:-}" ]; then
    MODE=s3
    ARGS=(-c conf/local.yaml --set target_protocol=s3 "${ARGS[@]}")
else
    ARGS=(-c conf/local.yaml "${ARGS[@]}")
    if [ ! -d var/ufs ] || [ -z "$(ls -A var/ufs 2>/dev/null)" ]; then
        mkdir -p var/ufs/demo
        cat >var/ufs/demo/README.txt <<'EOF'
Hello from alluxio-s3-proxy.

This file is var/ufs/demo/README.txt in the repository: with the default configuration every
top-level folder of var/ufs is a bucket ("demo" here) and every file under it an object.
Add folders and files, then read them with any S3 client through http://127.0.0.1:9000.
EOF
    fi
fi

# Client credentials: the proxy verifies SigV4 on every request with keys of its own (not the
# UFS's). A key pair is generated once and kept in var/credentials (mode 0600).
CRED_FILE="$ROOT/var/credentials"
if [ "$MODE" != custom ]; then
    if [ ! -s "$CRED_FILE" ]; then
        mkdir -p "$ROOT/var"
        (
            umask 077
            ak="AKLOCAL$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
            sk="$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40)"
            printf '# alluxio-s3-proxy client keys: ACCESS_KEY:SECRET_KEY per line\n%s:%s\n' \
                "$ak" "$sk" >"$CRED_FILE"
        )
    fi
    chmod 600 "$CRED_FILE"
    ARGS=(--set "credentials_file=$CRED_FILE" "${ARGS[@]}")
    CRED_LINE="$(grep -v '^#' "$CRED_FILE" | head -n 1)"
    AK="${CRED_LINE%%:*}"
    SK="${CRED_LINE#*:}"
    SK="${SK%%:*}"
else
    AK=YOUR_PROXY_KEY SK=YOUR_PROXY_SECRET
fi

# Validate the configuration and learn the endpoint before printing how to use it.
if ! EFFECTIVE="$("$BIN" "${ARGS[@]}" --print-config)"; then
    exit 1
fi
LISTEN="$(printf '%s\n' "$EFFECTIVE" | sed -n 's/^ *- *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' | head -n 1)"
[ -n "$LISTEN" ] || LISTEN="127.0.0.1:9000"
EP="http://$LISTEN"
if [ "$MODE" = file ]; then
    BUCKET=demo KEY=README.txt
    WHAT="UFS: the folders of $ROOT/var/ufs (each one a bucket)"
else
    BUCKET=BUCKET KEY=KEY
    if [ "$MODE" = s3 ]; then
        WHAT="UFS: S3 at ${AWS_ENDPOINT_URL:-AWS (region ${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}})}"
    else
        WHAT="UFS: as configured by your config file"
    fi
fi

cat <<EOF

alluxio-s3-proxy: S3 endpoint $EP
$WHAT; pages cached in memory.
Clients sign with the proxy's own key pair (kept in var/credentials, not your S3 keys):
  access key: $AK
  secret key: $SK

  # awscli
  AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK aws --endpoint-url $EP --region us-east-1 s3 ls s3://$BUCKET/
  AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK aws --endpoint-url $EP --region us-east-1 s3 cp s3://$BUCKET/$KEY -

  # boto3
  python3 -c 'import boto3; s3 = boto3.client("s3", endpoint_url="$EP", aws_access_key_id="$AK", aws_secret_access_key="$SK", region_name="us-east-1"); print(s3.get_object(Bucket="$BUCKET", Key="$KEY")["Body"].read().decode())'

  # curl
  curl --aws-sigv4 "aws:amz:us-east-1:s3" --user $AK:$SK $EP/$BUCKET/$KEY
  curl --aws-sigv4 "aws:amz:us-east-1:s3" --user $AK:$SK -H "Range: bytes=0-99" $EP/$BUCKET/$KEY

  # Python s3fs (fsspec)
  python3 -c 'import s3fs; fs = s3fs.S3FileSystem(key="$AK", secret="$SK", client_kwargs={"endpoint_url": "$EP"}); print(fs.cat("$BUCKET/$KEY").decode())'

Stop with Ctrl-C.

EOF
exec "$BIN" "${ARGS[@]}"
