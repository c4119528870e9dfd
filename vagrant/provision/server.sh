#!/usr/bin/env bash
# server.sh — vsftpd with explicit FTPS (AUTH TLS; plain FTP allowed too) for the user ftptest
# (password ftptest), and the test files. Every package comes from the box (no mirror).
# The certificate is the self-signed one host/pki.sh made, copied to /tmp/ftpgate-pki.
set -euo pipefail
SIZE_MIB=${FTPGATE_LAB_MIB:-4}

if ! id ftptest >/dev/null 2>&1; then
	useradd --create-home --shell /bin/bash ftptest
fi
echo 'ftptest:ftptest' | chpasswd

tls=/etc/ssl/ftpgate-lab
install -d -m 0755 "$tls"
install -m 0644 /tmp/ftpgate-pki/server.crt "$tls/server.crt"
install -m 0600 /tmp/ftpgate-pki/server.key "$tls/server.key"
rm -rf /tmp/ftpgate-pki

home=/home/ftptest
[[ -f $home/hello.txt ]] || echo 'hello through ftpgate' >"$home/hello.txt"
[[ -f $home/data.bin ]] || head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$home/data.bin"
chown ftptest:ftptest "$home/hello.txt" "$home/data.bin"

# One vsftpd for IPv4 and IPv6 (listen_ipv6 on :: takes both), passive and active mode.
# TLS: vsftpd 3.0.3 knows ssl_tlsv1 but not ssl_tlsv1_1/_2/_3 (an unknown option stops
# it); OpenSSL 3 negotiates TLS 1.3. ssl_ciphers=HIGH: vsftpd's default cipher string fails
# with OpenSSL 3. require_ssl_reuse=YES (vsftpd's default): every data connection must
# resume the control connection's TLS session, which ftpgate does toward the server.
[[ -f /etc/vsftpd.conf.orig ]] || cp /etc/vsftpd.conf /etc/vsftpd.conf.orig
cat >/etc/vsftpd.conf <<CONF
listen=NO
listen_ipv6=YES
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30999
port_enable=YES
connect_from_port_20=NO
xferlog_enable=YES
log_ftp_protocol=YES
secure_chroot_dir=/var/run/vsftpd/empty
pam_service_name=vsftpd
ssl_enable=YES
rsa_cert_file=$tls/server.crt
rsa_private_key_file=$tls/server.key
ssl_ciphers=HIGH
ssl_sslv2=NO
ssl_sslv3=NO
ssl_tlsv1=YES
ssl_request_cert=NO
require_cert=NO
force_local_logins_ssl=NO
force_local_data_ssl=NO
require_ssl_reuse=YES
CONF

systemctl enable vsftpd >/dev/null 2>&1
systemctl restart vsftpd
systemctl is-active vsftpd
echo "server.sh: vsftpd (FTP and explicit FTPS) on 198.51.100.140 and 2001:db8:2::140, user ftptest/ftptest, data.bin $SIZE_MIB MiB"
