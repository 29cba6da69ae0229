# shellcheck shell=bash
# Local TLS material for Pulse's gRPC servers and clients (sourced by tools/stack/stack): one CA, and for each name a
# certificate it signs, valid for that name, localhost and 127.0.0.1, usable by a server and as a client certificate
# (mTLS). Production certificates come from the cluster's issuer (cert-manager or a Secret; see deploy/helm).

# certs_issue DIR NAME... : DIR/ca.pem + DIR/ca.key (kept when present, so re-issuing rotates a leaf, not the CA),
# DIR/NAME.pem + DIR/NAME.key for each NAME (replaced: a new serial each time).
certs_issue() {
  local dir=${1:?usage: tools/stack/stack certs DIR NAME...}
  shift
  (($#)) || { echo "usage: tools/stack/stack certs DIR NAME..." >&2; return 2; }
  command -v openssl >/dev/null || { echo "openssl is required to issue certificates" >&2; return 1; }
  mkdir -p "$dir"
  if [[ ! -s $dir/ca.pem || ! -s $dir/ca.key ]]; then
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
      -subj "/O=Pulse local/CN=Pulse local CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    chmod 600 "$dir/ca.key"
  fi
  local name tmp
  for name in "$@"; do
    [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]] || { echo "not a host name: $name" >&2; return 2; }
    tmp=$(mktemp -d)
    cat >"$tmp/ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1
EXT
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=Pulse local/CN=$name" \
      -keyout "$tmp/key" -out "$tmp/csr" 2>/dev/null
    openssl x509 -req -in "$tmp/csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days 825 -sha256 -extfile "$tmp/ext" -out "$tmp/pem" 2>/dev/null
    chmod 600 "$tmp/key"
    # Moved in place (key first): a server re-reading the files never sees a half-written one.
    mv "$tmp/key" "$dir/$name.key"
    mv "$tmp/pem" "$dir/$name.pem"
    rm -rf "$tmp"
    echo "$dir/$name.pem"
  done
}
