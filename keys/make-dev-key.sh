#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make-dev-key.sh [--type rsa|rsa4096|ecdsa] [--cn NAME] [--days N] OUTDIR
# Make a DEVELOPMENT signing key and self-signed X.509 certificate for cfsroot:
#   OUTDIR/cfsroot-dev.key.pem  private key (mode 0600) - never ship it
#   OUTDIR/cfsroot-dev.crt.pem  certificate - goes into the initrd's trust store
# Works with `cfsroot sign`, `fsverity sign` and the kernel's .fs-verity keyring.
# Host only. Release keys are made differently: see keys/README.md.
set -euo pipefail
type=rsa cn="cfsroot development key (DO NOT SHIP)" days=3650
while [ $# -gt 1 ]; do
  case $1 in
    --type) type=$2; shift 2 ;;
    --cn) cn=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--type rsa|rsa4096|ecdsa] [--cn NAME] [--days N] OUTDIR" >&2; exit 2; }
out=$1
mkdir -p "$out"
key=$out/cfsroot-dev.key.pem crt=$out/cfsroot-dev.crt.pem
case $type in
  rsa) alg=(-algorithm RSA -pkeyopt rsa_keygen_bits:3072) ;;
  rsa4096) alg=(-algorithm RSA -pkeyopt rsa_keygen_bits:4096) ;;
  ecdsa) alg=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve) ;;
  *) echo "unknown key type '$type' (rsa, rsa4096, ecdsa)" >&2; exit 2 ;;
esac
umask 077
openssl genpkey "${alg[@]}" -out "$key.tmp" 2>/dev/null
mv "$key.tmp" "$key"
umask 022
# Code-signing certificate: keyUsage digitalSignature, no CA rights.
openssl req -new -x509 -key "$key" -out "$crt.tmp" -days "$days" -sha256 -subj "/CN=$cn" \
  -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=codeSigning" 2>/dev/null
mv "$crt.tmp" "$crt"
echo "$key"
echo "$crt"
