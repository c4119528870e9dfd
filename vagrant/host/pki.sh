#!/bin/bash
# pki.sh DIR — the throw-away certificates of the three-VM lab (run by the Vagrantfile on the
# host when DIR/ready is missing; needs openssl). Keys are ECDSA P-256.
#
#   server.crt/.key    vsftpd's self-signed certificate (names: the server's two addresses).
#                      The gateway trusts exactly it (ftpgate verify: ca, ca_file server.crt).
#   gateway-ca.crt/.key  a CA the client trusts (curl --cacert, lftp ssl:ca-file)
#   gateway.crt/.key   ftpgate's static certificate toward clients, issued by gateway-ca,
#                      with the server's addresses as names (the client checks the address it
#                      dialled: the server's; ftpgate answers for it transparently).
#
# Two trust roots on purpose: the client does not trust the server's certificate, so a
# verified FTPS session through the gateway proves that TLS ended at ftpgate on both legs.
set -euo pipefail
dir=${1:?usage: pki.sh DIR}
SERVER_IPS=${SERVER_IPS:-"198.51.100.140 2001:db8:2::140"}
mkdir -p "$dir"
cd "$dir"
rm -f ready
san=""
for a in $SERVER_IPS; do san="$san${san:+,}IP:$a"; done
days=30
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

# The server: self-signed.
openssl req -x509 "${ec[@]}" -days $days -keyout server.key -out server.crt \
	-subj "/O=ftpgate vagrant lab/CN=server" \
	-addext "subjectAltName=$san" -addext "extendedKeyUsage=serverAuth" 2>/dev/null

# The gateway's CA and its certificate.
openssl req -x509 "${ec[@]}" -days $days -keyout gateway-ca.key -out gateway-ca.crt \
	-subj "/O=ftpgate vagrant lab/CN=ftpgate vagrant gateway CA" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new "${ec[@]}" -keyout gateway.key -out gateway.csr \
	-subj "/O=ftpgate vagrant lab/CN=ftpgate gateway" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' "$san" >gateway.ext
openssl x509 -req -in gateway.csr -CA gateway-ca.crt -CAkey gateway-ca.key -CAcreateserial \
	-days $days -extfile gateway.ext -out gateway.crt 2>/dev/null
rm -f gateway.csr gateway.ext gateway-ca.srl

openssl verify -CAfile gateway-ca.crt gateway.crt >/dev/null
openssl verify -CAfile server.crt server.crt >/dev/null
chmod 0644 ./*.crt
chmod 0600 ./*.key
touch ready
echo "pki.sh: certificates in $dir (server self-signed; gateway issued by gateway-ca)"
